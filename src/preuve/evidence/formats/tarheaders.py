"""The header scan of a tar stream: every member's name, type, size, times and data offset.

A dump lists hundreds of thousands of members, and a tar written by Python's :mod:`tarfile` (or GNU
tar in its posix format) puts an extended header before each of them: the scan handles twice as many
headers as there are files. :mod:`tarfile` builds a full TarInfo per member, and a header read
block by block with six numeric fields each parsed in Python cost several microseconds a header,
three times the folder listing of the same dump. This kernel:

- reads the stream in blocks of up to a MiB (one underlying read each, ``read1``), reads a header's
  fields out of the block with one ``struct`` call, and seeks over a member's data only when it lies
  past the block;
- checks the header checksum with C primitives: each half of a header (256 bytes) sums below
  65,521, so zlib's Adler-32 (started at 0) of each half gives its exact byte sum;
- parses a numeric field with one ``int(…, 8)`` on the text before its first NUL, and the reference
  rules (:func:`tar_number`: whitespace, base-256) only when that fails;
- remembers the extended headers it has checked: Python's tarfile writes the same pax header bytes
  (``././@PaxHeader``, the records' length) before every member, GNU tar the same ``././@LongLink``
  header for names of one length, so most are one dict lookup instead of a checksum; the one
  record such a header usually holds is read inline (and the lookup stops where it does not pay:
  GNU tar names each pax header after its member); of a pax header's records only those the scan
  uses (path, size, mtime) are decoded;
- decodes only the fields it returns (name, prefix, type, size, mode, mtime) and appends them to
  columns, given a batch at a time (:func:`scan_tar_batches`; :func:`scan_tar_headers` gives them
  one at a time): a tar read beside hands its batches over as they are, with no tuple made per
  header.

What it accepts and refuses is that of the header-by-header scan it replaces, which the tests keep
as the reference: the same entries, the same errors at the same offsets, the same damage notes, the
decompression budget checked before a member's data is skipped (a compressed stream is read at most
one read, a MiB, past the last header checked). One bound is new: the extended headers before one
member (and the global ones of the archive) hold at most a MiB between them, as one may alone; the
scan before kept the records of any number of them in memory.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO, NamedTuple
from zlib import adler32

from preuve.evidence.errors import EvidenceError, LimitExceeded

BLOCK = 512
_ZERO = bytes(BLOCK)
_READ = 1024 * 1024  # bytes asked for at a time (one underlying read: a decompressed stream may give fewer)
_MAX_EXTENDED = 1024 * 1024  # a pax or GNU long-name header's data
_EXTENDED = frozenset((b"x", b"g", b"L", b"K"))
_CHECKED = 64  # extended headers remembered
_FEW = 64  # headers read at a time by scan_tar_headers
# The pax keys a scan reads (what a member's name, size and time come from): GNU tar and bsdtar write
# others for every member (atime, ctime, extended attributes), which the scan passes over undecoded.
_USED_KEYS = {
    b"path": "path", b"size": "size", b"mtime": "mtime", b"linkpath": "linkpath",
    # GNU tar's sparse files in the pax format (versions 0.0, 0.1 and 1.0), as tarfile reads them
    b"GNU.sparse.name": "sparse.name", b"GNU.sparse.size": "sparse.size", b"GNU.sparse.realsize": "sparse.realsize",
    b"GNU.sparse.map": "sparse.map", b"GNU.sparse.major": "sparse.major", b"GNU.sparse.minor": "sparse.minor",
}
HARD_LINK = b"1"  # a hard link's type flag: its data is that of an earlier member, named by its link name
SPARSE = b"S"  # an old GNU sparse file's type flag
SYMLINK = b"2"  # a symbolic link's type flag: its link name is the path it names
# An old GNU sparse header's extension blocks (21 regions each): at most a MiB of them, as an extended
# header's data.
_MAX_SPARSE_BLOCKS = _MAX_EXTENDED // BLOCK
# The extended headers are looked up among those checked only while that pays: an archive whose pax
# headers are named after their members (GNU tar's "./PaxHeaders/NAME") never repeats one.
_LOOKUPS_UNPAID = 256
# The fields a header is read for, in one call: name, mode, (uid, gid), size, mtime, checksum, type,
# (link name), magic, (version, user and group names, device numbers), prefix, (padding).
_FIELDS = struct.Struct("100s8s16x12s12s8s1s100x6s2x80x155s12x")


class TarEntry(NamedTuple):
    """One member's header (after its pax and GNU long-name headers)."""

    name: str  # as stored (not yet through the name policy)
    type: bytes  # the typeflag byte
    size: int  # bytes of data (pax size when given)
    mtime: float
    mode: int
    offset_data: int  # where its data starts in the (decompressed) stream
    link: str | None = None  # a hard or symbolic link's link name, as stored (None for any other member)
    sparse_at: int | None = None  # a sparse file's: where its headers begin (its size is its real size)


