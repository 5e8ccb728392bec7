"""What a source is: the members of one container (a folder, a zip, a tar, an Android backup).

A source lists its members under safe relative names (the policy's one sanitizer) and opens a
regular member's bytes; it knows nothing of device paths. A member is found again by its name, or
by its `ref` (its place among what :meth:`Source.members` yielded, from 0), for a source that keeps
what it knows of each member compactly in that order (an iOS backup's file ids and keys). The acquisition's
:class:`~preuve.evidence.fs.MountFS` mounts each source with a :data:`Mapper` that places its
members in the device tree, and gives every source the same folder semantics.
"""

from __future__ import annotations

import posixpath
from abc import ABC, abstractmethod
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import BinaryIO, ClassVar, NamedTuple

from preuve.evidence.fs import MEMBER_TYPES, FileInfo, normalize_device_path
from preuve.evidence.limits import Limits
from preuve.evidence.policy import AbsoluteNames

# Where a member goes in the device tree (None: not mounted).
Mapper = Callable[[str], str | None]


class Member(NamedTuple):  # a tuple: hundreds of thousands are made while a dump is listed
    name: str  # safe, relative, '/'-separated (see policy.member_name)
    type: str  # policy.FILE, DIR, LINK or OTHER
    size: int
    mtime: float | None
    mode: int | None


@dataclass(slots=True)
class MemberColumns:
    """Members as columns, in order: a source that lists many at once may hand them over so (see
    Source.member_batches), and MountFS places a whole batch at once where it can. Each member's
    name, type (a code of MEMBER_TYPES), size (0 for anything but a file; -1 for a file whose size is
    looked up when asked for), and time and mode (None: no member of the batch has one)."""

    names: list[str]
    types: bytearray
    sizes: array[int]
    mtimes: array[float] | None = None
    modes: array[int] | None = None

    def members(self) -> Iterator[Member]:
        types = map(MEMBER_TYPES.__getitem__, self.types)
        if self.mtimes is None or self.modes is None:
            return map(Member, self.names, types, self.sizes, repeat(None), repeat(None))
        return map(Member, self.names, types, self.sizes, self.mtimes, self.modes)


def members_of(batches: Iterable[Member | MemberColumns]) -> Iterator[Member]:
    """The members of batches, one at a time (a source that hands over columns lists its members so)."""
    for item in batches:
        if isinstance(item, MemberColumns):
            yield from item.members()
        else:
            yield item


