"""A big folder is listed in parts on the run's jobs (FolderSource: the first levels listed to plan, the
subfolders below walked beside): the members, in order, are those one walk gives (walk_folder), with
the same bounds on depth and entries, on trees of every shape; the dump opened is the same."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pytest

import preuve.evidence.sources.folder as folder_module
from preuve.evidence.acquisition import OpenContext, open_acquisition
from preuve.evidence.errors import AcquisitionError, LimitExceeded
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import DEFAULT_LIMITS, Limits
from preuve.evidence.parallel import can_fork
from preuve.evidence.sources.base import Member
from preuve.evidence.sources.folder import FolderSource, walk_folder
from tests.builders import snapshot

pytestmark = pytest.mark.skipif(not can_fork(2), reason="a folder is listed in parts only where processes fork")


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every folder with a few subfolders is planned in parts, and handed over 5 entries at a time."""
    monkeypatch.setattr(folder_module, "PLANNED_WALKS", 3)
    monkeypatch.setattr(folder_module, "_BATCH", 5)


def _tree(root: Path) -> Path:
    """A dump-shaped tree: folders of every size at every level, links, a FIFO, an empty folder, names
    that sort apart from their bytes' order."""
    for app in range(12):
        base = root / "private" / "var" / "mobile" / "Containers" / "Data" / "Application" / f"APP-{app:02d}"
        for sub in range(app % 4):
            folder = base / f"Library{sub}" / ("Caches" if sub % 2 else "Preferences")
            folder.mkdir(parents=True)
            for n in range(app * 3 + sub):
                (folder / f"file-{n}.dat").write_bytes(b"x" * n)
        base.mkdir(parents=True, exist_ok=True)
        (base / "Z.plist").write_bytes(b"z")
        (base / "a.plist").write_bytes(b"a")
    var = root / "private" / "var"
    (var / "empty").mkdir()
    (var / "db" / "deep" / "er" / "and" / "deeper").mkdir(parents=True)
    (var / "db" / "deep" / "er" / "and" / "deeper" / "end.txt").write_bytes(b"end")
    (var / "link").symlink_to("/etc/hostname")
    (var / "dangling").symlink_to("nowhere")
    os.mkfifo(var / "fifo")
    (var / "é-accent").write_bytes(b"e")
    (var / "E-upper").write_bytes(b"E")
    return root


def _members(root: Path, limits: Limits, jobs: int) -> list[Member]:
    with tempfile.TemporaryDirectory() as workdir:
        return list(FolderSource(root, limits, jobs=jobs, workdir=Path(workdir)).members())


def _walked(root: Path, limits: Limits) -> list[tuple[str, int, float, int]]:
    return [(rel, st.st_size, st.st_mtime, st.st_mode) for rel, st in walk_folder(root, limits)]


@pytest.mark.parametrize("jobs", [2, 3])
def test_the_members_are_those_of_one_walk(tmp_path: Path, small_parts: None, jobs: int) -> None:
    root = _tree(tmp_path / "dump")
    before = snapshot(root)
    one = _members(root, DEFAULT_LIMITS, 1)
    assert [(m.name, m.mtime, m.mode) for m in one] == [(rel, mtime, mode) for rel, _, mtime, mode in
                                                       _walked(root, DEFAULT_LIMITS)]
    assert _members(root, DEFAULT_LIMITS, jobs) == one
    assert snapshot(root) == before


def test_every_plan_gives_the_same_members(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path / "dump")
    one = _members(root, DEFAULT_LIMITS, 1)
    for walks in (1, 2, 5, 40, 1000):
        for folders in (1, 3, 512):
            monkeypatch.setattr(folder_module, "PLANNED_WALKS", walks)
            monkeypatch.setattr(folder_module, "_PLANNING_FOLDERS", folders)
            assert _members(root, DEFAULT_LIMITS, 2) == one, (walks, folders)


@pytest.mark.parametrize("depth", [0, 1, 3, 6, 9])
def test_the_depth_bound_is_that_of_one_walk(tmp_path: Path, small_parts: None, depth: int) -> None:
    root = _tree(tmp_path / "dump")
    limits = replace(DEFAULT_LIMITS, max_path_depth=depth)
    assert _members(root, limits, 2) == _members(root, limits, 1)


