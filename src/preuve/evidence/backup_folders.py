"""A backup's hashed-name folders (``ab/ab12…``) listed with their sizes, for its integrity check
(:mod:`preuve.evidence.ios_integrity`), and where that listing is started early.

This module imports nothing of preuve's but the limits, the errors and the parallel kernel, so that a
run can start the listing at its very beginning (:func:`list_folders_early`), before it imports the
rest of preuve: its 200,000 ``stat`` calls on a phone (most of a second, spent in the kernel) then
take the core that the run's start-up (imports, feeds, the acquisition's kind) leaves idle.
"""

from __future__ import annotations

import os
import re
import shutil
import stat as statmod
import tempfile
from array import array
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import cast

from preuve.evidence.errors import AcquisitionError, LimitExceeded
from preuve.evidence.limits import Limits
from preuve.evidence.parallel import Later, later, run_steps

# The name of the backup's integrity check (ios_integrity.BackupIntegrity), which reads this listing.
INTEGRITY_CHECK = "acquisition_integrity"
# The hashed-name folders are listed beside the open only for a Manifest.db of this size or more
# (some 5,000 files): for fewer, starting a process costs more than listing them when wanted.
LIST_BESIDE_MIN_BYTES = 4 << 20
HEX_ID = re.compile(r"[0-9a-f]{40}\Z")
_HEX_SHARD = re.compile(r"[0-9a-f]{2}\Z")
_SHARD = re.compile(r"[0-9a-fA-F]{2}\Z")
NOT_REGULAR = -1  # in a folder's size array: a link, FIFO or device
_NAME = attrgetter("name")


def is_backup_folder(path: Path) -> bool:
    return path.is_dir() and ((path / "Manifest.db").is_file() or (path / "Manifest.plist").is_file())


def backup_root(path: Path) -> Path | None:
    """The backup at `path`, or the single backup inside it (AcquisitionError when it holds several)."""
    if is_backup_folder(path):
        return path
    if path.is_dir():
        inner = [child for child in sorted(path.iterdir()) if is_backup_folder(child)]
        if len(inner) == 1:
            return inner[0]
        if len(inner) > 1:
            names = ", ".join(c.name for c in inner)
            raise AcquisitionError(f"{path}: holds {len(inner)} backups ({names}); give one of them")
    return None


@dataclass(slots=True)
class _Stray:
    """A file of the hashed-name folders that is not at its own place (``ab/ab12…``, 40 lower-case hex
    digits): its name lower-cased is compared with the file ids all the same."""

    order: int  # its place in the listing of the folders (the later of two same names is the one kept)
    relative: str
    size: int  # NOT_REGULAR for a link, FIFO or device


@dataclass(slots=True)
class StoredFolders:
    """The hashed-name folders of a backup, listed: per two-hex-digit folder, the files at their own
    place (20-byte ids, sizes, listing order), and the other files (strays) by lower-cased name."""

    ids: list[bytearray] = field(default_factory=lambda: [bytearray() for _ in range(256)])
    sizes: list[array[int]] = field(default_factory=lambda: [array("q") for _ in range(256)])
    orders: list[array[int]] = field(default_factory=lambda: [array("q") for _ in range(256)])
    strays: dict[str, _Stray] = field(default_factory=dict)


def list_folders(root: Path, limits: Limits) -> StoredFolders:
    """What lies in the backup's hashed-name folders (``ab/ab12…``). Never follows a link and never
    opens a file; bounded by the archive-entry limit (counted before any entry of a folder is looked
    at, as each entry is counted when it is reached). Every folder listed here, in turn: what
    :func:`list_folders_later` gives, whichever process listed which folder."""
    return run_steps(FolderSteps(root, limits))


def list_folders_later(root: Path, limits: Limits, jobs: int, folder: Path) -> FoldersLater:
    """:func:`list_folders`, begun now beside the caller at the lowest priority (parallel.later), a
    hashed-name folder at a time: those not listed when the result is wanted are listed then."""
    return later(FolderSteps(root, limits), jobs, folder)


