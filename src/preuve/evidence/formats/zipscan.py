"""The members of a zip cut short, found by their local headers.

A zip lists its members twice: a local header before each member's data, and the central directory
at its end, which readers (``zipfile`` among them) start from. A zip whose writing was interrupted
has no central directory: AndroidQF's zip, written by Go's ``archive/zip`` as the acquisition goes,
gets its central directory only when it is closed. Every member written before the interruption is
still there, after its local header.

This kernel walks the local headers from the start of the file. A member written as a stream (flag
bit 3: its sizes and CRC in a data descriptor after its data, as Go writes every member) is found to
end where its deflate stream ends: the data is inflated (and thrown away) to find it, then the data
descriptor is read. Hand-written because ``zipfile`` has no reader of local headers: it refuses a
zip without a central directory. What it finds is given as :class:`zipfile.ZipInfo`, which
``zipfile.ZipExtFile`` reads as it reads any member (decompression and CRC check are zipfile's).

The walk stops at the first thing that is not a sound local header (the central directory's start,
or the cut) and says why; the members before it are kept. A member the file ends inside is given as
what the file holds of it (stored, its bytes there; deflated, what they inflate to), as a tar cut
short gives its last member.
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, BinaryIO, cast

from preuve.evidence.limits import Limits

_LOCAL = b"PK\x03\x04"
_DESCRIPTOR = b"PK\x07\x08"
_CENTRAL = b"PK\x01\x02"
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # signature, version, flags, method, time, date, crc, sizes, name, extra
_STORED, _DEFLATED = 0, 8
_ZIP64_EXTRA = 0x0001
_CHUNK = 1 << 16


@dataclass(slots=True)
class ScannedZip:
    """What the walk found: the members, in the order of the file, and why it stopped (None: it
    reached the central directory, the zip is whole up to it)."""

    members: list[zipfile.ZipInfo] = field(default_factory=list)
    data_offsets: list[int] = field(default_factory=list)  # where each member's data begins
    stopped: str | None = None
    end: int = 0  # where the last member found ends
    cut: str | None = None  # the member the file ends inside, given as what the file holds of it


def _date_time(date: int, time: int) -> tuple[int, int, int, int, int, int]:
    return ((date >> 9) + 1980, (date >> 5) & 0xF, date & 0x1F, time >> 11, (time >> 5) & 0x3F, (time & 0x1F) * 2)


def _zip64_sizes(extra: bytes, usize: int, csize: int) -> tuple[int, int]:
    """The sizes a zip64 extra field holds for the ones the header left at 0xFFFFFFFF."""
    at = 0
    while at + 4 <= len(extra):
        tag, length = struct.unpack_from("<2H", extra, at)
        body = extra[at + 4 : at + 4 + length]
        if tag == _ZIP64_EXTRA:
            values = [struct.unpack_from("<Q", body, k)[0] for k in range(0, len(body) - 7, 8)]
            if usize == 0xFFFFFFFF and values:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
        at += 4 + length
    return usize, csize


@dataclass(frozen=True, slots=True)
class _Cut:
    """A member's data cut short by the end of the file: its bytes there, what they inflate to."""

    compressed: int
    size: int
    crc: int


def _inflated_end(stream: BinaryIO, start: int, limit: int) -> tuple[int, int, int] | _Cut | str:
    """Where a deflate stream that begins at `start` ends: (its compressed size, its size inflated,
    its CRC-32); what the file holds of it when the file ends first (_Cut); or why it could not be
    found (damaged, or inflating past `limit`)."""
    inflater = zlib.decompressobj(-15)
    stream.seek(start)
    taken = produced = crc = 0
    while not inflater.eof:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return _Cut(taken, produced, crc)
        taken += len(chunk)
        try:
            while chunk and not inflater.eof:
                out = inflater.decompress(chunk, _CHUNK)
                produced += len(out)
                if produced > limit:
                    return f"it inflates past {limit} bytes"
                crc = zlib.crc32(out, crc)
                chunk = inflater.unconsumed_tail
        except zlib.error as exc:
            return f"its data is damaged ({exc})"
    return taken - len(inflater.unused_data), produced, crc


def _signature_at(stream: BinaryIO, at: int, size: int) -> bool:
    """Whether a local header or the central directory begins at `at`, or the file ends there."""
    if at >= size:
        return at == size
    stream.seek(at)
    return stream.read(4) in (_LOCAL, _CENTRAL)