def tar_number(field: bytes) -> int:
    """A numeric header field: octal text, or GNU base-256 when the high bit is set."""
    if field[:1] and field[0] & 0x80:
        value = int.from_bytes(field[1:], "big")
        return -value if field[0] & 0x40 else value
    text = field.split(b"\0", 1)[0].strip()
    return int(text, 8) if text else 0


def pax_records(
    data: bytes, out: dict[str, str] | None = None, only: dict[bytes, str] | None = None
) -> dict[str, str]:
    """The ``length key=value\\n`` records of a pax extended header, up to the first malformed one
    (written into `out` when given: a later record of a key replaces an earlier one); with `only`,
    just the records of its keys (as bytes), each under its text there."""
    if out is None:
        out = {}
    pos = 0
    end = len(data)
    while pos < end:
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            break
        if length <= 0 or pos + length > end:
            break
        key, _, value = data[space + 1 : pos + length - 1].partition(b"=")
        if only is None:
            out[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
        else:
            text = only.get(key)
            if text is not None:
                out[text] = value.decode("utf-8", "surrogateescape")
        pos += length
    return out


def cut_short(members: int, last: str | None) -> str:
    """The note of an archive cut short after `members` members, the last of them `last`."""
    cut = f", whose last member ({last}) may be incomplete" if last is not None else ""
    return (f"the archive is cut short: it ends after {members} member(s), before its end-of-archive "
            f"marker{cut}; members after that point are lost")


class TarHeaders:
    """Member headers as columns, in the order of the archive (what :func:`scan_tar_batches` gives a
    batch at a time: columns pickle at the speed of copying bytes, a tuple per header far slower), and
    the link names of its hard and symbolic links and where each sparse file's headers begin, by their
    place in the batch (few archives have many)."""

    __slots__ = ("links", "modes", "mtimes", "names", "offsets", "sizes", "sparse", "types")

    def __init__(self) -> None:
        self.names: list[str] = []
        self.types: list[bytes] = []
        self.sizes: list[int] = []
        self.mtimes: list[float] = []
        self.modes: list[int] = []
        self.offsets: list[int] = []
        self.links: dict[int, str] = {}
        self.sparse: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.names)

    def take(self) -> TarHeaders:
        """What this holds, as a batch of its own; this is emptied."""
        taken = TarHeaders()
        taken.names, taken.types, taken.sizes, taken.mtimes, taken.modes, taken.offsets = (
            self.names, self.types, self.sizes, self.mtimes, self.modes, self.offsets
        )
        taken.links, self.links = self.links, {}
        taken.sparse, self.sparse = self.sparse, {}
        self.names, self.types, self.sizes, self.mtimes, self.modes, self.offsets = [], [], [], [], [], []
        return taken

    def entries(self) -> Iterator[TarEntry]:
        links, sparse = self.links, self.sparse
        for place, (name, kind, size, mtime, mode, offset) in enumerate(
            zip(self.names, self.types, self.sizes, self.mtimes, self.modes, self.offsets, strict=True)
        ):
            yield TarEntry(name, kind, size, mtime, mode, offset, links.get(place) if links else None,
                           sparse.get(place) if sparse else None)


def scan_tar_headers(
    stream: BinaryIO, path: str, budget: int | None, damage: list[str] | None = None
) -> Iterator[TarEntry]:
    """Every member header of a tar stream, one at a time: :func:`scan_tar_batches` in small batches (a
    reader that stops early, as detection does, reads a few headers past the last it takes)."""
    for batch in scan_tar_batches(stream, path, budget, damage, _FEW):
        yield from batch.entries()


def scan_tar_batches(
    stream: BinaryIO, path: str, budget: int | None, damage: list[str] | None = None, size: int = 4096,
    start: int = 0, until: int | None = None, stopped: list[int] | None = None,
) -> Iterator[TarHeaders]:
    """Every member header of a tar stream, skipping over the data (ustar, pax and GNU long names), in
    batches of `size` headers (the last one shorter).

    A scan of part of a plain tar (see early_tar.SplitScan) starts at `start` (where the stream
    stands, a header's offset) or stops at `until`: when a header begins there with nothing carried
    over to it (no pax or GNU long-name header before it, no global pax header before), the scan stops
    and appends that offset to `stopped`; else it goes on to the end, as a whole scan.

    `budget` bounds the decompressed bytes (checked before a member's data is skipped); `damage`
    receives what is wrong with the archive as a whole (cut short). A bad checksum, a negative size
    or oversized extended headers are an :class:`EvidenceError` naming the offset; a numeric field
    that is not a number a ValueError. When one is raised, the headers before it come first (a
    batch), then the error, as a scan header by header gives them.
    """
    batch = TarHeaders()  # (the one being filled)
    try:
        yield from _scan(stream, path, budget, damage, size, batch, start, until, stopped)
    except Exception:
        if batch.names:
            yield batch
        raise
    if batch.names:
        yield batch


