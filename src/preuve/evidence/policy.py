"""The hostile-input policy: what every source and reader of evidence refuses or bounds.

Evidence comes from a phone an attacker may have controlled, and from archives anyone may have
made. The standard library does the decoding (zipfile, tarfile, zlib, json); this module is the
one place that says what preuve accepts around it, and every source in
:mod:`preuve.evidence.sources` applies it:

- member names (:func:`member_name`): a relative path inside its container, never absolute, with
  no drive letter, NUL or ``..`` part (zip-slip); the one sanitizer. An archive's member name with
  leading slashes is read relative to the archive's root, as tar and unzip extract it
  (:func:`archive_member_name`), and told once for the archive (:class:`AbsoluteNames`);
- member types (:func:`zip_member_type`, :func:`tar_member_type`, :func:`folder_entry_type`):
  symbolic links, FIFOs, sockets and devices are listed (they can be reported) and never opened or
  followed on a disk. A tar's hard link is read by its source as the file it is once extracted: the
  data of a member before it in the same archive, named by a name this policy makes safe; and the
  mount reads a symbolic link's path as the regular file it names in the acquisition's own listing
  (:meth:`~preuve.evidence.fs.MountFS.is_file`): neither ever leads outside the acquisition;
  :func:`open_regular_file` opens a plain file without following a link or blocking on a FIFO;
- duplicates (:func:`duplicate_note`): the first copy of a name is read, the others are reported;
- path lengths (:func:`too_long_note`): a path longer than any a phone holds is refused, and a name
  in a note is shown cut (:func:`shown`);
- counts: :func:`check_entry_count`, and :func:`refuse_crowded_zip`, which reads a zip's declared
  member count before :mod:`zipfile` allocates its member list;
- sizes and ratios: :func:`ratio_exceeded` (a member declaring far more bytes than it stores is a
  decompression bomb, not read), :func:`materialize` and :class:`LimitedWriter` (a bounded
  private copy in the run's workdir);
- a zip read whole by a reader of its own (:func:`vet_zip_members`): the same rules, member by member;
- damage (:func:`guarded_member`): a member cut short, with a bad CRC or a broken compressed
  stream is an :class:`EvidenceError` about that member alone, never one that stops the run;
- JSON (:func:`load_json`): size, nesting depth, integer length, no NaN or Infinity.

The bounds themselves (how many, how big) are the run's :class:`~preuve.evidence.limits.Limits`.
"""

from __future__ import annotations

import csv
import io
import json
import lzma
import os
import re
import stat as statmod
import struct
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from preuve.evidence.errors import EvidenceError, LimitExceeded
from preuve.evidence.limits import RATIO_FLOOR, Limits
from preuve.messages import error_text

_CHUNK = 1024 * 1024

# What a member is. Only FILE members are ever opened.
FILE = "file"
DIR = "dir"
LINK = "link"  # symbolic link (or a tar's hard link to nothing): listed, never opened
OTHER = "other"  # FIFO, socket, device, sparse or unknown type: listed, never opened

_DRIVE = re.compile(r"^[A-Za-z]:")


# What member_name changes or refuses in a name: a NUL or backslash, a leading slash, a drive letter,
# an empty, "." or ".." part. A name with none of them (nearly every name of an archive) is safe as it
# is, and a few substring tests tell so (they also send a few safe names, such as a part beginning
# with a dot, to the rules part by part). Splitting every name into parts was most of a zip's listing
# of names: 2.3 µs a name, 0.5 s for a phone's file system; a regular expression's search 5 µs.
def member_name(raw: str) -> str | None:
    """A member's name as a safe relative '/'-separated path, or None when it could leave its root
    (absolute, a drive letter, a NUL, a ``..`` part) or names nothing. ``./`` parts, repeated and
    trailing slashes and backslashes (as Windows tools write them) are normalised."""
    if (raw and raw[0] != "/" and raw[0] != "." and raw[-1] != "/" and raw[1:2] != ":" and "//" not in raw
            and "/." not in raw and "\\" not in raw and "\x00" not in raw):
        return raw
    if not raw or "\x00" in raw:
        return None
    name = raw.replace("\\", "/")
    if name.startswith("/") or _DRIVE.match(name):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def archive_member_name(raw: str) -> str | None:
    """The safe name of a member of an archive (zip, tar): as :func:`member_name`, except that a name
    with leading slashes (``/private/var/…``, written by ``tar -P`` and by some acquisition tools) is
    read relative to the archive's root, as GNU tar, bsdtar, unzip and Python's zipfile extract it. It
    cannot leave the root that way: what follows the slashes goes through :func:`member_name` whole
    (no ``..`` part, no drive letter). A name inside a container's own data (an index, a manifest)
    is not an archive member's and keeps :func:`member_name`."""
    return member_name(raw.replace("\\", "/").lstrip("/") if is_absolute_name(raw) else raw)