class Source(ABC):
    """The members of one container and their bytes.

    `label` names the container in the ledger's source names (``label!member``, or for a folder
    ``label/member``); without one, the member name alone is the source name.
    """

    separator = "!"
    # True for a container whose own index is the listing (a backup's Manifest.db, which lists its
    # folders and whose later row for a path replaces the earlier): listed as the index says, the last
    # entry at a path silently, no folder added above a file (see MountFS).
    index_is_listing: ClassVar[bool] = False

    def __init__(self, path: Path, limits: Limits, label: str | None = None) -> None:
        self.path = path
        self.limits = limits
        self.label = label
        self.refused: list[str] = []  # raw names the policy refused
        self.damaged: list[str] = []  # members that cannot be read: the acquisition is incomplete
        self.damage: list[str] = []  # what is wrong with the container as a whole (cut short…)
        self.notes: list[str] = []  # anything else the run should say about this container
        self.absolute = AbsoluteNames()  # members whose names were absolute, read relative to the root

    @property
    def where(self) -> str:
        """The container's name in messages."""
        return self.label if self.label is not None else self.path.name

    @abstractmethod
    def members(self) -> Iterator[Member]:
        """Every member with a safe name, once (refused names go to :attr:`refused`)."""

    def member_batches(self) -> Iterator[Member | MemberColumns]:
        """The members, as :meth:`members` gives them, some handed over a batch at a time as columns
        (a source that lists many at once overrides this; :meth:`members` is then the same, flattened)."""
        yield from self.members()

    @abstractmethod
    def open(self, name: str, label: str) -> BinaryIO:
        """The bytes of a regular member (`label` names it in errors)."""

    def local_file(self, name: str) -> Path | None:
        """A plain file on disk holding exactly this member's bytes, if there is one."""
        return None

    def source_name(self, name: str) -> str:
        return name if self.label is None else f"{self.label}{self.separator}{name}"

    # -- a member found by its ref (its place in the listing) as well as its name ----------------
    def open_member(self, ref: int, name: str, label: str) -> BinaryIO:
        return self.open(name, label)

    def local_member(self, ref: int, name: str) -> Path | None:
        return self.local_file(name)

    def member_source_name(self, ref: int, name: str) -> str:
        return self.source_name(name)

    def member_digest(self, ref: int, name: str) -> tuple[str, int] | None:
        """The SHA-256 and size of a member's bytes when the source hashed them as it made them (a
        private copy it decrypted), so they are not read again to be hashed; None: not known."""
        return None

    def link_target(self, ref: int, name: str) -> str | None:
        """A symbolic link's target, as the container stores it (None: not a symbolic link, or not known).
        Only the text is read: the link itself is never followed on the disk."""
        return None

    def complete(self, ref: int, name: str, info: FileInfo) -> FileInfo:
        """A member listed with an unknown size (-1), its size (and what else was left unknown) found."""
        return info

    def absent(self, ref: int, name: str) -> bool:
        """Whether the container's own index lists this member but its bytes are absent."""
        return False

    def may_have_lost(self, pattern: str) -> bool:
        """Whether a file at a device path matching `pattern` (a glob) may be in the container though
        its listing does not show one: only when the container is damaged, and unless the source
        looked for such a file where the container keeps it whatever its listing says."""
        return bool(self.damage)

    def reads_forward(self) -> bool:
        """Whether a member is reached only by reading the container from its start (a bzip2 or xz
        tar): then the members a run will read are best copied in one pass (:meth:`prefetch`)."""
        return False

    def prefetch(self, names: Collection[str], folder: Path) -> None:  # noqa: B027 - optional hook
        """Copy these members in one pass into `folder` (a private folder) and read them from there
        afterwards (for a source that :meth:`reads_forward`; the others read in place)."""

    def prefetch_members(self, members: Collection[tuple[int, str]], folder: Path) -> None:
        """:meth:`prefetch` of members given by their refs and names (a source that finds its members by
        their refs, as a backup packed in an archive does, overrides this)."""
        self.prefetch([name for _, name in members], folder)

    def close(self) -> None:  # noqa: B027 - optional hook: a folder holds nothing open
        """Release what the source holds open."""

    def after_fork(self) -> None:  # noqa: B027 - optional hook: a folder holds nothing open
        """In a forked process: open again what the source holds open (see DeviceFS.after_fork)."""


class Under:
    """The mapper of every member under one device folder: `root` + the member's name. Member names
    are safe (no '', '.' or '..' part, no leading '/': see Source.members), so every path it gives
    is already normal: MountFS places such members without calling it or checking their paths."""

    __slots__ = ("root",)

    def __init__(self, root: str) -> None:
        self.root = root

    def __call__(self, name: str) -> str | None:
        return self.root + name


def at(prefix: str) -> Under:
    """Every member under the device folder `prefix` ('/' for the device's root)."""
    return Under("/" + prefix.strip("/") + "/" if prefix.strip("/") else "/")


def prefix_mapper(strip: str, device_prefix: str = "/", other_prefix: str | None = None) -> Mapper:
    """Members under `strip` go under `device_prefix`; the others under `other_prefix` (or are dropped).
    With nothing to strip, every member goes under `device_prefix`: that is :class:`Under` (whose
    members MountFS places without a call or a check of their paths)."""
    strip = strip.strip("/")
    root = "/" + device_prefix.strip("/") + "/" if device_prefix.strip("/") else "/"
    if not strip:
        return Under(root)

    def mapper(name: str) -> str | None:
        rest: str | None
        if name == strip:
            rest = ""
        elif name.startswith(strip + "/"):
            rest = name[len(strip) + 1 :]
        else:
            rest = None
        if rest is not None:
            if not rest:
                return normalize_device_path(device_prefix)
            return root + rest
        if other_prefix is None:
            return None
        return normalize_device_path(posixpath.join(other_prefix, name))

    return mapper
