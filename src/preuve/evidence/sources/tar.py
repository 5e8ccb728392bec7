"""A tar file (plain, or compressed with gzip, bzip2 or xz) as a source, read in place.

A tar is indexed once: one pass over its headers
(:func:`~preuve.evidence.formats.tarheaders.scan_tar_batches`), keeping only each
regular member's data offset and size. A plain tar's member is then read where it lies; a
.tar.gz's from the nearest gzip checkpoint taken during that pass
(:mod:`preuve.evidence.formats.gzindex`), so opening members in any order never decompresses the
archive again from its start. A .tar.bz2's or .tar.xz's stream has no such checkpoints: the
members a run will read are copied to its private folder in one forward pass before any artifact
runs (:meth:`TarSource.prefetch`, asked by the engine), and read from there in any order; any other
member is reached by decompressing the archive from its start. A compressed tar is bounded as a
whole by the decompression ratio, checked before each member's data is skipped (skipping is what
decompresses it).

The members are handed to the mount a batch of headers at a time as columns
(:meth:`TarSource.member_batches`), which it places whole where that lists what placing them one by
one lists (a batch with a member of no time is handed over one by one). With more than one job, the
headers are read by a forked process while this one places the members
(:func:`~preuve.evidence.parallel.beside`). A .tar.gz's checkpoints (zlib states, which cannot be
handed from one process to another) are then taken here by a pass of their own on a thread
(:class:`~preuve.evidence.formats.gzindex.CheckpointPass`), kept no more than ``_CHECKPOINTS_AHEAD``
past the headers received: inflating the file twice costs a fifth of a core-second on a 100,000-file
dump, where reading its headers in series with placing them left a core idle for a second.
"""

from __future__ import annotations

import lzma
import tarfile
import zlib
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import BinaryIO

from preuve.evidence.early_tar import EarlyHeaders, HeaderBatch, header_batches, split_scan, tar_budget
from preuve.evidence.errors import AcquisitionError, EvidenceError, LimitExceeded
from preuve.evidence.formats.gzindex import CheckpointPass, GzipCheckpoints, indexing_reader, open_member
from preuve.evidence.formats.tarheaders import HARD_LINK, SYMLINK, header_checksum_ok, scan_tar_headers
from preuve.evidence.fs import MEMBER_TYPES, FileInfo
from preuve.evidence.limits import Limits
from preuve.evidence.parallel import beside, can_fork
from preuve.evidence.policy import (
    FILE,
    archive_member_name,
    check_entry_count,
    guarded_member,
    shown,
    tar_member_type,
    text_name,
)
from preuve.evidence.sources.base import Member, MemberColumns, Source, members_of
from preuve.messages import error_text

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")

_SIZE_BITS = 64  # a member's (data offset, size) is kept as one int: offset << 64 | size
_SIZE_MASK = (1 << _SIZE_BITS) - 1
_UNSEEN = object()
_SLASHES = ("/", "\\")  # (see policy.is_absolute_name)
_FOLDERS_KEPT = 4096
_LINK = -3  # in TarSource._at: a hard link, whose data is that of the member it names (see _linked)
_LINKS_NAMED = 20  # hard links to nothing named one by one in the run's notes; the others counted
_NO_HASH = -1  # in the listing's name hashes: not a file (Python's hash of a str is never -1)
_SPARSE = -4  # in TarSource._at: a sparse file, read through tarfile (see _sparse)
# What tarfile may read of a sparse file's headers and map before its data: beyond, it is refused. A
# pax 1.0 map is text, two numbers a region, kept by tarfile as a list of ints: 4 MiB of it (some
# 250,000 regions of a real file) holds at most two million of them; one as big as the member would
# fill the memory.
_SPARSE_HEADERS_MOST = 4 * 1024 * 1024


class _Bounded:
    """A file tarfile reads a sparse file's headers and map from: its bytes up to a bound, then none."""

    def __init__(self, fileobj: BinaryIO, most: int) -> None:
        self._file, self._left = fileobj, most

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > self._left:
            size = self._left
        data = self._file.read(size)
        self._left -= len(data)
        return data

    def tell(self) -> int:
        return self._file.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)


