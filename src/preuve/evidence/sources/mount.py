"""Android acquisitions as one DeviceFS over several sources: folders, zip members, tar members.

An AndroidQF acquisition is a folder or a zip; it may hold a bugreport zip and
an ``adb backup`` (.ab) whose tar stream holds app data. Each of these is a
*source* that lists its files at device paths and opens their bytes; a
:class:`MountFS` merges the sources so artifacts read one tree. Nothing is
ever extracted next to the evidence: zip members are read in place, and only
what cannot be read in place (a zip inside a zip, the tar stream of a backup,
an age-encrypted zip) is materialised in the run's private workdir, bounded
in size, ratio and entry count.

The zip and tar readers are the standard library's (well kept, streaming,
CRC-checked); what is written here is only the hostile-input policy around
them: member-name checks, bounds, and the mapping to device paths.
"""

from __future__ import annotations

import io
import posixpath
import stat as statmod
import tarfile
import tempfile
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from preuve.evidence.errors import AcquisitionError, EvidenceError, LimitExceeded
from preuve.evidence.fs import DeviceFS, FileInfo, normalize_device_path, open_regular_file, walk_folder
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits
from preuve.evidence.policy import guarded_member, refuse_crowded_zip
from preuve.messages import error_text

# Small members compress far beyond any sane ratio (a file of zeros); the ratio
# bound applies only above this size.
_RATIO_FLOOR = 1024 * 1024

PathMapper = Callable[[str], str | None]


def safe_member_name(name: str) -> str | None:
    """A relative member name with '/' separators, or None when it is absolute, escapes or is odd."""
    if not name or "\x00" in name:
        return None
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


class BoundedReader(io.RawIOBase):
    """A stream that yields at most `limit` bytes and fails if the source has more."""

    def __init__(self, raw: BinaryIO, limit: int, label: str) -> None:
        self._raw = raw
        self._left = limit
        self._label = label

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = len(buffer)
        if want == 0:
            return 0
        data = self._raw.read(min(want, self._left + 1))
        if len(data) > self._left:
            raise LimitExceeded(self._label, "member is larger than its declared size")
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


