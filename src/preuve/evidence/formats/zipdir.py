"""A zip's central directory read into flat arrays: the one kernel that lists a zip.

``zipfile.ZipFile`` keeps a ``ZipInfo`` for every member while the zip is open, some 0.7 KB each: a
phone's file system handed over as a zip (500,000 to 1,500,000 members) took most of a gigabyte for its
listing alone. This reads the same records the way zipfile reads them (its end records, then each
central directory entry, its name decoded as UTF-8 when flagged and as cp437 otherwise and cut at a
NUL, the ZIP64 extra field for sizes and offsets) into arrays, about 0.15 KB a member with its name; a
``ZipInfo`` is made only for a member that is opened (:meth:`ZipDirectory.info`), and read by zipfile's
own member reader. Anything this reader does not take raises :class:`NotTaken`: the zip is then left to
zipfile whole, which reads it or says why. ``tests/evidence/test_zipdir.py`` checks it against zipfile.
"""

from __future__ import annotations

import os
import struct
import zipfile
from array import array
from dataclasses import dataclass, field
from typing import BinaryIO, cast

from preuve.evidence.errors import LimitExceeded

_END = struct.Struct("<4s4H2LH")  # end of central directory: 22 bytes
_END64_LOCATOR = struct.Struct("<4sLQL")  # 20 bytes
_END64 = struct.Struct("<4sQ2H2L4Q")  # 56 bytes
_ENTRY = struct.Struct("<4s4B4HL2L5H2L")  # a central directory entry: 46 bytes
_END_SIG, _END64_LOCATOR_SIG, _END64_SIG, _ENTRY_SIG = b"PK\x05\x06", b"PK\x06\x07", b"PK\x06\x06", b"PK\x01\x02"
_MAX_COMMENT = 1 << 16
_UTF8_NAME = 0x800
_MAX_EXTRACT_VERSION = 63  # (zipfile's MAX_EXTRACT_VERSION)
_NO32 = 0xFFFF_FFFF
_SEP_TO_FIX = os.sep != "/"


class NotTaken(Exception):
    """The zip is not one this reader takes: zipfile is to read it (and say why it cannot)."""


@dataclass(slots=True)
class ZipDirectory:
    """Every member of a zip's central directory, in its order, as flat columns."""

    names: list[str] | None = field(default_factory=list)  # as zipfile gives ZipInfo.filename (cut at a NUL);
    # None once forgotten (see forget_names): each is read again from the directory when wanted
    entries: array[int] = field(default_factory=lambda: array("q"))  # where each entry lies in the file
    cut_names: dict[int, str] = field(default_factory=dict)  # index: the name as stored, when it differs
    flags: array[int] = field(default_factory=lambda: array("H"))
    methods: array[int] = field(default_factory=lambda: array("H"))
    dos_times: array[int] = field(default_factory=lambda: array("L"))  # date << 16 | time
    crcs: array[int] = field(default_factory=lambda: array("L"))
    compressed: array[int] = field(default_factory=lambda: array("Q"))
    sizes: array[int] = field(default_factory=lambda: array("Q"))
    offsets: array[int] = field(default_factory=lambda: array("q"))  # of the local header, in the file
    external: array[int] = field(default_factory=lambda: array("L"))
    systems: bytearray = field(default_factory=bytearray)  # create_system
    versions: bytearray = field(default_factory=bytearray)  # create_version
    extract_versions: bytearray = field(default_factory=bytearray)

    def __len__(self) -> int:
        return len(self.entries)

    def forget_names(self) -> None:
        """Let the names go (a listing placed them: they are the mount's paths now; half a million
        names of a phone's file system are 90 MiB): a member's is read again when it is opened."""
        self.names = None

    def stored_name(self, index: int, stream: BinaryIO) -> str:
        """The member's name as stored (before zipfile's cut at a NUL), read from its entry in `stream`."""
        stream.seek(self.entries[index])
        head = stream.read(_ENTRY.size)
        fields = _ENTRY.unpack(head)
        raw = stream.read(fields[12])
        return raw.decode("utf-8") if fields[5] & _UTF8_NAME else raw.decode("cp437")

    def date_time(self, index: int) -> tuple[int, int, int, int, int, int]:
        stamp = self.dos_times[index]
        d, t = stamp >> 16, stamp & 0xFFFF
        return ((d >> 9) + 1980, (d >> 5) & 0xF, d & 0x1F, t >> 11, (t >> 5) & 0x3F, (t & 0x1F) * 2)

    def info(self, index: int, stream: BinaryIO | None = None) -> zipfile.ZipInfo:
        """The member as zipfile describes it, for zipfile's own reader (made when it is opened; its
        name read from `stream` when the names were forgotten)."""
        if self.names is None:
            stored = self.stored_name(index, cast(BinaryIO, stream))
        else:
            stored = self.cut_names.get(index, self.names[index])
        info = zipfile.ZipInfo(stored, self.date_time(index))
        info.flag_bits = self.flags[index]
        info.compress_type = self.methods[index]
        info.CRC = self.crcs[index]
        info.compress_size = self.compressed[index]
        info.file_size = self.sizes[index]
        info.header_offset = self.offsets[index]
        info.external_attr = self.external[index]
        info.create_system = self.systems[index]
        info.create_version = self.versions[index]
        info.extract_version = self.extract_versions[index]
        return info


