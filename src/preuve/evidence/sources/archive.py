"""An archive file (zip or tar) as the right source, and a cheap look at its member names."""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Generator
from contextlib import closing
from pathlib import Path
from typing import BinaryIO

from preuve.evidence.early_tar import EarlyHeaders
from preuve.evidence.errors import AcquisitionError, EvidenceError, LimitExceeded
from preuve.evidence.limits import DEFAULT_LIMITS, Limits
from preuve.evidence.policy import open_regular_file
from preuve.evidence.sources.tar import TAR_SUFFIXES, TarSource
from preuve.evidence.sources.zip import ZipSource


def is_archive_file(path: Path) -> bool:
    """Whether `path` is a zip or a tar (plain, gzip, bzip2 or xz): by its name, or else by its bytes (an
    archive passed on loses its name's suffix: a download saved as `evidence`, a file renamed)."""
    if not path.is_file():
        return False
    name = path.name.lower()
    return name.endswith(".zip") or name.endswith(TAR_SUFFIXES) or archive_by_bytes(path) is not None


_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_TAR_MAGIC = (b"ustar\x0000", b"ustar  \x00")  # POSIX (pax, ustar) and GNU, at offset 257 of the first header
_COMPRESSED = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz"}


def archive_by_bytes(path: Path) -> str | None:
    """"zip" or "tar" as the first bytes of the file at `path` show it (a tar's first header, compressed
    or not: only its first 512 bytes are decompressed), or None."""
    try:
        with open_regular_file(path, str(path)) as stream:
            head = stream.read(512)
    except (EvidenceError, OSError):
        return None
    if head[:4] in _ZIP_MAGIC:
        return "zip"
    if head[257:265] in _TAR_MAGIC:
        return "tar"
    first = decompressed_head(path)
    return "tar" if first is not None and first[257:265] in _TAR_MAGIC else None


def compression_of(head: bytes) -> str | None:
    """"gzip", "bz2" or "xz" as a file's first bytes show it, or None."""
    return next((name for magic, name in _COMPRESSED.items() if head.startswith(magic)), None)


def decompressed_head(path: Path) -> bytes | None:
    """The first 512 bytes the gzip, bzip2 or xz file at `path` decompresses to (fewer when it holds fewer),
    or None when it is none of these or is damaged from its start."""
    import bz2
    import gzip
    import lzma

    try:
        with open_regular_file(path, str(path)) as stream:
            kind = compression_of(stream.read(8))
            if kind is None:
                return None
            stream.seek(0)
            inner: BinaryIO
            if kind == "gzip":
                inner = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
            else:
                inner = bz2.BZ2File(stream) if kind == "bz2" else lzma.LZMAFile(stream)  # type: ignore[assignment]
            with inner:
                return inner.read(512)
    except (EvidenceError, OSError, EOFError, ValueError, lzma.LZMAError, zlib.error):
        return None  # (damaged from its first bytes: no archive recognised by them)


def archive_source(
    path: Path, limits: Limits, label: str | None = None, jobs: int = 1, workdir: Path | None = None,
    early: EarlyHeaders | None = None,
) -> ZipSource | TarSource:
    """The source for a zip (by its name or its bytes) or else a tar; AcquisitionError when unreadable.
    A tar's headers may be read on a second job (with a private `workdir`: see TarSource), or have been
    since the run began (`early`: see early_tar)."""
    if _is_zip(path):
        return ZipSource(path, limits, label)
    return TarSource(path, limits, label, jobs, workdir, early)


_ZIP_STARTS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first local header, or an empty zip's end record


def _is_zip(path: Path) -> bool:
    """Whether to read `path` as a zip: by its name, else by its first bytes. A tar by its name is never
    taken for one for what lies at its end: ``zipfile.is_zipfile`` looks for a zip's end record in the
    last 64 KiB, and a tar whose last member is a zip (an app's files, a nested bugreport) has one there;
    read as a zip, the archive would be that member."""
    name = path.name.lower()
    if name.endswith(".zip"):
        return True
    try:
        with open(path, "rb") as stream:
            if stream.read(4) in _ZIP_STARTS:
                return True
    except OSError:
        return False
    return not name.endswith(TAR_SUFFIXES) and zipfile.is_zipfile(path)


def peek_member_names(
    path: Path,
    limits: Limits,
    max_entries: int = 5000,
    strict: bool = False,
    until: Callable[[str], bool] | None = None,
) -> list[str]:
    """Up to `max_entries` safe member names, for cheap detection; stops after a name `until` accepts.

    An unreadable archive gives [] (or, with `strict`, an AcquisitionError saying why); a damaged one
    the names read before the damage.
    """
    names: list[str] = []
    with closing(_member_names(path, limits, max_entries, strict)) as found:
        for name in found:
            names.append(name)
            if until is not None and until(name):
                break
    return names