def _scan(
    stream: BinaryIO, path: str, budget: int | None, damage: list[str] | None, size_of_batch: int, batch: TarHeaders,
    start: int = 0, until: int | None = None, stopped: list[int] | None = None,
) -> Iterator[TarHeaders]:
    """The scan itself, filling `batch` and yielding what it holds each time it is full (the caller
    keeps the batch being filled, to give what it holds when the scan ends or fails)."""
    read = getattr(stream, "read1", None) or stream.read
    buf = b""  # the stream's bytes [base, base + len(buf)); the stream stands at base + len(buf)
    view = memoryview(buf)
    base = start
    offset = start  # the next header
    pax_global: dict[str, str] = {}
    pending: dict[str, str] = {}
    long_name: str | None = None
    long_link: str | None = None  # (a GNU long link name, for the member after it)
    group = start  # where the extended headers of the member to come begin (when it has any)
    last: str | None = None
    members = 0
    # Extended headers already checked, with their size: the same bytes recur before every member (a pax
    # header named ././@PaxHeader with the records' length; a GNU ././@LongLink with the name's length).
    checked: dict[bytes, int] = {}
    looking, hits, misses = True, 0, 0  # (looked up until _LOOKUPS_UNPAID misses have had few hits)
    extended_bytes = global_bytes = 0  # data of the extended headers before this member, of the global ones
    unpack, sum_of, extended, zero, used_keys = _FIELDS.unpack_from, adler32, _EXTENDED, _ZERO, _USED_KEYS
    names, types, sizes, mtimes, modes, offsets = (
        batch.names, batch.types, batch.sizes, batch.mtimes, batch.modes, batch.offsets
    )
    while True:
        if (offset == until and not pending and long_name is None and long_link is None and not pax_global
                and not extended_bytes):
            if stopped is not None:
                stopped.append(offset)
            return
        at = offset - base
        if at + BLOCK > len(buf):
            buf, base, at = buf[at:], offset, 0  # (empty when the stream ended inside skipped data)
            while len(buf) < BLOCK:
                more = read(_READ)
                if not more:
                    break
                buf += more
            view = memoryview(buf)
            if len(buf) < BLOCK:
                # A tar ends with zero blocks; a stream that stops before them was cut short (an interrupted
                # copy or download): the last member may be incomplete and whatever followed it is lost.
                if damage is not None:
                    damage.append(cut_short(members, last))
                return
        name, mode_field, size_field, mtime_field, sum_field, kind, magic, prefix = unpack(buf, at)
        size = -1
        is_extended = kind in extended
        header = b""
        if is_extended and looking:
            header = buf[at : at + BLOCK]
            size = checked.get(header, -1)
            if size < 0:
                misses += 1
                if misses >= _LOOKUPS_UNPAID and hits * 4 < misses:
                    looking = False
            else:
                hits += 1
        if size < 0:
            if not name[0] and buf.startswith(zero, at):  # (a zero block's name is empty)
                return
            # Numeric fields: one int() on the text before the first NUL (it strips the same ASCII
            # whitespace bytes.strip does, and fails on an empty text, a base-256 field or anything not
            # octal, which tar_number then reads by the reference rules or refuses).
            try:
                stored = int(sum_field.partition(b"\0")[0], 8)
            except ValueError:
                stored = tar_number(sum_field)
            # The byte sum of the header: Adler-32's first half (started at 0) of each half of it, which
            # holds at most 256 bytes and so sums below 65,521, Adler-32's modulus.
            total = (sum_of(view[at : at + 256], 0) & 0xFFFF) + (sum_of(view[at + 256 : at + BLOCK], 0) & 0xFFFF)
            if stored != total - sum(sum_field) + 256:  # the checksum field counts as eight spaces
                raise EvidenceError(path, f"damaged tar: bad header checksum at offset {offset}")
            try:
                size = int(size_field.partition(b"\0")[0], 8)
            except ValueError:
                size = tar_number(size_field)
            if size < 0:
                raise EvidenceError(path, f"damaged tar: negative size at offset {offset}")
            if header and size <= _MAX_EXTENDED and len(checked) < _CHECKED:
                checked[header] = size
        data_at = offset + BLOCK
        padded = (size + BLOCK - 1) // BLOCK * BLOCK
        if is_extended:
            if not extended_bytes and not pending and long_name is None and long_link is None:
                group = offset
            if budget is not None and data_at + size > budget:
                raise LimitExceeded(path, "expands beyond the decompression ratio bound (archive bomb?)")
            if size > _MAX_EXTENDED:
                raise EvidenceError(path, f"damaged tar: extended header of {size} bytes")
            # However many there are, the extended headers before one member (or the global ones of the
            # whole archive) hold at most as much as one may: their records are kept in memory.
            if kind == b"g":
                global_bytes += size
                if global_bytes > _MAX_EXTENDED:
                    raise EvidenceError(path, f"damaged tar: global extended headers of more than {_MAX_EXTENDED} "
                                              f"bytes at offset {offset}")
            else:
                extended_bytes += size
                if extended_bytes > _MAX_EXTENDED:
                    raise EvidenceError(path, f"damaged tar: extended headers of more than {_MAX_EXTENDED} bytes "
                                              f"before one member at offset {offset}")
            start = data_at - base
            if len(buf) < start + padded:
                buf = _filled(buf, read, start + padded)
                view = memoryview(buf)
            data = buf[start : start + size]
            if kind == b"x":
                # The usual pax header holds one record ("27 mtime=1796505851.543362\n"): read here as
                # pax_records reads its first record, and the others through it.
                space = data.find(b" ")
                try:
                    one = space > 0 and int(data[:space]) == len(data)
                except ValueError:
                    one = False
                if one:
                    key, _, value = data[space + 1 : -1].partition(b"=")
                    used = used_keys.get(key)
                    if used is not None:
                        pending[used] = value.decode("utf-8", "surrogateescape")
                else:
                    pax_records(data, pending, used_keys)
            elif kind == b"g":
                pax_records(data, pax_global, used_keys)
            elif kind == b"L":
                long_name = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            elif kind == b"K":
                long_link = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            offset = data_at + padded
            continue
        info = {**pax_global, **pending} if pax_global else pending
        # The name: a pax path, else a GNU long name, else the header's (ustar: prefix/name).
        text = (info.get("sparse.name") or info.get("path")) if info else None
        if text is None:
            if long_name:
                text = long_name
            else:
                name = name.partition(b"\0")[0]
                if magic.startswith(b"ustar") and kind != SPARSE:  # (an old GNU sparse header has no prefix)
                    prefix = prefix.partition(b"\0")[0]
                    if prefix:
                        name = prefix + b"/" + name
                text = name.decode("utf-8", "surrogateescape")
        if info and "size" in info:
            try:
                size = int(info["size"])
            except ValueError:
                raise EvidenceError(path, f"damaged tar: pax size {info['size']!r}") from None
            padded = (size + BLOCK - 1) // BLOCK * BLOCK
        listed = size
        sparse_at = None
        if kind == SPARSE or (info and ("sparse.map" in info or "sparse.size" in info or (
                info.get("sparse.major") == "1" and info.get("sparse.minor") == "0"))):
            # A sparse file: listed with its real size, read through tarfile from where its headers begin.
            sparse_at = group if (extended_bytes or pending or long_name is not None or long_link is not None) else offset
            if kind == SPARSE:
                try:
                    listed = tar_number(buf[at + 483 : at + 495])
                except ValueError:
                    raise EvidenceError(path, f"damaged tar: sparse real size at offset {offset}") from None
                more = buf[at + 482]
                blocks = 0
                while more:  # its extension blocks, before its data
                    blocks += 1
                    if blocks > _MAX_SPARSE_BLOCKS:
                        raise EvidenceError(path, f"damaged tar: sparse map of more than {_MAX_SPARSE_BLOCKS} blocks "
                                                  f"at offset {offset}")
                    start = data_at - base
                    if len(buf) < start + BLOCK:
                        buf = _filled(buf, read, start + BLOCK)
                        view = memoryview(buf)
                    if len(buf) < start + BLOCK:
                        if damage is not None:
                            damage.append(cut_short(members, last))
                        raise EvidenceError(path, f"member {text} is cut short: the archive ends inside it (truncated)")
                    more = buf[start + 504]
                    data_at += BLOCK
            else:
                real = info.get("sparse.realsize") or info.get("sparse.size")
                if real is not None:
                    try:
                        listed = int(real)
                    except ValueError:
                        raise EvidenceError(path, f"damaged tar: sparse size {real!r}") from None
            if listed < 0:
                raise EvidenceError(path, f"damaged tar: negative size at offset {offset}")
        if budget is not None and data_at + size > budget:
            raise LimitExceeded(
                path, f"member {text} ({size} bytes) expands beyond the decompression ratio bound (archive bomb?)"
            )
        try:  # (a header mtime that is not a number gives 0, even beside a pax mtime)
            try:
                header_mtime = int(mtime_field.partition(b"\0")[0], 8)
            except ValueError:
                header_mtime = tar_number(mtime_field)
            mtime = float(info["mtime"]) if "mtime" in info else float(header_mtime)
        except ValueError:
            mtime = 0.0
        try:
            mode = int(mode_field.partition(b"\0")[0], 8)
        except ValueError:
            mode = tar_number(mode_field)
        names.append(text)
        types.append(kind)
        sizes.append(listed)
        mtimes.append(mtime)
        modes.append(mode)
        offsets.append(data_at)
        if kind == HARD_LINK or kind == SYMLINK:
            # Its link name: a pax linkpath, else a GNU long link name, else the header's (no prefix).
            link = info.get("linkpath") if info else None
            if link is None:
                link = long_link if long_link else (
                    buf[at + 157 : at + 257].partition(b"\0")[0].decode("utf-8", "surrogateescape"))
            batch.links[len(names) - 1] = link
        if sparse_at is not None:
            batch.sparse[len(names) - 1] = sparse_at
        last, members = text, members + 1
        if len(names) == size_of_batch:
            full = batch.take()
            names, types, sizes, mtimes, modes, offsets = (
                batch.names, batch.types, batch.sizes, batch.mtimes, batch.modes, batch.offsets
            )
            yield full
        if pending:
            pending = {}
        long_name = long_link = None
        extended_bytes = 0
        offset = data_at + padded
        if offset > base + len(buf):  # past the block read: skip the rest of the data
            buf, base = b"", offset
            view = memoryview(buf)
            if stream.seek(offset) < offset and stream.tell() < offset:
                # A compressed stream that ends inside this member's data: it was cut short. The archive
                # is damaged (what followed is lost), and this member is named as unreadable by the caller.
                if damage is not None:
                    damage.append(cut_short(members, last))
                raise EvidenceError(path, f"member {text} is cut short: the archive ends inside it (truncated)")


