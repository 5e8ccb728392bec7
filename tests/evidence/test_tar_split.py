"""A plain tar's header scan in two halves (early_tar.SplitScan): whatever the offset the second half
begins at, the headers, their order, the notes of an archive cut short and the errors are those of one
scan; the halves meet only at a header that begins a member's headers with nothing carried over to
it, and where the second half is looked for (tarheaders.header_near) is such a header."""

from __future__ import annotations

import io
import multiprocessing
import tarfile
import tempfile
from pathlib import Path

import pytest

import preuve.evidence.early_tar as early_module
from preuve.evidence.early_tar import HeaderBatch, SplitScan, header_batches, split_scan
from preuve.evidence.errors import EvidenceError
from preuve.evidence.formats.tarheaders import header_near
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.evidence.parallel import can_fork
from preuve.evidence.sources.tar import TarSource
from tests.evidence.test_tarheaders import _all_archives, _gnu_pax, _member, _pax_header

pytestmark = pytest.mark.skipif(not can_fork(2), reason="no forked processes here")

Scan = tuple[list[tuple[object, ...]], list[str], str | None]


def _collect(batches: object) -> Scan:
    """Every header as a tuple, the notes, and the error raised (its text) after them."""
    headers: list[tuple[object, ...]] = []
    notes: list[str] = []
    try:
        for batch in batches:  # type: ignore[attr-defined]
            assert isinstance(batch, HeaderBatch)
            got = batch.headers
            headers += zip(got.names, got.types, got.sizes, got.mtimes, got.modes, got.offsets, strict=True)
            notes += batch.damage
    except EvidenceError as exc:
        return headers, notes, str(exc)
    return headers, notes, None


def _whole(path: Path) -> Scan:
    return _collect(header_batches(lambda: open(path, "rb"), str(path), None))  # noqa: SIM115


def _split(path: Path, cut: int, work: Path) -> tuple[Scan, bool]:
    scan = SplitScan(path, str(path), 2, work, cut)
    got = _collect(scan)
    return got, scan.split


def _group_starts(data: bytes) -> list[int]:
    """Where each member's headers begin (its pax or long-name header, else its own), by tarfile."""
    starts = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for member in tf.getmembers():
            starts.append(member.offset)
    return starts


def _member_headers(data: bytes) -> list[int]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return [member.offset_data - 512 for member in tf.getmembers()]


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("archive", ["gnu pax", "ustar", "gnu", "pax"])
def test_every_cut_gives_the_headers_of_one_scan(tmp_path: Path, archive: str) -> None:
    data = _gnu_pax(120) + bytes(1024) if archive == "gnu pax" else _all_archives()[archive]
    path = _write(tmp_path, "dump.tar", data)
    whole = _whole(path)
    assert whole[0] and whole[2] is None
    starts = _group_starts(data)
    own = set(_member_headers(data)) - set(starts)  # a member's header after its pax or long-name header
    cuts = sorted(set(starts[1::7] + sorted(own)[::7] + list(range(512, len(data), 4096))))
    met = 0
    for cut in cuts:
        with tempfile.TemporaryDirectory() as work:
            got, split = _split(path, cut, Path(work))
            assert got == whole, cut
            assert split == (cut in starts), cut  # the halves meet only where a member's headers begin
            met += split
            assert list(Path(work).iterdir()) == []
    assert met
    assert multiprocessing.active_children() == []


def test_header_near_finds_where_a_members_headers_begin(tmp_path: Path) -> None:
    data = _gnu_pax(200) + bytes(1024)
    starts = set(_group_starts(data))
    with open(_write(tmp_path, "dump.tar", data), "rb") as stream:
        found = {header_near(stream, offset, 1 << 20) for offset in range(0, len(data) - 4096, 1000)}
    assert found and None not in found
    assert found <= starts
    with open(_write(tmp_path, "zeros.tar", bytes(1 << 16)), "rb") as stream:
        assert header_near(stream, 1000, 1 << 20) is None