class _MemberReader(tarfile.TarFile):
    """tarfile's reading of a member's bytes (``extractfile``: a regular member's, or a sparse file's
    through its map) over the decompressed archive, without reading any header.

    TarFile's own constructor reads the archive's first member, whatever it is: a sparse map as big as
    the member (a hostile one held hundreds of millions of numbers), or a header that raises what no
    caller expects (a ValueError stopped the run). The headers are the listing's (formats.tarheaders),
    and a sparse file's are read bounded (TarSource._open_sparse); this holds only what extractfile and
    close use, and is checked against them by the tests of every member read."""

    def __init__(self, stream: BinaryIO) -> None:  # noqa: D107 - TarFile.__init__ is not called (see above)
        self.fileobj = stream
        self.name = None
        self.mode = "r"
        self._mode = "rb"
        self.closed = False
        self._extfileobj = False  # (close closes the stream)
        self.encoding = tarfile.ENCODING
        self.errors = "surrogateescape"
        self.pax_headers = {}
        self.members: list[tarfile.TarInfo] = []
        self._loaded = True
        self.offset = 0


def _member_reader(path: Path) -> _MemberReader:
    """The members' reader of the tar at `path` (gzip, bzip2 or xz decompressed as tarfile would), once
    its first block is found to be a tar header, as tarfile.open finds it (a tarfile.ReadError if not)."""
    stream = _open_decompressed(path, -1)
    try:
        first = stream.read(512)
        stream.seek(0)
        if not header_checksum_ok(first):
            raise tarfile.ReadError("its first block is no tar header")
    except BaseException:
        stream.close()
        raise
    return _MemberReader(stream)


class _HeaderReader:
    """What tarfile's TarInfo.fromtarfile asks of a TarFile (its file, text decoding and global pax
    records): a sparse file's headers are read through one of these over a _Bounded file."""

    def __init__(self, fileobj: _Bounded, tar: tarfile.TarFile) -> None:
        self.fileobj, self.encoding, self.errors = fileobj, tar.encoding, tar.errors
        self.pax_headers: dict[str, str] = {}
        self.offset = 0


def safe_names() -> Callable[[str], str | None]:
    """:func:`~preuve.evidence.policy.archive_member_name` over one listing, each folder's name sanitised
    once.

    A tar lists its members folder by folder; the name of a member ``FOLDER/LEAF`` whose leaf is a
    plain name (not empty, ``.`` or ``..``, no backslash or NUL) is the safe name of its folder, then
    ``/LEAF``, exactly what the policy makes of the whole name; any other name goes to the policy whole.
    """
    folders: dict[str, object] = {}  # raw folder -> its safe name, or None when refused

    def safe_name(raw: str) -> str | None:
        folder, _, leaf = raw.rpartition("/")
        if folder and leaf and leaf != "." and leaf != ".." and "\\" not in leaf and "\0" not in leaf:
            safe = folders.get(folder, _UNSEEN)
            if safe is _UNSEEN:
                if len(folders) >= _FOLDERS_KEPT:
                    folders.clear()
                named = archive_member_name(folder)
                safe = folders[folder] = None if named is None else text_name(named)
            if safe is not None:
                return f"{safe}/{leaf if leaf.isascii() else text_name(leaf)}"
        named = archive_member_name(raw)
        return None if named is None else text_name(named)

    return safe_name


def _by_name(files: dict[str, dict[str, int]], huge: dict[str, tuple[int, int]], name: str, data_at: int,
             declared: int) -> None:
    """Keep a regular member by its name, unless one of that name is kept already (the first stands)."""
    folder, _, leaf = name.rpartition("/")
    leaves = files.get(folder)
    if leaves is None:
        leaves = files[folder] = {}
    if leaf not in leaves and (not huge or name not in huge):
        if declared <= _SIZE_MASK:
            leaves[leaf] = data_at << _SIZE_BITS | declared
        else:
            huge[name] = (data_at, declared)


def _lookup(files: dict[str, dict[str, int]], huge: dict[str, tuple[int, int]], name: str) -> tuple[int, int] | None:
    """Where the regular member kept by that name (see _by_name) has its data: offset and size."""
    folder, _, leaf = name.rpartition("/")
    packed = files.get(folder, {}).get(leaf)
    return (packed >> _SIZE_BITS, packed & _SIZE_MASK) if packed is not None else huge.get(name)


