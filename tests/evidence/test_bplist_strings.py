"""bplist_strings reads the strings and data of a binary plist without plistlib: on every plist
plistlib writes it finds exactly the strings and data plistlib decodes, and on anything else it
gives up (None) or returns values, never raises."""

from __future__ import annotations

import plistlib
import struct
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from preuve.evidence.formats.plists import bplist_strings

_text = st.text(max_size=40).filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t))
_values = st.recursive(
    st.one_of(_text, st.integers(-(2**63), 2**63 - 1), st.booleans(), st.binary(max_size=40), st.floats(allow_nan=False),
              st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1))),
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(_text, inner, max_size=6)),
    max_leaves=40,
)


def _decoded(value: object) -> set[object]:
    """Every string (keys too) and data object in a decoded plist."""
    found: set[object] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            found.add(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


@settings(max_examples=400, deadline=None, derandomize=True)
@given(_values)
def test_finds_what_plistlib_decodes(value: object) -> None:
    blob = plistlib.dumps({"root": value}, fmt=plistlib.FMT_BINARY)
    strings = bplist_strings(blob, 100_000)
    assert strings is not None
    assert set(strings) == _decoded(plistlib.loads(blob))


def test_link_preview_archive_strings_in_object_order() -> None:
    archive = {
        "$archiver": "NSKeyedArchiver", "$version": 100000, "$top": {"root": plistlib.UID(1)},
        "$objects": ["$null", {"URL": plistlib.UID(2), "title": plistlib.UID(3)},
                     "https://evil.example/x" + "y" * 30, "Titre é"],
    }
    strings = bplist_strings(plistlib.dumps(archive, fmt=plistlib.FMT_BINARY), 100_000)
    assert strings is not None
    assert "https://evil.example/x" + "y" * 30 in strings and "Titre é" in strings
    assert strings.index("$null") < strings.index("Titre é")


def test_only_the_first_objects_are_looked_at() -> None:
    blob = plistlib.dumps([f"s{i}" for i in range(50)], fmt=plistlib.FMT_BINARY)
    # The array is object 0; the strings follow it.
    assert bplist_strings(blob, 10) == [f"s{i}" for i in range(9)]


def _with_trailer(body: bytes, offset_size: int, count: int, table: int) -> bytes:
    return body + struct.pack(">6xBBQQQ", offset_size, 1, count, 0, table)


def test_gives_up_on_what_it_is_not_sure_of() -> None:
    blob = plistlib.dumps(["https://a.example/", "été"], fmt=plistlib.FMT_BINARY)
    assert bplist_strings(b"<?xml", 10) is None
    assert bplist_strings(blob[:-1], 10) is None  # truncated: no trailer
    assert bplist_strings(b"bplist00", 10) is None
    # An offset table lying beyond the blob, or offsets pointing outside the objects.
    assert bplist_strings(_with_trailer(b"bplist00\x51a" + b"\x08", 1, 1, 10_000), 10) is None
    assert bplist_strings(_with_trailer(b"bplist00\x51a" + b"\xff", 1, 1, 10), 10) is None
    # A string longer than the blob; a UTF-16 string with a lone surrogate; a UTF-8 string (type 7).
    assert bplist_strings(_with_trailer(b"bplist00\x5f\x10\xff" + b"\x08", 1, 1, 11), 10) is None
    assert bplist_strings(_with_trailer(b"bplist00\x61\xd8\x00" + b"\x08", 1, 1, 11), 10) is None
    assert bplist_strings(_with_trailer(b"bplist00\x71a" + b"\x08", 1, 1, 10), 10) is None
    # A sound one-object plist, by hand: found.
    assert bplist_strings(_with_trailer(b"bplist00\x51a" + b"\x08", 1, 1, 10), 10) == ["a"]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_values, st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
       st.none() | st.integers(0, 400))
def test_damaged_plists_never_raise(value: object, flips: list[tuple[int, int]], cut: int | None) -> None:
    data = bytearray(plistlib.dumps({"root": value}, fmt=plistlib.FMT_BINARY))
    for position, byte in flips:
        data[position % len(data)] = byte
    result = bplist_strings(bytes(data[:cut] if cut is not None else data), 1_000)
    assert result is None or all(isinstance(item, (str, bytes)) for item in result)
