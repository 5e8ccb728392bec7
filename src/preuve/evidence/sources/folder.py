"""A folder on disk as a source: its entries read where they lie, links and FIFOs never opened."""

from __future__ import annotations

import os
import stat as statmod
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO

from preuve.evidence.errors import EvidenceError, LimitExceeded
from preuve.evidence.fs import MEMBER_TYPES, MountFS
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits
from preuve.evidence.parallel import can_fork, in_parts
from preuve.evidence.policy import FILE, folder_entry_type, open_regular_file, raw_name, text_name
from preuve.evidence.sources.base import Member, MemberColumns, Source, at, members_of


def walk_folder(root: Path, limits: Limits) -> Iterator[tuple[str, os.stat_result]]:
    """Every entry under `root` as (relative path, lstat), folders before their contents, never
    following a link. Depth is bounded by `limits`; past the entry count it raises LimitExceeded."""
    listed = 0
    for rel, st in _walk([(str(root), "", 0)], limits):
        listed += 1
        if listed > limits.max_archive_entries:
            raise LimitExceeded(str(root), f"more than {limits.max_archive_entries} entries")
        if rel is not None and st is not None:
            yield rel, st


def _walk(stack: list[tuple[str, str, int]], limits: Limits) -> Iterator[tuple[str | None, os.stat_result | None]]:
    """Every entry under the folders of `stack` (folder, its relative path, its depth; the last one
    walked first), as walk_folder gives them, and (None, None) for an entry that cannot be stat-ed."""
    while stack:
        folder, relative, depth = stack.pop()
        if depth > limits.max_path_depth:
            continue
        for rel, st, path in _children(folder, relative):
            yield rel, st
            if st is not None and statmod.S_ISDIR(st.st_mode):
                stack.append((path, rel, depth + 1))


def _children(folder: str, relative: str) -> Iterator[tuple[str, os.stat_result | None, str]]:
    """A folder's own entries, by name: relative path, lstat (None when it cannot be stat-ed), path;
    none when it cannot be listed."""
    # os.scandir and plain names, not pathlib: a dump lists hundreds of thousands of entries, and a
    # Path per entry (made, sorted by its parts, stat-ed) was most of the listing's time. Names sort
    # as strings, the order pathlib gave within one folder.
    try:
        with os.scandir(folder) as listing:
            children = sorted((entry.name, entry) for entry in listing)
    except OSError:
        return
    for name, entry in children:
        rel = f"{relative}/{name}" if relative else name
        try:
            st: os.stat_result | None = entry.stat(follow_symlinks=False)
        except OSError:
            st = None
        yield rel, st, entry.path


# A folder is listed in parts on the run's jobs from this many subfolders planned (see _plan); its
# entries are handed over this many at a time.
PLANNED_WALKS = 64
_PLANNING_FOLDERS = 512  # at most this many folders are listed to plan
_BATCH = 4096


_TYPE_CODES = {kind: code for code, kind in enumerate(MEMBER_TYPES)}


@dataclass(slots=True)
class _Listed:
    """Entries listed, in order, as columns (they go to the process that places them, and columns
    pickle at the speed of copying bytes, a tuple per entry a hundred times slower): each member's
    name, type (a code of _TYPES), size, time and mode; and the count of entries they stand for
    (some may not stat)."""

    names: list[str] = field(default_factory=list)
    types: bytearray = field(default_factory=bytearray)
    sizes: array[int] = field(default_factory=lambda: array("q"))
    mtimes: array[float] = field(default_factory=lambda: array("d"))
    modes: array[int] = field(default_factory=lambda: array("q"))
    count: int = 0

    def add(self, rel: str, st: os.stat_result) -> None:
        kind = folder_entry_type(st.st_mode)
        self.names.append(rel if rel.isascii() else text_name(rel))
        self.types.append(_TYPE_CODES[kind])
        self.sizes.append(st.st_size if kind == FILE else 0)
        self.mtimes.append(st.st_mtime)
        self.modes.append(st.st_mode)


