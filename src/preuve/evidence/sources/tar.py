"""Archives (zip, tar, tar.gz/bz2/xz) read in place, as a DeviceFS at device paths.

Nothing is extracted: a zip member is read where it lies (random access
through the central directory); a tar is indexed once (one pass over its
headers) and members are read through that index. Only what SQLite needs
lands in the run's private workdir, through :meth:`DeviceFS._materialize`.

Archives are hostile. Member names are normalised and refused when they are
absolute, carry a drive letter, a NUL or a ``..`` part (zip-slip). Links,
hard links, devices and FIFOs are listed (they can be reported) and never
followed. The number of entries, and each member's decompression ratio (and,
for compressed tars, the whole stream's) are bounded before anything is
decompressed.

The standard library's :mod:`zipfile` and :mod:`tarfile` do the decoding;
preuve adds the naming rules and bounds, which neither applies when reading.
"""

from __future__ import annotations

import calendar
import io
import posixpath
import re
import tarfile
import zipfile
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from preuve.evidence.errors import AcquisitionError, EvidenceError, LimitExceeded
from preuve.evidence.formats.gzindex import GzipCheckpoints, indexing_reader, open_member
from preuve.evidence.fs import DeviceFS, FileInfo, normalize_device_path
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits
from preuve.evidence.policy import guarded_member, refuse_crowded_zip
from preuve.messages import error_text

_DRIVE = re.compile(r"^[A-Za-z]:")
_RATIO_FLOOR = 1024 * 1024  # small members may compress far better than the ratio (a file of zeros)
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


class MemberKind:
    FILE = "file"
    DIR = "dir"
    LINK = "link"  # symbolic or hard link: listed, never followed
    OTHER = "other"  # device, FIFO, socket: listed, never opened


@dataclass(frozen=True, slots=True)
class Member:
    name: str  # normalised, relative, '/'-separated
    kind: str
    size: int
    compressed: int | None
    mtime: float | None
    mode: int | None
    key: object  # what the backend needs to open it (ZipInfo, TarInfo)


def normalize_member_name(raw: str) -> str | None:
    """A safe relative name for an archive member, or None when it could escape (zip-slip)."""
    if not raw or "\x00" in raw:
        return None
    name = raw.replace("\\", "/")
    if name.startswith("/") or _DRIVE.match(name):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def is_archive_file(path: Path) -> bool:
    if not path.is_file():
        return False
    name = path.name.lower()
    return name.endswith(".zip") or name.endswith(_TAR_SUFFIXES)


class ArchiveReader(ABC):
    """The members of one archive and their bytes."""

    def __init__(self, path: Path, limits: Limits) -> None:
        self.path = path
        self.limits = limits
        self.rejected: list[str] = []
        # What is wrong with the archive as a whole (cut short…), found while listing its members.
        self.damage: list[str] = []
        # Members that cannot be read (a decompression bomb, a damaged stream): the rest is read, and
        # the acquisition is reported incomplete.
        self.damaged: list[str] = []

    @abstractmethod
    def members(self, max_entries: int | None = None) -> Iterator[Member]:
        """Every member with a safe name (unsafe ones go to :attr:`rejected`)."""

    @abstractmethod
    def open(self, member: Member) -> BinaryIO:
        """The bytes of a regular member."""

    @abstractmethod
    def close(self) -> None: ...

    def _entries_exceeded(self, count: int, max_entries: int | None) -> bool:
        if count > self.limits.max_archive_entries:
            raise LimitExceeded(str(self.path), f"more than {self.limits.max_archive_entries} entries")
        return max_entries is not None and count > max_entries


