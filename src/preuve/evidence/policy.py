"""Small, generic guards for hostile containers and documents, for every acquisition kind to use.

The standard library does the decoding (zipfile, tarfile, gzip/zlib/bz2/lzma,
json); these functions put the bounds around it that evidence from a
compromised phone needs and that the library does not give on its own:

- :func:`bounded_copy` / :func:`bounded_decompress`: output size and
  compression-ratio caps while streaming (zip and gzip bombs);
- :func:`zip_entry_count`: the member count read from the end-of-central-
  directory record *before* :class:`zipfile.ZipFile` builds its member list
  (an archive claiming millions of entries costs nothing to refuse);
- :func:`vet_zip_members` / :func:`vet_tar_member`: member names that would
  leave the root (zip-slip), duplicates, links, hard links, FIFOs, devices;
- :func:`load_json`: size, nesting depth, integer length, no NaN/Infinity;
- :func:`guarded_member`: a member stream whose damage (cut short, bad CRC,
  a broken compressed stream) is an :class:`EvidenceError` about that member
  alone, never an exception that stops the run.

The Android ``.ab`` header (PBKDF2 rounds bounded) is read in
:mod:`preuve.evidence.sources.ab`.
"""

from __future__ import annotations

import bz2
import io
import json
import lzma
import posixpath
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from preuve.evidence.errors import EvidenceError, LimitExceeded
from preuve.evidence.limits import Limits
from preuve.messages import error_text

_CHUNK = 1024 * 1024

# What the standard library raises on a damaged or truncated member while it is read.
_MEMBER_DAMAGE = (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, lzma.LZMAError, OSError)


class _GuardedMember(io.BufferedIOBase):
    """The member's own (buffered) stream, each call passed through as it is (no extra copy): only the
    errors change."""

    def __init__(self, raw: IO[bytes], label: str) -> None:
        self._raw = raw
        self._label = label

    def _damaged(self, exc: BaseException) -> EvidenceError:
        return EvidenceError(self._label, f"damaged or cut short inside its archive ({error_text(exc)})")

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._raw.read(-1 if size is None else size)
        except EvidenceError:
            raise
        except _MEMBER_DAMAGE as exc:
            raise self._damaged(exc) from exc

    def read1(self, size: int = -1) -> bytes:
        read1 = getattr(self._raw, "read1", None)
        try:
            return read1(size) if read1 is not None else self._raw.read(size)
        except EvidenceError:
            raise
        except _MEMBER_DAMAGE as exc:
            raise self._damaged(exc) from exc

    def readline(self, size: int | None = -1) -> bytes:
        try:
            return self._raw.readline(-1 if size is None else size)
        except EvidenceError:
            raise
        except _MEMBER_DAMAGE as exc:
            raise self._damaged(exc) from exc

    def peek(self, size: int = 0) -> bytes:
        peek = getattr(self._raw, "peek", None)
        try:
            return peek(size) if peek is not None else b""
        except EvidenceError:
            raise
        except _MEMBER_DAMAGE as exc:
            raise self._damaged(exc) from exc

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seekable(self) -> bool:
        return self._raw.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        try:
            return self._raw.seek(offset, whence)
        except EvidenceError:
            raise
        except _MEMBER_DAMAGE as exc:
            raise self._damaged(exc) from exc

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def guarded_member(raw: IO[bytes], label: str) -> BinaryIO:
    """A member's stream whose read errors (truncated data, bad CRC, broken compression) are an
    EvidenceError naming the member: that file fails, the others are read."""
    return _GuardedMember(raw, label)  # type: ignore[return-value]


def _normalize_member(name: str) -> str | None:
    """A member name as a relative POSIX path inside the archive, or None when it would leave it."""
    if not name or "\x00" in name:
        return None
    text = name.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return None
    normal = posixpath.normpath(text)
    if normal in (".", "") or normal.startswith("../") or normal == ".." or "/../" in f"/{normal}/":
        return None
    return normal


def bounded_copy(
    source: BinaryIO | IO[bytes],
    sink: Callable[[bytes], object],
    name: str,
    limits: Limits,
    compressed_size: int | None = None,
    max_bytes: int | None = None,
) -> int:
    """Stream `source` into `sink`, refusing more than `max_bytes` (default: the file limit) or a
    compression ratio above the limit relative to `compressed_size`. Returns the bytes copied."""
    cap = limits.max_file_bytes if max_bytes is None else max_bytes
    if compressed_size is not None:
        # Small members may legitimately compress well (a file of zeros); the ratio applies past 1 MiB.
        cap = min(cap, max(compressed_size * limits.max_decompression_ratio, _CHUNK))
    total = 0
    while True:
        chunk = source.read(_CHUNK)
        if not chunk:
            return total
        total += len(chunk)
        if total > cap:
            raise LimitExceeded(name, f"expands beyond {cap} bytes (decompression bomb or oversized file)")
        sink(chunk)


def bounded_decompress(data: bytes, method: str, name: str, limits: Limits, max_bytes: int | None = None) -> bytes:
    """Decompress a whole in-memory blob ("gzip", "zlib", "deflate", "bz2", "xz") within the bounds."""
    cap = limits.max_read_bytes if max_bytes is None else max_bytes
    cap = min(cap, max(len(data) * limits.max_decompression_ratio, _CHUNK))
    out = bytearray()
    try:
        if method in ("gzip", "zlib", "deflate"):
            wbits = {"gzip": 16 + zlib.MAX_WBITS, "zlib": zlib.MAX_WBITS, "deflate": -zlib.MAX_WBITS}[method]
            zobj = zlib.decompressobj(wbits)
            pending = data
            while pending:
                out += zobj.decompress(pending, cap + 1 - len(out))
                if len(out) > cap:
                    break
                pending = zobj.unconsumed_tail
                if zobj.eof:
                    break
        elif method in ("bz2", "xz"):
            dobj: Any = bz2.BZ2Decompressor() if method == "bz2" else lzma.LZMADecompressor()
            out += dobj.decompress(data, cap + 1)
            while len(out) <= cap and not dobj.eof and not dobj.needs_input:
                out += dobj.decompress(b"", cap + 1 - len(out))
        else:
            raise ValueError(f"unknown compression {method!r}")
    except (zlib.error, OSError, lzma.LZMAError, EOFError) as exc:
        raise EvidenceError(name, f"corrupt {method} data ({exc})") from exc
    if len(out) > cap:
        raise LimitExceeded(name, f"expands beyond {cap} bytes (decompression bomb or oversized file)")
    return bytes(out)


