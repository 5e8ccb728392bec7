"""The zip central directory kernel (formats/zipdir.py) against zipfile: the same members, fields and bytes
on zips written every way zipfile writes them, and NotTaken wherever zipfile refuses a zip."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preuve.evidence.formats.zipdir import NotTaken, read_directory

_FIELDS = ("filename", "orig_filename", "flag_bits", "compress_type", "date_time", "CRC", "compress_size",
           "file_size", "header_offset", "external_attr", "create_system", "create_version", "extract_version")


class _Unseekable(io.RawIOBase):
    """A stream zipfile cannot seek in: it writes data descriptors (flag bit 3)."""

    def __init__(self, out: io.BytesIO) -> None:
        self.out = out

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        return self.out.write(data)


def _zip(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED, comment: bytes = b"",
         prefix: bytes = b"", zip64: bool = False, streamed: bool = False, utf8_cp437: bool = False) -> bytes:
    out = io.BytesIO()
    out.write(prefix)
    target: io.BytesIO | _Unseekable = _Unseekable(out) if streamed else out
    with zipfile.ZipFile(target, "w", method) as archive:  # type: ignore[arg-type]
        for name, data in members:
            info = zipfile.ZipInfo(name, (2023, 6, 1, 12, 30, 58))
            info.compress_type = method
            info.external_attr = (0o40755 if name.endswith("/") else 0o100644) << 16
            info.comment = b"member note" if name.startswith("c") else b""
            if utf8_cp437:
                info.flag_bits &= ~0x800
            with archive.open(info, "w", force_zip64=zip64) as member:
                member.write(data)
        archive.comment = comment
    return out.getvalue()


def _same(data: bytes, read: bool = True) -> None:
    expected = zipfile.ZipFile(io.BytesIO(data)).infolist()
    found = read_directory(io.BytesIO(data))
    assert len(found) == len(expected)
    assert found.names == [info.filename for info in expected]
    for index, info in enumerate(expected):
        made = found.info(index)
        assert {f: getattr(made, f) for f in _FIELDS} == {f: getattr(info, f) for f in _FIELDS}
        if read:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                assert archive.open(made).read() == archive.open(info).read()  # (zipfile's reader, on our info)


MEMBERS = [("private/", b""), ("private/var/a.txt", b"a" * 5000), ("c/été.db", b"\x00\x01" * 300),
           ("private/var/empty", b"")]


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_every_method(method: int) -> None:
    _same(_zip(MEMBERS, method))


@pytest.mark.parametrize("shape", [
    {"comment": b"an archive comment"},
    {"prefix": b"#!/bin/sh\nexit 0\n" * 10},  # (data before the zip: zipfile's "concat")
    {"zip64": True},
    {"zip64": True, "prefix": b"x" * 100},
    {"streamed": True},  # (data descriptors)
    {"utf8_cp437": True},
])
def test_every_shape(shape: dict[str, object]) -> None:
    _same(_zip(MEMBERS, **shape))  # type: ignore[arg-type]


def test_a_directory_offset_past_the_end_lists_as_zipfile_lists_it() -> None:
    """zipfile lists such a zip (each member's header offset then lies before the file's start) and
    fails only when a member is read: so are they listed here."""
    good = _zip(MEMBERS)
    end = good.rfind(b"PK\x05\x06")
    _same(good[:end + 16] + (0xFFFFFFF0).to_bytes(4, "little") + good[end + 20:], read=False)


def test_names_cut_at_a_nul_and_no_member() -> None:
    _same(_zip([("a\x00b.txt", b"x"), ("ok", b"y")]))
    _same(_zip([]))


@settings(max_examples=60, deadline=None)
@given(names=st.lists(st.text(min_size=1, max_size=12), min_size=0, max_size=6, unique=True),
       method=st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
def test_any_names(names: list[str], method: int) -> None:
    _same(_zip([(name, name.encode("utf-8", "surrogatepass")) for name in names], method))


def _refusals(good: bytes) -> list[bytes]:
    end = good.rfind(b"PK\x05\x06")
    first = good.find(b"PK\x01\x02")
    return [
        b"",
        b"not a zip at all",
        good[:-5],  # the end record cut
        good[:first + 10] + good[end:],  # a central directory entry cut short
        good[:first] + b"XX\x01\x02" + good[first + 4:],  # a bad entry signature
        _zip(MEMBERS, comment=b"PK\x05\x06 looks like an end record"),  # (zipfile takes it for the end)
    ]


def test_what_zipfile_refuses_is_not_taken(tmp_path: Path) -> None:
    good = _zip(MEMBERS)
    for index, bad in enumerate(_refusals(good)):
        with pytest.raises((zipfile.BadZipFile, ValueError, OSError)):
            zipfile.ZipFile(io.BytesIO(bad)).infolist()
        with pytest.raises(NotTaken):
            read_directory(io.BytesIO(bad))
        assert index >= 0


def test_a_newer_zip_version_is_left_to_zipfile() -> None:
    data = bytearray(_zip([("a", b"x")]))
    entry = data.find(b"PK\x01\x02")
    data[entry + 6] = 64  # (extract version 6.4: zipfile raises NotImplementedError)
    with pytest.raises(NotImplementedError):
        zipfile.ZipFile(io.BytesIO(bytes(data)))
    with pytest.raises(NotTaken):
        read_directory(io.BytesIO(bytes(data)))


def test_more_entries_than_the_end_record_declares_are_bounded(tmp_path: Path) -> None:
    """The member count checked before a zip is listed is the one its end record declares; a directory
    holding more entries than that is stopped at the limit, not listed whole."""
    from preuve.evidence.errors import AcquisitionError, LimitExceeded
    from preuve.evidence.limits import Limits
    from preuve.evidence.sources.zip import ZipSource

    data = bytearray(_zip([(f"private/var/f{index}", b"x") for index in range(50)]))
    end = data.rfind(b"PK\x05\x06")
    data[end + 8 : end + 12] = (3).to_bytes(2, "little") * 2  # (declares 3 entries, holds 50)
    with pytest.raises(LimitExceeded, match="more than 10 entries"):
        read_directory(io.BytesIO(bytes(data)), "z", max_entries=10)
    assert len(read_directory(io.BytesIO(bytes(data)))) == 50
    path = tmp_path / "z.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(AcquisitionError, match="more than 10 entries"):
        ZipSource(path, Limits(max_archive_entries=10))