def _filled(buf: bytes, read: Callable[[int], bytes], need: int) -> bytes:
    """`buf` and the stream's next bytes, read until it holds `need` bytes or the stream ends."""
    while len(buf) < need:
        more = read(_READ)
        if not more:
            break
        buf += more
    return buf


def header_checksum_ok(block: bytes) -> bool:
    """Whether a 512-byte block is a tar header by its checksum (and not a block of zeros)."""
    if len(block) != BLOCK or block == _ZERO:
        return False
    field = block[148:156]
    try:
        stored = tar_number(field)
    except ValueError:
        return False
    return stored == sum(block) - sum(field) + 256


def header_near(stream: BinaryIO, offset: int, reach: int) -> int | None:
    """The offset of the first header at or after `offset` (rounded up to a block) and before `offset +
    reach` that begins a member's headers: a block with the ustar magic and a good checksum that does
    not follow an extended header whose data ends right before it (a pax or GNU long-name header belongs
    to the member after it). None when there is none. It may lie inside a member's data (a tar stored
    in the tar): a scan stopped there is checked by the scan that comes to it (scan_tar_batches'
    `until`)."""
    at = (offset + BLOCK - 1) // BLOCK * BLOCK
    back = min(at, 8 * BLOCK)  # (blocks before, to see the extended header a candidate may follow)
    stream.seek(at - back)
    data = stream.read(back + reach)

    def header(place: int) -> bytes | None:
        block = data[place : place + BLOCK]
        return block if block[257:262] == b"ustar" and header_checksum_ok(block) else None

    for place in range(back, len(data) - BLOCK + 1, BLOCK):
        if header(place) is None:
            continue
        follows = False
        for blocks in range(1, 7):  # an extended header whose data fills the `blocks` blocks before
            before = place - (blocks + 1) * BLOCK
            if before < 0:
                break
            found = header(before)
            if found is not None and found[156:157] in _EXTENDED:
                try:
                    size = tar_number(found[124:136])
                except ValueError:
                    continue
                if (size + BLOCK - 1) // BLOCK == blocks:
                    follows = True
                    break
        if not follows:
            return at - back + place
    return None