def read_directory(stream: BinaryIO, label: str = "zip", max_entries: int | None = None) -> ZipDirectory:
    """The central directory of the zip in `stream` (seekable), read as zipfile reads it; NotTaken when
    zipfile would refuse it or read it otherwise than this does. LimitExceeded past `max_entries`
    entries: a directory may hold more entries than its end record declares (which is what is checked
    before it is read), and each costs memory."""
    try:
        return _read(stream, label, max_entries)
    except (struct.error, OSError, ValueError, OverflowError) as exc:
        raise NotTaken(str(exc)) from exc


def _end_record(stream: BinaryIO) -> tuple[tuple[object, ...], int, bool]:
    """The end record's fields, where it lies, and whether ZIP64 records gave its numbers."""
    stream.seek(0, 2)
    size = stream.tell()
    if size < _END.size:
        raise NotTaken("no end of central directory")
    start = max(size - _MAX_COMMENT - _END.size, 0)
    stream.seek(start)
    tail = stream.read()
    stream.seek(size - _END.size)
    last = stream.read(_END.size)
    if last[:4] == _END_SIG and last[-2:] == b"\0\0":
        at = size - _END.size  # (no comment: the record ends the file)
        record = last
    else:
        found = tail.rfind(_END_SIG)
        if found < 0 or found + _END.size > len(tail):
            raise NotTaken("no end of central directory")
        at = start + found
        record = tail[found : found + _END.size]
    fields = list(_END.unpack(record))
    zip64 = False
    if at >= _END64_LOCATOR.size:
        stream.seek(at - _END64_LOCATOR.size)
        locator = stream.read(_END64_LOCATOR.size)
        if len(locator) == _END64_LOCATOR.size:
            sig, disk, _offset, disks = _END64_LOCATOR.unpack(locator)
            if sig == _END64_LOCATOR_SIG:
                if disk != 0 or disks > 1:
                    raise NotTaken("a zip spanning several disks")
                where = at - _END64_LOCATOR.size - _END64.size
                if where < 0:
                    raise NotTaken("a ZIP64 locator without room for its record")  # (zipfile: a failed seek)
                stream.seek(where)
                record64 = stream.read(_END64.size)
                if len(record64) == _END64.size:
                    (sig64, _sz, _made, _needed, disk_num, disk_dir, count_disk, count,
                     dir_size, dir_offset) = _END64.unpack(record64)
                    if sig64 == _END64_SIG:
                        fields[1:7] = [disk_num, disk_dir, count_disk, count, dir_size, dir_offset]
                        zip64 = True
    return tuple(fields), at, zip64


