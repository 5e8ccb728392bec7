"""Value converters: a cell, plist value or JSON value narrowed to the type a record holds, or None.

Evidence is hostile: a column meant for text may hold a blob or a number, a
plist may hold a date where a number is expected, a JSON file a string of
digits. Each converter has one rule, spelled by its name, and returns None for
anything it does not accept (never raises, never invents a value). Times are
converted by :mod:`preuve.artifacts.timeconv` (``from_cocoa``, ``from_unix``,
``from_webkit``).

=================  =====================================================================
``as_text``        str, or UTF-8 bytes decoded leniently; cut at `limit`; empty -> None
``as_str``         a str as it is (even empty); nothing else
``plist_text``     str without NULs, stripped, cut at `limit`; empty -> None
``text_or_number`` str as it is, or an int/float written out (JSON values)
``as_int``         int, bool as 0/1, or a whole finite float; within 64 bits
``as_int_strict``  an int that is not a bool; nothing else
``as_int_digits``  int (not bool), or a str of decimal digits (JSON values)
``as_float``       int or float (not bool), finite
``as_bool_int``    a whole number (``as_int``): 0 -> False, anything else -> True
``as_bool_word``   bool, or the str "true"/"false" in any case (JSON values)
``as_bool_plist``  bool, int 0/1, or "true/yes/1" / "false/no/0" (preference files)
=================  =====================================================================
"""

from __future__ import annotations

import math

# The integers every output can write (and a plist can hold): signed and unsigned 64-bit.
INT_MIN, INT_MAX = -(2**63), 2**64 - 1
MAX_PLIST_TEXT = 4096  # longest string kept from a plist field


def as_text(value: object, limit: int = 1_000_000) -> str | None:
    """A str, or bytes decoded as UTF-8 (each invalid byte kept as ``\\xNN``), cut at `limit`; None
    for an empty string and for any other type."""
    if isinstance(value, str):
        out = value
    elif isinstance(value, (bytes, bytearray, memoryview)):
        out = bytes(value[:limit]).decode("utf-8", "backslashreplace")
    else:
        return None
    return out[:limit] if out else None


def as_str(value: object) -> str | None:
    """The value itself when it is a str (an empty one included), else None."""
    return value if isinstance(value, str) else None


def plist_text(value: object, limit: int = MAX_PLIST_TEXT) -> str | None:
    """A str without NUL characters, stripped and cut at `limit`; None when empty or not a str."""
    if not isinstance(value, str):
        return None
    cleaned = value.replace("\x00", "").strip()
    return cleaned[:limit] if cleaned else None


def text_or_number(value: object) -> str | None:
    """A str as it is, or an int or float written in decimal (a bool is neither)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def as_int(value: object) -> int | None:
    """An int, a bool as 0 or 1, or a finite float with no fraction; None outside the 64-bit range."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value if INT_MIN <= value <= INT_MAX else None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        whole = int(value)
        return whole if INT_MIN <= whole <= INT_MAX else None
    return None


def as_int_strict(value: object) -> int | None:
    """An int that is not a bool (a float, however whole, is not accepted)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_int_digits(value: object) -> int | None:
    """An int (not a bool), or a str of decimal digits with an optional minus sign and blanks around."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.lstrip("-").isdigit() and stripped.count("-") <= 1 and stripped.isascii():
            try:
                return int(stripped)
            except ValueError:  # more digits than Python converts
                return None
    return None


def as_float(value: object) -> float | None:
    """An int or float (not a bool) as a float; None for NaN and infinities (no output can write them)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        result = float(value)
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def as_bool_int(value: object) -> bool | None:
    """A 0/1 column as a bool: a whole number (as :func:`as_int` reads it) is True unless it is 0."""
    number = as_int(value)
    return None if number is None else number != 0


def as_bool_word(value: object) -> bool | None:
    """A bool, or the str "true" or "false" (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def as_bool_plist(value: object) -> bool | None:
    """A bool, an int 0 or 1, or "true"/"yes"/"1" and "false"/"no"/"0" (any case, blanks around)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.strip().lower() in ("true", "yes", "1")
    return None
