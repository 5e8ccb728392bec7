"""A folder on disk as a source: its entries read where they lie, links and FIFOs never opened."""

from __future__ import annotations

import os
import stat as statmod
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from preuve.evidence.errors import EvidenceError, LimitExceeded
from preuve.evidence.fs import MountFS
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits
from preuve.evidence.policy import FILE, folder_entry_type, open_regular_file
from preuve.evidence.sources.base import Member, Source, at


def walk_folder(root: Path, limits: Limits) -> Iterator[tuple[str, os.stat_result]]:
    """Every entry under `root` as (relative path, lstat), folders before their contents, never
    following a link. Depth is bounded by `limits`; past the entry count it raises LimitExceeded."""
    # os.scandir and plain names, not pathlib: a dump lists hundreds of thousands of entries, and a
    # Path per entry (made, sorted by its parts, stat-ed) was most of the listing's time. Names sort
    # as strings, the order pathlib gave within one folder.
    stack: list[tuple[str, str, int]] = [(str(root), "", 0)]
    listed = 0
    while stack:
        folder, relative, depth = stack.pop()
        if depth > limits.max_path_depth:
            continue
        try:
            with os.scandir(folder) as listing:
                children = sorted((entry.name, entry) for entry in listing)
        except OSError:
            continue
        for name, entry in children:
            listed += 1
            if listed > limits.max_archive_entries:
                raise LimitExceeded(str(root), f"more than {limits.max_archive_entries} entries")
            rel = f"{relative}/{name}" if relative else name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            yield rel, st
            if statmod.S_ISDIR(st.st_mode):
                stack.append((entry.path, rel, depth + 1))


class FolderSource(Source):
    """The entries of a folder on disk. Symbolic links, FIFOs and devices are listed (so they can be
    reported) but never opened: nothing outside the folder is read through a link."""

    separator = "/"

    def members(self) -> Iterator[Member]:
        for rel, st in walk_folder(self.path, self.limits):
            kind = folder_entry_type(st.st_mode)
            yield Member(rel, kind, st.st_size if kind == FILE else 0, st.st_mtime, st.st_mode)

    def local_file(self, name: str) -> Path | None:
        path = self.path / name
        try:
            regular = statmod.S_ISREG(path.lstat().st_mode)
        except OSError as exc:
            raise EvidenceError(name, f"cannot open: {exc.strerror}") from exc
        if not regular:
            raise EvidenceError(name, "not a regular file")
        return path

    def open(self, name: str, label: str) -> BinaryIO:
        return open_regular_file(self.path / name, label)


class FileSource(Source):
    """One plain file on disk, as the one member named after it."""

    def members(self) -> Iterator[Member]:
        st = self.path.lstat()
        kind = folder_entry_type(st.st_mode)
        yield Member(self.path.name, kind, st.st_size if kind == FILE else 0, st.st_mtime, st.st_mode)

    def local_file(self, name: str) -> Path | None:
        return self.path

    def open(self, name: str, label: str) -> BinaryIO:
        return open_regular_file(self.path, label)


def folder_fs(root: Path, ledger: HashLedger, limits: Limits, workdir: Path, kind: str = "folder") -> MountFS:
    """A folder laid out as the device's own tree (``private/var/…``) as a DeviceFS at the device's root."""
    fs = MountFS(root, ledger, limits, workdir, kind=kind)
    fs.mount(FolderSource(root, limits), at("/"))
    return fs