@dataclass(frozen=True, slots=True)
class _Subtree:
    """A folder to walk whole (its path, its relative path, its depth)."""

    folder: str
    relative: str
    depth: int


class FolderSource(Source):
    """The entries of a folder on disk. Symbolic links, FIFOs and devices are listed (so they can be
    reported) but never opened: nothing outside the folder is read through a link.

    With more than one job and a private `workdir`, a big folder is listed in parts: the first
    levels are listed to plan (:meth:`_plan`), then its subfolders are walked in parallel
    (:func:`~preuve.evidence.parallel.in_parts`), in an order that gives the members one walk gives."""

    separator = "/"

    def __init__(
        self, path: Path, limits: Limits, label: str | None = None, jobs: int = 1, workdir: Path | None = None
    ) -> None:
        super().__init__(path, limits, label)
        self.jobs, self.workdir = jobs, workdir

    def members(self) -> Iterator[Member]:
        return members_of(self.member_batches())

    def member_batches(self) -> Iterator[Member | MemberColumns]:
        if self.workdir is None or not can_fork(self.jobs):
            for rel, st in walk_folder(self.path, self.limits):
                yield _member(rel, st)
            return
        plan = self._plan()
        # Too few subfolders to pay for a process beside: the parts planned are walked here, in order.
        jobs = self.jobs if sum(isinstance(part, _Subtree) for part in plan) >= PLANNED_WALKS else 1
        limit, listed = self.limits.max_archive_entries, 0
        work = partial(_part, plan, self.limits, str(self.path))
        resume = partial(_resume, self.limits, str(self.path))
        for batch in in_parts(work, len(plan), jobs, self.workdir, resume):
            listed += batch.count
            if listed > limit:
                raise LimitExceeded(str(self.path), f"more than {limit} entries")
            yield MemberColumns(batch.names, batch.types, batch.sizes, batch.mtimes, batch.modes)

    def _plan(self) -> list[_Listed | _Subtree]:
        """The walk of the folder as parts, in order: what the first levels list, and the subfolders
        below them to walk whole. A folder's walk is its own entries, then the walk of each of its
        subfolders from the last (as walk_folder goes); the levels are listed one after the other until
        the plan has PLANNED_WALKS subfolders to walk, none is left, or _PLANNING_FOLDERS were listed."""
        plan: list[_Listed | _Subtree] = [_Subtree(str(self.path), "", 0)]
        listed = entries = 0
        while listed < _PLANNING_FOLDERS:
            walks = sum(isinstance(part, _Subtree) for part in plan)
            if walks == 0 or walks >= PLANNED_WALKS:
                break
            level: list[_Listed | _Subtree] = []
            for part in plan:  # the next level: each subfolder planned is listed
                if isinstance(part, _Subtree) and listed < _PLANNING_FOLDERS:
                    listed += 1
                    parts = self._listed(part, self.limits.max_archive_entries - entries)
                    entries += parts[0].count if parts and isinstance(parts[0], _Listed) else 0
                    level.extend(parts)
                else:
                    level.append(part)
            plan = level
        return plan

    def _listed(self, part: _Subtree, room: int) -> list[_Listed | _Subtree]:
        """A subfolder's walk as parts: its own entries, then the walk of each of its subfolders, the last
        first (as walk_folder goes). Past `room` entries (what the bound leaves) it raises LimitExceeded,
        as one walk does, before a huge folder is held whole."""
        if part.depth > self.limits.max_path_depth:
            return []
        listed = _Listed()
        below: list[_Subtree] = []
        for rel, st, path in _children(part.folder, part.relative):
            listed.count += 1
            if listed.count > room:
                limit = self.limits.max_archive_entries
                raise LimitExceeded(str(self.path), f"more than {limit} entries")
            if st is not None:
                listed.add(rel, st)
                if statmod.S_ISDIR(st.st_mode):
                    below.append(_Subtree(path, rel, part.depth + 1))
        return [listed, *reversed(below)]

    def _path(self, name: str) -> Path:
        """Where a member lies: a name whose bytes were not UTF-8 was listed as text (policy.text_name)."""
        path = self.path / name
        if "\\x" in name and not os.path.lexists(path):
            return self.path / raw_name(name)
        return path

    def link_target(self, ref: int, name: str) -> str | None:
        try:
            target = os.readlink(self._path(name))  # (the link's text alone: nothing is followed)
        except (OSError, ValueError):
            return None
        return text_name(target) if len(target) <= self.limits.max_path_chars else None

    def local_file(self, name: str) -> Path | None:
        path = self._path(name)
        try:
            regular = statmod.S_ISREG(path.lstat().st_mode)
        except OSError as exc:
            raise EvidenceError(name, f"cannot open: {exc.strerror}") from exc
        if not regular:
            raise EvidenceError(name, "not a regular file")
        return path

    def open(self, name: str, label: str) -> BinaryIO:
        return open_regular_file(self._path(name), label)