def _read(stream: BinaryIO, label: str, max_entries: int | None) -> ZipDirectory:
    fields, at, zip64 = _end_record(stream)
    dir_size, dir_offset = int(fields[5]), int(fields[6])  # type: ignore[call-overload]
    concat = at - dir_size - dir_offset
    if zip64:
        concat -= _END64.size + _END64_LOCATOR.size
    start = dir_offset + concat
    if start < 0:
        raise NotTaken("bad offset for central directory")
    stream.seek(start)
    data = stream.read(dir_size)
    found = ZipDirectory()
    names, cut_names, entries = cast(list[str], found.names), found.cut_names, found.entries
    flags_col, methods, times, crcs = found.flags, found.methods, found.dos_times, found.crcs
    compressed_col, sizes, offsets, external = found.compressed, found.sizes, found.offsets, found.external
    systems, versions, extract_versions = found.systems, found.versions, found.extract_versions
    unpack_entry, entry_size = _ENTRY.unpack_from, _ENTRY.size
    place = 0
    while place < dir_size:
        if place + entry_size > len(data):
            raise NotTaken("truncated central directory")
        (sig, made_version, system, needed, _reserved, flags, method, t, d, crc, packed, size,
         name_len, extra_len, comment_len, _disk, _internal, attrs, offset) = unpack_entry(data, place)
        if sig != _ENTRY_SIG:
            raise NotTaken("bad magic number for central directory")
        if max_entries is not None and len(found.entries) >= max_entries:
            raise LimitExceeded(label, f"more than {max_entries} entries in its central directory")
        entries.append(start + place)
        place += entry_size
        raw = data[place : place + name_len]
        place += name_len
        extra = data[place : place + extra_len]
        place += extra_len + comment_len
        if needed > _MAX_EXTRACT_VERSION:
            raise NotTaken(f"zip file version {needed / 10:.1f}")
        name = raw.decode("utf-8") if flags & _UTF8_NAME else raw.decode("cp437")
        if extra:
            size, packed, offset = _zip64_extra(extra, size, packed, offset)
        # (as ZipInfo makes its filename: cut at a NUL, and on Windows its separators made '/')
        cut = name.find("\0")
        if cut >= 0 or _SEP_TO_FIX:
            original = name
            if cut >= 0:
                name = name[:cut]
            if _SEP_TO_FIX:
                name = name.replace(os.sep, "/")
            if name != original:
                cut_names[len(names)] = original
        names.append(name)
        flags_col.append(flags)
        methods.append(method)
        times.append(d << 16 | t)
        crcs.append(crc)
        compressed_col.append(packed)
        sizes.append(size)
        offsets.append(offset + concat)
        external.append(attrs)
        systems.append(system)
        versions.append(made_version)
        extract_versions.append(needed)
    return found


def _zip64_extra(extra: bytes, size: int, packed: int, offset: int) -> tuple[int, int, int]:
    """The sizes and offset an entry's ZIP64 extra field gives where its own fields say so (as zipfile's
    ZipInfo._decodeExtra reads them); NotTaken on a field that is cut short."""
    while len(extra) >= 4:
        kind, length = struct.unpack_from("<HH", extra)
        if length + 4 > len(extra):
            raise NotTaken(f"corrupt extra field {kind:04x} (size={length})")
        if kind == 0x0001:
            data = extra[4 : length + 4]
            try:
                if size in (0xFFFF_FFFF_FFFF_FFFF, _NO32):
                    (size,) = struct.unpack("<Q", data[:8])
                    data = data[8:]
                if packed == _NO32:
                    (packed,) = struct.unpack("<Q", data[:8])
                    data = data[8:]
                if offset == _NO32:
                    (offset,) = struct.unpack("<Q", data[:8])
            except struct.error as exc:
                raise NotTaken("corrupt zip64 extra field") from exc
        extra = extra[length + 4 :]
    return size, packed, offset

