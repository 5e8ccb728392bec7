"""A zip file as a source: members read in place through the central directory, never extracted."""

from __future__ import annotations

import calendar
import struct
import zipfile
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import IO, BinaryIO, cast

from preuve.evidence.errors import AcquisitionError, EvidenceError, LimitExceeded
from preuve.evidence.formats.zipdir import NotTaken, ZipDirectory, read_directory
from preuve.evidence.formats.zipscan import CutZip, cut_short_zip
from preuve.evidence.limits import Limits
from preuve.evidence.policy import (
    FILE,
    LINK,
    ZIP_OPEN_ERRORS,
    archive_member_name,
    bomb_note,
    check_entry_count,
    guarded_member,
    is_absolute_name,
    open_regular_file,
    ratio_exceeded,
    refuse_crowded_zip,
    text_name,
    zip_entry_type,
    zip_member_refusal,
)
from preuve.evidence.sources.base import Member, Source
from preuve.messages import error_text


def zip_time(date_time: tuple[int, ...]) -> float | None:
    """A member's time as recorded (zip stores local time without a zone), read as UTC so every
    analysis host gives the same value."""
    try:
        return float(calendar.timegm((*date_time, 0, 0, 0)))
    except (ValueError, OverflowError, TypeError):
        return None


_FORGET_NAMES_FROM = 20_000  # members from which a zip listed whole lets its names go (see members)

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # (zipfile's structFileHeader: 30 bytes)
_PATCHED, _STRONG, _UTF8_NAME = 1 << 5, 1 << 6, 0x800


