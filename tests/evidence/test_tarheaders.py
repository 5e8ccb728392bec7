"""The tar header kernel against the header-by-header scan it replaced and against :mod:`tarfile`.

The archives are written by :mod:`tarfile` (ustar, GNU and pax formats, as GNU tar and Python write
them) or by hand where tarfile will not write the case (base-256 fields, sparse members, damaged
fields), then read whole or cut, with bytes changed, plain or compressed, through streams that give
a few bytes at a time.
"""

from __future__ import annotations

import bz2
import functools
import gzip
import io
import lzma
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preuve.evidence.errors import EvidenceError, LimitExceeded
from preuve.evidence.formats.gzindex import GzipCheckpoints, indexing_reader
from preuve.evidence.formats.tarheaders import TarEntry, TarHeaders, scan_tar_batches, scan_tar_headers

# --- the reference: the scan preuve used before the kernel (one read(512) a header), kept as written ---

_BLOCK = 512


def _ref_number(field: bytes) -> int:
    if field[:1] and field[0] & 0x80:
        value = int.from_bytes(field[1:], "big")
        return -value if field[0] & 0x40 else value
    text = field.split(b"\0", 1)[0].strip()
    return int(text, 8) if text else 0


def _ref_pax(data: bytes) -> dict[str, str]:
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


def _reference(stream: BinaryIO, path: str, budget: int | None, damage: list[str]) -> Iterator[TarEntry]:
    offset = 0
    pax_global: dict[str, str] = {}
    pending: dict[str, str] = {}
    long_name: str | None = None
    long_link: str | None = None
    group = 0  # where the extended headers of the member to come begin
    extended = 0  # their bytes
    last: str | None = None
    members = 0
    while True:
        header = stream.read(_BLOCK)
        if header == bytes(_BLOCK):
            return
        if len(header) < _BLOCK:
            cut = f", whose last member ({last}) may be incomplete" if last is not None else ""
            damage.append(
                f"the archive is cut short: it ends after {members} member(s), before its end-of-archive "
                f"marker{cut}; members after that point are lost"
            )
            return
        stored = _ref_number(header[148:156])
        if stored != sum(header) - sum(header[148:156]) + 256:
            raise EvidenceError(path, f"damaged tar: bad header checksum at offset {offset}")
        kind = header[156:157]
        size = _ref_number(header[124:136])
        if size < 0:
            raise EvidenceError(path, f"damaged tar: negative size at offset {offset}")
        data_at = offset + _BLOCK
        padded = (size + _BLOCK - 1) // _BLOCK * _BLOCK
        if kind in (b"x", b"g", b"L", b"K"):
            if not extended and long_name is None and long_link is None:
                group = offset
            if kind != b"g":
                extended += size
            if budget is not None and data_at + size > budget:
                raise LimitExceeded(path, "expands beyond the decompression ratio bound (archive bomb?)")
            if size > 1024 * 1024:
                raise EvidenceError(path, f"damaged tar: extended header of {size} bytes")
            data = stream.read(padded)[:size]
            if kind == b"x":
                pending.update(_ref_pax(data))
            elif kind == b"g":
                pax_global.update(_ref_pax(data))
            elif kind == b"L":
                long_name = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            elif kind == b"K":
                long_link = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            offset = data_at + padded
            continue
        name = header[0:100].split(b"\0", 1)[0]
        # (an old GNU sparse header has no prefix: its sparse map lies there)
        prefix = header[345:500].split(b"\0", 1)[0] if header[257:262] == b"ustar" and kind != b"S" else b""
        text = (prefix + b"/" + name if prefix else name).decode("utf-8", "surrogateescape")
        info = {**pax_global, **pending}
        text = info.get("GNU.sparse.name") or info.get("path", long_name or text)
        if "size" in info:
            try:
                size = int(info["size"])
            except ValueError:
                raise EvidenceError(path, f"damaged tar: pax size {info['size']!r}") from None
            padded = (size + _BLOCK - 1) // _BLOCK * _BLOCK
        # A sparse file (as tarfile tells one): its real size, from its header or its pax records, and
        # where its headers begin; an old GNU one's extension blocks (504: another follows) before its data.
        listed, sparse_at = size, None
        if kind == b"S" or "GNU.sparse.map" in info or "GNU.sparse.size" in info or (
                info.get("GNU.sparse.major") == "1" and info.get("GNU.sparse.minor") == "0"):
            sparse_at = group if extended or pending or long_name is not None or long_link is not None else offset
            if kind == b"S":
                try:
                    listed = _ref_number(header[483:495])
                except ValueError:
                    raise EvidenceError(path, f"damaged tar: sparse real size at offset {offset}") from None
                more, blocks = header[482], 0
                while more:
                    blocks += 1
                    if blocks > 2048:
                        raise EvidenceError(path, f"damaged tar: sparse map of more than 2048 blocks at offset {offset}")
                    block = stream.read(_BLOCK)
                    if len(block) < _BLOCK:
                        damage.append(
                            f"the archive is cut short: it ends after {members} member(s), before its end-of-archive "
                            f"marker" + (f", whose last member ({last}) may be incomplete" if last is not None else "")
                            + "; members after that point are lost"
                        )
                        raise EvidenceError(path, f"member {text} is cut short: the archive ends inside it (truncated)")
                    more = block[504]
                    data_at += _BLOCK
            else:
                real = info.get("GNU.sparse.realsize") or info.get("GNU.sparse.size")
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
        try:
            mtime = float(info.get("mtime", _ref_number(header[136:148])))
        except ValueError:
            mtime = 0.0
        link = None
        if kind in (b"1", b"2"):  # a hard or symbolic link: its pax linkpath, GNU long link name or header's link name
            link = info.get("linkpath", long_link or header[157:257].split(b"\0", 1)[0].decode("utf-8", "surrogateescape"))
        yield TarEntry(text, kind, listed, mtime, _ref_number(header[100:108]), data_at, link, sparse_at)
        last, members = text, members + 1
        pending, long_name, long_link, extended = {}, None, None, 0
        offset = data_at + padded
        if padded and stream.seek(offset) < offset and stream.tell() < offset:
            damage.append(
                f"the archive is cut short: it ends after {members} member(s), before its end-of-archive "
                f"marker, whose last member ({last}) may be incomplete; members after that point are lost"
            )
            raise EvidenceError(path, f"member {text} is cut short: the archive ends inside it (truncated)")