@dataclass(slots=True)
class _Shard:
    """What one hashed-name folder holds, as list_folders keeps it: its own files (20-byte ids, sizes)
    when it is its own two hex digits, the listing order of its first entry, and its strays."""

    own: int | None
    first: int
    ids: bytes = b""
    sizes: array[int] = field(default_factory=lambda: array("q"))
    orders: array[int] | None = None  # None: the entries from `first` on, one after the other
    strays: list[tuple[str, _Stray]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FolderSteps:
    """The listing of a backup's hashed-name folders in steps, one folder a step (parallel.Steps), the
    entries counted so far carried from one to the next: the folders are found when this is made, so
    whichever process lists a folder lists the same one."""

    root: Path
    limits: Limits
    folders: tuple[tuple[str, str], ...]

    def __init__(self, root: Path, limits: Limits) -> None:
        object.__setattr__(self, "root", root)
        object.__setattr__(self, "limits", limits)
        object.__setattr__(self, "folders", tuple(shard_folders(root)))

    @property
    def count(self) -> int:
        return len(self.folders)

    @property
    def start(self) -> int:
        return 0

    def step(self, index: int, count: int) -> tuple[_Shard | None, int]:
        """The folder at `index` (None when it cannot be listed), and the entries counted once it is."""
        name, folder = self.folders[index]
        limits = self.limits
        try:
            names, sizes = _children(folder, limits.max_archive_entries - count, str(self.root), limits)
        except OSError:
            return None, count
        own = int(name, 16) if _HEX_SHARD.match(name) else None
        first = count + 1  # the listing order of the folder's first entry
        count += len(names)
        shard = _Shard(own, first)
        joined = "\n".join(names)
        if (own is not None and None not in sizes and len(joined) == 41 * len(names) - 1
                and _own_names(name).fullmatch(joined)):  # (re caches the 256 patterns)
            # The usual folder: every entry a file id of its own folder (40 characters each, no line
            # break in any: the lines the pattern found are the names), every one stat-ed.
            shard.ids = bytes.fromhex("".join(names))
            shard.sizes = array("q", cast(list[int], sizes))
            return shard, count
        ids = bytearray()
        orders = shard.orders = array("q")
        for order, (child_name, size) in enumerate(zip(names, sizes, strict=True), first):
            if size is None:
                continue
            if own is not None and child_name.startswith(name) and HEX_ID.match(child_name):
                ids += bytes.fromhex(child_name)
                shard.sizes.append(size)
                orders.append(order)
            else:
                shard.strays.append((child_name.lower(), _Stray(order, f"{name}/{child_name}", size)))
        shard.ids = bytes(ids)
        return shard, count

    def finish(self, shards: list[_Shard | None], count: int) -> StoredFolders:
        out = StoredFolders()
        for shard in shards:
            if shard is None:
                continue
            if shard.own is not None:
                out.ids[shard.own] += shard.ids
                out.sizes[shard.own].extend(shard.sizes)
                if shard.orders is None:
                    out.orders[shard.own].extend(range(shard.first, shard.first + len(shard.sizes)))
                else:
                    out.orders[shard.own].extend(shard.orders)
            for lowered, stray in shard.strays:
                out.strays[lowered] = stray
        return out


# The listing begun beside (list_folders_later): its steps' outputs are _Shard (or None), they carry a count.
FoldersLater = Later["_Shard | None", int, StoredFolders]


def shard_folders(root: Path) -> list[tuple[str, str]]:
    """The backup's hashed-name folders (two hex digits, either case; not links), by name: (name,
    path); none when the backup's folder cannot be listed."""
    try:
        with os.scandir(root) as listing:
            folders = sorted((entry.name, entry) for entry in listing)
    except OSError:
        return []
    return [(name, folder.path) for name, folder in folders
            if _SHARD.match(name) and folder.is_dir(follow_symlinks=False)]


def _own_names(shard: str) -> re.Pattern[str]:
    """Names, one a line, each a file id of the folder `shard` (as HEX_ID and the shard prefix take it)."""
    return re.compile(shard + "[0-9a-f]{38}(?:\n" + shard + "[0-9a-f]{38})*")


def _children(folder: str, room: int, root: str, limits: Limits) -> tuple[list[str], list[int | None]]:
    """A hashed-name folder's entries, sorted by name, each with its size (NOT_REGULAR for a link,
    FIFO or device; None when it cannot be stat-ed). LimitExceeded, before any entry is stat-ed,
    when there are more than `room`; OSError when the folder cannot be listed.

    Where the platform lets a folder be listed and its entries stat-ed through a descriptor, they
    are: one name looked up per entry instead of its whole path (a backup's 200,000 entries cost
    about a sixth less), and no entry objects made."""
    stat, regular = os.stat, statmod.S_ISREG
    if os.listdir in os.supports_fd and stat in os.supports_dir_fd:
        handle = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
        try:
            names = sorted(os.listdir(handle))
            if len(names) > room:
                raise LimitExceeded(root, f"more than {limits.max_archive_entries} stored files")
            sizes: list[int | None] = []
            for child in names:
                try:
                    st = stat(child, dir_fd=handle, follow_symlinks=False)
                except OSError:
                    sizes.append(None)
                    continue
                sizes.append(st.st_size if regular(st.st_mode) else NOT_REGULAR)
            return names, sizes
        finally:
            os.close(handle)
    with os.scandir(folder) as listing:
        entries = sorted(listing, key=_NAME)
    if len(entries) > room:
        raise LimitExceeded(root, f"more than {limits.max_archive_entries} stored files")
    sizes = []
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            sizes.append(None)
            continue
        sizes.append(st.st_size if regular(st.st_mode) else NOT_REGULAR)
    return [entry.name for entry in entries], sizes


@dataclass(eq=False, slots=True)
class EarlyListing:
    """A backup's folders being listed from the run's beginning (:func:`list_folders_early`): for
    which backup (its folder, resolved), with which limits and jobs, where the listing is written, and
    the listing itself, which the backup's open takes (:meth:`take`)."""

    root: Path
    limits: Limits
    jobs: int
    folder: Path
    listing: FoldersLater
    taken: bool = False

    def take(self, root: Path, limits: Limits, jobs: int) -> FoldersLater | None:
        """The listing, for the open of the backup at `root` with these limits and jobs, once; None for
        any other open (which lists its folders itself)."""
        try:
            same = root.resolve() == self.root
        except OSError:
            same = False
        if self.taken or not same or limits != self.limits or jobs != self.jobs:
            return None
        self.taken = True
        return self.listing

    def close(self) -> None:
        """Stop the listing if it still runs and remove what it wrote (once the run that took it is done)."""
        self.listing.close()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def list_folders_early(
    evidence: Path, limits: Limits, jobs: int, runs: Collection[str] | None,
) -> Iterator[EarlyListing | None]:
    """Start listing the hashed-name folders of the backup at `evidence` now, in a forked process of the
    lowest priority, when the run will check the backup's integrity (`runs`: the artifacts it reads,
    None for all) with more than one job, and its Manifest.db is big enough to be worth a process (the
    same rule as when its open starts the listing); None otherwise, and for anything that is not a
    backup (its open says what it is). Stopped, and what it wrote removed, on leaving; the run opens
    the backup in between, and its open takes the listing (EarlyListing.take)."""
    early = _start_early(evidence, limits, jobs, runs)
    try:
        yield early
    finally:
        if early is not None:
            early.close()


def _start_early(evidence: Path, limits: Limits, jobs: int, runs: Collection[str] | None) -> EarlyListing | None:
    if jobs < 2 or (runs is not None and INTEGRITY_CHECK not in runs):
        return None
    try:
        root = backup_root(evidence)
        if root is None or (root / "Manifest.db").stat().st_size < LIST_BESIDE_MIN_BYTES:
            return None
        resolved = root.resolve()
        folder = Path(tempfile.mkdtemp(prefix="preuve-"))
    except (AcquisitionError, OSError):
        return None  # (the open says why)
    try:
        folder.resolve().relative_to(evidence.resolve())
    except ValueError:
        return EarlyListing(resolved, limits, jobs, folder, list_folders_later(root, limits, jobs, folder))
    shutil.rmtree(folder, ignore_errors=True)  # (a temporary folder inside the evidence: never written to)
    return None
