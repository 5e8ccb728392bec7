"""DeviceFS: the only door to evidence.

Every acquisition (backup, dump, archive, sysdiagnose, AndroidQF…) is
presented as a read-only filesystem at the paths the files had on the device
(``/private/var/mobile/Library/SMS/sms.db``), so artifacts never know where
the bytes came from. Every file handed out is hashed once into the run's
:class:`~preuve.evidence.ledger.HashLedger`.

:class:`MountFS` is the one DeviceFS: a table of mounts, each a source
(:mod:`preuve.evidence.sources`: a folder, a zip, a tar, an Android backup, an
iOS backup plain or encrypted) placed in the device tree by a mapper, with one
folder semantics whatever the source. Each mount's listing is kept compactly
(its sorted paths and a few arrays; a FileInfo is made when asked for), so an
acquisition of half a million files costs little more than its paths.

Paths inside an acquisition that describe the acquisition itself (a backup's
Manifest.db and Info.plist, an AndroidQF's hashes.csv) live under
``/.acquisition/``; artifacts that need them declare those paths like any
other.
"""

from __future__ import annotations

import bisect
import copy
import heapq
import posixpath
import re
import shutil
import sqlite3
import tempfile
from abc import ABC, abstractmethod
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from operator import attrgetter, eq, itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeVar, cast

from preuve.evidence.errors import AcquisitionError, EvidenceError, LimitExceeded
from preuve.evidence.formats.plists import PlistValue, load_plist
from preuve.evidence.formats.textlines import text_lines
from preuve.evidence.ledger import EvidenceFile, HashLedger, sha256_stream
from preuve.evidence.limits import Limits
from preuve.evidence.policy import (
    DIR,
    FILE,
    LINK,
    OTHER,
    duplicate_note,
    names_root,
    refused_note,
    shown,
    too_long_note,
)
from preuve.evidence.sqlite import open_readonly

if TYPE_CHECKING:
    from preuve.evidence.sources.base import Mapper, Member, MemberColumns, Source

ACQUISITION_PREFIX = "/.acquisition"
S = TypeVar("S", bound="Source")
_FIRST = itemgetter(0)
_DEVICE_PATH = attrgetter("device_path")


@dataclass(frozen=True, slots=True)
class FileInfo:
    device_path: str
    size: int
    mtime: float | None = None
    mode: int | None = None
    is_dir: bool = False
    is_link: bool = False


def normalize_device_path(path: str) -> str | None:
    """An absolute, normalised device path, or None when it would leave the root."""
    if "\x00" in path:
        return None
    joined = posixpath.normpath("/" + path.lstrip("/"))
    if joined.startswith("//"):
        joined = "/" + joined.lstrip("/")
    parts = joined.split("/")
    if ".." in parts:
        return None
    return joined


def _is_normal(path: str) -> bool:
    """Whether a device path is already absolute and normalised (the cheap test of the common case)."""
    return (path.startswith("/") and "//" not in path and "/./" not in path and "/../" not in path
            and "\x00" not in path and (path == "/" or not path.endswith(("/", "/.", "/.."))))


@lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end + 1
                continue
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def _glob_folders(paths: list[str], start: int, prefix: str, after: str, regex: re.Pattern[str]) -> list[str]:
    """Matches of ``prefix*/after…`` in the sorted `paths` from `start`, one folder at a time: for
    each name the ``*`` takes (an app's container among thousands of files), only the paths under
    ``prefix<name>/after`` are looked at, found by bisection, instead of every path under `prefix`."""
    out = []
    index, count = start, len(paths)
    while index < count:
        path = paths[index]
        if not path.startswith(prefix):
            break
        slash = path.find("/", len(prefix))
        if slash < 0:
            index += 1
            continue
        folder = path[: slash + 1]
        wanted = folder + after
        index = bisect.bisect_left(paths, wanted, index)
        while index < count and paths[index].startswith(wanted):
            if regex.match(paths[index]):
                out.append(paths[index])
            index += 1
        index = bisect.bisect_left(paths, path[:slash] + "0", index)  # past the folder ("0" follows "/")
    return out


def _literal_prefix(pattern: str) -> str:
    for index, char in enumerate(pattern):
        if char in "*?[":
            return pattern[:index]
    return pattern