def _member(rel: str, st: os.stat_result) -> Member:
    kind = folder_entry_type(st.st_mode)
    return Member(text_name(rel), kind, st.st_size if kind == FILE else 0, st.st_mtime, st.st_mode)


def _part(plan: list[_Listed | _Subtree], limits: Limits, where: str, index: int) -> Iterator[_Listed]:
    """One part of a folder's plan, as batches of members (each with the count of entries it stands
    for); a subfolder walked whole is bounded in entries as a whole walk is, and its walk can be split
    (see _Walk)."""
    part = plan[index]
    if isinstance(part, _Listed):
        return iter((part,))
    return _Walk([(part.folder, part.relative, part.depth)], limits, where)


def _resume(limits: Limits, where: str, stack: list[tuple[str, str, int]]) -> Iterator[_Listed]:
    """The walk of the folders a split gave away (see _Walk.split)."""
    return _Walk(stack, limits, where)


class _Walk:
    """The walk of the folders of `stack` (the last walked first), as batches of _BATCH entries, which
    can give away the folders at the bottom of its stack (those it would walk last) for another process
    to walk: a plan's subfolders differ in size as a phone's folders do (its app containers, two thirds
    of its files, under one folder), and the process that waits for a big one takes half of it."""

    def __init__(self, stack: list[tuple[str, str, int]], limits: Limits, where: str) -> None:
        self.stack, self.limits, self.where = stack, limits, where
        self.children: Iterator[tuple[str, os.stat_result | None, str]] = iter(())  # the folder being listed
        self.depth = 0  # that folder's
        self.total = 0

    def __iter__(self) -> _Walk:
        return self

    def __next__(self) -> _Listed:
        batch = _Listed()
        stack, limits = self.stack, self.limits
        while batch.count < _BATCH:
            entry = next(self.children, None)
            if entry is None:
                if not stack:
                    break
                folder, relative, depth = stack.pop()
                if depth > limits.max_path_depth:
                    continue
                self.depth = depth
                self.children = _children(folder, relative)
                continue
            rel, st, path = entry
            batch.count += 1
            if st is not None:
                batch.add(rel, st)
                if statmod.S_ISDIR(st.st_mode):
                    stack.append((path, rel, self.depth + 1))
        if not batch.count and not stack:
            raise StopIteration
        self.total += batch.count
        if self.total > limits.max_archive_entries:
            raise LimitExceeded(self.where, f"more than {limits.max_archive_entries} entries")
        return batch

    def split(self) -> list[tuple[str, str, int]] | None:
        """The bottom half of the stack, taken from it: the folders walked after all the others (a
        folder's subfolders are pushed above what the stack holds when it is listed)."""
        if len(self.stack) < 2:
            return None
        half = len(self.stack) // 2
        given, self.stack[:half] = self.stack[:half], []
        return given


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
