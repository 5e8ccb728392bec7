"""Each value converter keeps to the one rule its name says, on every awkward input evidence can hold."""

from __future__ import annotations

import pytest

from preuve.artifacts.values import (
    as_bool_int,
    as_bool_plist,
    as_bool_word,
    as_float,
    as_int,
    as_int_digits,
    as_int_strict,
    as_str,
    as_text,
    plist_text,
    text_or_number,
)

NAN, INF = float("nan"), float("inf")
HUGE = 2**80
# The awkward inputs every converter is tried on: bool, float, digits as text, bytes, NaN, huge ints, None.
AWKWARD = (True, False, 0, 7, -3, 2.0, 2.5, NAN, INF, HUGE, -(2**63) - 1, "7", " 7 ", "-7", "x", "", b"7",
           b"\xff", None, [1], {"a": 1})


def table(converter: object) -> list[object]:
    return [converter(value) for value in AWKWARD]  # type: ignore[operator]


def test_as_text() -> None:
    assert table(as_text) == [None, None, None, None, None, None, None, None, None, None, None, "7", " 7 ", "-7",
                              "x", None, "7", "\\xff", None, None, None]
    assert as_text("abcdef", 3) == "abc" and as_text(b"abcdef", 3) == "abc"
    assert as_text(bytearray(b"ok")) == "ok" and as_text(memoryview(b"ok")) == "ok"


def test_as_str() -> None:
    assert table(as_str) == [None, None, None, None, None, None, None, None, None, None, None, "7", " 7 ", "-7",
                             "x", "", None, None, None, None, None]


def test_plist_text() -> None:
    assert table(plist_text) == [None, None, None, None, None, None, None, None, None, None, None, "7", "7", "-7",
                                 "x", None, None, None, None, None, None]
    assert (plist_text(" x\x00y "), plist_text("\x00"), plist_text("abcdef", 3)) == ("xy", None, "abc")


def test_text_or_number() -> None:
    assert table(text_or_number) == [None, None, "0", "7", "-3", "2.0", "2.5", "nan", "inf", str(HUGE),
                                     str(-(2**63) - 1), "7", " 7 ", "-7", "x", "", None, None, None, None, None]


def test_as_int() -> None:
    assert table(as_int) == [1, 0, 0, 7, -3, 2, None, None, None, None, None, None, None, None, None, None, None,
                             None, None, None, None]
    assert (as_int(2**64 - 1), as_int(2**64), as_int(-(2**63)), as_int(1.8446744073709552e19)) == (
        2**64 - 1, None, -(2**63), None)


def test_as_int_strict() -> None:
    assert table(as_int_strict) == [None, None, 0, 7, -3, None, None, None, None, HUGE, -(2**63) - 1, None, None,
                                    None, None, None, None, None, None, None, None]


def test_as_int_digits() -> None:
    assert table(as_int_digits) == [None, None, 0, 7, -3, None, None, None, None, HUGE, -(2**63) - 1, 7, 7, -7,
                                    None, None, None, None, None, None, None]
    # Not digits for Python's int(): two minus signs, other scripts' digits, and more digits than it converts.
    assert (as_int_digits("--5"), as_int_digits("²"), as_int_digits("1" * 5000)) == (None, None, None)


def test_as_float() -> None:
    assert table(as_float) == [None, None, 0.0, 7.0, -3.0, 2.0, 2.5, None, None, float(HUGE), float(-(2**63) - 1),
                               None, None, None, None, None, None, None, None, None, None]
    assert as_float(10**400) is None  # beyond a float: no output could write it


def test_as_bool_int() -> None:
    assert table(as_bool_int) == [True, False, False, True, True, True, None, None, None, None, None, None, None,
                                  None, None, None, None, None, None, None, None]


def test_as_bool_word() -> None:
    assert table(as_bool_word) == [True, False] + [None] * 19
    assert (as_bool_word("TRUE"), as_bool_word("False"), as_bool_word("yes")) == (True, False, None)


def test_as_bool_plist() -> None:
    assert table(as_bool_plist) == [True, False, False, None, None, None, None, None, None, None, None, None, None,
                                    None, None, None, None, None, None, None, None]
    assert [as_bool_plist(v) for v in (1, " YES ", "no", "1", "0", "maybe")] == [True, True, False, True, False, None]


@pytest.mark.parametrize("converter", [as_text, as_str, plist_text, text_or_number, as_int, as_int_strict,
                                       as_int_digits, as_float, as_bool_int, as_bool_word, as_bool_plist])
def test_no_converter_raises(converter: object) -> None:
    for value in (*AWKWARD, object(), b"\x00" * 10, 10**400, -(10**400), "9" * 5000, memoryview(b"\xff")):
        converter(value)  # type: ignore[operator]
