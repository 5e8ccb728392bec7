"""DeviceFS: the only door to evidence.

Every acquisition (backup, dump, archive, sysdiagnose, AndroidQF…) is
presented as a read-only filesystem at the paths the files had on the device
(``/private/var/mobile/Library/SMS/sms.db``), so artifacts never know where
the bytes came from. Every file handed out is hashed once into the run's
:class:`~preuve.evidence.ledger.HashLedger`.

Paths inside an acquisition that describe the acquisition itself (a backup's
Manifest.db and Info.plist, an AndroidQF's hashes.csv) live under
``/.acquisition/``; artifacts that need them declare those paths like any
other.
"""

from __future__ import annotations

import bisect
import io
import os
import posixpath
import re
import shutil
import sqlite3
import stat as statmod
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from preuve.evidence.errors import EvidenceError, LimitExceeded
from preuve.evidence.formats.plists import PlistValue, load_plist
from preuve.evidence.ledger import EvidenceFile, HashLedger, sha256_stream
from preuve.evidence.limits import Limits
from preuve.evidence.sqlite import open_readonly

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
        self.source = source
        self.ledger = ledger
        self.limits = limits
        self.workdir = workdir
        self._paths: list[str] | None = None
        self._info: dict[str, FileInfo] = {}

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
        self._load()
        for path in self._load():
            yield self._info[path]

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
        """(line number from 1, text) for a text file, bounded per line, decoded leniently."""
        self.sha256(device_path)
        with self._open_raw(device_path) as raw:
            number = 0
            limit = self.limits.max_text_line_bytes
            while True:
                line = raw.readline(limit + 1)
                if not line:
                    break
                number += 1
                if len(line) > limit:
                    # Drain the rest of an over-long line, keep its start.
                    while line and not line.endswith(b"\n"):
                        line = raw.readline(limit)
                    line = b""
                yield number, line.rstrip(b"\r\n").decode("utf-8", "backslashreplace")

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


def walk_folder(root: Path, limits: Limits, *, strict: bool = True) -> Iterator[tuple[str, os.stat_result]]:
    """Every entry under `root` as (relative path, lstat), folders before their contents, never
    following a link. Depth and entry count are bounded by `limits`; past the count it raises
    LimitExceeded (`strict`) or stops. The one folder walk every folder acquisition uses."""
    stack: list[tuple[Path, str, int]] = [(root, "", 0)]
    listed = 0
    while stack:
        folder, relative, depth = stack.pop()
        if depth > limits.max_path_depth:
            continue
        try:
            children = sorted(folder.iterdir())
        except OSError:
            continue
        for child in children:
            listed += 1
            if listed > limits.max_archive_entries:
                if strict:
                    raise LimitExceeded(str(root), f"more than {limits.max_archive_entries} entries")
                return
            rel = f"{relative}/{child.name}" if relative else child.name
            try:
                st = child.lstat()
            except OSError:
                continue
            yield rel, st
            if statmod.S_ISDIR(st.st_mode):
                stack.append((child, rel, depth + 1))


class LocalFolderFS(DeviceFS):
    """Files that lie in one folder on disk, mapped one-to-one under a device prefix.

    Symbolic links, FIFOs and devices are listed (so they can be reported) but
    never opened: nothing outside the folder is read through a link.
    """

    kind = "folder"

    def __init__(
        self, source: Path, ledger: HashLedger, limits: Limits, workdir: Path, device_prefix: str = "/"
    ) -> None:
        super().__init__(source, ledger, limits, workdir)
        self.device_prefix = "/" + device_prefix.strip("/")

    def _device(self, relative: str) -> str:
        return posixpath.join(self.device_prefix, relative) if relative else self.device_prefix

    def _iter_entries(self) -> Iterable[FileInfo]:
        for rel, st in walk_folder(self.source, self.limits):
            device = normalize_device_path(self._device(rel))
            if device is None:
                continue
            if statmod.S_ISLNK(st.st_mode):
                yield FileInfo(device, 0, st.st_mtime, st.st_mode, is_link=True)
            elif statmod.S_ISDIR(st.st_mode):
                yield FileInfo(device, 0, st.st_mtime, st.st_mode, is_dir=True)
            elif statmod.S_ISREG(st.st_mode):
                yield FileInfo(device, st.st_size, st.st_mtime, st.st_mode)
            else:  # FIFO, socket, device: listed, never opened
                yield FileInfo(device, 0, st.st_mtime, st.st_mode, is_link=True)

    def _relative(self, device_path: str) -> str:
        prefix = self.device_prefix.rstrip("/") + "/"
        if device_path == self.device_prefix:
            return ""
        if not device_path.startswith(prefix) and self.device_prefix != "/":
            raise EvidenceError(device_path, "outside this acquisition")
        return device_path[len(prefix) :] if self.device_prefix != "/" else device_path.lstrip("/")

    def _local_file(self, device_path: str) -> Path | None:
        path = self.source / self._relative(device_path)
        st = path.lstat()
        if not statmod.S_ISREG(st.st_mode):
            raise EvidenceError(device_path, "not a regular file")
        return path

    def _open_raw(self, device_path: str) -> BinaryIO:
        local = self._local_file(device_path)
        assert local is not None
        return open_regular_file(local, device_path)

    def _source_name(self, device_path: str) -> str:
        return self._relative(device_path)


def open_regular_file(path: Path, device_path: str) -> BinaryIO:
    """Open a plain file without following a link at its last component, nor blocking on a FIFO."""
    import os

    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise EvidenceError(device_path, f"cannot open: {exc.strerror}") from exc
    st = os.fstat(fd)
    if not statmod.S_ISREG(st.st_mode):
        os.close(fd)
        raise EvidenceError(device_path, "not a regular file")
    return io.open(fd, "rb", buffering=1024 * 1024)  # noqa: UP020
