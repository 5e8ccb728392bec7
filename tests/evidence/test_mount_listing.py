"""The MountFS's compact listing: each mount's sorted paths and arrays, a FileInfo made when asked for.

An iOS backup mounted as a source lists what its Manifest.db lists, as the backup's own DeviceFS did
(paths, folders, files, globs and stat written out below); the other sources keep the folder
semantics (folders above files, the first member wins, duplicates noted), across mounts too.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preuve.builders.ios_backup import BackupBuilder, file_id
from preuve.evidence.acquisition import OpenContext, open_acquisition
from preuve.evidence.errors import EvidenceError
from preuve.evidence.fs import FileInfo, MountFS
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits
from preuve.evidence.sources.backup import BackupSource
from preuve.evidence.sources.base import Member, Source, at

MOBILE = "/private/var/mobile"
APP = "/private/var/mobile/Containers/Data/Application/com.example.app"
META = ("Info.plist", "Manifest.db", "Manifest.plist", "Status.plist")


def _backup(root: Path) -> Path:
    b = BackupBuilder(root)
    b.add_file("HomeDomain", "Library/SMS/sms.db", b"sms")
    b.add_file("HomeDomain", "Library/Preferences/com.apple.x.plist", b"p" * 5)
    b.add_file("AppDomain-com.example.app", "Documents/notes.txt", b"notes")
    b.add_file("WirelessDomain", "Library/Databases/DataUsage.sqlite", b"d" * 33)
    b.add_link("HomeDomain", "Library/link", "/etc/passwd")
    b.add_entry_only("HomeDomain", "Library/gone.db", size=9)
    return b.finish()


def test_a_backup_mounted_lists_what_its_manifest_lists(tmp_path: Path) -> None:
    root = _backup(tmp_path / "backup")
    work = tmp_path / "work"
    work.mkdir()
    fs = open_acquisition(root, OpenContext(HashLedger(), Limits(), work)).fs
    try:
        assert isinstance(fs, MountFS) and fs.kind == "ios_backup"
        assert [type(source) for source, _ in fs.mounts] == [BackupSource]
        metas = [f"/.acquisition/backup/{name}" for name in META]
        folders = [f"{APP}/Documents", f"{MOBILE}/Library", f"{MOBILE}/Library/Preferences", f"{MOBILE}/Library/SMS",
                   "/private/var/wireless/Library", "/private/var/wireless/Library/Databases"]
        files = [f"{APP}/Documents/notes.txt", f"{MOBILE}/Library/Preferences/com.apple.x.plist",
                 f"{MOBILE}/Library/SMS/sms.db", "/private/var/wireless/Library/Databases/DataUsage.sqlite"]
        gone, link = f"{MOBILE}/Library/gone.db", f"{MOBILE}/Library/link"
        # The rows' paths and the backup's own files; no folder the rows do not list (no /private/var).
        assert fs.paths() == sorted([*metas, *folders, *files, gone, link])
        assert [p for p in fs.paths() if fs.stat(p).is_dir] == folders
        assert [p for p in fs.paths() if fs.is_file(p)] == [*metas, *files]
        assert fs.glob(f"{MOBILE}/Library/*") == [f"{MOBILE}/Library/Preferences", f"{MOBILE}/Library/SMS", gone, link]
        assert fs.glob(f"{MOBILE}/**/*.db") == [f"{MOBILE}/Library/SMS/sms.db", gone]
        assert fs.glob("/.acquisition/backup/*") == metas
        assert fs.glob("/private/var/*/Library/Databases/*") == ["/private/var/wireless/Library/Databases/DataUsage.sqlite"]
        assert "/private/var" not in fs and "/private/var/mobile" not in fs
        # A file's size and mode are those of the file stored; the backup's own files those of the files.
        mode = os.lstat(root / "Info.plist").st_mode
        assert [(p, fs.stat(p).size, fs.stat(p).mode) for p in files] == [
            (files[0], 5, mode), (files[1], 5, mode), (files[2], 3, mode), (files[3], 33, mode)]
        assert [(fs.stat(p).size, fs.stat(p).mode) for p in metas] == [
            (os.lstat(root / name).st_size, os.lstat(root / name).st_mode) for name in META]
        assert fs.stat(f"{MOBILE}/Library") == FileInfo(f"{MOBILE}/Library", 0, None, None, is_dir=True)
        assert fs.stat(link) == FileInfo(link, 0, None, None, is_link=True)
        assert fs.stat(gone) == FileInfo(gone, 0, None, None, is_link=True)  # listed, absent: unreadable
        assert [p for p in fs.paths() if fs.listed_but_absent(p)] == [gone]
        assert [info.device_path for info in fs.iter_files()] == fs.paths()
        assert fs.read_bytes(files[2]) == b"sms"
        assert fs.ledger.get(files[2]) is not None
        source, ref, name = fs.placed(files[2])
        assert isinstance(source, BackupSource) and name == files[2][1:]
        sms = file_id("HomeDomain", "Library/SMS/sms.db")
        assert source.file_id(ref) == sms and source.member_source_name(ref, name) == f"{sms[:2]}/{sms}"
    finally:
        fs.close()


class _Members(Source):
    """Members given in order, their bytes in memory."""

    def __init__(self, members: list[Member], data: dict[str, bytes] | None = None, label: str | None = None) -> None:
        super().__init__(Path("/nonexistent"), Limits(), label)
        self._members = members
        self._data = data or {}

    def members(self) -> Iterator[Member]:
        yield from self._members

    def open(self, name: str, label: str) -> BinaryIO:
        return io.BytesIO(self._data[name])


def _file(name: str, size: int = 1, mtime: float | None = 1.5, mode: int | None = 0o100644) -> Member:
    return Member(name, "file", size, mtime, mode)


def _fs(tmp_path: Path, *mounts: tuple[Source, str]) -> MountFS:
    fs = MountFS(tmp_path, HashLedger(), Limits(), tmp_path, kind="test")
    for source, prefix in mounts:
        fs.mount(source, at(prefix))
    return fs


def test_lookups_and_folders_synthesised(tmp_path: Path) -> None:
    fs = _fs(tmp_path, (_Members([
        _file("a/b/c.txt", 3, 10.25, 0o100600),
        Member("a/b", "dir", 0, 7.0, 0o40700),  # a folder the container lists after a file under it
        Member("a/l", "link", 0, None, None),
        _file("z.txt", 2, 1700000000, None),  # a whole-second time (a tar's) stays an int
    ], {"a/b/c.txt": b"abc"}), "/r"))
    assert fs.paths() == ["/r", "/r/a", "/r/a/b", "/r/a/b/c.txt", "/r/a/l", "/r/z.txt"]
    assert fs.stat("/r/a") == FileInfo("/r/a", 0, None, None, is_dir=True)
    assert fs.stat("/r/a/b") == FileInfo("/r/a/b", 0, 7.0, 0o40700, is_dir=True)
    assert fs.stat("/r/a/b/c.txt") == FileInfo("/r/a/b/c.txt", 3, 10.25, 0o100600)
    assert fs.stat("/r/a/l") == FileInfo("/r/a/l", 0, None, None, is_link=True)
    z = fs.stat("/r/z.txt")
    assert z == FileInfo("/r/z.txt", 2, 1700000000, None) and type(z.mtime) is int
    assert fs.is_file("/r/a/b/c.txt") and not fs.is_file("/r/a/b") and not fs.is_file("/r/a/l")
    assert "/r/a" in fs and "/r/a/" not in fs and "/r/a/b/c" not in fs and "/" not in fs
    assert fs.read_bytes("/r/a/b/c.txt") == b"abc"
    assert fs.member("/r/a/b/c.txt")[1] == "a/b/c.txt"  # the member's name, not the device path
    with pytest.raises(EvidenceError, match="no such file"):
        fs.member("/r/a/b")
    with pytest.raises(EvidenceError, match="not a regular file"):
        fs.read_bytes("/r/a/l")
    assert fs.glob("/r/*") == ["/r/a", "/r/z.txt"]
    assert [info.device_path for info in fs.iter_files()] == fs.paths()
    assert fs.notes == []


def test_first_member_wins_and_duplicates_are_noted_in_listing_order(tmp_path: Path) -> None:
    fs = _fs(tmp_path, (_Members([
        _file("x", 1), _file("d/f", 2), _file("x", 3), Member("d", "dir", 0, None, None), _file("d", 4),
        _file("y", 5), Member("y", "dir", 0, 2.0, None),  # a file, then a folder at its path: a folder
    ], {"x": b"1"}), "/"))
    assert fs.paths() == ["/d", "/d/f", "/x", "/y"]
    assert fs.read_bytes("/x") == b"1" and fs.stat("/x").size == 1
    assert fs.stat("/d").is_dir and fs.stat("/y") == FileInfo("/y", 0, 2.0, None, is_dir=True)
    assert fs.notes == ["member x: appears twice; the first copy is read", "member d: appears twice; the first copy is read",
                        "member y: appears twice; the first copy is read"]


def test_first_mount_wins_across_mounts(tmp_path: Path) -> None:
    first = _Members([_file("a/one", 1), _file("a/both", 2), _file("f", 6)], {"a/both": b"first"}, "first")
    second = _Members([_file("a/both", 3), _file("a/two", 4), Member("a", "dir", 0, 9.0, None), _file("a", 5),
                       _file("f/under", 7)], {"a/both": b"second", "a/two": b"2"}, "second")
    fs = _fs(tmp_path, (first, "/m"), (second, "/m"))
    assert fs.paths() == ["/m", "/m/a", "/m/a/both", "/m/a/one", "/m/a/two", "/m/f", "/m/f/under"]
    assert fs.read_bytes("/m/a/both") == b"first" and fs.read_bytes("/m/a/two") == b"2"
    assert fs.ledger.get("/m/a/both").source == "first!a/both"  # type: ignore[union-attr]
    assert fs.member("/m/a/two") == (second, "a/two")
    assert fs.stat("/m/a") == FileInfo("/m/a", 0, None, None, is_dir=True)  # the first folder stands
    # A file of the first mount with a member of the second below it is a folder.
    assert fs.stat("/m/f") == FileInfo("/m/f", 0, None, None, is_dir=True) and fs.is_file("/m/f/under")
    assert fs.notes == ["member a/both: appears twice; the first copy is read",
                        "member a: appears twice; the first copy is read"]
    assert [info.device_path for info in fs.iter_files()] == fs.paths()


def test_a_mount_added_after_listing_is_listed_with_the_next(tmp_path: Path) -> None:
    fs = _fs(tmp_path, (_Members([_file("b/x")]), "/"))
    assert fs.paths() == ["/b", "/b/x"]
    fs.mount(_Members([_file("a/y"), _file("b/x")]), at("/"))
    assert fs.paths() == ["/a", "/a/y", "/b", "/b/x"]
    assert fs.notes == ["member b/x: appears twice; the first copy is read"]


def test_times_kept_aside_when_few_members_have_one_and_hostile_values_kept_whole(tmp_path: Path) -> None:
    many = [_file(f"n/{i:04d}", i, None, None) for i in range(300)]
    huge = 1 << 70
    fs = _fs(tmp_path, (_Members([*many[:150], _file("n/timed", 1, 5.5, 0o100600),
                                  Member("n/big", "file", huge, 1 << 80, 1 << 64), *many[150:]]), "/"))
    assert fs.stat("/n/0007") == FileInfo("/n/0007", 7, None, None)
    assert fs.stat("/n/timed") == FileInfo("/n/timed", 1, 5.5, 0o100600)
    assert fs.stat("/n/big") == FileInfo("/n/big", huge, 1 << 80, 1 << 64)
    assert len(fs.paths()) == 303


def test_a_source_whose_index_is_the_listing_has_its_last_entry_and_no_folder_added(tmp_path: Path) -> None:
    class Indexed(_Members):
        index_is_listing = True

    fs = _fs(tmp_path, (Indexed([_file("a/b/c", 1), _file("a/b/c", 2), Member("d", "dir", 0, None, None), _file("d", 3)]), "/"))
    assert fs.paths() == ["/a/b/c", "/d"]
    assert fs.stat("/a/b/c").size == 2 and fs.is_file("/d") and fs.stat("/d").size == 3
    assert fs.notes == []


def test_a_backup_row_nested_past_the_depth_bound_is_refused_and_said(tmp_path: Path) -> None:
    b = BackupBuilder(tmp_path / "backup")
    b.add_file("HomeDomain", "Library/ok.txt", b"ok")
    deep = "/".join(["d"] * 70) + "/deep.txt"
    b.add_entry_only("HomeDomain", deep, size=0)
    root = b.finish()
    work = tmp_path / "work"
    work.mkdir()
    said: list[str] = []
    ctx = OpenContext(HashLedger(), Limits(), work)
    ctx.warn = said.append
    fs = open_acquisition(root, ctx).fs
    try:
        assert fs.is_file(f"{MOBILE}/Library/ok.txt") and not any(p.endswith("/deep.txt") for p in fs.paths())
        assert said == [f"{root / 'Manifest.db'}: member refused: private/var/mobile/{deep}: nested deeper than 64"]
    finally:
        fs.close()


def test_a_view_lists_a_range_of_entries_across_mounts_and_reads_as_the_acquisition(tmp_path: Path) -> None:
    first = _Members([_file("b/x", 2), _file("d", 1)], {"d": b"d"})
    second = _Members([_file("a/y", 3), _file("c", 4)])
    fs = _fs(tmp_path, (first, "/"), (second, "/"))
    every = [info.device_path for info in fs.iter_files()]
    assert every == ["/a", "/a/y", "/b", "/b/x", "/c", "/d"]
    view = fs.only_entries(1, 4)
    assert [info.device_path for info in view.iter_files()] == ["/a/y", "/b", "/b/x"]
    assert [info.device_path for info in fs.only_entries(4, 9).iter_files()] == ["/c", "/d"]
    assert [info.device_path for info in fs.iter_files()] == every  # the acquisition is as it was
    assert view.paths() == fs.paths() and view.read_bytes("/d") == b"d" and fs.ledger.get("/d") is not None
    assert (fs.listed_size("/a/y"), fs.listed_size("/a"), fs.listed_size("/nothing")) == (3, None, None)


def test_a_backup_view_and_listed_sizes(tmp_path: Path) -> None:
    root = _backup(tmp_path / "backup")
    work = tmp_path / "work"
    work.mkdir()
    fs = open_acquisition(root, OpenContext(HashLedger(), Limits(), work)).fs
    try:
        every = list(fs.iter_files())
        assert [info.device_path for info in fs.only_entries(3, 6).iter_files()] == [i.device_path for i in every[3:6]]
        sms = f"{MOBILE}/Library/SMS/sms.db"
        assert fs.listed_size(sms) is None  # a backup's listing leaves the size to the file stored
        assert fs.stat(sms).size == 3 and fs.listed_size(sms) == 3
    finally:
        fs.close()


def test_after_fork_reaches_every_source(tmp_path: Path) -> None:
    forked: list[str] = []

    class Forking(_Members):
        def after_fork(self) -> None:
            forked.append(self.where)

    fs = _fs(tmp_path, (Forking([_file("a")], label="one"), "/"), (Forking([_file("b")], label="two"), "/"))
    fs.after_fork()
    assert forked == ["one", "two"]


@given(st.lists(st.sampled_from(["a", "b", ".", "/", "\\", " ", "\x00", "é", "C:", ".."]), max_size=16).map("".join),
       st.sampled_from(["/", "data", "/data/", "private/var/mobile"]))
def test_under_a_folder_a_safe_name_is_a_normal_path(raw: str, prefix: str) -> None:
    """MountFS places the members of an `at(prefix)` mount without checking their paths: a name the
    policy lets through (every source's names are) gives a path that normalising leaves as it is."""
    from preuve.evidence.fs import normalize_device_path
    from preuve.evidence.policy import member_name
    from preuve.evidence.sources.base import at

    name = member_name(raw)
    if name is not None:
        path = at(prefix)(name)
        assert path is not None and normalize_device_path(path) == path