def scan_local_headers(stream: BinaryIO, size: int, limits: Limits) -> ScannedZip:
    """The members of the zip in `stream` (`size` bytes), walking its local headers (see the module)."""
    found = ScannedZip()
    at = 0
    while True:
        if len(found.members) >= limits.max_archive_entries:
            found.stopped = f"more than {limits.max_archive_entries} entries"
            return found
        stream.seek(at)
        head = stream.read(_LOCAL_HEADER.size)
        if head[:4] == _CENTRAL and not found.members:
            found.stopped = "no member before the central directory"
            return found
        if head[:4] == _CENTRAL:
            return found  # (the central directory begins: nothing was cut before it)
        if len(head) < _LOCAL_HEADER.size or head[:4] != _LOCAL:
            found.stopped = "the zip ends" if len(head) < 4 else f"no local header at offset {at}"
            return found
        _, _version, flags, method, time, date, crc, csize, usize, name_length, extra_length = _LOCAL_HEADER.unpack(head)
        name_raw = stream.read(name_length)
        extra = stream.read(extra_length)
        if len(name_raw) < name_length or len(extra) < extra_length:
            found.stopped = f"the local header at offset {at} is cut short"
            return found
        usize, csize = _zip64_sizes(extra, usize, csize)
        data = at + _LOCAL_HEADER.size + name_length + extra_length
        name = name_raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        info = zipfile.ZipInfo(name, _date_time(date, time) if date else (1980, 1, 1, 0, 0, 0))
        info.flag_bits, info.compress_type, info.header_offset, info.orig_filename = flags, method, at, name
        if method == _DEFLATED and (flags & 0x8 or data + csize > size):
            ended = _inflated_end(stream, data, limits.max_file_bytes)
            if isinstance(ended, str):
                found.stopped = f"{name!r}: {ended}"
                return found
            if isinstance(ended, _Cut):
                return _cut(found, info, data, ended, size)
            csize, usize, crc = ended
        elif flags & 0x8:
            found.stopped = f"{name!r} is written as a stream, not deflated: where it ends is not known"
            return found
        elif data + csize > size:
            if method != _STORED:
                found.stopped = f"{name!r}: its data is cut short, and compressed by method {method}"
                return found
            stream.seek(data)
            kept = crc32_of(stream, size - data)
            return _cut(found, info, data, _Cut(size - data, size - data, kept), size)
        if flags & 0x8:
            stream.seek(data + csize)
            descriptor = stream.read(24)
            skip = 4 if descriptor[:4] == _DESCRIPTOR else 0
            # Sizes of 4 bytes, or of 8 (zip64): the length after which the next header begins.
            lengths = [n for n in (skip + 12, skip + 20)
                       if len(descriptor) >= n and _signature_at(stream, data + csize + n, size)]
            if not lengths:
                found.stopped = f"{name!r}: its data descriptor is cut short or damaged"
                return found
            if struct.unpack_from("<L", descriptor, skip)[0] != crc:
                found.stopped = f"{name!r}: its data descriptor does not match its data"
                return found
            end = data + csize + lengths[0]
        else:
            end = data + csize
        info.CRC, info.compress_size, info.file_size = crc, csize, usize
        found.members.append(info)
        found.data_offsets.append(data)
        found.end = at = end


def _cut(found: ScannedZip, info: zipfile.ZipInfo, data: int, cut: _Cut, size: int) -> ScannedZip:
    """The walk ends in a member the file ends inside: it is given as what the file holds of it (its
    bytes there, what they inflate to, with their CRC, so zipfile reads it whole and checks it)."""
    info.CRC, info.compress_size, info.file_size = cut.crc, cut.compressed, cut.size
    found.members.append(info)
    found.data_offsets.append(data)
    found.end = size
    found.stopped = f"{info.filename!r}: its data is cut short ({cut.size:,} bytes of it are read)"
    found.cut = info.filename
    return found


def crc32_of(stream: BinaryIO, length: int) -> int:
    """The CRC-32 of the next `length` bytes of `stream` (fewer when it ends first)."""
    crc = 0
    while length > 0:
        chunk = stream.read(min(_CHUNK, length))
        if not chunk:
            break
        crc = zlib.crc32(chunk, crc)
        length -= len(chunk)
    return crc


_END_SEARCH = 22 + 65_535  # the end of central directory record and the longest comment after it


class CutZip:
    """The members of a zip cut short, as :func:`~preuve.evidence.formats.zipscan.scan_local_headers`
    found them, read as zipfile reads any member (what a reader asks of a zipfile.ZipFile): `damage`
    says what was found and what was lost. `reopen` gives a stream of the zip for each member read
    (its own, where members may be read at once), or None: the one given, each member read in turn."""

    def __init__(self, stream: BinaryIO, scanned: ScannedZip, damage: str,
                 reopen: Callable[[], BinaryIO] | None = None) -> None:
        self.fp = stream
        self.damage = damage
        self._reopen = reopen
        self._members = scanned.members
        self._data = dict(zip((id(info) for info in scanned.members), scanned.data_offsets, strict=True))

    def infolist(self) -> list[zipfile.ZipInfo]:
        return list(self._members)

    def open(self, info: zipfile.ZipInfo) -> IO[bytes]:
        # zipfile's own member reader: it stops at the size found and checks the CRC at the end.
        if self._reopen is None:
            self.fp.seek(self._data[id(info)])
            return cast(IO[bytes], zipfile.ZipExtFile(self.fp, "r", info, None, False))
        handle = self._reopen()
        handle.seek(self._data[id(info)])
        return cast(IO[bytes], zipfile.ZipExtFile(handle, "r", info, None, True))

    def close(self) -> None:
        return None

    def __enter__(self) -> CutZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cut_short_zip(stream: BinaryIO, limits: Limits, reopen: Callable[[], BinaryIO] | None = None) -> CutZip | None:
    """The zip in `stream` read from its local headers when it has no end of central directory, as a
    zip cut short (an interrupted acquisition); None when it has one (one whose central directory is
    there but refused, a version or a count zipfile will not read, stays refused), or when no member is
    found that way."""
    try:
        stream.seek(0, os.SEEK_END)
        size = stream.tell()
        stream.seek(0)
        if stream.read(4) != b"PK\x03\x04":
            return None
        stream.seek(max(0, size - _END_SEARCH))
        if b"PK\x05\x06" in stream.read(_END_SEARCH):
            return None
        scanned = scan_local_headers(stream, size, limits)
    except OSError:
        return None
    if not scanned.members:
        return None
    found = f"it has no end of central directory; {len(scanned.members)} member(s) were found by their local headers"
    if scanned.stopped is None:
        damage = f"the zip is cut short inside its central directory: {found}, every one before it"
    elif scanned.cut is not None:
        damage = f"the zip is cut short: {found}, the last cut short ({scanned.stopped}); members after it are lost"
    else:
        damage = (
            f"the zip is cut short: {found}, up to {scanned.end:,} of its {size:,} bytes, where "
            f"{scanned.stopped}; members after that point are lost"
        )
    return CutZip(stream, scanned, damage, reopen)