class ZipReader(ArchiveReader):
    def __init__(self, path: Path, limits: Limits) -> None:
        super().__init__(path, limits)
        try:
            refuse_crowded_zip(path, limits)
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EvidenceError) as exc:
            raise AcquisitionError(f"{path}: not a readable zip ({error_text(exc)})") from exc

    def members(self, max_entries: int | None = None) -> Iterator[Member]:
        for count, info in enumerate(self._zip.infolist(), start=1):
            if self._entries_exceeded(count, max_entries):
                return
            name = normalize_member_name(info.filename)
            if name is None:
                self.rejected.append(info.filename)
                continue
            unix_mode = (info.external_attr >> 16) & 0xFFFF
            file_type = unix_mode & 0o170000
            if info.is_dir() or file_type == 0o040000:
                kind = MemberKind.DIR
            elif file_type == 0o120000:
                kind = MemberKind.LINK
            elif file_type in (0, 0o100000):
                kind = MemberKind.FILE
            else:
                kind = MemberKind.OTHER
            try:
                mtime: float | None = float(calendar.timegm((*info.date_time, 0, 0, 0)))
            except (ValueError, OverflowError):
                mtime = None
            if kind == MemberKind.FILE and self._bomb(info):
                self.damaged.append(
                    f"member {name}: declares {info.file_size} bytes from {info.compress_size} (a ratio above "
                    f"{self.limits.max_decompression_ratio}: decompression bomb?); not read"
                )
            yield Member(name, kind, info.file_size, info.compress_size, mtime, unix_mode or None, info)

    def _bomb(self, info: zipfile.ZipInfo) -> bool:
        return info.file_size > _RATIO_FLOOR and info.file_size > self.limits.max_decompression_ratio * max(
            info.compress_size, 1
        )

    def open(self, member: Member) -> BinaryIO:
        info = member.key
        assert isinstance(info, zipfile.ZipInfo)
        if self._bomb(info):
            raise LimitExceeded(member.name, f"decompression ratio {info.file_size // max(info.compress_size, 1)} "
                                f"exceeds {self.limits.max_decompression_ratio} (zip bomb?)")
        try:
            # ZipExtFile stops at the declared size and checks the CRC at the end.
            return guarded_member(self._zip.open(info), member.name)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError) as exc:
            raise EvidenceError(member.name, f"cannot be read from the zip ({error_text(exc)})") from exc

    def close(self) -> None:
        self._zip.close()


_BLOCK = 512
_TAR_FILE_TYPES = {b"0", b"\0", b"7"}
_TAR_LINK_TYPES = {b"1", b"2"}


def _tar_number(field: bytes) -> int:
    """A numeric header field: octal text, or GNU base-256 when the high bit is set."""
    if field[:1] and field[0] & 0x80:
        value = int.from_bytes(field[1:], "big")
        return -value if field[0] & 0x40 else value
    text = field.split(b"\0", 1)[0].strip()
    return int(text, 8) if text else 0