def is_absolute_name(raw: str) -> bool:
    """Whether an archive member's name has leading slashes (see :func:`archive_member_name`)."""
    return raw[:1] == "/" or raw[:1] == "\\"


@dataclass(slots=True)
class AbsoluteNames:
    """The members of one archive read relative to its root (see :func:`archive_member_name`): how
    many, and the first, for one note (never one a member)."""

    count: int = 0
    first: str = ""

    def add(self, raw: str) -> None:
        if not self.count:
            self.first = raw
        self.count += 1

    def notes(self) -> list[str]:
        if not self.count:
            return []
        return [f"{self.count:,} member name(s) are absolute (the first: {shown(self.first)}): each "
                "is read relative to the archive's root, as tar and unzip extract them"]


def names_root(raw: str) -> bool:
    """Whether a member's name names only the archive's root (``.``, ``./``, ``.//.``, ``/``): the entry
    ``tar -C folder .`` writes first (``tar -P`` writes ``/``), and zip tools sometimes.
    :func:`archive_member_name` gives it None (it names no member), but it is not unsafe: it is left
    out without a note."""
    name = raw.replace("\\", "/")
    return bool(name) and all(part in ("", ".") for part in name.split("/"))


# A byte of a name that is not UTF-8, as Python decodes a folder's or a tar's names (surrogateescape).
_UNDECODED = re.compile("[\udc80-\udcff]")
_ESCAPED = re.compile(r"\\x([89a-f][0-9a-f])")


def text_name(name: str) -> str:
    """A member name as text every output can hold: each byte of it that is not UTF-8 (a folder's or a
    tar's name keeps it as a lone surrogate, which no JSON encoder writes) as ``\\xNN``, the rest as it
    is. An ASCII name, nearly every name, is returned at once."""
    if name.isascii() or _UNDECODED.search(name) is None:
        return name
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def raw_name(text: str) -> str:
    """The name :func:`text_name` made `text` from: its ``\\xNN`` (80 to ff) as the bytes they stand for."""
    if "\\x" not in text:
        return text
    return _ESCAPED.sub(lambda match: chr(0xDC00 + int(match.group(1), 16)), text)


def zip_member_type(info: zipfile.ZipInfo) -> str:
    """What a zip member is, from its Unix mode when the zip records one."""
    return zip_entry_type(info.filename, info.external_attr)


def zip_entry_type(filename: str, external_attr: int) -> str:
    """:func:`zip_member_type` from a member's name (as zipfile gives it) and its external attributes."""
    file_type = (external_attr >> 16) & 0o170000
    if filename[-1:] == "/" or file_type == 0o040000:
        return DIR
    if file_type == 0o120000:
        return LINK
    if file_type in (0, 0o100000):
        return FILE
    return OTHER


# The compression methods zipfile inflates (APPNOTE 4.4.5): stored, deflate, bzip2, LZMA; and the
# names of those a phone's or a desktop's archiver may write that it does not.
_ZIP_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA})
_ZIP_METHOD_NAMES = {9: "Deflate64", 93: "Zstandard", 95: "XZ", 96: "JPEG", 97: "WavPack", 98: "PPMd", 99: "AES"}


