"""DeviceFS: the only door to evidence.

Every acquisition (backup, dump, archive, sysdiagnose, AndroidQF…) is
presented as a read-only filesystem at the paths the files had on the device
(``/private/var/mobile/Library/SMS/sms.db``), so artifacts never know where
the bytes came from. Every file handed out is hashed once into the run's
:class:`~preuve.evidence.ledger.HashLedger`.

:class:`MountFS` is the DeviceFS of every acquisition but the iOS backup
folders: a table of mounts, each a source (:mod:`preuve.evidence.sources`: a
folder, a zip, a tar, an Android backup) placed in the device tree by a mapper,
with one folder semantics whatever the source.

Paths inside an acquisition that describe the acquisition itself (a backup's
Manifest.db and Info.plist, an AndroidQF's hashes.csv) live under
``/.acquisition/``; artifacts that need them declare those paths like any
other.
"""

from __future__ import annotations

import bisect
import copy
import posixpath
import re
import shutil
import sqlite3
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from preuve.evidence.errors import AcquisitionError, EvidenceError, LimitExceeded
from preuve.evidence.formats.plists import PlistValue, load_plist
from preuve.evidence.formats.textlines import text_lines
from preuve.evidence.ledger import EvidenceFile, HashLedger, sha256_stream
from preuve.evidence.limits import Limits
from preuve.evidence.policy import DIR, FILE, duplicate_note, refused_note
from preuve.evidence.sqlite import open_readonly

if TYPE_CHECKING:
    from preuve.evidence.sources.base import Mapper, Source

ACQUISITION_PREFIX = "/.acquisition"


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

    Subclasses provide the listing (:meth:`_iter_entries`) and the bytes
    (:meth:`_open_raw`, and :meth:`_local_file` when the bytes already lie in
    one plain file on disk). Everything else, bounds and hashing included, is
    here once.
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
        self._paths: list[str] | None = None
        self._info: dict[str, FileInfo] = {}
        self._entry_range: tuple[int, int] | None = None  # see only_entries

    # -- what subclasses provide ------------------------------------------------------------
    @abstractmethod
    def _iter_entries(self) -> Iterable[FileInfo]:
        """Every file (and folder) of the acquisition, at normalised device paths."""

    @abstractmethod
    def _open_raw(self, device_path: str) -> BinaryIO:
        """The bytes of a regular file. Called only for paths listed as files."""

    def _local_file(self, device_path: str) -> Path | None:
        """A plain file on disk holding exactly these bytes, if there is one."""
        return None

    def _source_name(self, device_path: str) -> str:
        """Where the bytes lie inside the acquisition, for the ledger."""
        return device_path

    def listed_but_absent(self, device_path: str) -> bool:
        """Whether the acquisition's own manifest lists this file but its bytes are absent (a backup's
        Manifest.db row without its file): the file is missing, not merely unreadable."""
        return False

    def close(self) -> None:  # noqa: B027 - optional hook: most acquisitions hold nothing open
        """Release what the acquisition holds open."""

    def after_fork(self) -> None:  # noqa: B027 - optional hook: most acquisitions hold nothing open
        """In a process forked from the one that opened the acquisition: open again what it holds open,
        so that the two processes never share a file position."""

    # -- listing ------------------------------------------------------------------------------
    def _load(self) -> list[str]:
        if self._paths is None:
            info: dict[str, FileInfo] = {}
            for entry in self._iter_entries():
                info[entry.device_path] = entry
            self._info = info
            self._paths = sorted(info)
        return self._paths

    def paths(self) -> list[str]:
        """Every device path, sorted."""
        return list(self._load())

    def __contains__(self, device_path: str) -> bool:
        self._load()
        return device_path in self._info

    def exists(self, device_path: str) -> bool:
        return device_path in self

    def is_file(self, device_path: str) -> bool:
        self._load()
        entry = self._info.get(device_path)
        return entry is not None and not entry.is_dir and not entry.is_link

    def stat(self, device_path: str) -> FileInfo:
        self._load()
        try:
            entry = self._info[device_path]
        except KeyError:
            raise EvidenceError(device_path, "no such file in the acquisition") from None
        if entry.size < 0:
            entry = self._complete(entry)
            self._info[device_path] = entry
        return entry

    def listed_size(self, device_path: str) -> int | None:
        """The size of a file as the listing gives it, without looking closer (None when the listing does
        not say, or does not list the file): asking changes nothing the acquisition reports later."""
        self._load()
        entry = self._info.get(device_path)
        return entry.size if entry is not None and entry.size >= 0 and not entry.is_dir else None

    def _complete(self, entry: FileInfo) -> FileInfo:
        """Fill in what the listing left unknown (size -1), for acquisitions that list lazily."""
        return entry

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

    def iter_files(self) -> Iterator[FileInfo]:
        """Every listed entry (files, folders, links), in the order of :meth:`paths` (in a view made by
        :meth:`only_entries`, those of its range alone)."""
        paths = self._load()
        if self._entry_range is not None:
            paths = paths[self._entry_range[0] : self._entry_range[1]]
        info = self._info
        for path in paths:
            yield info[path]

    def only_entries(self, low: int, high: int) -> DeviceFS:
        """A view of this acquisition in which :meth:`iter_files` gives the entries from `low` to `high`
        (excluded) alone, and everything else is the acquisition's own: how the engine reads a range of
        a listing (`Artifact.record_entries`) as it reads a range of a table (`sqlite.only_rows`)."""
        self._load()
        view = copy.copy(self)
        view._entry_range = (low, high)
        return view

    # -- reading ------------------------------------------------------------------------------
    def _require_file(self, device_path: str) -> FileInfo:
        info = self.stat(device_path)
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