class Source(ABC):
    """Files of one part of an acquisition, at device paths."""

    label: str = "source"
    skipped: list[str]  # what the listing left out, and why (reported as warnings)
    damaged: list[str]  # members that could not be read (the acquisition is then incomplete)

    @abstractmethod
    def entries(self) -> Iterable[FileInfo]:
        """Files (and folders) of this source at normalised device paths."""

    @abstractmethod
    def open(self, device_path: str) -> BinaryIO:
        """The bytes of a listed regular file."""

    def local_file(self, device_path: str) -> Path | None:
        return None

    def source_name(self, device_path: str) -> str:
        return device_path

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the source holds open."""


class FolderSource(Source):
    """A folder on disk; each relative path is mapped to a device path (or dropped)."""

    def __init__(self, root: Path, mapper: PathMapper, limits: Limits, label: str | None = None) -> None:
        self.root = root
        self.mapper = mapper
        self.limits = limits
        self.label = label or root.name
        self._relative: dict[str, str] = {}
        self.skipped = []
        self.damaged = []

    def entries(self) -> Iterable[FileInfo]:
        for rel, st in walk_folder(self.root, self.limits):
            if statmod.S_ISDIR(st.st_mode):
                continue
            mapped = self.mapper(rel)
            device = normalize_device_path(mapped) if mapped is not None else None
            if device is None:
                continue
            self._relative[device] = rel
            if statmod.S_ISREG(st.st_mode):
                yield FileInfo(device, st.st_size, st.st_mtime, st.st_mode)
            else:  # links, FIFOs, devices: listed, never opened
                yield FileInfo(device, 0, st.st_mtime, st.st_mode, is_link=True)

    def local_file(self, device_path: str) -> Path | None:
        rel = self._relative.get(device_path)
        if rel is None:
            raise EvidenceError(device_path, "not a file of this acquisition")
        path = self.root / rel
        if not statmod.S_ISREG(path.lstat().st_mode):
            raise EvidenceError(device_path, "not a regular file")
        return path

    def open(self, device_path: str) -> BinaryIO:
        local = self.local_file(device_path)
        assert local is not None
        return open_regular_file(local, device_path)

    def source_name(self, device_path: str) -> str:
        return f"{self.label}/{self._relative.get(device_path, device_path)}"


class ZipSource(Source):
    """Members of a zip file read in place, with names checked and sizes and ratios bounded."""

    def __init__(self, path: Path, mapper: PathMapper, limits: Limits, label: str) -> None:
        self.path = path
        self.mapper = mapper
        self.limits = limits
        self.label = label
        try:
            refuse_crowded_zip(path, limits)
            self._stream: BinaryIO = open_regular_file(path, label)
            self._zip = zipfile.ZipFile(self._stream)
        except (zipfile.BadZipFile, OSError, EvidenceError, ValueError, EOFError) as exc:
            raise AcquisitionError(f"{label}: not a readable zip ({error_text(exc)})") from exc
        self._members: dict[str, zipfile.ZipInfo] = {}
        self.skipped: list[str] = []
        self.damaged: list[str] = []

    def entries(self) -> Iterable[FileInfo]:
        self.skipped = []
        self.damaged = []
        self._members = {}
        infos = self._zip.infolist()
        if len(infos) > self.limits.max_archive_entries:
            raise LimitExceeded(self.label, f"{len(infos)} entries exceed {self.limits.max_archive_entries}")
        for info in infos:
            name = safe_member_name(info.filename)
            if name is None:
                self.skipped.append(f"member {info.filename!r}: unsafe name, skipped")
                continue
            mapped = self.mapper(name)
            device = normalize_device_path(mapped) if mapped is not None else None
            if device is None:
                continue
            if info.is_dir():
                yield FileInfo(device, 0, is_dir=True)
                continue
            mode = (info.external_attr >> 16) & 0xFFFF
            if mode and statmod.S_ISLNK(mode):
                yield FileInfo(device, 0, mode=mode, is_link=True)
                continue
            if info.file_size > _RATIO_FLOOR and info.file_size > self.limits.max_decompression_ratio * max(
                info.compress_size, 1
            ):
                self.damaged.append(f"{self.label}: member {name}: declares {info.file_size} bytes from "
                                    f"{info.compress_size} (a ratio above {self.limits.max_decompression_ratio}: "
                                    "decompression bomb?); not read")
                yield FileInfo(device, 0, is_link=True)  # listed, never opened
                continue
            if device in self._members:
                self.skipped.append(f"member {name}: appears twice; the first copy is read")
                continue
            self._members[device] = info
            when = _zip_time(info)
            yield FileInfo(device, info.file_size, when, mode or None)

    def open(self, device_path: str) -> BinaryIO:
        info = self._members.get(device_path)
        if info is None:
            raise EvidenceError(device_path, "not a file of this archive")
        try:
            raw = self._zip.open(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, OSError) as exc:
            raise EvidenceError(device_path, f"cannot read member {info.filename}: {error_text(exc)}") from exc
        bounded = io.BufferedReader(BoundedReader(raw, info.file_size, device_path), 1024 * 1024)  # type: ignore[arg-type]
        return guarded_member(bounded, device_path)

    def member_name(self, device_path: str) -> str | None:
        info = self._members.get(device_path)
        return info.filename if info else None

    def source_name(self, device_path: str) -> str:
        info = self._members.get(device_path)
        return f"{self.label}!{info.filename}" if info else device_path

    def close(self) -> None:
        self._zip.close()
        self._stream.close()


def _zip_time(info: zipfile.ZipInfo) -> float | None:
    """The member's time as recorded (zip stores local time without a zone), read as UTC so every
    analysis host gives the same value."""
    import calendar

    try:
        return float(calendar.timegm((*info.date_time, 0, 0, 0)))
    except (ValueError, OverflowError, TypeError):
        return None


class TarSource(Source):
    """Members of a tar file that lies in the run's workdir (a materialised backup stream)."""

    def __init__(self, path: Path, mapper: PathMapper, limits: Limits, label: str) -> None:
        self.path = path
        self.mapper = mapper
        self.limits = limits
        self.label = label
        self._members: dict[str, tarfile.TarInfo] = {}
        self.skipped: list[str] = []
        self.damaged: list[str] = []
        try:
            self._size = path.stat().st_size
            self._tar = tarfile.open(path, "r:")  # noqa: SIM115 - kept open for member reads
        except (tarfile.TarError, OSError) as exc:
            raise AcquisitionError(f"{label}: the backup's tar stream cannot be read ({error_text(exc)})") from exc

    def entries(self) -> Iterable[FileInfo]:
        self.skipped = []
        self.damaged = []
        count = 0
        try:
            for member in self._tar:
                count += 1
                if count > self.limits.max_archive_entries:
                    raise LimitExceeded(self.label, f"more than {self.limits.max_archive_entries} entries")
                name = safe_member_name(member.name)
                if name is None:
                    self.skipped.append(f"member {member.name!r}: unsafe name, skipped")
                    continue
                mapped = self.mapper(name)
                device = normalize_device_path(mapped) if mapped is not None else None
                if device is None:
                    continue
                if member.isdir():
                    yield FileInfo(device, 0, float(member.mtime), member.mode, is_dir=True)
                elif member.isfile():
                    if member.offset_data + member.size > self._size:
                        self.damaged.append(f"{self.label}: member {name} is cut short ({member.size} bytes declared,"
                                            f" {max(self._size - member.offset_data, 0)} present): the backup is "
                                            "truncated")
                    self._members[device] = member
                    yield FileInfo(device, member.size, float(member.mtime), member.mode)
                else:
                    yield FileInfo(device, 0, float(member.mtime), member.mode, is_link=True)
        except tarfile.TarError as exc:
            self.damaged.append(f"{self.label}: tar stream damaged after {count} entries ({error_text(exc)}); the rest is lost")
            return
        if count and not self._ends_with_marker():
            self.damaged.append(f"{self.label}: the tar stream stops without its end-of-archive marker: the backup "
                                "is truncated (what it holds is read)")

    def _ends_with_marker(self) -> bool:
        """A complete tar ends with a zero block after its last member."""
        end = self._tar.offset
        try:
            with open(self.path, "rb") as handle:
                handle.seek(end)
                block = handle.read(512)
        except OSError:
            return False
        return len(block) == 512 and not any(block)

    def open(self, device_path: str) -> BinaryIO:
        member = self._members.get(device_path)
        if member is None:
            raise EvidenceError(device_path, "not a file of this backup")
        stream = self._tar.extractfile(member)
        if stream is None:
            raise EvidenceError(device_path, "not a regular file")
        return guarded_member(stream, device_path)

    def source_name(self, device_path: str) -> str:
        member = self._members.get(device_path)
        return f"{self.label}!{member.name}" if member else device_path

    def close(self) -> None:
        self._tar.close()