def _open_decompressed(path: Path, buffering: int = 1024 * 1024) -> BinaryIO:
    import bz2
    import gzip
    import lzma

    raw = open(path, "rb", buffering=buffering)  # noqa: SIM115 - returned (or wrapped) for the caller to close
    magic = raw.read(6)
    raw.seek(0)
    if magic.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if magic.startswith(b"BZh"):
        return bz2.BZ2File(raw)  # type: ignore[return-value]
    if magic.startswith(b"\xfd7zXZ"):
        return lzma.LZMAFile(raw)  # type: ignore[return-value]
    return raw


_HEADER_BATCH = 4096  # member headers handed over at a time
# How far past the data of the last header received the pass taking a .tar.gz's checkpoints may
# inflate it (one checkpoint's spacing): it keeps ahead without running far past a stream's bounds.
_CHECKPOINTS_AHEAD = 32 * 1024 * 1024


# A member's kind as a MemberColumns type code.
_TYPE_CODES = {kind: code for code, kind in enumerate(MEMBER_TYPES)}
_INT64 = 1 << 63


def _as_columns(
    names: list[str], codes: bytearray, sizes: list[int], mtimes: list[float], modes: list[int]
) -> Iterator[Member | MemberColumns]:
    """A batch of members as columns, or one by one where columns would not give the same members: a
    member with no time (its header's is 0, given as None), or a size or mode past 64 bits."""
    if not names:
        return
    if 0.0 not in mtimes and -_INT64 <= min(sizes) and max(sizes) < _INT64 and 0 <= min(modes) and max(modes) < _INT64:
        yield MemberColumns(names, codes, array("q", sizes), array("d", mtimes), array("q", modes))
        return
    for name, code, size, mtime, mode in zip(names, codes, sizes, mtimes, modes, strict=True):
        yield Member(name, MEMBER_TYPES[code], size, mtime or None, mode)