class DeviceFS(ABC):
    """A read-only view of an acquisition at device paths.

    The one implementation is :class:`MountFS`; this class says what every artifact may ask of an
    acquisition (the listing and the bytes) and does the reading, bounds and hashing included, once.
    """

    kind: str = "unknown"

    def __init__(self, source: Path, ledger: HashLedger, limits: Limits, workdir: Path) -> None:
        # True when the listing is the device's own file tree (a filesystem dump), not a
        # selection of files (a backup): a capability artifacts may ask for, not a kind.
        self.whole_filesystem = False
        # What is wrong with the acquisition as a whole (an archive cut short…): files may be lost.
        self.damage: list[str] = []
        # Members that could not be read (a decompression bomb, a damaged stream): the rest was read,
        # and the acquisition is incomplete.
        self.unreadable: list[str] = []
        self.source = source
        self.ledger = ledger
        self.limits = limits
        self.workdir = workdir
        self._entry_range: tuple[int, int] | None = None  # see only_entries

    # -- what the implementation provides -----------------------------------------------------
    @abstractmethod
    def _load(self) -> list[str]:
        """Every device path, sorted (the acquisition is listed the first time)."""

    @abstractmethod
    def _entry(self, device_path: str) -> FileInfo | None:
        """The listed entry at a path (its size -1 when the listing left it unknown), or None."""

    @abstractmethod
    def _complete(self, entry: FileInfo) -> FileInfo:
        """An entry of unknown size (-1) completed, once (then :meth:`_entry` gives the completed one)."""

    @abstractmethod
    def iter_files(self) -> Iterator[FileInfo]:
        """Every listed entry (files, folders, links), in the order of :meth:`paths`, as :meth:`_entry`
        gives it (in a view made by :meth:`only_entries`, those of its range alone)."""

    @abstractmethod
    def _open_raw(self, device_path: str) -> BinaryIO:
        """The bytes of a regular file. Called only for paths listed as files."""

    def _local_file(self, device_path: str) -> Path | None:
        """A plain file on disk holding exactly these bytes, if there is one."""
        return None

    def _source_name(self, device_path: str) -> str:
        """Where the bytes lie inside the acquisition, for the ledger."""
        return device_path

    def _known_digest(self, device_path: str) -> tuple[str, int] | None:
        """The SHA-256 and size of a file its source hashed as it made it (see Source.member_digest)."""
        return None

    def listed_but_absent(self, device_path: str) -> bool:
        """Whether the acquisition's own manifest lists this file but its bytes are absent (a backup's
        Manifest.db row without its file): the file is missing, not merely unreadable."""
        return False

    def may_have_lost(self, pattern: str) -> bool:
        """Whether a file at a device path matching `pattern` (a glob) may be in the acquisition though
        its listing shows none: only when the acquisition is damaged (see Source.may_have_lost)."""
        return bool(self.damage)

    def close(self) -> None:  # noqa: B027 - optional hook: most acquisitions hold nothing open
        """Release what the acquisition holds open."""

    def after_fork(self) -> None:  # noqa: B027 - optional hook: most acquisitions hold nothing open
        """In a process forked from the one that opened the acquisition: open again what it holds open,
        so that the two processes never share a file position."""

    def wants_prefetch(self) -> bool:
        """Whether some files are reached only by reading a container from its start (a bzip2 or xz
        tar), so that the files a run will read are best named first (:meth:`prefetch`)."""
        return False

    def prefetch(self, device_paths: Iterable[str]) -> None:  # noqa: B027 - optional hook
        """The files a run will read, named before it reads any: a container read only forward copies
        them in one pass to the run's private folder (the others read in place, in any order)."""

    # -- listing ------------------------------------------------------------------------------
    def paths(self) -> list[str]:
        """Every device path, sorted."""
        return list(self._load())

    def __contains__(self, device_path: str) -> bool:
        return self._entry(device_path) is not None

    def exists(self, device_path: str) -> bool:
        return device_path in self

    def is_file(self, device_path: str) -> bool:
        entry = self._entry(device_path)
        return entry is not None and not entry.is_dir and not entry.is_link

    def stat(self, device_path: str) -> FileInfo:
        entry = self._entry(device_path)
        if entry is None:
            raise EvidenceError(device_path, "no such file in the acquisition")
        if entry.size < 0:
            entry = self._complete(entry)
        return entry

    def listed_size(self, device_path: str) -> int | None:
        """The size of a file as the listing gives it, without looking closer (None when the listing does
        not say, or does not list the file): asking changes nothing the acquisition reports later."""
        entry = self._entry(device_path)
        return entry.size if entry is not None and entry.size >= 0 and not entry.is_dir else None

    def only_entries(self, low: int, high: int) -> DeviceFS:
        """A view of this acquisition in which :meth:`iter_files` gives the entries from `low` to `high`
        (excluded) alone, and everything else is the acquisition's own: how the engine reads a range of
        a listing as it reads a range of a table."""
        self._load()
        view = copy.copy(self)
        view._entry_range = (low, high)
        return view

    def regular_files(self, patterns: Iterable[str]) -> list[str]:
        """The regular files matching any of the globs, sorted (where an artifact or a check reads, by
        default). A symbolic link to a file is one of them (see MountFS._follow) unless that file is
        one already, read at its own path: the same bytes are not read twice."""
        found: set[str] = set()
        for pattern in patterns:
            for path in self.glob(pattern):
                if self.is_file(path):
                    found.add(path)
        return sorted(path for path in found if self._link_to_file(path) not in found)

    def _link_to_file(self, device_path: str) -> str | None:
        """The file a symbolic link at this path is read as (None: not such a link)."""
        return None

    def links_not_read(self, pattern: str) -> list[str]:
        """The symbolic links matching a glob that name no file of the acquisition (to nothing, to a
        folder, in a loop, or a target the source does not tell): present where a file is looked for,
        and not read."""
        return []

    def glob(self, pattern: str) -> list[str]:
        """Device paths matching a glob (``*`` within a folder, ``**/`` across folders), sorted.

        Uses the literal prefix of the pattern to look at a slice of the sorted
        listing, so a glob on an acquisition of a million files stays cheap.
        """
        paths = self._load()
        prefix = _literal_prefix(pattern)
        start = bisect.bisect_left(paths, prefix)
        # Most artifacts look for files an acquisition does not have: no path under the literal
        # prefix, or a pattern without wildcards, is answered without compiling its regex.
        if start == len(paths) or not paths[start].startswith(prefix):
            return []
        if prefix == pattern:
            return [pattern] if paths[start] == pattern else []
        regex = _glob_regex(pattern)
        rest = pattern[len(prefix) :]
        after = _literal_prefix(rest[2:]) if rest.startswith("*/") else ""
        if after:
            return _glob_folders(paths, start, prefix, after, regex)
        out = []
        for index in range(start, len(paths)):
            path = paths[index]
            if not path.startswith(prefix):
                break
            if regex.match(path):
                out.append(path)
        return out

    # -- reading ------------------------------------------------------------------------------
    def _file_behind(self, device_path: str) -> FileInfo | None:
        """A symbolic link's file, when it names a regular file of the acquisition: that file's size,
        time and mode at the link's path (None: not such a link)."""
        return None

    def read_stat(self, device_path: str) -> FileInfo:
        """What reading a path reads: its entry (:meth:`stat`), or for a symbolic link to a regular file of
        the acquisition, that file's size, time and mode at the link's path."""
        info = self.stat(device_path)
        if info.is_link:
            return self._file_behind(device_path) or info
        return info

    def _require_file(self, device_path: str) -> FileInfo:
        info = self.read_stat(device_path)
        if info.is_dir or info.is_link:
            raise EvidenceError(device_path, "not a regular file")
        if info.size > self.limits.max_file_bytes:
            raise LimitExceeded(device_path, f"file of {info.size} bytes exceeds {self.limits.max_file_bytes}")
        return info

    def sha256(self, device_path: str) -> str:
        """The SHA-256 of a file, computed once per run and recorded in the ledger."""
        known = self.ledger.get(device_path)
        if known is not None:
            return known.sha256
        self._require_file(device_path)
        made = self._known_digest(device_path)
        if made is not None:
            digest, size = made
        else:
            with self._open_raw(device_path) as stream:
                try:
                    digest, size = sha256_stream(stream, self.limits.max_file_bytes)
                except ValueError as exc:
                    raise LimitExceeded(device_path, str(exc)) from exc
        entry = EvidenceFile(device_path, self._source_name(device_path), size, digest)
        return self.ledger.add(entry).sha256

    def open(self, device_path: str) -> BinaryIO:
        """A binary stream of a file (hashed into the ledger first)."""
        self.sha256(device_path)
        return self._open_raw(device_path)

    def read_bytes(self, device_path: str, max_bytes: int | None = None) -> bytes:
        limit = self.limits.max_read_bytes if max_bytes is None else max_bytes
        info = self._require_file(device_path)
        if info.size > limit:
            raise LimitExceeded(device_path, f"file of {info.size} bytes exceeds the {limit}-byte read limit")
        self.sha256(device_path)
        with self._open_raw(device_path) as stream:
            data = stream.read(limit + 1)
        if len(data) > limit:
            raise LimitExceeded(device_path, f"file exceeds the {limit}-byte read limit")
        return data

    def read_text_lines(self, device_path: str) -> Iterator[tuple[int, str]]:
        """(line number from 1, text) for a text file, bounded per line, decoded leniently
        (`evidence.formats.textlines`)."""
        self.sha256(device_path)
        with self._open_raw(device_path) as raw:
            yield from text_lines(raw, self.limits.max_text_line_bytes)

    def plist(self, device_path: str) -> PlistValue:
        return load_plist(self.read_bytes(device_path, self.limits.max_plist_bytes), device_path, self.limits)

    def _materialize(self, device_path: str) -> Path:
        """A private copy of a file on local disk (for archives), never beside the evidence."""
        local = self._local_file(device_path)
        if local is not None:
            return local
        folder = Path(tempfile.mkdtemp(prefix="file-", dir=self.workdir))
        target = folder / "data"
        with self._open_raw(device_path) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
        return target

    @contextmanager
    def sqlite(self, device_path: str) -> Iterator[sqlite3.Connection]:
        """A hardened read-only connection to a database, with its WAL or journal applied.

        The database and any journal beside it are hashed into the ledger.
        """
        self._require_file(device_path)
        self.sha256(device_path)
        journals: dict[str, Path] = {}
        copies: list[Path] = []  # private copies (archive members, decrypted files): removed after use
        try:
            for suffix in ("-wal", "-journal"):
                side = device_path + suffix
                if self.is_file(side) and self.stat(side).size > 0:
                    self.sha256(side)
                    journals[suffix] = self._materialize(side)
                    copies.append(journals[suffix])
            database = self._materialize(device_path)
            copies.append(database)
            try:
                with open_readonly(database, journals, self.limits, self.workdir) as conn:
                    yield conn
            except sqlite3.DatabaseError as exc:
                raise EvidenceError(device_path, f"SQLite error: {exc}") from exc
            except UnicodeDecodeError as exc:
                # SQLite's own message quoted invalid UTF-8 from a damaged schema; Python failed to decode it.
                message = exc.object.decode("utf-8", "backslashreplace") if isinstance(exc.object, bytes) else str(exc)
                raise EvidenceError(device_path, f"SQLite error: {message}") from exc
        finally:
            for copy in copies:
                if copy.parent.parent == self.workdir and copy.parent.name.startswith("file-"):
                    shutil.rmtree(copy.parent, ignore_errors=True)


