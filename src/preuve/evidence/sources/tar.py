"""A tar file (plain, or compressed with gzip, bzip2 or xz) as a source, read in place.

A tar is indexed once: one pass over its headers (:func:`scan_tar_headers`), keeping only each
regular member's data offset and size. A plain tar's member is then read where it lies; a
.tar.gz's from the nearest gzip checkpoint taken during that pass
(:mod:`preuve.evidence.formats.gzindex`), so opening members in any order never decompresses the
archive again from its start. A compressed tar is bounded as a whole by the decompression ratio,
checked before each member's data is skipped (skipping is what decompresses it).
"""

from __future__ import annotations

import io
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from preuve.evidence.errors import AcquisitionError, EvidenceError, LimitExceeded
from preuve.evidence.formats.gzindex import GzipCheckpoints, indexing_reader, open_member
from preuve.evidence.limits import Limits
from preuve.evidence.policy import (
    FILE,
    RATIO_FLOOR,
    check_entry_count,
    guarded_member,
    member_name,
    tar_member_type,
)
from preuve.evidence.sources.base import Member, Source
from preuve.messages import error_text

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


_BLOCK = 512


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


class TarSource(Source):
    """Members of a tar, indexed in one pass over its headers and read through that index."""

    def __init__(self, path: Path, limits: Limits, label: str | None = None) -> None:
        super().__init__(path, limits, label)
        try:
            self._compressed = path.stat().st_size
            self._tar = tarfile.open(path, "r:*")  # noqa: SIM115 - kept open for member reads
            with open(path, "rb") as head:
                gzipped = head.read(2) == b"\x1f\x8b"
        except (tarfile.TarError, OSError, EOFError) as exc:
            shown = label if label is not None else str(path)
            raise AcquisitionError(f"{shown}: not a readable tar ({error_text(exc)})") from exc
        self._plain = isinstance(self._tar.fileobj, io.BufferedReader)
        self._gzip = GzipCheckpoints(path) if gzipped else None
        self._files: dict[str, tuple[int, int]] = {}  # name -> (data offset, size), the first of a name

    def _stream(self) -> BinaryIO:
        return _open_decompressed(self.path) if self._gzip is None else indexing_reader(self.path, self._gzip)

    def names(self, max_entries: int | None = None) -> Iterator[str]:
        """Safe member names, reading only as far as needed (cheap detection); stops at damage."""
        budget = None if self._plain else self._compressed * self.limits.max_decompression_ratio + RATIO_FLOOR
        try:
            with _open_decompressed(self.path) as stream:
                for count, entry in enumerate(scan_tar_headers(stream, str(self.path), budget), start=1):
                    if max_entries is not None and count > max_entries:
                        return
                    check_entry_count(count, str(self.path), self.limits)
                    name = member_name(entry.name)
                    if name is not None:
                        yield name
        except (EOFError, OSError, ValueError, tarfile.TarError, zlib.error) as exc:
            raise EvidenceError(str(self.path), f"damaged tar ({error_text(exc)})") from exc

    def members(self) -> Iterator[Member]:
        budget = None if self._plain else self._compressed * self.limits.max_decompression_ratio + RATIO_FLOOR
        count = 0
        damage: list[str] = []  # about the archive as a whole, named by its label when it has one
        try:
            with self._stream() as stream:
                for entry in scan_tar_headers(stream, str(self.path), budget, damage):
                    count += 1
                    check_entry_count(count, str(self.path), self.limits)
                    name = member_name(entry.name)
                    if name is None:
                        self.refused.append(entry.name)
                        continue
                    kind = tar_member_type(entry.type)
                    size = entry.size if kind == FILE else 0
                    if kind == FILE:
                        if self._plain and entry.offset_data + entry.size > self._compressed:
                            present = max(self._compressed - entry.offset_data, 0)
                            self.damaged.append(f"{self.where}: member {name} is cut short ({entry.size} bytes "
                                                f"declared, {present} present): the archive is truncated")
                        # Only (offset, size) is kept per member: a TarInfo is made when the member is opened.
                        self._files.setdefault(name, (entry.offset_data, entry.size))
                    yield Member(name, kind, size, entry.mtime or None, entry.mode)
        except EvidenceError as exc:
            if count == 0 or isinstance(exc, LimitExceeded) and "more than" in exc.reason:
                raise
            # The members before stay listed and read; this one and what follows are reported, and what
            # followed is lost to the check (the acquisition is damaged).
            self.damaged.append(f"{self.where}: {exc.reason}; it and the members after it are not read")
            if not damage:  # (a cut-short stream has said so already)
                damage.append(f"the archive cannot be read past its member {count} ({exc.reason}); "
                              "members after that point are lost")
        except (EOFError, OSError, ValueError, tarfile.TarError, zlib.error) as exc:
            if count == 0:
                raise EvidenceError(str(self.path), f"damaged tar ({error_text(exc)})") from exc
            self.damaged.append(f"{self.where}: damaged tar after {count} members ({error_text(exc)}); "
                                "the rest is not read")
            damage.append(f"the archive is damaged after {count} member(s) ({error_text(exc)}); "
                          "members after that point are lost")
        finally:
            self.damage.extend(damage if self.label is None else [f"{self.label}: {d}" for d in damage])

    def open(self, name: str, label: str) -> BinaryIO:
        where = self._files.get(name)
        if where is None:
            raise EvidenceError(label, "not a regular file")
        if self._gzip is not None:
            try:
                return guarded_member(open_member(self._gzip, where[0], where[1]), label)
            except (OSError, zlib.error) as exc:
                raise EvidenceError(label, f"cannot be read from the tar ({error_text(exc)})") from exc
        info = tarfile.TarInfo(name)
        info.offset_data, info.size, info.type = where[0], where[1], tarfile.REGTYPE
        try:
            stream = self._tar.extractfile(info)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise EvidenceError(label, f"cannot be read from the tar ({error_text(exc)})") from exc
        if stream is None:
            raise EvidenceError(label, "not a regular file")
        return guarded_member(stream, label)

    def close(self) -> None:
        self._tar.close()

    def after_fork(self) -> None:
        # A plain tar's members are read through the tarfile's own file (seek, then read): this process
        # gets its own. (Members of a compressed tar are read through files opened for each.)
        if self._plain:
            self._tar.fileobj = open(self.path, "rb", buffering=1024 * 1024)  # noqa: SIM115 - kept for member reads