def zip_member_refusal(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member cannot be read, known from its header before it is opened (None: it may be):
    encrypted, or compressed by a method zipfile does not inflate. Said in preuve's words, the same on
    every Python, where zipfile's own message shows the member's repr."""
    if info.flag_bits & 0x1:
        return "the member is encrypted (a password-protected zip)"
    if info.compress_type not in _ZIP_METHODS:
        method = _ZIP_METHOD_NAMES.get(info.compress_type)
        return f"compression method {info.compress_type}{f' ({method})' if method else ''} is not supported"
    return None


_TAR_TYPES = {b"0": FILE, b"\0": FILE, b"7": FILE, b"5": DIR, b"1": LINK, b"2": LINK}


def tar_member_type(typeflag: bytes) -> str:
    """What a tar member is, from its header's type flag (devices, FIFOs and GNU sparse files are OTHER)."""
    return _TAR_TYPES.get(typeflag, OTHER)


def folder_entry_type(mode: int) -> str:
    """What a folder entry is, from its lstat mode (a link is never followed)."""
    if statmod.S_ISREG(mode):
        return FILE
    if statmod.S_ISDIR(mode):
        return DIR
    if statmod.S_ISLNK(mode):
        return LINK
    return OTHER


# A name in a note is shown whole up to this many characters (iOS's longest path), else cut (see shown).
SHOWN_CHARS = 1024


def shown(name: str) -> str:
    """A name (a path, a member's name, as the evidence has it) as a note shows it: whole up to
    SHOWN_CHARS characters, else its beginning and end around how many characters it has (a note is
    kept for the run and written to run.json: a hostile name of megabytes must not be kept whole)."""
    if len(name) <= SHOWN_CHARS:
        return name
    half = SHOWN_CHARS // 2
    return f"{name[:half]}…({len(name):,} characters)…{name[-half:]}"


def duplicate_note(name: str) -> str:
    return f"member {shown(name)}: appears twice; the first copy is read"


def refused_note(raw: str) -> str:
    return f"member refused: {shown(raw)}: unsafe member name"


def too_long_note(name: str, limits: Limits) -> str:
    """The note for a member whose path is longer than any a phone holds (Limits.max_path_chars)."""
    return (
        f"member refused: {shown(name)}: a path of {len(name):,} characters, longer than any a phone's "
        f"file system holds ({limits.max_path_chars:,})"
    )


def check_entry_count(count: int, label: str, limits: Limits) -> None:
    """Refuse a container past its `count`-th entry when that is more than the limit."""
    if count > limits.max_archive_entries:
        raise LimitExceeded(label, f"more than {limits.max_archive_entries} entries")


def ratio_exceeded(size: int, compressed: int, limits: Limits) -> bool:
    """Whether a member declaring `size` bytes from `compressed` is a decompression bomb."""
    return size > RATIO_FLOOR and size > limits.max_decompression_ratio * max(compressed, 1)


def bomb_note(name: str, size: int, compressed: int, limits: Limits) -> str:
    return (f"member {name}: declares {size} bytes from {compressed} (a ratio above "
            f"{limits.max_decompression_ratio}: decompression bomb?); not read")


def open_regular_file(path: Path, label: str) -> BinaryIO:
    """Open a plain file without following a link at its last component, nor blocking on a FIFO."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise EvidenceError(label, f"cannot open: {exc.strerror}") from exc
    st = os.fstat(fd)
    if not statmod.S_ISREG(st.st_mode):
        os.close(fd)
        raise EvidenceError(label, "not a regular file")
    return io.open(fd, "rb", buffering=1024 * 1024)  # noqa: UP020


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


def materialize(stream: IO[bytes], workdir: Path, limit: int, label: str, name: str = "data") -> Path:
    """Copy a stream into a fresh file of the run's private workdir, failing beyond `limit` bytes."""
    folder = Path(tempfile.mkdtemp(prefix="member-", dir=workdir))
    target = folder / name
    size = 0
    with open(target, "wb") as out:
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise LimitExceeded(label, f"larger than {limit} bytes")
            out.write(chunk)
    return target


# What the standard library raises on a damaged or truncated member while it is read.
MEMBER_DAMAGE = (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, lzma.LZMAError, OSError)

# What a damaged or hostile file makes the standard library's readers raise that is not already a
# ValueError, OSError or EOFError: csv (a bare carriage return in a field, a field over its size
# limit), struct (a record cut short), and the archive and compression modules. An artifact that
# meets one stops with it as its error; it is never a crash of the run.
PARSE_ERRORS = (csv.Error, struct.error, tarfile.TarError, zipfile.BadZipFile, zlib.error, lzma.LZMAError)

# What zipfile raises when a damaged or hostile zip is opened, or one of its members: besides
# BadZipFile, NotImplementedError for a version or compression method it does not support (a
# central directory claiming "version 11.7", Deflate64, AES), RuntimeError for an encrypted member,
# ValueError for a name flagged UTF-8 that is not (or an offset before the file's start), EOFError
# and OSError for one cut short.
ZIP_OPEN_ERRORS = (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, EOFError, OSError)


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
        except MEMBER_DAMAGE as exc:
            raise self._damaged(exc) from exc

    def read1(self, size: int = -1) -> bytes:
        read1 = getattr(self._raw, "read1", None)
        try:
            return read1(size) if read1 is not None else self._raw.read(size)
        except EvidenceError:
            raise
        except MEMBER_DAMAGE as exc:
            raise self._damaged(exc) from exc

    def readline(self, size: int | None = -1) -> bytes:
        try:
            return self._raw.readline(-1 if size is None else size)
        except EvidenceError:
            raise
        except MEMBER_DAMAGE as exc:
            raise self._damaged(exc) from exc

    def peek(self, size: int = 0) -> bytes:
        peek = getattr(self._raw, "peek", None)
        try:
            return peek(size) if peek is not None else b""
        except EvidenceError:
            raise
        except MEMBER_DAMAGE as exc:
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
        except MEMBER_DAMAGE as exc:
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
    """The members of a zip read as a whole by a reader of its own (safe names, first of duplicate
    names only, regular files and folders within the ratio bound) and why the others were left out."""
    safe: list[zipfile.ZipInfo] = []
    problems: list[MemberProblem] = []
    seen: set[str] = set()
    for count, info in enumerate(infos, 1):
        check_entry_count(count, name, limits)
        normal = archive_member_name(info.filename)
        if normal is None:
            problems.append(MemberProblem(info.filename, "name leaves the archive root"))
            continue
        if normal in seen:
            problems.append(MemberProblem(info.filename, "duplicate member name (only the first is read)"))
            continue
        seen.add(normal)
        kind = zip_member_type(info)
        if kind == LINK:
            problems.append(MemberProblem(info.filename, "symbolic link (listed, never followed)"))
        elif kind == OTHER:
            problems.append(MemberProblem(info.filename, "device, FIFO or socket (listed, never opened)"))
        elif ratio_exceeded(info.file_size, info.compress_size, limits):
            problems.append(MemberProblem(info.filename, "declared compression ratio is a decompression bomb"))
        else:
            safe.append(info)
    return safe, problems


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


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def may_escape_surrogates(text: str) -> bool:
    """Whether JSON text may write a surrogate as an escape (``\\ud800``): only then can a decoded string
    hold one alone, which the standard library's parser lets through and no JSON encoder writes."""
    return "\\ud" in text or "\\uD" in text


def surrogate_free(value: Any) -> Any:
    """A decoded JSON value whose strings hold no lone surrogate: each is written as the escape it was
    (``\\ud800``). A value nested too deeply raises RecursionError, as its parse would have."""
    if isinstance(value, str):
        if _LONE_SURROGATE.search(value) is None:
            return value
        return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", value)
    if isinstance(value, list):
        return [surrogate_free(item) for item in value]
    if isinstance(value, dict):
        return {surrogate_free(key): surrogate_free(item) for key, item in value.items()}
    return value


def json_text(text: str, **options: Any) -> Any:
    """json.loads, its strings surrogate-free (see surrogate_free)."""
    value = json.loads(text, **options)
    return surrogate_free(value) if may_escape_surrogates(text) else value


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
        return json_text(text, parse_int=parse_int, parse_constant=parse_constant)
    except RecursionError as exc:
        raise LimitExceeded(name, "JSON nests too deeply") from exc
    except ValueError as exc:
        raise EvidenceError(name, f"not valid JSON ({exc})") from exc
