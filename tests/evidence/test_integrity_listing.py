"""The integrity check's listing of a backup's hashed-name folders (backup_folders.list_folders) gives
exactly what the entry-by-entry walk it replaced gave (kept below as the reference), through a
folder descriptor and without one, on folders of every shape: file ids at their place, strays,
upper-case and odd names, names with line breaks, links, FIFOs, sub-folders, and the entry bound."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import stat as statmod
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preuve.evidence import backup_folders
from preuve.evidence.backup_folders import (
    _HEX_SHARD,
    _NAME,
    HEX_ID,
    NOT_REGULAR,
    FolderSteps,
    StoredFolders,
    _Stray,
    list_folders,
    list_folders_later,
    shard_folders,
)
from preuve.evidence.errors import LimitExceeded
from preuve.evidence.limits import Limits


def reference(root: Path, limits: Limits) -> StoredFolders:
    """The walk list_folders replaced, as it was (its folders as shard_folders finds them, unchanged)."""
    out = StoredFolders()
    count = 0
    for name, folder in shard_folders(root):
        try:
            with os.scandir(folder) as listing:
                children = sorted(listing, key=_NAME)
        except OSError:
            continue
        own = int(name, 16) if _HEX_SHARD.match(name) else None
        ids, sizes, orders = (out.ids[own], out.sizes[own], out.orders[own]) if own is not None else (None, None, None)
        for child in children:
            child_name = child.name
            count += 1
            if count > limits.max_archive_entries:
                raise LimitExceeded(str(root), f"more than {limits.max_archive_entries} stored files")
            try:
                st = child.stat(follow_symlinks=False)
            except OSError:
                continue
            size = st.st_size if statmod.S_ISREG(st.st_mode) else NOT_REGULAR
            if ids is not None and sizes is not None and orders is not None and child_name.startswith(name) \
                    and HEX_ID.match(child_name):
                ids += bytes.fromhex(child_name)
                sizes.append(size)
                orders.append(count)
            else:
                out.strays[child_name.lower()] = _Stray(count, f"{name}/{child_name}", size)
    return out


def _listed(folders: StoredFolders) -> tuple[object, ...]:
    return (
        [bytes(ids) for ids in folders.ids], [list(sizes) for sizes in folders.sizes],
        [list(orders) for orders in folders.orders], folders.strays,
    )


_HEX = "0123456789abcdef"
_ID = st.text(_HEX, min_size=38, max_size=38)
_ENTRY = st.one_of(
    st.tuples(st.just("own"), _ID),
    st.tuples(st.just("upper"), _ID),
    st.tuples(st.just("other_shard"), _ID),
    st.tuples(st.just("short"), st.text(_HEX, min_size=1, max_size=39)),
    st.tuples(st.just("newline"), _ID),
    st.tuples(st.just("name"), st.text("abcXYZ._-é ", min_size=1, max_size=12)),
)
_KIND = st.sampled_from(["file", "file", "file", "link", "fifo", "folder"])
_SHARDS = st.sampled_from(["00", "ab", "AB", "fF", "zz", "abc", "ff"])


def _name(shard: str, what: str, text: str) -> str:
    if what == "own":
        return shard.lower() + text if _HEX_SHARD.match(shard.lower()) else shard + text
    if what == "upper":
        return (shard + text).upper()
    if what == "other_shard":
        return "01" + text
    if what == "newline":
        return f"{shard}{text}\n{shard}{text}"  # two file ids in one name
    return text


def _lay_out(root: Path, layout: list[tuple[str, list[tuple[tuple[str, str], str, int]]]]) -> None:
    root.mkdir()
    for shard, entries in layout:
        folder = root / shard
        if folder.exists():
            continue
        folder.mkdir()
        for (what, text), kind, size in entries:
            path = folder / _name(shard, what, text)
            if os.path.lexists(path):
                continue
            if kind == "file":
                path.write_bytes(b"x" * size)
            elif kind == "link":
                path.symlink_to("/etc/hostname")
            elif kind == "fifo":
                os.mkfifo(path)
            else:
                path.mkdir()
    (root / "Manifest.db").write_bytes(b"")
    (root / "ab-link").symlink_to(root / "ab") if (root / "ab").exists() else None


_LAYOUT = st.lists(
    st.tuples(_SHARDS, st.lists(st.tuples(_ENTRY, _KIND, st.integers(0, 3)), max_size=12)), max_size=4
)


def _split(root: Path, limits: Limits, beside: int) -> StoredFolders:
    """The listing as parallel.later makes it when the process beside did the first `beside` folders
    (their outputs and counts written and read back) and the rest were listed where it is wanted."""
    steps = FolderSteps(root, limits)
    outputs, carry = [], steps.start
    for index in range(steps.count):
        output, carry = steps.step(index, carry)
        if index < beside:
            output, carry = pickle.loads(pickle.dumps((output, carry), protocol=pickle.HIGHEST_PROTOCOL))
        outputs.append(output)
    return steps.finish(outputs, carry)


def _both(root: Path, limits: Limits) -> tuple[object, object]:
    def run(walk: object) -> object:
        try:
            return _listed(walk(root, limits))  # type: ignore[operator]
        except LimitExceeded as exc:
            return ("limit", str(exc))
    return run(list_folders), run(reference)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layout=_LAYOUT, bound=st.integers(1, 40))
def test_the_listing_is_the_walk(tmp_path_factory: pytest.TempPathFactory, layout, bound: int) -> None:  # noqa: ANN001
    root = tmp_path_factory.mktemp("b") / "backup"
    _lay_out(root, layout)
    for limits in (Limits(), Limits(max_archive_entries=bound)):
        new, old = _both(root, limits)
        assert new == old
        for beside in range(len(shard_folders(root)) + 1):  # (the folders the process beside listed)
            try:
                split: object = _listed(_split(root, limits, beside))
            except LimitExceeded as exc:
                split = ("limit", str(exc))
            assert split == old
        with pytest.MonkeyPatch.context() as patch:  # a platform without descriptor-relative calls
            patch.setattr(os, "supports_dir_fd", set())
            assert _both(root, limits)[0] == old


def test_the_usual_folder_and_its_exceptions(tmp_path: Path) -> None:
    root = tmp_path / "backup"
    ids = ["ab" + f"{n:038x}" for n in range(3)]
    layout = [("ab", [(("own", i[2:]), "file", n) for n, i in enumerate(ids)]),
              ("cd", [(("own", "1" * 38), "file", 2), (("newline", "2" * 38), "file", 1), (("upper", "3" * 38), "link", 0)])]
    _lay_out(root, layout)
    new, old = _both(root, Limits())
    assert new == old
    listed = list_folders(root, Limits())
    assert bytes(listed.ids[0xAB]) == bytes.fromhex("".join(ids))
    assert list(listed.sizes[0xAB]) == [0, 1, 2] and list(listed.orders[0xAB]) == [1, 2, 3]
    assert bytes(listed.ids[0xCD]) == bytes.fromhex("cd" + "1" * 38)
    assert sorted(listed.strays) == ["cd" + "2" * 38 + "\ncd" + "2" * 38, ("cd" + "3" * 38).lower()]
    assert listed.strays[("cd" + "3" * 38).lower()].size == NOT_REGULAR
    assert _both(root, Limits(max_archive_entries=5)) == (("limit", f"{root}: more than 5 stored files"),) * 2


def test_a_folder_that_cannot_be_listed_is_passed_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "backup"
    _lay_out(root, [("ab", [(("own", "1" * 38), "file", 1)]), ("cd", [(("own", "2" * 38), "file", 2)])])
    real = os.listdir

    def refuse(path: object) -> list[str]:
        if isinstance(path, int) and sorted(real(path)) == ["cd" + "2" * 38]:
            raise PermissionError(13, "Permission denied")
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(backup_folders.os, "listdir", refuse)
    monkeypatch.setattr(os, "supports_fd", {*os.supports_fd, refuse})
    listed = list_folders(root, Limits())
    assert bytes(listed.ids[0xAB]) == bytes.fromhex("ab" + "1" * 38) and not listed.ids[0xCD]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no forked processes here")
def test_the_listing_begun_beside_is_the_listing(tmp_path: Path) -> None:
    """Begun in a process beside (however far it got when wanted), the listing is list_folders's."""
    root = tmp_path / "backup"
    layout = [(f"{n:02x}", [(("own", f"{k:038x}"), "file", k % 3) for k in range(20)] + [(("name", "x"), "link", 0)])
              for n in range(0, 256, 8)]
    _lay_out(root, layout)
    expected = _listed(list_folders(root, Limits()))
    for pause in (0.0, 0.05, 1.0):
        ahead = list_folders_later(root, Limits(), 2, tmp_path)
        time.sleep(pause)
        assert _listed(ahead.result()) == expected
        ahead.close()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["backup"]
    assert multiprocessing.active_children() == []
