"""A tar's headers read by a forked process while this one places the members (TarSource.members through
evidence.parallel.beside): the members, refused names, damaged members, what is wrong with the
archive and the index of each member's bytes are those of one read, on archives of every format,
damaged or cut anywhere, plain or compressed, whether the process beside ends well or dies."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import preuve.evidence.sources.tar as tar_module
from preuve.evidence.errors import EvidenceError
from preuve.evidence.formats.tarheaders import scan_tar_headers
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.evidence.parallel import can_fork
from preuve.evidence.sources.tar import TarSource
from tests.evidence.test_tarheaders import _all_archives

pytestmark = pytest.mark.skipif(not can_fork(2), reason="headers are read beside only where processes fork")

_COMPRESS = {"tar": lambda data: data, "tar.gz": gzip.compress, "tar.xz": lzma.compress, "tar.bz2": bz2.compress}


def _listing(path: Path, jobs: int, workdir: Path) -> tuple[object, ...]:
    try:
        source = TarSource(path, DEFAULT_LIMITS, jobs=jobs, workdir=workdir)
    except Exception as exc:  # noqa: BLE001 - compared, whatever it is
        return ("not opened", type(exc).__name__, str(exc))
    try:
        members = list(source.members())
        error = None
    except EvidenceError as exc:
        members, error = [], exc.reason
    finally:
        source.close()
    return members, error, source.refused, source.damaged, source.damage, source._files, source._huge  # noqa: SLF001


def _scanned(data: bytes) -> int:
    """How many headers one scan of the archive reads before it ends or fails."""
    count = 0
    try:
        for _ in scan_tar_headers(io.BytesIO(data), "t.tar", None, []):
            count += 1
    except Exception:  # noqa: BLE001, S110 - counted up to where it fails
        pass
    return count


def _same(tmp_path: Path, data: bytes, fmt: str) -> tuple[object, ...]:
    path = tmp_path / f"dump.{fmt}"
    path.write_bytes(_COMPRESS[fmt](data))
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    one = _listing(path, 1, work)
    assert _listing(path, 2, work) == one
    assert list(work.iterdir()) == []
    if fmt == "tar" and one[0] != "not opened" and one[1] is None:
        # every header read before the end or the damage is a member or a refused name
        members, refused = one[0], one[2]
        assert isinstance(members, list) and isinstance(refused, list)
        assert len(members) + len(refused) == _scanned(data)
    return one


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tar_module, "_HEADER_BATCH", 3)


@pytest.mark.parametrize("archive", ["ustar", "gnu", "pax", "hand-made"])
@pytest.mark.parametrize("fmt", ["tar", "tar.xz", "tar.bz2"])
def test_every_format_as_one_read(tmp_path: Path, archive: str, fmt: str) -> None:
    members = _same(tmp_path, _all_archives()[archive], fmt)[0]
    assert isinstance(members, list) and len(members) > 3


@pytest.mark.parametrize("fmt", ["tar", "tar.xz"])
def test_cut_and_damaged_as_one_read(tmp_path: Path, fmt: str) -> None:
    data = _all_archives()["pax"]
    cut = _same(tmp_path, data[: len(data) * 2 // 3], fmt)
    assert cut[4]  # said to be cut short
    damaged = bytearray(data)
    damaged[512 * 9 + 148] ^= 0xFF  # a checksum, a few members in
    found = _same(tmp_path, bytes(damaged), fmt)
    assert found[3]  # members after it reported lost


def test_a_process_beside_that_dies_leaves_the_rest_to_this_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here = os.getpid()
    original = TarSource._headers

    def dying(self: TarSource, budget: int | None):  # noqa: ANN202 - the batches, then death beside
        for number, batch in enumerate(original(self, budget)):
            if number == 2 and os.getpid() != here:
                os._exit(1)
            yield batch

    monkeypatch.setattr(TarSource, "_headers", dying)
    _same(tmp_path, _all_archives()["gnu"], "tar")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    archive=st.sampled_from(["ustar", "gnu", "pax", "hand-made"]),
    changes=st.lists(st.tuples(st.integers(min_value=0, max_value=20_000), st.integers(min_value=0, max_value=255)),
                     max_size=3),
    cut=st.one_of(st.none(), st.integers(min_value=0, max_value=20_000)),
)
def test_damaged_anywhere_as_one_read(tmp_path_factory: pytest.TempPathFactory, archive: str,
                                      changes: list[tuple[int, int]], cut: int | None) -> None:
    data = bytearray(_all_archives()[archive])
    for at, value in changes:
        if at < len(data):
            data[at] = value
    _same(tmp_path_factory.mktemp("damaged"), bytes(data[:cut] if cut is not None else data), "tar")


@pytest.mark.parametrize("fmt", ["tar.gz", "tar.xz", "tar.bz2"])
def test_a_compressed_stream_cut_anywhere_says_where(tmp_path: Path, fmt: str) -> None:
    """A stream cut inside a member: the scan says the archive is cut short (a gzip stream), or the
    decompressor fails after the members read (bzip2, xz); either reaches the run, with every member
    read before it listed."""
    data = _all_archives()["gnu"]
    packed = _COMPRESS[fmt](data)
    path = tmp_path / f"dump.{fmt}"
    work = tmp_path / "work"
    work.mkdir()
    for cut in range(len(packed) // 2, len(packed), max(1, len(packed) // 7)):
        path.write_bytes(packed[:cut])
        one = _listing(path, 1, work)
        assert _listing(path, 2, work) == one
        if one[0] == "not opened" or one[1] is not None:
            continue
        members, refused, damage = one[0], one[2], one[4]
        assert isinstance(members, list) and isinstance(refused, list) and isinstance(damage, list)
        read = len(members) + len(refused)
        assert len(damage) == 1
        assert damage[0].startswith(("the archive is cut short: it ends after ",
                                     f"the archive is damaged after {read} member(s)")), damage