# One byte per listed entry (see _Listing): its kind, and what the source gave of its time and mode.
_KIND_FILE, _KIND_DIR, _KIND_LINK, _KIND = 0, 1, 2, 3
_LINKS_FOLLOWED = 40  # symbolic links followed one after another at most (Linux's bound before ELOOP)
_HAS_MTIME, _INT_MTIME, _HAS_MODE = 4, 8, 16
# The member types of a batch of columns (sources.base.MemberColumns), by their code, and the flag of
# each in a listing (a link, FIFO, socket or device is listed as a link: never opened), with and
# without a time and a mode.
MEMBER_TYPES = (FILE, DIR, LINK, OTHER)
_TYPE_FILE, _TYPE_DIR = MEMBER_TYPES.index(FILE), MEMBER_TYPES.index(DIR)
_FLAGS = bytes([_KIND_FILE, _KIND_DIR, _KIND_LINK, _KIND_LINK]).ljust(256, b"\xff")
_FLAGS_TIMED = bytes(flag | _HAS_MTIME | _HAS_MODE for flag in _FLAGS[:4]).ljust(256, b"\xff")
_INT64 = 1 << 63
_EXACT_FLOAT = 1 << 53
_SYNTHESISED = -1  # the ref of a folder no member names: it lies above a file
_MAX_REF = (1 << 31) - 1  # refs are kept in 32 bits