def zip_entry_count(stream: BinaryIO, name: str) -> int:
    """The member count a zip declares, read from its end records without listing the members."""
    stream.seek(0, 2)
    size = stream.tell()
    tail_len = min(size, 22 + 65535)
    stream.seek(size - tail_len)
    tail = stream.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        raise EvidenceError(name, "not a zip archive (no end of central directory)")
    count = struct.unpack("<H", tail[at + 10 : at + 12])[0]
    locator = tail.rfind(b"PK\x06\x07", 0, at)
    if count == 0xFFFF and locator >= 0 and locator + 20 <= len(tail):
        offset = struct.unpack("<Q", tail[locator + 8 : locator + 16])[0]
        if offset + 56 <= size:
            stream.seek(offset)
            record = stream.read(56)
            if record[:4] == b"PK\x06\x06":
                count = struct.unpack("<Q", record[32:40])[0]
    return int(count)


def refuse_crowded_zip(path: Path, limits: Limits) -> None:
    """Refuse a zip declaring more members than the limit, before zipfile lists (and allocates) them."""
    from preuve.evidence.fs import open_regular_file

    with open_regular_file(path, str(path)) as stream:
        declared = zip_entry_count(stream, str(path))
    if declared > limits.max_archive_entries:
        raise LimitExceeded(str(path), f"the zip declares {declared} entries, more than {limits.max_archive_entries}")


@dataclass(frozen=True, slots=True)
class MemberProblem:
    member: str
    reason: str


def vet_zip_members(infos: Iterable[zipfile.ZipInfo], name: str, limits: Limits) -> tuple[list[zipfile.ZipInfo],
                                                                                          list[MemberProblem]]:
    """The members safe to read (first of duplicate names only) and why the others were left out."""
    safe: list[zipfile.ZipInfo] = []
    problems: list[MemberProblem] = []
    seen: set[str] = set()
    for count, info in enumerate(infos, 1):
        if count > limits.max_archive_entries:
            raise LimitExceeded(name, f"more than {limits.max_archive_entries} archive members")
        normal = _normalize_member(info.filename)
        if normal is None:
            problems.append(MemberProblem(info.filename, "name leaves the archive root"))
            continue
        if normal in seen:
            problems.append(MemberProblem(info.filename, "duplicate member name (only the first is read)"))
            continue
        seen.add(normal)
        mode = info.external_attr >> 16
        if mode and (mode & 0o170000) == 0o120000:
            problems.append(MemberProblem(info.filename, "symbolic link (listed, never followed)"))
            continue
        if info.file_size < 0 or info.compress_size < 0:
            problems.append(MemberProblem(info.filename, "negative size"))
            continue
        if info.file_size > max(info.compress_size * limits.max_decompression_ratio, _CHUNK):
            problems.append(MemberProblem(info.filename, "declared compression ratio is a decompression bomb"))
            continue
        safe.append(info)
    return safe, problems


def vet_tar_member(member: tarfile.TarInfo) -> str | None:
    """Why a tar member must not be read as a regular file (None when it is a safe regular file)."""
    if _normalize_member(member.name) is None:
        return "name leaves the archive root"
    if member.issym():
        return "symbolic link (listed, never followed)"
    if member.islnk():
        return "hard link (listed, never followed)"
    if member.isfifo():
        return "FIFO (listed, never opened)"
    if member.ischr() or member.isblk():
        return "device node (listed, never opened)"
    if member.isdir():
        return "folder"
    if not member.isreg():
        return "not a regular file"
    if member.size < 0:
        return "negative size"
    return None


def _json_depth_ok(text: str, max_depth: int) -> bool:
    depth = 0
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return False
        elif char in "]}":
            depth -= 1
    return True


def load_json(data: bytes, name: str, limits: Limits, max_depth: int = 200, max_int_digits: int = 40) -> Any:
    """Decode JSON from evidence: bounded size and depth, integers of sane length, no NaN or Infinity.

    The standard library parser is used (not orjson) because it lets every
    integer and constant be inspected: orjson silently turns a 30-digit
    integer into a float, which would change a value that a finding cites.
    """
    if len(data) > limits.max_read_bytes:
        raise LimitExceeded(name, f"JSON of {len(data)} bytes exceeds {limits.max_read_bytes}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EvidenceError(name, f"JSON is not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc
    if not _json_depth_ok(text, max_depth):
        raise LimitExceeded(name, f"JSON nests deeper than {max_depth} levels")

    def parse_int(digits: str) -> int:
        if len(digits.lstrip("-")) > max_int_digits:
            raise ValueError(f"integer of {len(digits)} digits")
        return int(digits)

    def parse_constant(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    try:
        return json.loads(text, parse_int=parse_int, parse_constant=parse_constant)
    except RecursionError as exc:
        raise LimitExceeded(name, "JSON nests too deeply") from exc
    except ValueError as exc:
        raise EvidenceError(name, f"not valid JSON ({exc})") from exc