class MountFS(DeviceFS):
    """An acquisition as a table of mounts: each source's members placed at device paths by its mapper.

    The folder semantics are the same whatever the source: every folder above a file is listed as
    a folder (whether the container lists it or not), links, FIFOs and devices are listed and never
    opened, and a device path is listed once: the first member placed there is read, and any other
    is reported (:attr:`notes`). What the sources report (refused names, unreadable members, a
    container cut short) is gathered here as they are listed.
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
        self._owner: dict[str, Source] = {}  # device path -> the source holding it
        self._names: dict[str, str] = {}  # device path -> member name, when not the path without its '/'
        self._entries: list[FileInfo] = []
        self._folders: set[str] = set()
        self._listed = 0  # mounts listed so far

    def mount(self, source: Source, mapper: Mapper) -> None:
        """Add a source; it is listed with the next listing (after those mounted before it)."""
        self.mounts.append((source, mapper))
        self._paths = None

    def _iter_entries(self) -> Iterable[FileInfo]:
        while self._listed < len(self.mounts):
            source, mapper = self.mounts[self._listed]
            self._listed += 1
            self._entries.extend(self._place(source, mapper))
            self.notes.extend(refused_note(raw) for raw in source.refused)
            self.notes.extend(source.notes)
            self.damage.extend(source.damage)
            self.unreadable.extend(source.damaged)
        return self._entries

    def _place(self, source: Source, mapper: Mapper) -> Iterator[FileInfo]:
        folders, owner, names = self._folders, self._owner, self._names
        max_depth = self.limits.max_path_depth
        for member in source.members():
            mapped = mapper(member.name)
            if mapped is None:
                continue
            device = mapped if _is_normal(mapped) else normalize_device_path(mapped)
            if device is None:
                continue
            if member.name.count("/") >= max_depth:
                self.notes.append(f"member refused: {member.name}: nested deeper than {max_depth}")
                continue
            if device in owner or (member.type != DIR and device in folders):
                self.notes.append(duplicate_note(member.name))
                continue
            parent = posixpath.dirname(device)
            while parent not in folders and parent not in ("/", ""):
                folders.add(parent)
                yield FileInfo(parent, 0, is_dir=True)
                parent = posixpath.dirname(parent)
            if member.type == DIR:
                folders.add(device)
                yield FileInfo(device, 0, member.mtime, member.mode, is_dir=True)
                continue
            owner[device] = source
            if member.name != device[1:]:  # (a dump at the device's root keeps no second copy of its names)
                names[device] = member.name
            if member.type == FILE:
                yield FileInfo(device, member.size, member.mtime, member.mode)
            else:  # link, FIFO, socket, device: listed, never opened
                yield FileInfo(device, 0, member.mtime, member.mode, is_link=True)

    def member(self, device_path: str) -> tuple[Source, str]:
        """The source holding a listed file and its member name there (to mount what it contains)."""
        self._load()
        source = self._owner.get(device_path)
        if source is None:
            raise EvidenceError(device_path, "no such file in the acquisition")
        return source, self._names.get(device_path, device_path[1:])

    def _open_raw(self, device_path: str) -> BinaryIO:
        source, name = self.member(device_path)
        return source.open(name, device_path)

    def _local_file(self, device_path: str) -> Path | None:
        source, name = self.member(device_path)
        return source.local_file(name)

    def _source_name(self, device_path: str) -> str:
        source, name = self.member(device_path)
        return source.source_name(name)

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