class _Listing:
    """One mount's entries, sorted by device path, each a slot in a few compact arrays (no Python
    object per entry but its path): a byte saying its kind (file, folder, link) and whether it has a
    time and a mode, its size, time and mode, its `ref` (its place among what the source listed, by
    which the source finds it again), and its member name when that is not the device path without
    its '/' (a source mounted elsewhere than at the device's root). A FileInfo is made when asked for.
    """

    __slots__ = ("exact", "flags", "modes", "mtimes", "names", "paths", "refs", "sizes", "source")

    def __init__(self, source: Source) -> None:
        self.source = source
        self.paths: list[str] = []
        self.flags = bytearray()
        self.sizes = array("q")
        self.mtimes: array[float] | None = None  # (with modes) None: few entries have a time or mode
        self.modes: array[int] | None = None
        self.refs = array("i")
        self.names: list[str | None] | None = None  # None: every name is the device path without its '/'
        # Entries kept whole: the few with a time or mode when the others have none, and those whose
        # values fit no array (a hostile size or time).
        self.exact: dict[int, FileInfo] = {}

    def is_dir(self, index: int) -> bool:
        return self.flags[index] & _KIND == _KIND_DIR

    def name(self, index: int) -> str:
        name = self.names[index] if self.names is not None else None
        return name if name is not None else self.paths[index][1:]

    def info(self, index: int) -> FileInfo:
        exact = self.exact.get(index) if self.exact else None
        if exact is not None:
            return exact
        mtimes, modes = self.mtimes, self.modes
        if mtimes is None or modes is None:
            return self.made(self.paths[index], self.flags[index], self.sizes[index], 0.0, 0)
        return self.made(self.paths[index], self.flags[index], self.sizes[index], mtimes[index], modes[index])

    @staticmethod
    def made(path: str, flag: int, size: int, stored_mtime: float, stored_mode: int) -> FileInfo:
        """The FileInfo of an entry from its slots."""
        mtime: float | None = None
        if flag & _HAS_MTIME:
            mtime = int(stored_mtime) if flag & _INT_MTIME else stored_mtime
        mode = stored_mode if flag & _HAS_MODE else None
        kind = flag & _KIND
        if kind == _KIND_FILE:
            return FileInfo(path, size, mtime, mode)
        if kind == _KIND_DIR:
            return FileInfo(path, 0, mtime, mode, is_dir=True)
        return FileInfo(path, 0, mtime, mode, is_link=True)

    def make_folder(self, index: int) -> None:
        """A file that a later mount placed something below: a folder (with no time or mode)."""
        self.flags[index] = _KIND_DIR
        self.sizes[index] = 0
        self.exact.pop(index, None)


