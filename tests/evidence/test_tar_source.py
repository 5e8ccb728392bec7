"""The tar source's member index: names through the policy's sanitizer, offsets and sizes as stored."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preuve.evidence.errors import EvidenceError
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.evidence.policy import archive_member_name
from preuve.evidence.sources.base import Source
from preuve.evidence.sources.tar import TarSource, safe_names

_PARTS = st.sampled_from(["a", "b", "private", "var", ".", "..", "", " ", "C:", "c:x", "\\", "a\\b", "\0", "é", "x.y",
                          "..a", "a..", "/"])


@settings(max_examples=500, deadline=None)
@given(names=st.lists(st.lists(_PARTS, max_size=6).map("/".join), max_size=12))
def test_safe_names_are_the_policy_s(names: list[str]) -> None:
    safe = safe_names()
    for raw in [*names, *names]:  # the second time through the folders already seen
        assert safe(raw) == archive_member_name(raw), raw


def _header(name: str, size_field: bytes) -> bytes:
    header = bytearray(512)
    header[0 : len(name)] = name.encode()
    header[100:108] = b"0000644\0"
    header[124:136] = size_field
    header[136:148] = b"14556025400\0"
    header[156:157] = b"0"
    header[257:265] = b"ustar  \0"
    header[148:156] = b"        "
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def test_members_and_their_bytes(tmp_path: Path) -> None:
    path = tmp_path / "d.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in [("private/var/a", b"first"), ("./private//var/b", b"second" * 1000),
                           ("private/var/a", b"again"), ("../escape", b"no"), ("private/var/" + "é" * 90, b"long"), ("top", b"at the root"),
                           ("private/var/c/a", b"a leaf named as another folder's")]:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_700_000_000.5
            tf.addfile(info, io.BytesIO(data))
    source = TarSource(path, DEFAULT_LIMITS)
    try:
        members = list(source.members())
        assert [(m.name, m.type, m.size, m.mtime) for m in members] == [
            ("private/var/a", "file", 5, 1_700_000_000.5),
            ("private/var/b", "file", 6000, 1_700_000_000.5),
            ("private/var/a", "file", 5, 1_700_000_000.5),
            ("private/var/" + "é" * 90, "file", 4, 1_700_000_000.5),
            ("top", "file", 11, 1_700_000_000.5),
            ("private/var/c/a", "file", 32, 1_700_000_000.5),
        ]
        assert source.refused == ["../escape"]
        assert source.open("private/var/a", "a").read() == b"first"  # the first copy of a name
        assert source.open("private/var/b", "b").read() == b"second" * 1000
        assert source.open("private/var/" + "é" * 90, "l").read() == b"long"
        assert source.open("top", "t").read() == b"at the root"
        assert source.open("private/var/c/a", "c").read() == b"a leaf named as another folder's"
        with pytest.raises(EvidenceError, match="not a regular file"):
            source.open("private/var", "v")
    finally:
        source.close()


def test_a_size_past_64_bits_is_kept_and_read_as_cut_short(tmp_path: Path) -> None:
    """A base-256 size of 2**80 bytes (a damaged or hostile header) is listed as declared, named as cut
    short, and reading it fails on its own."""
    path = tmp_path / "huge.tar"
    path.write_bytes(_header("a/huge", b"\x80" + (2**80).to_bytes(11, "big")) + b"data" + bytes(2044))
    source = TarSource(path, DEFAULT_LIMITS)
    try:
        [member] = list(source.members())
        assert (member.name, member.size) == ("a/huge", 2**80)
        assert source.damaged[0] == (f"huge.tar: member a/huge is cut short ({2**80} bytes declared, 2048 present): "
                                     "the archive is truncated")
        with pytest.raises(EvidenceError, match=r"^a/huge: damaged or cut short inside its archive \(unexpected end "
                                                r"of data\)$"):
            source.open("a/huge", "a/huge").read()
    finally:
        source.close()


def _tar_of(path: Path, members: list[tuple[str, bytes | None]], mode: str = "w") -> Path:
    """A tar of these members (a folder where the bytes are None), in order."""
    with tarfile.open(path, mode) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tf.addfile(info)
            else:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return path


# Members of every sort an archive's reading by place must get right: a folder, a name twice (the first
# stands), a refused name, a long path, an empty file, an absolute name.
ARCHIVE_MEMBERS: list[tuple[str, bytes | None]] = [
    ("private/var/mobile/", None),
    ("private/var/mobile/a.txt", b"first a"),
    ("../escape.txt", b"refused"),
    ("private/var/mobile/" + "long/" * 40 + "deep.txt", b"deep"),
    ("private/var/mobile/a.txt", b"second a"),
    ("private/var/mobile/empty", b""),
    ("/private/var/mobile/abs.txt", b"absolute"),
]


def assert_read_by_place_as_by_name(source: Source) -> None:
    """ARCHIVE_MEMBERS listed by `source`: each member read by its place in the listing (as the mount
    reads it) and by its name (the first of that name), the folder not a regular file, the bad name
    refused."""
    listed = list(source.members())
    by_place = {}
    for ref, member in enumerate(listed):
        if member.type == "file":
            with source.open_member(ref, member.name, member.name) as stream:
                by_place[ref] = stream.read()
        else:
            with pytest.raises(EvidenceError, match="not a regular file"):
                source.open_member(ref, member.name, member.name)
    assert [(m.name, by_place.get(ref)) for ref, m in enumerate(listed)] == [
        ("private/var/mobile", None),
        ("private/var/mobile/a.txt", b"first a"),
        ("private/var/mobile/" + "long/" * 40 + "deep.txt", b"deep"),
        ("private/var/mobile/a.txt", b"second a"),  # (the mount keeps the first of a name)
        ("private/var/mobile/empty", b""),
        ("private/var/mobile/abs.txt", b"absolute"),
    ]
    for name, expected in [("private/var/mobile/a.txt", b"first a"), ("private/var/mobile/abs.txt", b"absolute"),
                           ("private/var/mobile/" + "long/" * 40 + "deep.txt", b"deep")]:
        with source.open(name, name) as stream:
            assert stream.read() == expected
    with pytest.raises(EvidenceError, match="not a regular file"):
        source.open("private/var/mobile", "x")
    assert source.refused == ["../escape.txt"]


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2"])
def test_a_member_read_by_its_place_is_the_one_read_by_its_name(tmp_path: Path, mode: str) -> None:
    """The mount reads a member by its place in the listing (two numbers kept a member); what asks for
    it by name reads the first of that name, from the headers read again; the same bytes."""
    path = _tar_of(tmp_path / f"dump.{mode.replace('w:', 'tar.') if ':' in mode else 'tar'}", ARCHIVE_MEMBERS, mode)
    source = TarSource(path, DEFAULT_LIMITS)
    try:
        assert_read_by_place_as_by_name(source)
    finally:
        source.close()
