"""Fuzzing the intrusion-log reader: mutated JSON lines, as a plain file and inside the phone's zip, give
records and warnings (or preuve's own named error), never another exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preuve.artifacts.android.intrusion_logs import IntrusionLogs
from preuve.artifacts.base import ArtifactContext
from preuve.evidence.acquisition import OpenContext
from preuve.evidence.errors import EvidenceError
from preuve.evidence.kinds.android_intrusion_logs import AndroidIntrusionLogs
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits
from tests.builders.intrusion_logs import DAY1, DAY2, ndjson, zip_bytes

BRIEF = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
_SAMPLE = ndjson(DAY1 + DAY2)


def _mutate(data: bytes, flips: list[tuple[int, int]], cut: int | None) -> bytes:
    buf = bytearray(data)
    for position, value in flips:
        buf[position % len(buf)] = value
    return bytes(buf[:cut] if cut is not None else buf)


def _read_all(files: dict[str, bytes]) -> int:
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "logs"
        root.mkdir()
        for name, data in files.items():
            (root / name).write_bytes(data)
        work = Path(temp) / "work"
        work.mkdir()
        limits = Limits(max_text_line_bytes=512)
        fs = AndroidIntrusionLogs.open(root, OpenContext(ledger=HashLedger(), limits=limits, workdir=work))
        artifact = IntrusionLogs()
        ctx = ArtifactContext(fs=fs, limits=limits)
        count = 0
        for path in artifact.locate(fs):
            try:
                for record in artifact.parse(ctx, path):
                    record.content_sha256()
                    list(record.observables())
                    list(record.timestamps())
                    count += 1
            except EvidenceError:
                pass
        fs.close()
        return count


@BRIEF
@given(st.lists(st.tuples(st.integers(0, len(_SAMPLE) - 1), st.integers(0, 255)), max_size=16),
       st.one_of(st.none(), st.integers(0, len(_SAMPLE))))
def test_mutated_lines(flips: list[tuple[int, int]], cut: int | None) -> None:
    data = _mutate(_SAMPLE, flips, cut)
    assert _read_all({"a.txt": data, "b.zip": zip_bytes({"2023-11-15.txt": data})}) >= 0


@BRIEF
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    assert _read_all({"a.ndjson": data, "b.zip": data}) >= 0