def test_a_global_header_before_the_cut_keeps_one_scan(tmp_path: Path) -> None:
    members = [_member(f"a/f{n:03d}", b"x" * n) for n in range(60)]
    data = _pax_header({"mtime": "1700000000"}, b"g", "././@GlobalHead") + b"".join(members) + bytes(1024)
    path = _write(tmp_path, "dump.tar", data)
    cut = _group_starts(data)[30]
    got, split = _split(path, cut, tmp_path)
    assert (got, split) == (_whole(path), False)


def test_a_tar_inside_the_tar_keeps_one_scan(tmp_path: Path) -> None:
    inner = b"".join(_member(f"inner/f{n}", b"y" * 600) for n in range(40)) + bytes(1024)
    data = (b"".join(_member(f"a/f{n}", b"x") for n in range(10)) + _member("a/inner.tar", inner)
            + b"".join(_member(f"b/f{n}", b"z") for n in range(10)) + bytes(1024))
    path = _write(tmp_path, "dump.tar", data)
    inside = data.index(b"inner/f20")  # a header of the stored tar: inside a member's data
    got, split = _split(path, inside, tmp_path)
    assert (got, split) == (_whole(path), False)
    names = [header[0] for header in got[0]]
    assert "inner/f20" not in names and names[-1] == "b/f9"


@pytest.mark.parametrize("keep", [0.6, 0.75, 0.99])
def test_a_tar_cut_short_after_the_cut_says_so_as_one_scan(tmp_path: Path, keep: float) -> None:
    data = _gnu_pax(120)[:-1024]  # (without its end-of-archive marker)
    path = _write(tmp_path, "cut.tar", data[: int(len(data) * keep)])
    whole = _whole(path)
    assert whole[1] and "ends after" in whole[1][0]
    cut = next(start for start in _group_starts(data) if start > len(data) // 2)
    got, split = _split(path, cut, tmp_path)
    assert split and got == whole


def test_a_damaged_header_after_the_cut_fails_as_one_scan(tmp_path: Path) -> None:
    data = bytearray(_gnu_pax(120) + bytes(1024))
    starts = _group_starts(bytes(data))
    damaged = starts[100]
    data[damaged + 3] ^= 0x01
    path = _write(tmp_path, "damaged.tar", bytes(data))
    whole = _whole(path)
    assert whole[2] is not None and f"offset {damaged}" in whole[2]
    got, split = _split(path, starts[60], tmp_path)
    assert split and got == whole


def split_scans_recorded(monkeypatch: pytest.MonkeyPatch, min_bytes: int) -> list[SplitScan]:
    """Tars of `min_bytes` or more scanned in halves from now on, each SplitScan made kept in the list."""
    monkeypatch.setattr(early_module, "SPLIT_MIN_BYTES", min_bytes)
    made: list[SplitScan] = []
    original = early_module.SplitScan.__init__

    def recorded(self: SplitScan, *args: object) -> None:
        original(self, *args)  # type: ignore[arg-type]
        made.append(self)

    monkeypatch.setattr(early_module.SplitScan, "__init__", recorded)
    return made


def test_a_big_tar_is_listed_in_halves_as_in_one_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _gnu_pax(300) + bytes(1024)
    path = _write(tmp_path, "dump.tar", data)
    made = split_scans_recorded(monkeypatch, len(data) // 2)
    listed = []
    for jobs in (1, 2):
        with tempfile.TemporaryDirectory() as work:
            tar = TarSource(path, DEFAULT_LIMITS, jobs=jobs, workdir=Path(work))
            try:
                listed.append((list(tar.members()), tar.damage, tar.damaged))
            finally:
                tar.close()
    assert listed[1] == listed[0]
    assert len(made) == 1 and made[0].split
    assert split_scan(path, str(path), 1, tmp_path) is None  # one job: one scan
    monkeypatch.setattr(early_module, "SPLIT_MIN_BYTES", len(data) + 1)
    assert split_scan(path, str(path), 2, tmp_path) is None  # a small tar: one scan