class MountFS(DeviceFS):
    """Several sources merged into one device tree (the first source to list a path wins)."""

    kind = "android"

    def __init__(self, source: Path, ledger: HashLedger, limits: Limits, workdir: Path) -> None:
        super().__init__(source, ledger, limits, workdir)
        self.sources: list[Source] = []
        self._owner: dict[str, Source] = {}
        self.notes: list[str] = []
        self.unreadable: list[str] = []  # members that could not be read: the acquisition is incomplete

    def mount(self, source: Source) -> None:
        if self._paths is not None:
            raise RuntimeError("mount after listing")
        self.sources.append(source)

    def _iter_entries(self) -> Iterable[FileInfo]:
        for source in self.sources:
            for entry in source.entries():
                if entry.device_path in self._owner:
                    self.notes.append(f"{source.label}: {entry.device_path} also in another part, ignored")
                    continue
                self._owner[entry.device_path] = source
                yield entry
            self.notes.extend(source.skipped)
            self.unreadable.extend(source.damaged)

    def _owner_of(self, device_path: str) -> Source:
        self._load()
        source = self._owner.get(device_path)
        if source is None:
            raise EvidenceError(device_path, "no such file in the acquisition")
        return source

    def _open_raw(self, device_path: str) -> BinaryIO:
        return self._owner_of(device_path).open(device_path)

    def _local_file(self, device_path: str) -> Path | None:
        return self._owner_of(device_path).local_file(device_path)

    def _source_name(self, device_path: str) -> str:
        return self._owner_of(device_path).source_name(device_path)

    def close(self) -> None:
        for source in self.sources:
            source.close()


def materialize(stream: BinaryIO, workdir: Path, limit: int, label: str, name: str = "data") -> Path:
    """Copy a stream into a fresh file of the private workdir, failing beyond `limit` bytes."""
    folder = Path(tempfile.mkdtemp(prefix="member-", dir=workdir))
    target = folder / name
    size = 0
    with open(target, "wb") as out:
        while True:
            chunk = stream.read(1024 * 1024)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise LimitExceeded(label, f"larger than {limit} bytes")
            out.write(chunk)
    return target


def prefixed(prefix: str) -> PathMapper:
    """A mapper putting every member under a device folder."""

    def mapper(name: str) -> str | None:
        return posixpath.join(prefix, name)

    return mapper


class LimitedWriter(io.RawIOBase):
    """A writable stream that refuses more than `limit` bytes (for decryption into the workdir)."""

    def __init__(self, out: BinaryIO, limit: int, label: str) -> None:
        self._out = out
        self._left = limit
        self._label = label

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        size = len(data)
        if size > self._left:
            raise LimitExceeded(self._label, "decrypted content exceeds the size limit")
        self._left -= size
        self._out.write(data)
        return size