class _Placing:
    """A mount's entries while it is listed, in the order they come (then sorted into a _Listing).

    Times and modes are kept aside, by place, while few entries have one (a backup lists only its own
    few files with a time), and in arrays beside the others once many do (a folder, a zip, a tar)."""

    __slots__ = ("devices", "exact", "flags", "modes", "mtimes", "names", "refs", "sizes", "sparse")

    def __init__(self) -> None:
        self.devices: list[str] = []
        self.flags = bytearray()
        self.sizes = array("q")
        self.refs = array("i")
        self.mtimes: array[float] | None = None  # (with modes) one slot per entry, once many have a time or mode
        self.modes: array[int] | None = None
        self.sparse: dict[int, tuple[float, int]] = {}  # place: (time, mode), while few have one
        self.names: list[str | None] | None = None
        self.exact: dict[int, FileInfo] = {}

    def folder(self, device: str) -> None:
        self.devices.append(device)
        self.flags.append(_KIND_DIR)
        self.sizes.append(0)
        self.refs.append(_SYNTHESISED)
        if self.mtimes is not None and self.modes is not None:
            self.mtimes.append(0.0)
            self.modes.append(0)
        if self.names is not None:
            self.names.append(None)

    def member(self, device: str, ref: int, member: Member) -> None:
        name, kind, size, mtime, mode = member
        if kind == FILE:
            flag = _KIND_FILE
        else:  # a folder; or a link, FIFO, socket, device: listed, never opened
            flag, size = (_KIND_DIR if kind == DIR else _KIND_LINK), 0
        at = len(self.devices)
        if mtime is None and mode is None and -_INT64 <= size < _INT64:  # (a backup's rows)
            stored_mtime, stored_mode = 0.0, 0
        else:
            flag, size, stored_mtime, stored_mode = self._timed(device, at, flag, size, mtime, mode)
        self.devices.append(device)
        self.flags.append(flag)
        self.sizes.append(size)
        self.refs.append(ref)
        mtimes, modes = self.mtimes, self.modes
        if mtimes is not None and modes is not None:
            mtimes.append(stored_mtime)
            modes.append(stored_mode)
        elif flag & (_HAS_MTIME | _HAS_MODE):
            self.sparse[at] = (stored_mtime, stored_mode)
            if len(self.sparse) > 64 + at // 8:
                self._dense(at + 1)
        if len(name) + 1 != len(device) or not device.endswith(name):
            if self.names is None:
                self.names = [None] * at
            self.names.append(name)
        elif self.names is not None:
            self.names.append(None)

    def columns(
        self, batch: MemberColumns, ref: int, folders: set[str], as_indexed: bool, max_depth: int, max_chars: int,
    ) -> bool:
        """A batch of members at the device's root, in a mount listed first, placed whole (their refs from
        `ref`), when that gives exactly what placing them one by one gives (MountFS._place); False, and
        nothing placed, when it might not: a name nested too deep or too long, a ref past the bound, a time or mode
        an array cannot hold, times where this mount keeps none in arrays yet (few had one), or, in a
        mount that is not its own index, a member whose folder is not listed before it or a path
        listed twice. This is the listing's kernel for the members of a big folder or backup (one
        step per member, in C where it can be, instead of a placement each)."""
        names, types, sizes = batch.names, batch.types, batch.sizes
        count = len(names)
        if count != len(types) or count != len(sizes) or ref + count > _MAX_REF or not count:
            return False
        if max(types) >= len(MEMBER_TYPES) or any(name.count("/") >= max_depth for name in names):
            return False
        if max(map(len, names)) >= max_chars:  # (the device path is one character longer: "/" + name)
            return False
        if any(size and code != _TYPE_FILE for size, code in zip(sizes, types, strict=True)):
            return False  # (one by one, anything but a file is listed with size 0)
        timed = batch.mtimes is not None and batch.modes is not None
        if timed:
            mtimes, modes = cast("array[float]", batch.mtimes), cast("array[int]", batch.modes)
            if self.mtimes is None or len(mtimes) != count or len(modes) != count or (
                count and (min(modes) < 0 or max(modes) >= _INT64)
            ):
                return False
        devices = ["/" + name for name in names]
        if not as_indexed:
            # One walk lists every folder before what it holds, and each path once; anything else (a
            # folder to add above a member, a path twice) is placed one by one.
            added: set[str] = set()
            for device, code in zip(devices, types, strict=True):
                parent = device.rpartition("/")[0]
                if device in folders or device in added or (parent and parent not in folders and parent not in added):
                    return False
                if code == _TYPE_DIR:
                    added.add(device)
            folders |= added
        flags = types.translate(_FLAGS_TIMED if timed else _FLAGS)
        self.devices += devices
        self.flags += flags
        self.sizes.extend(sizes)
        self.refs.extend(range(ref, ref + count))
        if self.mtimes is not None and self.modes is not None:
            if timed:
                self.mtimes.extend(cast("array[float]", batch.mtimes))
                self.modes.extend(cast("array[int]", batch.modes))
            else:
                self.mtimes.extend(array("d", bytes(8 * count)))
                self.modes.extend(array("q", bytes(8 * count)))
        if self.names is not None:
            self.names += [None] * count
        return True

    def _timed(self, device: str, at: int, flag: int, size: int, mtime: float | None, mode: int | None,
               ) -> tuple[int, int, float, int]:
        """The flag, size, time and mode to store of an entry with a time or mode (or an odd size); an
        entry whose values fit no array is kept whole (:attr:`exact`)."""
        fits = -_INT64 <= size < _INT64
        stored_mtime = 0.0
        if mtime is not None:
            if type(mtime) is float:
                flag |= _HAS_MTIME
                stored_mtime = mtime
            elif type(mtime) is int and -_EXACT_FLOAT <= mtime <= _EXACT_FLOAT:
                flag |= _HAS_MTIME | _INT_MTIME
                stored_mtime = float(mtime)
            else:
                fits = False
        stored_mode = 0
        if mode is not None:
            if 0 <= mode < _INT64:
                flag |= _HAS_MODE
                stored_mode = mode
            else:
                fits = False
        if fits:
            return flag, size, stored_mtime, stored_mode
        self.exact[at] = FileInfo(device, size, mtime, mode, is_dir=flag & _KIND == _KIND_DIR,
                                  is_link=flag & _KIND == _KIND_LINK)
        return flag & _KIND, 0, 0.0, 0

    def _dense(self, count: int) -> None:
        """Times and modes in arrays from now on (the first `count` entries' filled in)."""
        self.mtimes = array("d", bytes(8 * count))
        self.modes = array("q", bytes(8 * count))
        for at, (mtime, mode) in self.sparse.items():
            self.mtimes[at], self.modes[at] = mtime, mode
        self.sparse = {}

    def name(self, at: int) -> str:
        name = self.names[at] if self.names is not None else None
        return name if name is not None else self.devices[at][1:]

    def chosen(self, group: list[int], as_indexed: bool, notes: list[tuple[int, str]]) -> int:
        """Which of the entries placed at one path is listed (their places, in the order they came)."""
        if as_indexed:  # the later entry replaces the earlier (no folder was added: see MountFS._place)
            return group[-1]
        flags, refs = self.flags, self.refs
        folders = [at for at in group if flags[at] & _KIND == _KIND_DIR]
        if folders:  # a folder, whatever else was placed there; its time is that of the last member naming it
            named = [at for at in folders if refs[at] != _SYNTHESISED]
            chosen = named[-1] if named else folders[0]
        else:
            chosen = group[0]
        for at in group:
            if at != chosen and flags[at] & _KIND != _KIND_DIR:
                notes.append((refs[at], duplicate_note(self.name(at))))
        return chosen

    def sorted_listing(self, source: Source, notes: list[tuple[int, str]]) -> _Listing:
        """The entries sorted by path, one per path (see :meth:`chosen`), as a _Listing."""
        devices = self.devices
        order = sorted(range(len(devices)), key=devices.__getitem__)
        paths = list(map(devices.__getitem__, order))
        if any(map(eq, paths, islice(paths, 1, None))):  # some path placed twice: one entry kept
            order, paths = self._one_per_path(order, paths, source.index_is_listing, notes)
        out = _Listing(source)
        out.paths = paths
        out.flags = bytearray(map(self.flags.__getitem__, order))
        out.sizes = array("q", map(self.sizes.__getitem__, order))
        out.refs = array("i", map(self.refs.__getitem__, order))
        if self.mtimes is not None and self.modes is not None:
            out.mtimes = array("d", map(self.mtimes.__getitem__, order))
            out.modes = array("q", map(self.modes.__getitem__, order))
        if self.names is not None:
            out.names = list(map(self.names.__getitem__, order))
        exact, sparse = self.exact, self.sparse
        if exact or sparse:
            for at, chosen in enumerate(order):
                if chosen in exact:
                    out.exact[at] = exact[chosen]
                elif chosen in sparse:  # one of the few entries with a time or mode: kept whole
                    out.exact[at] = _Listing.made(paths[at], self.flags[chosen], self.sizes[chosen], *sparse[chosen])
        return out

    def _one_per_path(self, order: list[int], paths: list[str], as_indexed: bool, notes: list[tuple[int, str]],
                      ) -> tuple[list[int], list[str]]:
        """The sorted entries with one per path (see :meth:`chosen`): their places, and the paths."""
        kept: list[int] = []
        kept_paths: list[str] = []
        count, index = len(order), 0
        while index < count:
            device = paths[index]
            end = index + 1
            while end < count and paths[end] == device:
                end += 1
            kept.append(order[index] if end == index + 1 else self.chosen(order[index:end], as_indexed, notes))
            kept_paths.append(device)
            index = end
        return kept, kept_paths