def first_member_name(path: Path, limits: Limits, accept: Callable[[str], bool], strict: bool = False) -> str | None:
    """The first safe member name `accept` takes, reading the archive's names no further than it (all of
    them, up to the archive's entry limit, when none is taken), keeping none of the others: for a kind
    whose mark may come after any number of other members (a whole file system's tar lists its folders
    in the order its file system gave them). Unreadable, damaged or crowded archives as for
    :func:`peek_member_names`."""
    with closing(_member_names(path, limits, None, strict)) as found:
        return next((name for name in found if accept(name)), None)


def _member_names(path: Path, limits: Limits, max_entries: int | None, strict: bool) -> Generator[str]:
    try:
        source = archive_source(path, limits)
    except (AcquisitionError, OSError):
        if strict:
            raise
        return
    read = False
    try:
        # A zip's central directory is cheap to read whole; a compressed tar is read only so far.
        for name in source.names(None if isinstance(source, ZipSource) else max_entries):
            read = True
            yield name
    except (EvidenceError, OSError) as exc:
        # Damage after some names is for the listing to report; none, or too many entries, is for the caller.
        crowded = isinstance(exc, LimitExceeded) and "more than" in exc.reason
        if strict and (not read or crowded):
            raise AcquisitionError(f"{path}: {exc.reason if isinstance(exc, EvidenceError) else exc}") from exc
        # (else what could be read: enough to recognise the kind; opening will say what is wrong)
    finally:
        source.close()


def readable_zip(path: Path, limits: Limits = DEFAULT_LIMITS) -> ZipSource | None:
    """The zip at `path` as a source, or None when it is not a readable zip (for detection)."""
    try:
        with open_regular_file(path, str(path)) as stream:
            if stream.read(4) != b"PK\x03\x04":
                return None
        return ZipSource(path, limits)
    except (AcquisitionError, EvidenceError, OSError):
        return None


def zip_names(path: Path, max_entries: int, limits: Limits = DEFAULT_LIMITS) -> list[str] | None:
    """Safe member names of a zip (at most `max_entries`), or None when it is not a readable zip."""
    source = readable_zip(path, limits)
    if source is None:
        return None
    try:
        return list(source.names(max_entries))
    finally:
        source.close()


class ArchiveNames:
    """The safe member names of one archive file, for every look at them while an acquisition is
    recognised and opened: a zip's central directory is read once, not once a kind (zipfile reads it
    at some 6 µs a member: a 100,000-member dump's was read seven times, 4 of its 6 seconds), and the
    first name a test takes is kept for the next kind that asks it (a whole file system's tar may be
    read far for it). A look that fails is not kept: it is made again, to say why."""

    def __init__(self, path: Path, limits: Limits = DEFAULT_LIMITS) -> None:
        self.path = path
        self.limits = limits
        self._zip: list[str] | None = None  # every safe name of the archive read as a zip, once read
        self._zip_read = False
        self._source: ZipSource | None = None  # the zip read, kept for the open to take (see take_zip)
        self._magic: bool | None = None  # (whether it begins as a zip's first member: see readable_zip)
        self._found: dict[Callable[[str], bool], str] = {}

    def _every_zip_name(self) -> list[str] | None:
        if not self._zip_read:
            self._zip_read = True
            if self.path.is_file() and _is_zip(self.path):
                try:
                    self._source = ZipSource(self.path, self.limits)
                except (AcquisitionError, EvidenceError, OSError):
                    return None
                self._zip = list(self._source.names())
        return self._zip

    def take_zip(self) -> ZipSource | None:
        """The zip whose names were read (its central directory read once, for the names and the
        mount), for the open to mount and close; None when none was read."""
        source, self._source = self._source, None
        if source is not None:
            self._zip = None  # (the names are the source's now, and its listing lets them go)
        return source

    def close(self) -> None:
        """Close the zip read for the names, unless an open took it."""
        if self._source is not None:
            self._source.close()
            self._source = None

    def zip_names(self, max_entries: int) -> list[str] | None:
        """As :func:`zip_names`."""
        if self._magic is None:
            try:
                with open_regular_file(self.path, str(self.path)) as stream:
                    self._magic = stream.read(4) == b"PK\x03\x04"
            except (EvidenceError, OSError):
                self._magic = False
        if not self._magic:
            return None
        every = self._every_zip_name()
        return every[:max_entries] if every is not None else zip_names(self.path, max_entries, self.limits)

    def peek(self, max_entries: int = 5000, strict: bool = False,
             until: Callable[[str], bool] | None = None) -> list[str]:
        """As :func:`peek_member_names`."""
        every = self._every_zip_name()
        if every is None:
            return peek_member_names(self.path, self.limits, max_entries, strict, until)
        if until is None:
            return list(every)  # (a zip's names are all read, as peek_member_names reads them)
        names: list[str] = []
        for name in every:
            names.append(name)
            if until(name):
                break
        return names

    def first(self, accept: Callable[[str], bool], strict: bool = False) -> str | None:
        """As :func:`first_member_name`; the name found is kept for the next look with the same `accept`."""
        found = self._found.get(accept)
        if found is None:
            every = self._every_zip_name()
            if every is not None:
                found = next((name for name in every if accept(name)), None)
            else:
                found = first_member_name(self.path, self.limits, accept, strict)
            if found is not None:
                self._found[accept] = found
        return found
