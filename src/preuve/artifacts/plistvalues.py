"""Defensive reading of decoded plist values, and key paths that locate them.

A plist from a phone an attacker controlled can hold any type anywhere: a
string where a dictionary is expected, a date where a number is. These
helpers narrow a value to the type an artifact expects or give None, so the
artifact can warn and go on instead of crashing.

Key paths follow JSON Pointer (RFC 6901): ``/netUsageBaseline/bh`` with
``~`` written ``~0`` and ``/`` written ``~1`` inside a key, because plist keys
here are often file paths (``/usr/libexec/x``) and must stay unambiguous.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import datetime

from preuve.artifacts.timeconv import from_cocoa, from_unix
from preuve.evidence.formats.plists import PlistValue, plist_datetime

MAX_TEXT = 4096  # longest string kept from a plist field (longer values are cut)


def key_path(*parts: str | int) -> str:
    """A JSON Pointer to a value inside a plist."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def text(value: PlistValue, limit: int = MAX_TEXT) -> str | None:
    """A plist string without NULs, bounded in length; None for any other type or an empty string."""
    if not isinstance(value, str):
        return None
    cleaned = value.replace("\x00", "").strip()
    return cleaned[:limit] if cleaned else None


# The integers a plist can hold (and every output can write): signed and unsigned 64-bit.
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


def integer(value: PlistValue) -> int | None:
    """An integer value, or None (a float that is no whole number, or outside the 64-bit range)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value if _INT_MIN <= value <= _INT_MAX else None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        whole = int(value)
        return whole if _INT_MIN <= whole <= _INT_MAX else None
    return None


def number(value: PlistValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def boolean(value: PlistValue) -> bool | None:
    """A plist boolean (also 0/1 integers and "true"/"false" strings, which preference files hold)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.strip().lower() in ("true", "yes", "1")
    return None


def cocoa_date(value: PlistValue) -> datetime | None:
    """A plist date, or a number of seconds since 2001 (how most Apple plists store times)."""
    when = plist_datetime(value)
    if when is not None:
        return when if 1990 <= when.year < 2100 else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return from_cocoa(value)
    return None


def unix_date(value: PlistValue) -> datetime | None:
    """A plist date, or a number of seconds since 1970."""
    when = plist_datetime(value)
    if when is not None:
        return when if 1990 <= when.year < 2100 else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return from_unix(value)
    return None


def string_items(value: PlistValue) -> Iterator[tuple[str, PlistValue]]:
    """The (key, value) pairs of a dictionary whose keys are strings (plists allow only those)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                yield key, item


def walk_strings(value: PlistValue, max_items: int = 100_000) -> Iterator[tuple[tuple[str | int, ...], str | None, str]]:
    """Every string inside a value as (key path parts, the key holding it, the string), bounded in count.

    Depth is already bounded by the plist loader; the count bound keeps one
    huge payload from dominating a run.
    """
    stack: list[tuple[tuple[str | int, ...], str | None, PlistValue]] = [((), None, value)]
    seen = 0
    while stack and seen < max_items:
        parts, key, item = stack.pop()
        seen += 1
        if isinstance(item, str):
            yield parts, key, item
        elif isinstance(item, Mapping):
            children = [(parts + (k,), k, v) for k, v in string_items(item)]
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(reversed([(parts + (i,), key, v) for i, v in enumerate(item)]))