# --- archives ---


def _add(tf: tarfile.TarFile, name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, **fields: object) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if kind in (tarfile.REGTYPE, tarfile.CONTTYPE) else 0
    info.mtime, info.mode = 1_685_620_800, 0o644
    for key, value in fields.items():
        setattr(info, key, value)
    tf.addfile(info, io.BytesIO(data) if info.size else None)


def _archive(fmt: int) -> bytes:
    """Members of every kind tarfile writes, with long names and links, in one format."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tf:
        _add(tf, "private/var/mobile/", kind=tarfile.DIRTYPE, mode=0o755)
        _add(tf, "private/var/mobile/a.txt", b"hello")
        _add(tf, "private/var/mobile/empty", b"")
        _add(tf, "private/var/mobile/" + "long-folder-name/" * 9 + "file.plist", bytes(range(256)) * 3)
        _add(tf, "p/" + "x" * 150 + "/" + "y" * 99, b"prefix and name")  # ustar: through the prefix field
        _add(tf, "private/var/mobile/link", kind=tarfile.SYMTYPE, linkname="/etc/passwd")
        _add(tf, "private/var/mobile/hard", kind=tarfile.LNKTYPE, linkname="private/var/mobile/a.txt")
        _add(tf, "private/var/mobile/fifo", kind=tarfile.FIFOTYPE)
        _add(tf, "private/var/mobile/dev", kind=tarfile.CHRTYPE, devmajor=1, devminor=3)
        _add(tf, "private/var/mobile/block", b"x" * 513)
        if fmt != tarfile.USTAR_FORMAT:
            _add(tf, "private/var/mobile/" + "n" * 120, b"long name")
            _add(tf, "private/var/mobile/longlink", kind=tarfile.SYMTYPE, linkname="t" * 200)
            _add(tf, "private/var/mobile/caf\u00e9/\u5199\u771f.jpg", b"\xff\xd8\xff")
            _add(tf, "private/var/mobile/big-uid", b"u", uid=10**9)
        if fmt == tarfile.PAX_FORMAT:
            _add(tf, "private/var/mobile/frac", b"m", mtime=1_685_620_800.25)
            _add(tf, "private/var/mobile/caf\udcff", b"raw byte")
    return out.getvalue()


def _pax_header(records: dict[str, str], kind: bytes = b"x", name: str = "././@PaxHeader") -> bytes:
    data = b""
    for key, value in records.items():
        body = f" {key}={value}\n".encode("utf-8", "surrogateescape")
        length = len(body) + 1
        while len(str(length)) + len(body) != length:
            length += 1
        data += str(length).encode() + body
    return _header(name, len(data), kind) + data + bytes(-len(data) % 512)


def _header(name: str, size: int, kind: bytes = b"0", *, size_field: bytes | None = None,
            mtime_field: bytes = b"14556025400\0", mode_field: bytes = b"0000644\0", ustar: bool = True) -> bytes:
    """One header as GNU tar writes it (fields may be given raw), its checksum computed."""
    header = bytearray(512)
    header[0:100] = name.encode("utf-8", "surrogateescape")[:100].ljust(100, b"\0")
    header[100:108] = mode_field
    header[108:116] = b"0000000\0"
    header[116:124] = b"0000000\0"
    header[124:136] = size_field if size_field is not None else b"%011o\0" % size
    header[136:148] = mtime_field
    header[156:157] = kind
    if ustar:
        header[257:265] = b"ustar  \0"
    header[148:156] = b"        "
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def _member(name: str, data: bytes, kind: bytes = b"0", **fields: bytes) -> bytes:
    return _header(name, len(data), kind, **fields) + data + bytes(-len(data) % 512)  # type: ignore[arg-type]


def _hand_made() -> bytes:
    """What tarfile does not write: base-256 numbers, odd spacing, a global pax header, GNU sparse, old tar."""
    parts = [
        _pax_header({"comment": "made by hand"}, b"g"),
        _member("a/base256", b"x" * 700, size_field=b"\x80" + (700).to_bytes(11, "big"),
                mtime_field=b"\x80" + (1_700_000_001).to_bytes(11, "big")),
        _member("a/spaced", b"y", mtime_field=b" 1234567  \0 ", mode_field=b"  644 \0\0"),
        _member("a/nul-first", b"z", mtime_field=b"\0" * 12, mode_field=b"\0" * 8),
        _member("a/negative-mtime", b"", mtime_field=b"\xff" + (2**88 - 5).to_bytes(11, "big")),
        _member("a/sparse", b"s" * 10, b"S"),
        _member("a/contiguous", b"c", b"7"),
        _member("a/old-style", b"o", b"\0", ustar=False),
        _member("a/old-dir/", b"", b"\0", ustar=False),
        _member("a/unknown", b"", b"Z"),
        _pax_header({"path": "a/from-pax-path", "size": "3", "mtime": "12.75", "uid": "1"}),
        _member("a/ignored-name", b"pax"),
        _header("././@LongLink", 151, b"L") + b"L" * 150 + b"\0" + bytes(-151 % 512),
        _member("a/short", b"long name"),
        _header("././@LongLink", 1, b"L") + bytes(512),  # an empty long name: the header's own name stands
        _member("a/own-name", b"o"),
        _header("././@LongLink", 20, b"K") + b"k" * 19 + b"\0" + bytes(492),
        _member("a/link", b"", b"2"),
        _pax_header({"mtime": "not a number", "size": "5"}),
        _member("a/bad-pax-mtime", b"12345"),
        _member("a/bad-header-mtime", b"q", mtime_field=b"9999\0\0\0\0\0\0\0\0"),
        _pax_header({"atime": "1.5", "ctime": "2.5"}),
        _member("a/two", b"2"),
        _pax_header({"mtime": "1700000000.5"}, b"g"),
        _member("a/after-global", b"g"),
        _pax_header({"mtime": "3.5"}),
        _member("a/pax-over-global", b"p"),
    ]
    return b"".join(parts) + bytes(1024)


FORMATS = {"ustar": tarfile.USTAR_FORMAT, "gnu": tarfile.GNU_FORMAT, "pax": tarfile.PAX_FORMAT}


@functools.cache
def _gnu_pax(members: int = 300) -> bytes:
    """Pax headers as GNU tar writes them: each named after its member ("./PaxHeaders/NAME", so none
    repeats), with the member's three times, and here and there a long path, an extended attribute,
    a size, a key or a value that is not UTF-8."""
    parts = []
    for n in range(members):
        name = f"a/f{n:04d}"
        records = {"mtime": f"17{n:08d}.123456789", "atime": f"17{n:08d}.5", "ctime": f"17{n:08d}.25"}
        if n % 7 == 0:
            records["path"] = "a/" + "long-" * 30 + f"{n}"
        if n % 11 == 0:
            records["SCHILY.xattr.user.tag"] = "\udcff\udcfe"  # (bytes that are not UTF-8)
        if n % 13 == 0:
            records["pat\udcffh"] = "not the path"
        if n % 17 == 0:
            records["size"] = "3"
        data = b"abc" if n % 17 == 0 else b"x" * (n % 5)
        parts.append(_pax_header(records, name=f"./PaxHeaders/{name}") + _member(name, data))
    return b"".join(parts) + bytes(1024)


def _all_archives() -> dict[str, bytes]:  # (each small: the hypothesis tests read them many times)
    out = {name: _archive(fmt) for name, fmt in FORMATS.items()}
    out["hand-made"] = _hand_made()
    return out


class _Trickle(io.RawIOBase):
    """A stream giving at most `step` bytes a read (as a decompressor may), seekable forward."""

    def __init__(self, data: bytes, step: int) -> None:
        super().__init__()
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._data[self._pos : self._pos + min(len(buffer), self._step)]
        buffer[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else self._pos + offset
        self._pos = max(self._pos, min(target, len(self._data)))  # like a decompressor: never past the end
        return self._pos

    def tell(self) -> int:
        return self._pos


def _outcome(scan: Iterator[TarEntry], damage: list[str]) -> tuple[list[TarEntry], str | None, list[str]]:
    entries: list[TarEntry] = []
    try:
        for entry in scan:
            entries.append(entry)
    except Exception as exc:  # noqa: BLE001 - compared, whatever it is (a seek past 2**63 is an OverflowError)
        return entries, f"{type(exc).__name__}: {exc}", damage
    return entries, None, damage


def _flat(batches: Iterator[TarHeaders], size: int) -> Iterator[TarEntry]:
    """The entries of the batches, each batch checked to hold `size` headers but the last."""
    short = False
    for batch in batches:
        assert not short and 0 < len(batch) <= size
        short = len(batch) < size
        assert all(batch.types[place] in (b"1", b"2") for place in batch.links)  # (link names: the links' alone)
        for place, (name, kind, declared, mtime, mode, offset) in enumerate(
            zip(batch.names, batch.types, batch.sizes, batch.mtimes, batch.modes, batch.offsets, strict=True)
        ):
            yield TarEntry(name, kind, declared, mtime, mode, offset, batch.links.get(place), batch.sparse.get(place))


def _both(
    make: Callable[[], Any], budget: int | None = None, batch: int | None = None
) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """The kernel's outcome (scan_tar_headers, or scan_tar_batches in batches of `batch`) and the reference's."""
    damage_new: list[str] = []
    damage_old: list[str] = []
    scan = (scan_tar_headers(make(), "t.tar", budget, damage_new) if batch is None
            else _flat(scan_tar_batches(make(), "t.tar", budget, damage_new, batch), batch))
    new = _outcome(scan, damage_new)
    stream = make()  # the reference read whole blocks, as a buffered or decompressing stream gives them
    stream = io.BufferedReader(stream, buffer_size=4096) if isinstance(stream, io.RawIOBase) else stream
    old = _outcome(_reference(stream, "t.tar", budget, damage_old), damage_old)
    return new, old


def _streams(data: bytes) -> dict[str, Callable[[], Any]]:
    return {
        "file": lambda: io.BufferedReader(io.BytesIO(data), buffer_size=1024 * 1024),
        "bytesio": lambda: io.BytesIO(data),
        "trickle-1": lambda: _Trickle(data, 1),
        "trickle-700": lambda: _Trickle(data, 700),
        "trickle-buffered": lambda: io.BufferedReader(_Trickle(data, 333), buffer_size=4096),
        "gzip": lambda: gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(data, mtime=0))),
        "bz2": lambda: bz2.BZ2File(io.BytesIO(bz2.compress(data))),
        "xz": lambda: lzma.LZMAFile(io.BytesIO(lzma.compress(data))),
    }


@pytest.mark.parametrize("archive", ["ustar", "gnu", "pax", "hand-made"])
@pytest.mark.parametrize("stream", ["file", "bytesio", "trickle-1", "trickle-700", "trickle-buffered", "gzip", "bz2",
                                    "xz"])
def test_same_entries_as_the_reference(archive: str, stream: str) -> None:
    data = _all_archives()[archive]
    new, old = _both(_streams(data)[stream])
    assert new == old
    assert new[1] is None and new[2] == []
    assert len(new[0]) >= 10


def test_the_hand_made_entries_by_name() -> None:
    entries, error, damage = _outcome(scan_tar_headers(io.BytesIO(_hand_made()), "t", None, []), [])
    got = {e.name: (e.type, e.size, e.mtime, e.mode) for e in entries}
    assert error is None and damage == []
    assert got["a/base256"] == (b"0", 700, 1_700_000_001.0, 0o644)
    assert got["a/spaced"] == (b"0", 1, float(0o1234567), 0o644)
    assert got["a/nul-first"] == (b"0", 1, 0.0, 0)
    assert got["a/negative-mtime"][2] == float(-(2**88 - 5))  # base-256, the sign bit set
    assert got["a/sparse"] == (b"S", 0, float(0o14556025400), 0o644)  # (its real size, in its header: none)
    assert got["a/old-dir/"][0] == b"\0"  # listed as it is stored; the policy decides what it is
    assert got["a/from-pax-path"] == (b"0", 3, 12.75, 0o644)
    assert "a/ignored-name" not in got
    assert "L" * 150 in got
    assert got["a/link"][0] == b"2"
    assert got["a/bad-pax-mtime"] == (b"0", 5, 0.0, 0o644)
    assert got["a/bad-header-mtime"][2] == 0.0  # '9999' is not octal
    assert got["a/two"] == (b"0", 1, float(0o14556025400), 0o644)
    assert got["a/after-global"][2] == 1_700_000_000.5
    assert got["a/pax-over-global"][2] == 3.5
    assert "a/own-name" in got
    assert len(entries) == 18


def test_a_pax_size_that_is_not_a_number_is_an_error_at_its_member() -> None:
    data = _member("a/first", b"1") + _pax_header({"path": "a/empty-size", "size": ""}) + _member("a/x", b"") + \
        bytes(1024)
    new, old = _both(lambda: io.BytesIO(data))
    assert new == old
    assert [e.name for e in new[0]] == ["a/first"]
    assert new[1] == "EvidenceError: t.tar: damaged tar: pax size ''"


def _tarfile_members(data: bytes) -> list[tuple[str, int, float, int, int]]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return [(m.name, m.size, float(m.mtime), m.mode, m.offset_data) for m in tf.getmembers()]


@pytest.mark.parametrize("archive", ["ustar", "gnu", "pax"])
def test_same_members_as_tarfile(archive: str) -> None:
    data = _all_archives()[archive]
    entries = list(scan_tar_headers(io.BytesIO(data), "t", None, []))
    # tarfile drops a folder's trailing slash and keeps a link's size as 0, as the kernel does for links
    ours = [(e.name.rstrip("/"), e.size, e.mtime, e.mode, e.offset_data) for e in entries]
    assert ours == _tarfile_members(data)


def _headers(data: bytes) -> list[int]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return [m.offset for m in tf.getmembers()]


@pytest.mark.parametrize("archive", ["ustar", "gnu", "pax"])
def test_a_damaged_checksum_stops_where_tarfile_stops(archive: str) -> None:
    data = _all_archives()[archive]
    for at in _headers(data)[1:]:
        broken = bytearray(data)
        broken[at + 5] ^= 0x01  # one bit of a name: the checksum no longer matches
        before = [m for m in _tarfile_members(data) if m[4] <= at]
        assert _tarfile_members(bytes(broken)) == before  # tarfile stops there, silently
        new, old = _both(lambda b=bytes(broken): io.BytesIO(b))  # type: ignore[misc]
        assert new == old
        assert new[1] == f"EvidenceError: t.tar: damaged tar: bad header checksum at offset {at}"
        assert [(e.name.rstrip("/"), e.size, e.mtime, e.mode, e.offset_data) for e in new[0]] == before


@pytest.mark.parametrize("stream", ["file", "trickle-700", "gzip", "xz"])
def test_cut_anywhere_as_the_reference(stream: str) -> None:
    data = _archive(tarfile.PAX_FORMAT)
    for cut in [*range(0, len(data), 97), *(o + d for o in _headers(data) for d in (0, 1, 511, 512, 513))]:
        new, old = _both(_streams(data[:cut])[stream])
        assert new == old, cut


def test_cut_short_inside_a_member_of_a_compressed_stream() -> None:
    data = _archive(tarfile.GNU_FORMAT)
    last = max(_headers(data))  # private/var/mobile/big-uid, one byte of data
    cut = data[: last + 512 + 200]
    lost = ("the archive is cut short: it ends after 14 member(s), before its end-of-archive marker, whose last "
            "member (private/var/mobile/big-uid) may be incomplete; members after that point are lost")
    new, old = _both(lambda: _Trickle(cut, 1000))  # a decompressor: a seek stops at its end
    assert new == old
    assert [e.name for e in new[0]][-1] == "private/var/mobile/big-uid" and len(new[0]) == 14
    assert new[1:] == ("EvidenceError: t.tar: member private/var/mobile/big-uid is cut short: the archive ends "
                       "inside it (truncated)", [lost])
    plain = _both(lambda: io.BytesIO(cut))  # a file seeks past its end: the cut is found at the next header
    assert plain[0] == plain[1]
    assert len(plain[0][0]) == 14 and plain[0][1:] == (None, [lost])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    archive=st.sampled_from(["ustar", "gnu", "pax", "hand-made"]),
    changes=st.lists(st.tuples(st.integers(min_value=0, max_value=20_000), st.integers(min_value=0, max_value=255)),
                     max_size=4),
    cut=st.one_of(st.none(), st.integers(min_value=0, max_value=20_000)),
    step=st.sampled_from([1, 100, 512, 4096, 1 << 20]),
    budget=st.one_of(st.none(), st.integers(min_value=0, max_value=20_000)),
    batch=st.sampled_from([None, 1, 3, 4096]),
)
def test_damaged_archives_as_the_reference(archive: str, changes: list[tuple[int, int]], cut: int | None, step: int,
                                            budget: int | None, batch: int | None) -> None:
    data = bytearray(_all_archives()[archive])
    for at, value in changes:
        if at < len(data):
            data[at] = value
    raw = bytes(data[:cut] if cut is not None else data)
    new, old = _both(lambda: _Trickle(raw, step), budget, batch)
    assert new == old
    new, old = _both(lambda: io.BytesIO(raw), budget, batch)
    assert new == old


@pytest.mark.parametrize("batch", [1, 2, 5, 64, 4096])
@pytest.mark.parametrize("archive", ["ustar", "gnu", "pax", "hand-made"])
def test_batches_hold_the_reference_entries_in_order(archive: str, batch: int) -> None:
    data = _all_archives()[archive]
    new, old = _both(lambda: io.BufferedReader(_Trickle(data, 700), buffer_size=4096), None, batch)
    assert new == old and new[1] is None
    cut = data[: len(data) * 2 // 3]  # ends inside the archive: the batches before, then the damage
    new, old = _both(lambda: io.BytesIO(cut), None, batch)
    assert new == old and new[2] != []


@pytest.mark.parametrize("stream", ["file", "trickle-700", "gzip"])
def test_gnu_pax_headers_as_the_reference(stream: str) -> None:
    # More pax headers than the kernel looks up among those checked before it stops (none repeats).
    data = _gnu_pax(300)
    new, old = _both(_streams(data)[stream])
    assert new == old and new[1:] == (None, [])
    entries = {e.name: e for e in cast(list[TarEntry], new[0])}
    assert len(entries) == 300
    assert entries["a/f0001"].mtime == 1700000001.123456789 and entries["a/f0001"].size == 1
    assert entries["a/" + "long-" * 30 + "7"].size == 2 and "a/f0007" not in entries
    assert entries["a/f0034"].size == 3  # (its pax size)
    for batch in (1, 64, 4096):
        assert _both(_streams(data)[stream], None, batch) == (new, old)


def test_a_damaged_gnu_pax_header_past_the_lookups_as_the_reference() -> None:
    data = _gnu_pax(300)
    starts = [at for at in range(0, len(data), 512) if data[at : at + 13] == b"./PaxHeaders/"]
    for at in (starts[0], starts[270], starts[299]):
        for change in (5, 130, 520):  # its name, its size field, its first record
            broken = bytearray(data)
            broken[at + change] ^= 0x01
            new, old = _both(lambda b=bytes(broken): io.BytesIO(b))  # type: ignore[misc]
            assert new == old


@settings(max_examples=200, deadline=None)
@given(
    fields=st.lists(st.sampled_from([b"0", b"7", b"1", b" ", b"\0", b"8", b"_", b"+", b"-", b"\t", b"\x80", b"\xff",
                                     b"\x40", b"a", b"\xc3"]), min_size=12, max_size=12).map(b"".join),
    which=st.sampled_from(["size", "mtime", "mode"]),
)
def test_any_numeric_field_as_the_reference(fields: bytes, which: str) -> None:
    if which == "size":
        member = _header("a/n", 0, size_field=fields) + bytes(1024)
    elif which == "mtime":
        member = _header("a/n", 0, mtime_field=fields) + bytes(1024)
    else:
        member = _header("a/n", 0, mode_field=fields[:8]) + bytes(1024)
    data = _member("a/first", b"1") + member + bytes(1024)
    new, old = _both(lambda: io.BytesIO(data))
    assert new == old


def test_a_checksum_off_by_the_adler_modulus_is_refused() -> None:
    """A header whose bytes sum past 65,521 (Adler-32's modulus) is summed exactly, not modulo."""
    header = bytearray(_header("a", 0))
    header[0:100] = header[157:257] = b"\xfe" * 100  # name and link name of high bytes,
    header[345:500] = b"\xfe" * 155  # and a prefix: more than 256 non-zero bytes in all
    header[148:156] = b"        "
    true_sum = sum(header)
    assert true_sum > 65521
    for claimed in (true_sum, true_sum - 65521):
        header[148:156] = b"%07o\0" % claimed
        data = bytes(header) + bytes(1024)
        new, old = _both(lambda d=data: io.BytesIO(d))  # type: ignore[misc]
        assert new == old
        assert (new[1] is None) == (claimed == true_sum)


def test_a_compressed_bomb_is_refused_before_its_data_is_read() -> None:
    """The budget is checked before a member's data is skipped: the stream is read at most a block past it."""
    bomb = _header("a/zeros", 200 * 1024 * 1024) + bytes(2 * 1024 * 1024)
    data = _member("a/first", b"1") + bomb
    stream = _Trickle(data, 1 << 20)
    with pytest.raises(LimitExceeded, match=r"member a/zeros \(209715200 bytes\) expands beyond"):
        list(scan_tar_headers(stream, "t", 10 * 1024 * 1024, []))
    assert stream.tell() <= 1024 + 1024 * 1024


def test_a_gzip_tar_through_the_checkpointing_reader(tmp_path: Path) -> None:
    data = _all_archives()["pax"]
    path = tmp_path / "a.tar.gz"
    path.write_bytes(gzip.compress(data, mtime=0))
    with indexing_reader(path, GzipCheckpoints(path, every=1024)) as stream:
        damage: list[str] = []
        new = _outcome(scan_tar_headers(stream, "t.tar", None, damage), damage)
    assert new == _outcome(_reference(io.BytesIO(data), "t.tar", None, []), [])


def test_extended_headers_before_one_member_are_bounded() -> None:
    """Their records are kept until the member they describe: however many headers there are, they hold at
    most a MiB between them (and the global ones of an archive as much), not the whole archive."""
    one = _pax_header({f"key{i}": "v" * 1000 for i in range(100)})  # 100 KiB of records
    first = _member("a/first", b"1")
    ten = first + one * 10 + _member("a/x", b"") + bytes(1024)
    entries, error, _ = _outcome(scan_tar_headers(io.BytesIO(ten), "t.tar", None, []), [])
    assert [e.name for e in entries] == ["a/first", "a/x"] and error is None
    eleven = first + one * 11 + _member("a/x", b"") + bytes(1024)
    entries, error, _ = _outcome(scan_tar_headers(io.BytesIO(eleven), "t.tar", None, []), [])
    assert [e.name for e in entries] == ["a/first"]
    assert error == (f"EvidenceError: t.tar: damaged tar: extended headers of more than 1048576 bytes before one "
                     f"member at offset {len(first) + 10 * len(one)}")
    spread = first + (one + _member("a/x", b"")) * 30 + bytes(1024)  # one before each member: no bound reached
    assert len(list(scan_tar_headers(io.BytesIO(spread), "t.tar", None, []))) == 31
    glob = _pax_header({f"key{i}": "v" * 1000 for i in range(100)}, b"g")
    archive = first + (glob + _member("a/x", b"")) * 11 + bytes(1024)
    entries, error, _ = _outcome(scan_tar_headers(io.BytesIO(archive), "t.tar", None, []), [])
    assert len(entries) == 11
    assert error == (f"EvidenceError: t.tar: damaged tar: global extended headers of more than 1048576 bytes at "
                     f"offset {len(first) + 10 * (len(glob) + 512)}")