def _pax_records(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            break
        if length <= 0 or pos + length > len(data):
            break
        record = data[space + 1 : pos + length - 1]
        key, _, value = record.partition(b"=")
        out[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return out


@dataclass(frozen=True, slots=True)
class _TarEntry:
    name: str
    type: bytes
    size: int
    mtime: float
    mode: int
    offset_data: int


def _open_decompressed(path: Path) -> BinaryIO:
    import bz2
    import gzip
    import lzma

    raw = open(path, "rb", buffering=1024 * 1024)  # noqa: SIM115 - returned (or wrapped) for the caller to close
    magic = raw.read(6)
    raw.seek(0)
    if magic.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if magic.startswith(b"BZh"):
        return bz2.BZ2File(raw)  # type: ignore[return-value]
    if magic.startswith(b"\xfd7zXZ"):
        return lzma.LZMAFile(raw)  # type: ignore[return-value]
    return raw


def scan_tar_headers(
    stream: BinaryIO, path: str, budget: int | None, damage: list[str] | None = None
) -> Iterator[_TarEntry]:
    """Every header of a tar stream, skipping over the data (ustar, pax and GNU long names).

    Written here rather than iterating :mod:`tarfile` because tarfile builds a
    full TarInfo per member and is several times slower on dumps of hundreds
    of thousands of files; this reads only what preuve indexes, checks each
    header's checksum, and checks the decompression budget *before* skipping
    a member's data (skipping is what decompresses it).
    """
    offset = 0
    pax_global: dict[str, str] = {}
    pending: dict[str, str] = {}
    long_name: str | None = None
    last: str | None = None
    members = 0
    while True:
        header = stream.read(_BLOCK)
        if header == bytes(_BLOCK):
            return
        if len(header) < _BLOCK:
            # A tar ends with zero blocks; a stream that stops before them was cut short (an interrupted
            # copy or download): the last member may be incomplete and whatever followed it is lost.
            if damage is not None:
                cut = f", whose last member ({last}) may be incomplete" if last is not None else ""
                damage.append(
                    f"the archive is cut short: it ends after {members} member(s), before its end-of-archive "
                    f"marker{cut}; members after that point are lost"
                )
            return
        stored = _tar_number(header[148:156])
        if stored != sum(header) - sum(header[148:156]) + 256:  # the checksum field counts as spaces
            raise EvidenceError(path, f"damaged tar: bad header checksum at offset {offset}")
        kind = header[156:157]
        size = _tar_number(header[124:136])
        if size < 0:
            raise EvidenceError(path, f"damaged tar: negative size at offset {offset}")
        data_at = offset + _BLOCK
        padded = (size + _BLOCK - 1) // _BLOCK * _BLOCK
        if kind in (b"x", b"g", b"L", b"K"):
            if budget is not None and data_at + size > budget:
                raise LimitExceeded(path, "expands beyond the decompression ratio bound (archive bomb?)")
            if size > 1024 * 1024:
                raise EvidenceError(path, f"damaged tar: extended header of {size} bytes")
            data = stream.read(padded)[:size]
            if kind == b"x":
                pending.update(_pax_records(data))
            elif kind == b"g":
                pax_global.update(_pax_records(data))
            elif kind == b"L":
                long_name = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            offset = data_at + padded
            continue
        name = header[0:100].split(b"\0", 1)[0]
        prefix = header[345:500].split(b"\0", 1)[0] if header[257:262] == b"ustar" else b""
        text = (prefix + b"/" + name if prefix else name).decode("utf-8", "surrogateescape")
        info = {**pax_global, **pending}
        text = info.get("path", long_name or text)
        if "size" in info:
            try:
                size = int(info["size"])
            except ValueError:
                raise EvidenceError(path, f"damaged tar: pax size {info['size']!r}") from None
            padded = (size + _BLOCK - 1) // _BLOCK * _BLOCK
        if budget is not None and data_at + size > budget:
            raise LimitExceeded(
                path, f"member {text} ({size} bytes) expands beyond the decompression ratio bound (archive bomb?)"
            )
        try:
            mtime = float(info.get("mtime", _tar_number(header[136:148])))
        except ValueError:
            mtime = 0.0
        yield _TarEntry(text, kind, size, mtime, _tar_number(header[100:108]), data_at)
        last, members = text, members + 1
        pending, long_name = {}, None
        offset = data_at + padded
        if padded and stream.seek(offset) < offset and stream.tell() < offset:
            # A compressed stream that ends inside this member's data: it was cut short. The archive is
            # damaged (what followed is lost), and this member is named as unreadable by the caller.
            if damage is not None:
                damage.append(
                    f"the archive is cut short: it ends after {members} member(s), before its end-of-archive "
                    f"marker, whose last member ({last}) may be incomplete; members after that point are lost"
                )
            raise EvidenceError(path, f"member {text} is cut short: the archive ends inside it (truncated)")


class TarReader(ArchiveReader):
    def __init__(self, path: Path, limits: Limits) -> None:
        super().__init__(path, limits)
        self._compressed = path.stat().st_size
        try:
            self._tar = tarfile.open(path, "r:*")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise AcquisitionError(f"{path}: not a readable tar ({error_text(exc)})") from exc
        self._plain = isinstance(self._tar.fileobj, io.BufferedReader)
        with open(path, "rb") as head:
            gzipped = head.read(2) == b"\x1f\x8b"
        self._gzip = GzipCheckpoints(path) if gzipped else None

    def members(self, max_entries: int | None = None) -> Iterator[Member]:
        budget = None if self._plain else self._compressed * self.limits.max_decompression_ratio + _RATIO_FLOOR
        count = 0
        known_damage = len(self.damage)
        try:
            opened = _open_decompressed(self.path) if self._gzip is None else indexing_reader(self.path, self._gzip)
            with opened as stream:
                for entry in scan_tar_headers(stream, str(self.path), budget, self.damage):
                    count += 1
                    if self._entries_exceeded(count, max_entries):
                        return
                    name = normalize_member_name(entry.name)
                    if name is None:
                        self.rejected.append(entry.name)
                        continue
                    if entry.type in _TAR_FILE_TYPES:
                        kind = MemberKind.FILE
                    elif entry.type == b"5":
                        kind = MemberKind.DIR
                    elif entry.type in _TAR_LINK_TYPES:
                        kind = MemberKind.LINK
                    else:  # devices, FIFOs, GNU sparse and unknown types: listed, never opened
                        kind = MemberKind.OTHER
                    size = entry.size if kind == MemberKind.FILE else 0
                    if self._plain and kind == MemberKind.FILE and entry.offset_data + entry.size > self._compressed:
                        present = max(self._compressed - entry.offset_data, 0)
                        self.damaged.append(f"member {name} is cut short ({entry.size} bytes declared, {present} "
                                            "present): the archive is truncated")
                    # Only (offset, size) is kept per member: a TarInfo is made when the member is opened.
                    key = (entry.offset_data, entry.size) if kind == MemberKind.FILE else None
                    yield Member(name, kind, size, None, entry.mtime or None, entry.mode, key)
        except EvidenceError as exc:
            if count == 0 or isinstance(exc, LimitExceeded) and "more than" in exc.reason:
                raise
            # The members before stay listed and read; this one and what follows are reported, and what
            # followed is lost to the check (the acquisition is damaged).
            self.damaged.append(f"{exc.reason}; it and the members after it are not read")
            if len(self.damage) == known_damage:  # (a cut-short stream has said so already)
                self.damage.append(f"the archive cannot be read past its member {count} ({exc.reason}); "
                                   "members after that point are lost")
        except (EOFError, OSError, ValueError, tarfile.TarError, zlib.error) as exc:
            if count == 0:
                raise EvidenceError(str(self.path), f"damaged tar ({error_text(exc)})") from exc
            self.damaged.append(f"damaged tar after {count} members ({error_text(exc)}); the rest is not read")
            self.damage.append(f"the archive is damaged after {count} member(s) ({error_text(exc)}); "
                               "members after that point are lost")

    def open(self, member: Member) -> BinaryIO:
        where = member.key
        if not isinstance(where, tuple):
            raise EvidenceError(member.name, "not a regular file")
        if self._gzip is not None:
            try:
                return guarded_member(open_member(self._gzip, where[0], where[1]), member.name)
            except (OSError, zlib.error) as exc:
                raise EvidenceError(member.name, f"cannot be read from the tar ({error_text(exc)})") from exc
        info = tarfile.TarInfo(member.name)
        info.offset_data, info.size, info.type = where[0], where[1], tarfile.REGTYPE
        try:
            stream = self._tar.extractfile(info)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise EvidenceError(member.name, f"cannot be read from the tar ({error_text(exc)})") from exc
        if stream is None:
            raise EvidenceError(member.name, "not a regular file")
        return guarded_member(stream, member.name)

    def close(self) -> None:
        self._tar.close()


def open_reader(path: Path, limits: Limits) -> ArchiveReader:
    if path.name.lower().endswith(".zip") or zipfile.is_zipfile(path):
        return ZipReader(path, limits)
    return TarReader(path, limits)


def peek_member_names(
    path: Path,
    limits: Limits,
    max_entries: int = 5000,
    strict: bool = False,
    until: Callable[[str], bool] | None = None,
) -> list[str]:
    """Up to `max_entries` safe member names, for cheap detection; stops after a name `until` accepts.

    An unreadable archive gives [] (or, with `strict`, an AcquisitionError saying why).
    """
    try:
        reader = open_reader(path, limits)
    except (AcquisitionError, OSError):
        if strict:
            raise
        return []
    try:
        # A zip's central directory is cheap to read whole; a compressed tar is read only so far.
        limit = None if isinstance(reader, ZipReader) else max_entries
        names: list[str] = []
        for member in reader.members(limit):
            names.append(member.name)
            if until is not None and until(member.name):
                break
        return names
    except (EvidenceError, OSError) as exc:
        if strict:
            raise AcquisitionError(f"{path}: {exc.reason if isinstance(exc, EvidenceError) else exc}") from exc
        return names  # what could be read: enough to recognise the kind, `open` will say what is wrong
    finally:
        reader.close()


MemberMapper = Callable[[str], str | None]


def prefix_mapper(strip: str, device_prefix: str = "/", other_prefix: str | None = None) -> MemberMapper:
    """Members under `strip` go under `device_prefix`; the others under `other_prefix` (or are dropped)."""
    strip = strip.strip("/")
    root = "/" + device_prefix.strip("/") + "/" if device_prefix.strip("/") else "/"

    def mapper(name: str) -> str | None:
        if not strip:
            rest: str | None = name
        elif name == strip:
            rest = ""
        elif name.startswith(strip + "/"):
            rest = name[len(strip) + 1 :]
        else:
            rest = None
        if rest is not None:
            if not rest:
                return normalize_device_path(device_prefix)
            # Member names are already normalised (no '', '.', '..' parts): joining is enough.
            return root + rest
        if other_prefix is None:
            return None
        return normalize_device_path(posixpath.join(other_prefix, name))

    return mapper


class ArchiveFS(DeviceFS):
    """A zip or tar archive as a DeviceFS: each safe member name mapped to a device path by `mapper`."""

    kind = "archive"

    def __init__(
        self, source: Path, ledger: HashLedger, limits: Limits, workdir: Path, mapper: MemberMapper
    ) -> None:
        super().__init__(source, ledger, limits, workdir)
        self._mapper = mapper
        self._reader = open_reader(source, limits)
        self._members: dict[str, Member] = {}
        self.rejected: list[str] = []
        self.unreadable: list[str] = []  # members that could not be read: the acquisition is incomplete

    def _iter_entries(self) -> Iterable[FileInfo]:
        folders: set[str] = set()
        for member in self._reader.members():
            device = self._mapper(member.name)
            if device is None:
                continue
            if member.name.count("/") >= self.limits.max_path_depth:
                self.rejected.append(f"{member.name}: nested deeper than {self.limits.max_path_depth}")
                continue
            parent = posixpath.dirname(device)
            while parent not in folders and parent not in ("/", ""):
                folders.add(parent)
                yield FileInfo(parent, 0, is_dir=True)
                parent = posixpath.dirname(parent)
            if member.kind == MemberKind.DIR:
                folders.add(device)
                yield FileInfo(device, 0, member.mtime, member.mode, is_dir=True)
            elif member.kind == MemberKind.FILE:
                self._members[device] = member
                yield FileInfo(device, member.size, member.mtime, member.mode)
            else:
                self._members.pop(device, None)
                yield FileInfo(device, 0, member.mtime, member.mode, is_link=True)
        self.rejected.extend(f"{name}: unsafe member name" for name in self._reader.rejected)
        self.damage.extend(self._reader.damage)
        self.unreadable.extend(f"{self.source.name}: {problem}" for problem in self._reader.damaged)

    def _member(self, device_path: str) -> Member:
        self._load()
        member = self._members.get(device_path)
        if member is None:
            raise EvidenceError(device_path, "not a regular file of the archive")
        return member

    def _open_raw(self, device_path: str) -> BinaryIO:
        return self._reader.open(self._member(device_path))

    def _source_name(self, device_path: str) -> str:
        return self._member(device_path).name

    def close(self) -> None:
        self._reader.close()



def open_archive_acquisition(
    path: Path,
    ledger: HashLedger,
    limits: Limits,
    workdir: Path,
    mapper: MemberMapper,
    kind: str,
    warn: Callable[[str], None],
    whole_filesystem: bool = False,
) -> ArchiveFS:
    """An archive acquisition listed once (a listing error becomes an AcquisitionError naming the
    archive), with the members it refused reported as warnings."""
    archive = ArchiveFS(path, ledger, limits, workdir, mapper)
    archive.kind = kind
    archive.whole_filesystem = whole_filesystem
    try:
        archive.paths()
    except EvidenceError as exc:
        archive.close()
        raise AcquisitionError(f"{path}: {exc.reason}") from exc
    for message in archive.rejected[:50]:
        warn(f"{path}: member refused: {message}")
    return archive
