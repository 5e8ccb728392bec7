"""A tar's members handed over a batch of headers at a time as columns (TarSource.member_batches) are
listed as when each member is placed one by one: the paths, every entry, the notes and the compact
arrays are the same, on archives of every format, hand-made and hostile ones (times of 0, a negative
mode, a size past 64 bits, folders after what they hold, names twice), and the columns are taken
where they can be."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

import preuve.evidence.fs as fs_module
import preuve.evidence.sources.tar as tar_module
from preuve.evidence.formats.tarheaders import scan_tar_headers
from preuve.evidence.fs import MountFS
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.evidence.sources.base import Member, MemberColumns, Source, members_of, prefix_mapper
from preuve.evidence.sources.tar import TarSource
from tests.evidence.test_tarheaders import _all_archives, _gnu_pax, _header, _member


class _OneByOne(Source):
    """The tar's members, each handed over alone (the reference)."""

    def __init__(self, tar: TarSource) -> None:
        super().__init__(tar.path, tar.limits)
        self.tar = tar

    def members(self) -> Iterator[Member]:
        return members_of(self.tar.member_batches())

    def open(self, name: str, label: str) -> BinaryIO:
        return self.tar.open(name, label)


def _state(path: Path, jobs: int, one_by_one: bool) -> tuple[object, ...]:
    with tempfile.TemporaryDirectory() as work:
        fs = MountFS(Path(work), HashLedger(), DEFAULT_LIMITS, Path(work))
        tar = TarSource(path, DEFAULT_LIMITS, jobs=jobs, workdir=Path(work))
        fs.mount(_OneByOne(tar) if one_by_one else tar, prefix_mapper("", "/"))
        try:
            paths = fs.paths()
        finally:
            tar.close()
        listing = fs._listings[0]  # noqa: SLF001 - the compact arrays compared as they are
        arrays = (listing.paths, bytes(listing.flags), list(listing.sizes), list(listing.refs),
                  None if listing.mtimes is None else list(listing.mtimes),
                  None if listing.modes is None else list(listing.modes), listing.names, dict(listing.exact))
        return paths, list(fs.iter_files()), list(fs.notes), arrays, tar.refused, tar.damaged, tar.damage


def _hostile() -> bytes:
    """Members no column holds as they are, and placements columns leave to one by one."""
    parts = [_member(f"b/f{n}", b"x", mtime_field=b"%011o\0" % (1_700_000_000 + n)) for n in range(200)]
    parts += [
        _member("b/zero-time", b"z", mtime_field=b"00000000000\0"),  # a time of 0: the member has none
        _member("b/negative-mode", b"m", mode_field=b"\xc0" + (5).to_bytes(7, "big")),  # no mode a column holds
        _member("c/before-its-folder", b"c"),  # its folder comes after it
        _header("c/", 0, b"5"),
        _member("b/f3", b"again"),  # a path twice
        _header("b/link", 0, b"2"),
        _member("d/" + "/".join(["deep"] * 40) + "/f", b"d"),  # nested past the bound
    ]
    parts += [_member(f"e/g{n}", b"y" * (n % 3)) for n in range(150)]
    # last, a size past 64 bits (base-256): the archive ends inside it
    parts.append(_header("e/huge", 0, size_field=b"\x80" + (2**80).to_bytes(11, "big")))
    return b"".join(parts) + bytes(1024)


def _written(tmp_path: Path, archive: str) -> Path:
    """One of the archives, written to a file."""
    path = tmp_path / "dump.tar"
    path.write_bytes({**_all_archives(), "gnu-pax": _gnu_pax(300), "hostile": _hostile()}[archive])
    return path


@pytest.mark.parametrize("batch", [3, 64, 4096])
@pytest.mark.parametrize("archive", ["ustar", "gnu", "pax", "hand-made", "gnu-pax", "hostile"])
def test_columns_list_what_one_by_one_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, archive: str, batch: int
) -> None:
    path = _written(tmp_path, archive)
    monkeypatch.setattr(tar_module, "_HEADER_BATCH", batch)
    reference = _state(path, 1, True)
    assert _state(path, 1, False) == reference
    assert _state(path, 2, False) == reference


def test_the_columns_are_taken_where_they_can_be(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _written(tmp_path, "gnu-pax")
    monkeypatch.setattr(tar_module, "_HEADER_BATCH", 64)
    taken: list[bool] = []
    place = fs_module._Placing.columns  # noqa: SLF001

    def columns(self: fs_module._Placing, batch: MemberColumns, *args: object) -> bool:  # noqa: SLF001
        placed = place(self, batch, *args)  # type: ignore[arg-type]
        taken.append(placed)
        return placed

    monkeypatch.setattr(fs_module._Placing, "columns", columns)  # noqa: SLF001
    _state(path, 1, False)
    # 300 members in batches of 64: the first two placed one by one (the mount keeps times in arrays
    # once more than 64 and an eighth of its entries have one), the rest whole
    assert taken == [False, False, True, True, True]


def test_a_batch_with_a_member_of_no_time_is_handed_over_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "dump.tar"
    path.write_bytes(_member("a/f", b"1") + _member("a/zero", b"2", mtime_field=b"00000000000\0") + bytes(1024))
    tar = TarSource(path, DEFAULT_LIMITS)
    try:
        got = list(tar.member_batches())
    finally:
        tar.close()
    assert got == [Member("a/f", "file", 1, float(0o14556025400), 0o644), Member("a/zero", "file", 1, None, 0o644)]


@pytest.mark.parametrize("batch", [3, 4096])
@pytest.mark.parametrize("archive", ["ustar", "gnu-pax", "hostile"])
def test_the_members_are_those_of_one_read_of_the_headers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, archive: str, batch: int
) -> None:
    path = _written(tmp_path, archive)  # (archives whose names the policy keeps as they are)
    entries = []
    with open(path, "rb") as stream:
        try:
            for entry in scan_tar_headers(stream, "t", None, []):  # (up to where the hostile one fails)
                entries.append(entry)
        except (OSError, ValueError, OverflowError):
            pass
    files, folders, links = (b"0", b"\0", b"7"), (b"5",), (b"1", b"2")
    # (a hard link naming another member, by a name the policy keeps as it is, is a file of unknown size)
    expected = [
        Member(e.name, "file", -1, e.mtime or None, e.mode) if e.type == b"1" and e.link and e.link != e.name else
        Member(e.name.rstrip("/"), "file" if e.type in files else "dir" if e.type in folders else
               "link" if e.type in links else "other", e.size if e.type in files else 0, e.mtime or None, e.mode)
        for e in entries
    ]
    assert archive != "ustar" or any(member.size == -1 for member in expected)
    monkeypatch.setattr(tar_module, "_HEADER_BATCH", batch)
    tar = TarSource(path, DEFAULT_LIMITS)
    try:
        assert list(tar.members()) == expected
    finally:
        tar.close()