class MountFS(DeviceFS):
    """An acquisition as a table of mounts: each source's members placed at device paths by its mapper.

    The folder semantics are the same whatever the source: every folder above a file is listed as
    a folder (whether the container lists it or not), links, FIFOs and devices are listed and never
    opened, and a device path is listed once: the first member placed there is read, and any other
    is reported (:attr:`notes`); a path both a file and a folder is a folder, the file reported. A
    source whose own index is the listing (:attr:`Source.index_is_listing`: a backup's Manifest.db,
    which lists its folders and whose later row for a path replaces the earlier) is listed as its
    index says: the last entry at a path, silently, and no folder added. What the sources report
    (refused names, unreadable members, a container cut short) is gathered here as they are listed.

    Each mount's listing is kept compactly (:class:`_Listing`: the sorted paths and a few arrays, a
    FileInfo made when asked for), and a path is looked up in each mount's listing in turn (a run
    has a few mounts): half a million files cost their paths and a few dozen bytes each.
    """

    def __init__(
        self, source: Path, ledger: HashLedger, limits: Limits, workdir: Path, kind: str = "unknown",
        whole_filesystem: bool = False,
    ) -> None:
        super().__init__(source, ledger, limits, workdir)
        self.kind = kind
        self.whole_filesystem = whole_filesystem
        self.mounts: list[tuple[Source, Mapper]] = []
        self.notes: list[str] = []  # warnings about the acquisition (refused names, duplicates…)
        self._listings: list[_Listing] = []  # one per mount listed, in the order of the mounts
        self._completed: dict[str, FileInfo] = {}  # entries listed with an unknown size, completed
        self._paths: list[str] | None = None
        self._listed = 0  # mounts listed so far

    def mount(self, source: Source, mapper: Mapper) -> None:
        """Add a source; it is listed with the next listing (after those mounted before it)."""
        self.mounts.append((source, mapper))
        self._paths = None

    def wants_prefetch(self) -> bool:
        return any(source.reads_forward() for source, _ in self.mounts)

    def prefetch(self, device_paths: Iterable[str]) -> None:
        wanted: dict[int, tuple[Source, list[tuple[int, str]]]] = {}
        for device_path in device_paths:
            try:
                source, ref, name = self.placed(device_path)
            except EvidenceError:
                continue
            if source.reads_forward():
                wanted.setdefault(id(source), (source, []))[1].append((ref, name))
        for source, members in wanted.values():
            try:
                folder = Path(tempfile.mkdtemp(prefix="prefetch-", dir=self.workdir))
            except OSError:
                return  # (no room for the copies: the files are read from the archive, as they always were)
            source.prefetch_members(members, folder)

    def may_have_lost(self, pattern: str) -> bool:
        self._load()
        sources = [source for source, _ in self.mounts]
        if len(self.damage) > sum(len(source.damage) for source in sources):
            return True  # (damage no source answers for)
        return any(source.may_have_lost(pattern) for source in sources if source.damage)

    def sources(self, kind: type[S]) -> list[S]:
        """The mounted sources of a kind (for what reads a source's own index, as a backup's integrity check)."""
        return [source for source, _ in self.mounts if isinstance(source, kind)]

    # -- listing ------------------------------------------------------------------------------
    def _load(self) -> list[str]:
        if self._paths is None:
            while self._listed < len(self.mounts):
                source, mapper = self.mounts[self._listed]
                self._listed += 1
                notes: list[tuple[int, str]] = []
                self._listings.append(self._place(source, mapper, notes))
                notes.sort(key=_FIRST)
                self.notes.extend(note for _, note in notes)
                self.notes.extend(refused_note(raw) for raw in source.refused if not names_root(raw))
                self.notes.extend(source.absolute.notes())
                self.notes.extend(source.notes)
                self.damage.extend(source.damage)
                self.unreadable.extend(source.damaged)
            lists = [listing.paths for listing in self._listings]
            self._paths = lists[0] if len(lists) == 1 else list(heapq.merge(*lists))
        return self._paths

    def _place(self, source: Source, mapper: Mapper, notes: list[tuple[int, str]]) -> _Listing:
        """A source's members placed in the device tree (the notes about them, by their place in the
        source's listing, go to `notes`), sorted into its listing."""
        earlier = bool(self._listings)  # (this mount is not among the listings yet)
        max_depth, max_chars = self.limits.max_path_depth, self.limits.max_path_chars
        as_indexed = source.index_is_listing
        folders: set[str] = set()  # this mount's folders (those of earlier mounts are found in their listings)
        placing = _Placing()
        place, find = placing.member, self._find
        append_device, append_flag = placing.devices.append, placing.flags.append
        append_size, append_ref = placing.sizes.append, placing.refs.append
        from preuve.evidence.sources.base import MemberColumns, Under  # (sources import this module)

        # Under a folder, a safe member name gives a normal path as it is (see Under): no call, no check.
        root = mapper.root if isinstance(mapper, Under) else None
        # A batch of columns at the device's root, in the first mount, is placed whole when that gives
        # what placing its members one by one gives (_Placing.columns); the others one by one, below.
        whole = root == "/" and not earlier

        def one_by_one() -> Iterator[tuple[int, Member]]:
            ref = 0
            for item in source.member_batches():
                if type(item) is MemberColumns:
                    if whole and placing.columns(item, ref, folders, as_indexed, max_depth, max_chars):
                        ref += len(item.names)
                        continue
                    for member in item.members():
                        yield ref, member
                        ref += 1
                else:
                    yield ref, cast("Member", item)
                    ref += 1

        for ref, member in one_by_one():
            name, kind = member[0], member[1]
            if root is not None:
                device = root + name
            else:
                mapped = mapper(name)
                if mapped is None:
                    continue
                normal = mapped if _is_normal(mapped) else normalize_device_path(mapped)
                if normal is None:
                    continue
                device = normal
            if len(device) > max_chars:
                notes.append((ref, too_long_note(device, self.limits)))
                continue
            if name.count("/") >= max_depth:
                notes.append((ref, f"member refused: {shown(name)}: nested deeper than {max_depth}"))
                continue
            if earlier:
                held = find(device)
                if held is not None:
                    if not (held[0].is_dir(held[1]) and kind == DIR):  # (a folder again: the first stands)
                        notes.append((ref, duplicate_note(name)))
                    continue
            if not as_indexed:
                if kind != DIR and device in folders:
                    notes.append((ref, duplicate_note(name)))
                    continue
                parent = device.rpartition("/")[0]
                while parent and parent not in folders:
                    folders.add(parent)
                    held = find(parent) if earlier else None
                    if held is None:
                        placing.folder(parent)
                    elif not held[0].is_dir(held[1]):  # a file of an earlier mount, with something below it now
                        held[0].make_folder(held[1])
                    parent = parent.rpartition("/")[0]
                if kind == DIR:
                    folders.add(device)
            if ref >= _MAX_REF:
                raise LimitExceeded(source.where, f"more than {_MAX_REF} members")
            if (kind == FILE and member[3] is None and member[4] is None and placing.mtimes is None
                    and placing.names is None and len(name) + 1 == len(device) and device.endswith(name)
                    and -_INT64 <= member[2] < _INT64):  # a backup's file: what placing.member would keep
                append_device(device)
                append_flag(_KIND_FILE)
                append_size(member[2])
                append_ref(ref)
                continue
            place(device, ref, member)
        return placing.sorted_listing(source, notes)

    def _find(self, device_path: str) -> tuple[_Listing, int] | None:
        """The listing holding a path and where, or None."""
        for listing in self._listings:
            paths = listing.paths
            index = bisect.bisect_left(paths, device_path)
            if index < len(paths) and paths[index] == device_path:
                return listing, index
        return None

    def __contains__(self, device_path: str) -> bool:
        if self._paths is None:
            self._load()
        return self._find(device_path) is not None

    def is_file(self, device_path: str) -> bool:
        """Whether a path is a regular file, or a symbolic link to one of the acquisition (see _follow)."""
        if self._paths is None:
            self._load()
        done = self._completed.get(device_path) if self._completed else None
        if done is not None:
            return not done.is_dir and not done.is_link
        found = self._find(device_path)
        if found is None:
            return False
        kind = found[0].flags[found[1]] & _KIND
        return kind == _KIND_FILE or (kind == _KIND_LINK and self._follow(device_path) is not None)

    def _follow(self, device_path: str) -> str | None:
        """The regular file a symbolic link names in the acquisition: its device path, the link's target
        read as the device reads it (from the link's folder, or from the device's root; ".." above the
        root is the root), through at most _LINKS_FOLLOWED links one after the other. None for anything
        else: not a link, a link whose source does not tell its target, or one to nothing, to a folder,
        past the bound. Only the acquisition's own listing is looked in: nothing is followed on a disk.

        A phone follows a link where an app opens a file; a check that did not would say the file is
        not in the acquisition when it is there under another name."""
        path = device_path
        found = self._find(path)
        for _ in range(_LINKS_FOLLOWED + 1):
            if found is None:
                return None
            listing, index = found
            kind = listing.flags[index] & _KIND
            if kind == _KIND_FILE:
                return path if path != device_path else None
            if kind != _KIND_LINK:
                return None
            target = listing.source.link_target(listing.refs[index], listing.name(index))
            if not target:
                return None
            followed = normalize_device_path(target if target[0] == "/" else posixpath.dirname(path) + "/" + target)
            if followed is None:
                return None
            path = followed
            found = self._find(path)
        return None

    def links_not_read(self, pattern: str) -> list[str]:
        out = []
        for path in self.glob(pattern):
            found = self._find(path)
            if found is not None and found[0].flags[found[1]] & _KIND == _KIND_LINK and self._follow(path) is None:
                out.append(path)
        return out

    def _link_to_file(self, device_path: str) -> str | None:
        found = self._find(device_path)
        if found is None or found[0].flags[found[1]] & _KIND != _KIND_LINK:
            return None
        return self._follow(device_path)

    def _file_behind(self, device_path: str) -> FileInfo | None:
        target = self._follow(device_path)
        if target is None:
            return None
        info = self.stat(target)
        return FileInfo(device_path, info.size, info.mtime, info.mode)

    def _read_from(self, device_path: str) -> tuple[Source, int, str]:
        """Where a file's bytes lie: its own, or those of the file a symbolic link to it names."""
        self._load()
        found = self._find(device_path)
        if found is not None and found[0].flags[found[1]] & _KIND == _KIND_LINK:
            target = self._follow(device_path)
            if target is not None:
                return self.placed(target)
        return self.placed(device_path)

    def _entry(self, device_path: str) -> FileInfo | None:
        if self._paths is None:
            self._load()
        done = self._completed.get(device_path) if self._completed else None
        if done is not None:
            return done
        found = self._find(device_path)
        return None if found is None else found[0].info(found[1])

    def _complete(self, entry: FileInfo) -> FileInfo:
        found = self._find(entry.device_path)
        if found is None:
            return entry
        listing, index = found
        done = listing.source.complete(listing.refs[index], listing.name(index), entry)
        self._completed[entry.device_path] = done
        return done

    def iter_files(self) -> Iterator[FileInfo]:
        self._load()
        low, high = self._entry_range if self._entry_range is not None else (0, None)
        if len(self._listings) == 1:
            yield from self._iter_listing(self._listings[0], low, high)
        else:
            merged = heapq.merge(*(self._iter_listing(listing) for listing in self._listings), key=_DEVICE_PATH)
            yield from islice(merged, low, high)

    def _iter_listing(self, listing: _Listing, low: int = 0, high: int | None = None) -> Iterator[FileInfo]:
        completed, paths = self._completed, listing.paths
        for index in range(max(low, 0), len(paths) if high is None else min(high, len(paths))):
            done = completed.get(paths[index]) if completed else None
            yield done if done is not None else listing.info(index)

    # -- reading ------------------------------------------------------------------------------
    def placed(self, device_path: str) -> tuple[Source, int, str]:
        """The source holding a listed file or link, its ref there and its member name."""
        self._load()
        found = self._find(device_path)
        if found is None or found[0].is_dir(found[1]):
            raise EvidenceError(device_path, "no such file in the acquisition")
        listing, index = found
        return listing.source, listing.refs[index], listing.name(index)

    def member(self, device_path: str) -> tuple[Source, str]:
        """The source holding a listed file and its member name there (to mount what it contains)."""
        source, _, name = self.placed(device_path)
        return source, name

    def _open_raw(self, device_path: str) -> BinaryIO:
        source, ref, name = self._read_from(device_path)
        return source.open_member(ref, name, device_path)

    def _local_file(self, device_path: str) -> Path | None:
        source, ref, name = self._read_from(device_path)
        return source.local_member(ref, name)

    def _source_name(self, device_path: str) -> str:
        source, ref, name = self._read_from(device_path)
        return source.member_source_name(ref, name)

    def _known_digest(self, device_path: str) -> tuple[str, int] | None:
        source, ref, name = self._read_from(device_path)
        return source.member_digest(ref, name)

    def listed_but_absent(self, device_path: str) -> bool:
        self._load()
        found = self._find(device_path)
        if found is None or found[0].is_dir(found[1]):
            return False
        listing, index = found
        return listing.source.absent(listing.refs[index], listing.name(index))

    def close(self) -> None:
        for source, _ in self.mounts:
            source.close()

    def after_fork(self) -> None:
        for source, _ in self.mounts:
            source.after_fork()


def listed(fs: MountFS, path: Path, warn: Callable[[str], None]) -> MountFS:
    """An acquisition listed once as it is opened: a listing error is an AcquisitionError naming `path`,
    and what the listing refused or found twice is warned (the first 50)."""
    try:
        fs.paths()
    except EvidenceError as exc:
        fs.close()
        raise AcquisitionError(f"{path}: {exc.reason}") from exc
    for note in fs.notes[:50]:
        warn(f"{path}: {note}")
    return fs
