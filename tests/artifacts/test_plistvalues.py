from __future__ import annotations

from datetime import UTC, datetime

from preuve.artifacts.plistvalues import cocoa_date, key_path, unix_date, walk_strings
from preuve.artifacts.values import as_bool_plist as boolean
from preuve.artifacts.values import as_float as number
from preuve.artifacts.values import as_int as integer
from preuve.artifacts.values import plist_text as text


def test_key_path_escapes_slashes_and_tildes() -> None:
    assert key_path("netUsageBaseline", "bh") == "/netUsageBaseline/bh"
    assert key_path("/usr/libexec/x", 3) == "/~1usr~1libexec~1x/3"
    assert key_path("a~b") == "/a~0b"


def test_narrowing() -> None:
    assert (text(" x\x00y "), text(5), text(""), text("abcdef", 3)) == ("xy", None, None, "abc")
    assert (integer(True), integer(7), integer(2.0), integer(2.5), integer("7")) == (1, 7, 2, None, None)
    assert (number(1), number(float("nan")), number(True), number("1")) == (1.0, None, None, None)
    assert [boolean(v) for v in (True, 0, 1, 2, "YES", "false", "maybe", None)] == [
        True, False, True, None, True, False, None, None]


def test_dates() -> None:
    assert cocoa_date(0.0) is None
    assert cocoa_date(704_800_000) == datetime(2023, 5, 3, 9, 46, 40, tzinfo=UTC)
    assert cocoa_date(datetime(2023, 5, 1)) == datetime(2023, 5, 1, tzinfo=UTC)
    assert cocoa_date(datetime(1900, 1, 1)) is None
    assert cocoa_date(1e300) is None
    assert cocoa_date("704800000") is None
    assert unix_date(1_682_932_000) == datetime(2023, 5, 1, 9, 6, 40, tzinfo=UTC)


def test_walk_strings_is_bounded_and_ordered() -> None:
    value = {"a": ["x", {"b": "y"}], "c": 1, "d": "z"}
    assert list(walk_strings(value)) == [(("a", 0), "a", "x"), (("a", 1, "b"), "b", "y"), (("d",), "d", "z")]
    assert len(list(walk_strings(["s"] * 100, max_items=10))) == 9


def test_integer_keeps_to_the_64_bit_range() -> None:
    """A plist float beyond 2**64 (an absurd IDStatus, say) is no integer: every output must write it."""
    assert integer(1.8446744073709552e19) is None
    assert integer(2**64 - 1) == 2**64 - 1 and integer(2**64) is None
    assert integer(-(2**63)) == -(2**63) and integer(-(2**63) - 1) is None
    assert integer(3.0) == 3 and integer(3.5) is None and integer(True) == 1