def test_the_entry_bound_is_that_of_one_walk(tmp_path: Path, small_parts: None) -> None:
    root = _tree(tmp_path / "dump")
    count = len(_walked(root, DEFAULT_LIMITS))
    exact = replace(DEFAULT_LIMITS, max_archive_entries=count)
    assert len(_members(root, exact, 2)) == count
    for bound in (count - 1, count // 2, 7, 1):
        fewer = replace(DEFAULT_LIMITS, max_archive_entries=bound)
        for jobs in (1, 2):
            with pytest.raises(LimitExceeded) as raised:
                _members(root, fewer, jobs)
            assert raised.value.reason == f"more than {bound} entries"


def test_a_dump_opened_in_parts_is_the_same(tmp_path: Path, small_parts: None) -> None:
    root = _tree(tmp_path / "dump")
    opened = []
    for jobs in (1, 2):
        with tempfile.TemporaryDirectory() as workdir:
            ctx = OpenContext(ledger=HashLedger(), limits=DEFAULT_LIMITS, workdir=Path(workdir), jobs=jobs)
            fs = open_acquisition(root, ctx).fs
            opened.append((fs.paths(), list(fs.iter_files()), list(fs.notes)))
            assert list(Path(workdir).iterdir()) == []  # nothing left of the parts
    assert opened[1] == opened[0]
    with tempfile.TemporaryDirectory() as workdir:
        few = replace(DEFAULT_LIMITS, max_archive_entries=10)
        ctx = OpenContext(ledger=HashLedger(), limits=few, workdir=Path(workdir), jobs=2)
        with pytest.raises(AcquisitionError, match="more than 10 entries"):
            open_acquisition(root, ctx)


class _Unstatable:
    """A folder entry whose stat fails (one removed between the listing of its folder and its stat)."""

    def __init__(self, entry: os.DirEntry[str]) -> None:
        self.name, self.path = entry.name, entry.path

    def stat(self, follow_symlinks: bool = True) -> os.stat_result:
        raise FileNotFoundError(self.path)


def test_entries_that_cannot_be_stat_ed_count_toward_the_bound(
    tmp_path: Path, small_parts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path / "dump")
    for app in (0, 5, 11):
        folder = root / "private" / "var" / "mobile" / "Containers" / "Data" / "Application" / f"APP-{app:02d}"
        for n in range(4):
            (folder / f"gone-{n}").write_bytes(b"")
    scandir = os.scandir

    class Listing:
        def __init__(self, path: str) -> None:
            self.inner = scandir(path)

        def __enter__(self) -> Listing:
            return self

        def __exit__(self, *exc: object) -> None:
            self.inner.close()

        def __iter__(self):  # noqa: ANN204
            for entry in self.inner:
                yield _Unstatable(entry) if entry.name.startswith("gone-") else entry

    monkeypatch.setattr(folder_module.os, "scandir", Listing)
    listed = len(_walked(root, DEFAULT_LIMITS))
    assert _members(root, DEFAULT_LIMITS, 2) == _members(root, DEFAULT_LIMITS, 1)
    assert len(_members(root, DEFAULT_LIMITS, 1)) == listed
    entries = listed + 12  # the 12 entries that cannot be stat-ed are listed all the same
    enough = replace(DEFAULT_LIMITS, max_archive_entries=entries)
    assert len(_members(root, enough, 2)) == listed
    fewer = replace(DEFAULT_LIMITS, max_archive_entries=entries - 1)
    for jobs in (1, 2):
        with pytest.raises(LimitExceeded):
            _members(root, fewer, jobs)


def test_a_big_last_subtree_is_split_and_its_members_are_those_of_one_walk(
    tmp_path: Path, small_parts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A phone's shape: many small folders planned (a camera roll's), then one folder holding most of
    the files (the app containers), which the process beside takes first. The process that comes to it
    takes the bottom half of what is left of its walk, again and again, and the members are still
    those of one walk."""
    root = tmp_path / "dump"
    var = root / "private" / "var" / "mobile"
    for roll in range(8):
        folder = var / "Media" / "DCIM" / f"{100 + roll}APPLE"
        folder.mkdir(parents=True)
        (folder / f"IMG_{roll}.HEIC").write_bytes(b"i")
    for app in range(40):
        folder = var / "Containers" / "Data" / "Application" / f"APP-{app:02d}" / "Library"
        folder.mkdir(parents=True)
        for n in range(6):
            (folder / f"f{n}").write_bytes(b"x" * n)
    here = os.getpid()
    children = folder_module._children

    def slow_beside(folder: str, relative: str):  # noqa: ANN202 - each process slowed down on its side
        if os.getpid() != here:
            time.sleep(0.01)  # the walk of the containers, beside
        elif "DCIM/" in relative:
            time.sleep(0.05)  # this process's parts: the process beside takes the containers meanwhile
        return children(folder, relative)

    resumed: list[int] = []
    resume = folder_module._resume

    def counted(limits: Limits, where: str, stack: list[tuple[str, str, int]]):  # noqa: ANN202
        resumed.append(len(stack))
        return resume(limits, where, stack)

    one = _members(root, DEFAULT_LIMITS, 1)
    monkeypatch.setattr(folder_module, "_children", slow_beside)
    monkeypatch.setattr(folder_module, "_resume", counted)
    assert _members(root, DEFAULT_LIMITS, 2) == one
    assert resumed  # the big subtree was split
    assert len(one) == len(_walked(root, DEFAULT_LIMITS))