class TarSource(Source):
    """Members of a tar, indexed in one pass over its headers and read through that index."""

    def __init__(
        self, path: Path, limits: Limits, label: str | None = None, jobs: int = 1, workdir: Path | None = None,
        early: EarlyHeaders | None = None,
    ) -> None:
        super().__init__(path, limits, label)
        self._early = early  # (its headers read since the run began: see early_tar)
        # With more than one job and a private folder, the headers of a tar that needs no checkpoints
        # are read by a forked process while this one places the members (see members).
        self.jobs, self.workdir = jobs, workdir
        try:
            self._compressed = path.stat().st_size
            self._tar = _member_reader(path)  # (kept open for member reads)
            with open(path, "rb") as head:
                magic = head.read(6)
        except (tarfile.TarError, OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
            shown = label if label is not None else str(path)
            raise AcquisitionError(f"{shown}: not a readable tar ({error_text(exc)})") from exc
        gzipped = magic.startswith(b"\x1f\x8b")
        self._plain = not gzipped and not magic.startswith((b"BZh", b"\xfd7zXZ"))
        self._gzip = GzipCheckpoints(path) if gzipped else None
        # Each listed member's data offset and size, by its place in the listing (the `ref` the mount
        # opens it by): two numbers a member in arrays. (Until 2026-12-07 every regular member was kept
        # by its name, folder by folder: 90 MiB at 575,000 members, beside the mount's own paths.)
        self._at = array("q")  # -1: not a regular file; -2: its numbers are in _huge_at
        self._length = array("q")
        self._huge_at: dict[int, tuple[int, int]] = {}  # (a size or offset past 63 bits: a damaged header)
        # The data each hard link reads, by ref: that of the member it names (see _hard_link).
        self._linked: dict[int, tuple[int, int]] = {}
        self._hashes = array("q")  # while listed: each member's name hash by ref (_NO_HASH: not a file)
        self._first_of: dict[int, int] | None = None  # the first file's ref by name hash, from the first link on
        self._unlinked: list[tuple[str, str]] = []  # hard links to no file: (name, what it names), the first few
        self._unlinked_count = 0
        self._odd_links = 0  # hard links naming themselves, nothing, or a name the policy refuses
        # Sparse files, by ref: where the headers begin, and the real size (see _open_sparse).
        self._sparse: dict[int, tuple[int, int]] = {}
        self._symlinks: dict[int, str] = {}  # symbolic links' targets, by ref (see link_target)
        # By name (folder -> leaf -> data offset << 64 | size, the first of a name), made only for what
        # opens a member by its name (a nested acquisition's file, a compressed stream's prefetch).
        self._files: dict[str, dict[str, int]] = {}
        self._huge: dict[str, tuple[int, int]] = {}  # (a size of 2**64 bytes or more: a damaged header)
        self._named = False  # whether _files holds every member
        self._fetched: dict[str, Path] = {}  # members copied in one pass to the run's private folder (prefetch)

    def _stream(self, checkpoints: bool = True) -> BinaryIO:
        """The decompressed archive; a .tar.gz's taking its checkpoints as it goes, unless they are
        taken by a pass of their own (`checkpoints` False)."""
        if self._gzip is None:
            return _open_decompressed(self.path)
        return indexing_reader(self.path, self._gzip if checkpoints else None)

    def names(self, max_entries: int | None = None) -> Iterator[str]:
        """Safe member names, reading only as far as needed (cheap detection); stops at damage."""
        budget = tar_budget(self._compressed, self._plain, self.limits)
        try:
            with _open_decompressed(self.path) as stream:
                for count, entry in enumerate(scan_tar_headers(stream, str(self.path), budget), start=1):
                    if max_entries is not None and count > max_entries:
                        return
                    check_entry_count(count, str(self.path), self.limits)
                    name = archive_member_name(entry.name)
                    if name is not None:
                        yield text_name(name)
        except (EOFError, OSError, ValueError, tarfile.TarError, zlib.error) as exc:
            raise EvidenceError(str(self.path), f"damaged tar ({error_text(exc)})") from exc

    def members(self) -> Iterator[Member]:
        return members_of(self.member_batches())

    def member_batches(self) -> Iterator[Member | MemberColumns]:
        """The members, a batch of headers at a time as columns (see MemberColumns) when every member
        of the batch has a time and its numbers fit the columns' arrays, else one by one."""
        budget = tar_budget(self._compressed, self._plain, self.limits)
        count = 0
        damage: list[str] = []  # about the archive as a whole, named by its label when it has one
        most = self.limits.max_archive_entries
        refused, absolute = self.refused, self.absolute
        # (a bzip2 or xz tar's members are copied out by name in one pass, see prefetch: kept by name too)
        self._files, self._huge, self._named = {}, {}, self.reads_forward()
        files, huge = (self._files, self._huge) if self._named else (None, None)
        at, at_size, huge_at = self._at, self._length, self._huge_at
        del at[:], at_size[:]
        huge_at.clear()
        self._linked, self._first_of, self._unlinked, self._unlinked_count, self._odd_links = {}, None, [], 0, 0
        self._sparse, self._symlinks = {}, {}
        hashes = self._hashes = array("q")
        safe_name = safe_names()
        plain, length = self._plain, self._compressed
        # The headers may be read beside (evidence.parallel.beside), a batch at a time; a .tar.gz's
        # checkpoints are then taken by a pass on a thread here, else by the pass that reads its headers.
        workdir = self.workdir if can_fork(self.jobs) else None
        indexing = CheckpointPass(self._gzip) if workdir is not None and self._gzip is not None else None
        headers = partial(self._headers, budget, indexing is None)
        taken = self._early.take(self.path, budget, self.jobs) if self._early is not None and workdir else None
        if taken is None and workdir is not None and plain:
            taken = split_scan(self.path, str(self.path), self.jobs, workdir)  # (a big tar: in two halves)
        batches: Iterable[HeaderBatch] = (
            taken if taken is not None else beside(headers, self.jobs, workdir) if workdir is not None else headers()
        )
        last_data = 0  # where the data of the last header received starts
        try:
            for batch in batches:
                damage.extend(batch.damage)
                got = batch.headers
                if indexing is not None and got.offsets:
                    last_data = got.offsets[-1]
                    ahead = last_data + _CHECKPOINTS_AHEAD
                    indexing.reach(ahead if budget is None else min(ahead, budget))
                first = count  # (the members counted before this batch: a member's place in it is count - first - 1)
                names: list[str] = []
                codes = bytearray()
                sizes: list[int] = []
                mtimes: list[float] = []
                modes: list[int] = []
                for raw, typeflag, declared, mtime, mode, data_at in zip(
                    got.names, got.types, got.sizes, got.mtimes, got.modes, got.offsets, strict=True
                ):
                    count += 1
                    if count > most:
                        check_entry_count(count, str(self.path), self.limits)
                    name = safe_name(raw)
                    if name is None:
                        refused.append(raw)
                        continue
                    if raw[:1] in _SLASHES:
                        absolute.add(raw)
                    kind = tar_member_type(typeflag)
                    if got.sparse and count - first - 1 in got.sparse:
                        # A sparse file (GNU tar's sparse option): its data is the regions its map places; read
                        # through tarfile, which reads the map (see _open_sparse).
                        kind = FILE
                        self._sparse[len(at)] = (got.sparse[count - first - 1], declared)
                        at.append(_SPARSE)
                        at_size.append(0)
                        hashes.append(hash(name))
                        if self._first_of is not None:
                            self._first_of.setdefault(hashes[-1], len(at) - 1)
                    elif kind == FILE:
                        if plain and data_at + declared > length:
                            present = max(length - data_at, 0)
                            self.damaged.append(f"{self.where}: member {name} is cut short ({declared} bytes "
                                                f"declared, {present} present): the archive is truncated")
                        # Only (offset, size) is kept per member: a TarInfo is made when the member is opened.
                        if 0 <= data_at < _INT64 and declared < _INT64:
                            at.append(data_at)
                            at_size.append(declared)
                        else:
                            huge_at[len(at)] = (data_at, declared)
                            at.append(-2)
                            at_size.append(0)
                        if files is not None and huge is not None:
                            _by_name(files, huge, name, data_at, declared)
                        hashes.append(hash(name))
                        if self._first_of is not None:
                            self._first_of.setdefault(hashes[-1], len(at) - 1)
                    elif typeflag == HARD_LINK and self._hard_link(name, got.links.get(count - first - 1), safe_name):
                        # Listed as the file it is once extracted, its size looked up when asked for (complete).
                        kind, declared = FILE, -1
                    else:
                        if typeflag == SYMLINK and got.links:
                            target = got.links.get(count - first - 1)
                            if target and len(target) <= self.limits.max_path_chars:  # (as a path is bounded)
                                self._symlinks[len(at)] = target
                        declared = 0
                        at.append(-1)
                        at_size.append(0)
                        hashes.append(_NO_HASH)
                    names.append(name)
                    codes.append(_TYPE_CODES[kind])
                    sizes.append(declared)
                    mtimes.append(mtime)
                    modes.append(mode)
                yield from _as_columns(names, codes, sizes, mtimes, modes)
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
            if indexing is not None:
                # (the checkpoints complete up to the last member's data before any member is opened)
                indexing.finish(last_data)
        self._hashes, self._first_of = array("q"), None
        if self._unlinked_count or self._odd_links:
            self._tell_links()

    def _hard_link(self, name: str, raw: str | None, safe_name: Callable[[str], str | None]) -> bool:
        """Whether a hard link is listed as a file (then placed in the index, at the next ref): when it
        names a member by a safe name other than its own. It reads the data of the first member of that
        name before it in the archive, a regular file or a hard link read so in turn, as extracting the
        archive links it; one naming no such file is listed, and unreadable (see complete).

        The member is found by the hash of its name, which the listing keeps for every member (8 bytes
        a member; a dict from the first link on): no name is kept, nor are the headers read again.
        Python's hash of a str is keyed afresh in each run; two of an archive's names share one by chance
        about once in 10**8 archives of 500,000 members, and the link would then read the other file."""
        target = safe_name(raw) if raw else None
        if target is None or target == name:
            self._odd_links += 1
            return False
        first_of, hashes = self._first_of, self._hashes
        if first_of is None:
            # (the first link: each name hash's first ref, the later of equal keys giving way to the earlier)
            first_of = self._first_of = dict(zip(reversed(hashes), range(len(hashes) - 1, -1, -1), strict=True))
            first_of.pop(_NO_HASH, None)
        ref = len(self._at)
        found = first_of.get(hash(target))
        where = None
        if found is not None:
            offset = self._at[found]
            if offset == _SPARSE:  # (read as the sparse file it names)
                self._sparse[ref] = self._sparse[found]
                self._at.append(_SPARSE)
                self._length.append(0)
                hashes.append(hash(name))
                first_of.setdefault(hashes[-1], ref)
                return True
            where = ((offset, self._length[found]) if offset >= 0 else self._huge_at.get(found) if offset == -2
                     else self._linked.get(found))
        if where is not None:
            self._linked[ref] = where
            if self._named:
                _by_name(self._files, self._huge, name, *where)
        else:
            self._unlinked_count += 1
            if len(self._unlinked) < _LINKS_NAMED:
                self._unlinked.append((name, target))
        self._at.append(_LINK)
        self._length.append(0)
        hashes.append(hash(name))
        first_of.setdefault(hashes[-1], ref)
        return True

    def _tell_links(self) -> None:
        """Say which hard links name no file (and are not read), and which name none but themselves or a
        refused name (and are links)."""
        for name, target in self._unlinked:
            self.damaged.append(f"{self.where}: member {shown(name)} is a hard link to {shown(target)}, which is "
                                "no file the archive holds before it: not read")
        if self._unlinked_count > len(self._unlinked):
            self.damaged.append(f"{self.where}: {self._unlinked_count - len(self._unlinked)} more hard link(s) to no "
                                "file the archive holds before them: not read")
        if self._odd_links:
            self.notes.append(f"{self.where}: {self._odd_links} hard link(s) name no member but themselves or a name "
                              "refused: listed as links, not read")

    def _headers(self, budget: int | None, checkpoints: bool = True) -> Iterator[HeaderBatch]:
        """The archive's member headers, a batch at a time, then what is wrong with the archive as a
        whole (see early_tar.header_batches), read by a pass that takes a .tar.gz's checkpoints unless
        `checkpoints` is False."""
        return header_batches(partial(self._stream, checkpoints), str(self.path), budget, _HEADER_BATCH)

    def _where(self, name: str) -> tuple[int, int] | None:
        """Where a regular member's bytes lie in the (decompressed) archive: offset and size (the first
        member of that name). Members are kept by name only when something asks for one by its name:
        the headers are then read again, once."""
        if not self._named:
            self._name_members()
        return _lookup(self._files, self._huge, name)

    def reads_forward(self) -> bool:
        # A bzip2 or xz stream has no checkpoints a reader could start from (a gzip one has: see
        # evidence/formats/gzindex.py): reaching a member before the last one read decompresses the
        # archive again from its start.
        return not self._plain and self._gzip is None

    def prefetch(self, names: Collection[str], folder: Path) -> None:
        if not self.reads_forward():
            return
        wanted = sorted(
            (where[0], where[1], name) for name in set(names)
            if name not in self._fetched and (where := self._where(name)) is not None
            and where[1] <= self.limits.max_file_bytes
        )
        try:
            with self._stream() as stream:
                for offset, size, name in wanted:
                    if offset < stream.tell():
                        continue  # (members that overlap: a damaged archive; read as it always was)
                    stream.seek(offset)
                    target = folder / str(len(self._fetched))
                    with open(target, "wb") as copy:
                        left = size
                        while left:
                            chunk = stream.read(min(left, 1024 * 1024))
                            if not chunk:
                                break
                            copy.write(chunk)
                            left -= len(chunk)
                    if left:  # cut short: the archive ends here, and reading the member says so
                        target.unlink()
                        return
                    self._fetched[name] = target
        except (OSError, EOFError, ValueError, tarfile.TarError, zlib.error, lzma.LZMAError):
            return  # a damaged stream: what was copied is read from its copy, the rest as it always was

    def local_file(self, name: str) -> Path | None:
        return self._fetched.get(name)

    def _name_members(self) -> None:
        """Every regular member by its name (the first of a name), from the headers read again."""
        files: dict[str, dict[str, int]] = {}
        huge: dict[str, tuple[int, int]] = {}
        safe_name = safe_names()
        budget = tar_budget(self._compressed, self._plain, self.limits)
        try:
            with _open_decompressed(self.path) as stream:
                for count, entry in enumerate(scan_tar_headers(stream, str(self.path), budget), start=1):
                    check_entry_count(count, str(self.path), self.limits)
                    if entry.type == HARD_LINK:  # (by the name of the member it names, kept before it)
                        target = safe_name(entry.link) if entry.link else None
                        where = _lookup(files, huge, target) if target is not None else None
                        if where is None:
                            continue
                        data_at, declared = where
                    elif tar_member_type(entry.type) != FILE or entry.sparse_at is not None:
                        continue  # (a sparse file is read by its place alone: its stored bytes are not its data)
                    else:
                        data_at, declared = entry.offset_data, entry.size
                    name = safe_name(entry.name)
                    if name is not None:
                        _by_name(files, huge, name, data_at, declared)
        except (EvidenceError, EOFError, OSError, ValueError, tarfile.TarError, zlib.error, lzma.LZMAError):
            pass  # (the members before the damage, as the listing has them)
        self._files, self._huge, self._named = files, huge, True

    def open_member(self, ref: int, name: str, label: str) -> BinaryIO:
        if ref in self._sparse:
            return self._open_sparse(*self._sparse[ref], label)
        if self._fetched or not 0 <= ref < len(self._at):
            return self.open(name, label)
        offset = self._at[ref]
        if offset == -1:
            raise EvidenceError(label, "not a regular file")
        if offset == _LINK:
            where = self._linked.get(ref)
            if where is None:
                raise EvidenceError(label, "a hard link to no file the archive holds before it")
            return self._open_at(where, name, label)
        return self._open_at(self._huge_at[ref] if offset == -2 else (offset, self._length[ref]), name, label)

    def link_target(self, ref: int, name: str) -> str | None:
        target = self._symlinks.get(ref)
        return None if target is None else text_name(target)

    def local_member(self, ref: int, name: str) -> Path | None:
        return None if ref in self._sparse else self.local_file(name)

    def _open_sparse(self, headers_at: int, size: int, label: str) -> BinaryIO:
        """A sparse file's bytes (its holes as zeros), read by tarfile: its headers (and, in pax 1.0, the
        map that begins its data) parsed from where they begin, at most _SPARSE_HEADERS_MOST bytes, then
        its regions where the map places them."""
        fileobj = self._tar.fileobj
        if fileobj is None:
            raise EvidenceError(label, "cannot be read from the tar (closed)")
        try:
            fileobj.seek(headers_at)
            info = tarfile.TarInfo.fromtarfile(_HeaderReader(_Bounded(fileobj, _SPARSE_HEADERS_MOST), self._tar))  # type: ignore[arg-type]
            if not info.issparse() or info.size != size:
                raise EvidenceError(label, "cannot be read from the tar (its sparse map is not where it was listed)")
            stream = self._tar.extractfile(info)
        except (tarfile.TarError, OSError, EOFError, ValueError, IndexError, zlib.error, lzma.LZMAError) as exc:
            raise EvidenceError(label, f"cannot be read from the tar ({error_text(exc)})") from exc
        if stream is None:
            raise EvidenceError(label, "not a regular file")
        return guarded_member(stream, label)

    def complete(self, ref: int, name: str, info: FileInfo) -> FileInfo:
        """A hard link's size: that of the member it names (None found: listed, unreadable)."""
        if ref in self._sparse:  # (a hard link to a sparse file)
            return FileInfo(info.device_path, self._sparse[ref][1], info.mtime, info.mode)
        if not 0 <= ref < len(self._at) or self._at[ref] != _LINK:
            return info
        where = self._linked.get(ref)
        if where is None:
            return FileInfo(info.device_path, 0, info.mtime, info.mode, is_link=True)
        return FileInfo(info.device_path, where[1], info.mtime, info.mode)

    def open(self, name: str, label: str) -> BinaryIO:
        fetched = self._fetched.get(name)
        if fetched is not None:
            return guarded_member(open(fetched, "rb"), label)  # noqa: SIM115 - returned for the caller to close
        where = self._where(name)
        if where is None:
            raise EvidenceError(label, "not a regular file")
        return self._open_at(where, name, label)

    def _open_at(self, where: tuple[int, int], name: str, label: str) -> BinaryIO:
        """The member whose data lies at `where` (offset and size in the decompressed archive)."""
        if self._gzip is not None:
            try:
                return guarded_member(open_member(self._gzip, where[0], where[1]), label)
            except (OSError, zlib.error) as exc:
                raise EvidenceError(label, f"cannot be read from the tar ({error_text(exc)})") from exc
        offset, size = where
        if self._plain and offset + size > self._compressed:
            # Declared past the end of the file (listed as cut short): read up to one byte past the end,
            # where tarfile fails as for any cut member, never asking the file for more than it holds.
            size = max(self._compressed - offset, 0) + 1
        info = tarfile.TarInfo(name)
        info.offset_data, info.size, info.type = offset, size, tarfile.REGTYPE
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
        # Members of a plain, bzip2 or xz tar are read through the tarfile's own file (seek, then read;
        # a compressed one rewinds it): this process gets a tarfile and a file of its own (the parent's
        # stay open for the parent). Members of a gzip tar are read through files opened for each.
        self._tar = _member_reader(self.path)