class ZipSource(Source):
    """Members of a zip read where they lie (random access through the central directory).

    The declared member count is checked before the members are listed; the central directory is read
    into flat columns (:mod:`preuve.evidence.formats.zipdir`), a member's ``ZipInfo`` made only when it
    is read, by zipfile's own member reader; a zip that reader does not take is left to zipfile whole.
    A member declaring a decompression ratio beyond the bound is listed and reported, never inflated; a
    member cut short or failing its CRC fails alone. A zip cut short (no central directory: an
    interrupted acquisition) is read from its local headers, up to the cut, and reported damaged."""

    def __init__(self, path: Path, limits: Limits, label: str | None = None) -> None:
        super().__init__(path, limits, label)
        shown = label if label is not None else str(path)
        self._stream: BinaryIO = open_regular_file(path, str(path))
        self._dir: ZipDirectory | None = None  # the central directory, as columns
        self._zip: zipfile.ZipFile | CutZip | None = None  # or zipfile's reading of a zip the kernel left
        try:
            refuse_crowded_zip(path, limits)
            try:
                self._dir = read_directory(self._stream, str(path), limits.max_archive_entries)
            except NotTaken:
                self._zip = zipfile.ZipFile(self._stream)
        except (*ZIP_OPEN_ERRORS, EvidenceError) as exc:
            cut = None if isinstance(exc, LimitExceeded) else cut_short_zip(
                self._stream, limits, lambda: open_regular_file(path, str(path)))
            if cut is None:
                self._stream.close()
                raise AcquisitionError(f"{shown}: not a readable zip ({error_text(exc)})") from exc
            self._zip = cut
            self.damage.append(cut.damage)
        self._list = self._zip.infolist() if self._zip is not None else None
        # Each listed member's place in the directory, by its place in the listing (the `ref` the mount
        # opens it by; -1: not a regular file); by name only for what opens a member by its name.
        self._listed = array("i")
        self._links: dict[int, int] = {}  # symbolic links' places in the directory, by ref (see link_target)
        self._infos: dict[str, int] | None = None  # a regular member's name: its place (the first of a name)
        self._safe: list[str | None] | None = None  # each member's safe name, in order, once made

    def _entries(self) -> Iterator[tuple[str, int, int, int, tuple[int, ...]]]:
        """Each member's name (as zipfile gives it), external attributes, size, compressed size and time."""
        if self._list is not None:
            for info in self._list:
                yield info.filename, info.external_attr, info.file_size, info.compress_size, info.date_time
            return
        found = self._directory()
        names, external, sizes, compressed, date_time = (
            cast(list[str], found.names), found.external, found.sizes, found.compressed, found.date_time)
        for index, name in enumerate(names):
            yield name, external[index], sizes[index], compressed[index], date_time(index)

    def _directory(self) -> ZipDirectory:
        """The central directory with its names: read again when the listing let them go (see members)."""
        found = cast(ZipDirectory, self._dir)
        if found.names is None:
            try:
                found = self._dir = read_directory(self._stream, str(self.path), self.limits.max_archive_entries)
            except NotTaken as exc:  # (read before: the zip changed under the run)
                raise EvidenceError(str(self.path), f"not a readable zip ({exc})") from exc
        return found

    def _info(self, index: int) -> zipfile.ZipInfo:
        if self._list is not None:
            return self._list[index]
        found = cast(ZipDirectory, self._dir)
        if found.names is not None:
            return found.info(index)
        with open_regular_file(self.path, str(self.path)) as stream:
            return found.info(index, stream)  # (its name read again from its entry)

    def _safe_names(self) -> list[str | None]:
        # (made once for the names a detection reads and the members the listing places: the same zip's
        # names went through the policy twice, 3 µs a member)
        if self._safe is None:
            names = [info.filename for info in self._list] if self._list is not None else cast(
                list[str], self._directory().names)
            safe: list[str | None] = []
            for name in names:
                made = archive_member_name(name)
                # (a name the policy leaves as it is, nearly every name, is kept once, not twice)
                safe.append(name if made == name else made)
            self._safe = safe
        return self._safe

    def names(self, max_entries: int | None = None) -> Iterator[str]:
        """Safe member names in the archive's order (cheap: the central directory only)."""
        for count, name in enumerate(self._safe_names(), start=1):
            if max_entries is not None and count > max_entries:
                return
            if name is not None:
                yield name

    def members(self) -> Iterator[Member]:
        listed, links = self._listed, self._links
        del listed[:]
        links.clear()
        safe = self._safe_names()
        found = self._directory() if self._list is None else None
        # A big zip listed whole lets each name go once it is placed (it is the mount's path then, and a
        # member is read by its place): a phone's file system as a zip held its names twice otherwise,
        # 90 MiB at 575,000 members, and three times at the peak of its listing.
        forget = found is not None and len(found) >= _FORGET_NAMES_FROM
        stored = cast(list[str | None], found.names) if found is not None and forget else None
        try:
            for index, ((raw, attrs, size, packed, when), name) in enumerate(
                zip(self._entries(), safe, strict=True)
            ):
                check_entry_count(index + 1, str(self.path), self.limits)
                if name is None:
                    self.refused.append(raw)
                    continue
                if is_absolute_name(raw):
                    self.absolute.add(raw)
                kind = zip_entry_type(raw, attrs)
                listed.append(index if kind == FILE else -1)
                if kind == LINK:
                    links[len(listed) - 1] = index
                if kind == FILE:
                    if ratio_exceeded(size, packed, self.limits):
                        self.damaged.append(f"{self.where}: {bomb_note(name, size, packed, self.limits)}")
                unix_mode = (attrs >> 16) & 0xFFFF
                yield Member(name, kind, size if kind == FILE else 0, zip_time(when), unix_mode or None)
                if stored is not None:
                    stored[index] = safe[index] = None
        finally:
            if found is not None and forget:
                self._safe = None
                found.forget_names()  # (read again from the directory if they are wanted again)

    def _by_name(self) -> dict[str, int]:
        """Each regular member's place in the directory by its safe name (the first of a name), made
        when a member is first asked for by name (a nested acquisition's file): the mount reads by place."""
        if self._infos is None:
            infos: dict[str, int] = {}
            for index, ((raw, attrs, _, _, _), name) in enumerate(zip(self._entries(), self._safe_names(), strict=True)):
                if name is not None and zip_entry_type(raw, attrs) == FILE:
                    infos.setdefault(name, index)
            self._infos = infos
        return self._infos

    def open_member(self, ref: int, name: str, label: str) -> BinaryIO:
        if not 0 <= ref < len(self._listed):
            return self.open(name, label)
        index = self._listed[ref]
        if index < 0:
            raise EvidenceError(label, "not a regular file of the archive")
        return self._open_index(index, label)

    def link_target(self, ref: int, name: str) -> str | None:
        """A symbolic link's target: what Info-ZIP (and every archiver that keeps links) stores as the
        member's data, read whole up to a path's bound; None when it cannot be read or is longer."""
        index = self._links.get(ref)
        if index is None:
            return None
        most = self.limits.max_path_chars
        try:
            with self._open_index(index, name) as stream:
                data = stream.read(most + 1)
        except (EvidenceError, OSError):
            return None
        if not data or len(data) > most or b"\0" in data:
            return None
        return text_name(data.decode("utf-8", "surrogateescape"))

    def open(self, name: str, label: str) -> BinaryIO:
        index = self._by_name().get(name)
        if index is None:
            raise EvidenceError(label, "not a regular file of the archive")
        return self._open_index(index, label)

    def _open_index(self, index: int, label: str) -> BinaryIO:
        info = self._info(index)
        if ratio_exceeded(info.file_size, info.compress_size, self.limits):
            raise LimitExceeded(label, f"decompression ratio {info.file_size // max(info.compress_size, 1)} "
                                f"exceeds {self.limits.max_decompression_ratio} (zip bomb?)")
        refusal = zip_member_refusal(info)
        if refusal is not None:
            raise EvidenceError(label, f"cannot be read from the zip ({refusal})")
        try:
            raw = self._zip.open(info) if self._zip is not None else self._open_member(info, label)
        except ZIP_OPEN_ERRORS as exc:
            raise EvidenceError(label, f"cannot be read from the zip ({error_text(exc)})") from exc
        # ZipExtFile stops at the declared size and checks the CRC at the end.
        return guarded_member(raw, label)

    def _open_member(self, info: zipfile.ZipInfo, label: str) -> IO[bytes]:
        """The member through zipfile's own reader, on a stream of its own, after the checks zipfile's
        ZipFile.open makes of its local header (its magic, its name, the flags it does not read)."""
        handle = open_regular_file(self.path, label)
        try:
            handle.seek(info.header_offset)
            header = handle.read(_LOCAL_HEADER.size)
            if len(header) != _LOCAL_HEADER.size:
                raise zipfile.BadZipFile("Truncated file header")
            fields = _LOCAL_HEADER.unpack(header)
            if fields[0] != b"PK\x03\x04":
                raise zipfile.BadZipFile("Bad magic number for file header")
            stored_name = handle.read(fields[10])
            if fields[11]:
                handle.read(fields[11])
            if info.flag_bits & _PATCHED:
                raise NotImplementedError("compressed patched data (flag bit 5)")
            if info.flag_bits & _STRONG:
                raise NotImplementedError("strong encryption (flag bit 6)")
            decoded = stored_name.decode("utf-8") if fields[3] & _UTF8_NAME else stored_name.decode("cp437")
            if decoded != info.orig_filename:
                raise zipfile.BadZipFile(f"File name in directory {info.orig_filename!r} and header {stored_name!r} differ.")
            return cast(IO[bytes], zipfile.ZipExtFile(handle, "r", info, None, True))
        except BaseException:
            handle.close()
            raise

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        self._stream.close()

    def after_fork(self) -> None:
        # zipfile reads every member through `fp` (seek, then read): this process gets its own file, and
        # the listing already read stays (the parent's file is left open: closing it here would not
        # close it there, and its descriptor goes with this process). A member read from the columns
        # opens a file of its own.
        self._stream = open_regular_file(self.path, str(self.path))
        if self._zip is not None:
            self._zip.fp = self._stream
