"""Defensive reading of decoded plist values, and key paths that locate them.

A plist from a phone an attacker controlled can hold any type anywhere: a
string where a dictionary is expected, a date where a number is. These
helpers read dates and walk structures; scalars are narrowed by
:mod:`preuve.artifacts.values` (``plist_text``, ``as_int``…), so an artifact
can warn and go on instead of crashing.

Key paths follow JSON Pointer (RFC 6901): ``/netUsageBaseline/bh`` with
``~`` written ``~0`` and ``/`` written ``~1`` inside a key, because plist keys
here are often file paths (``/usr/libexec/x``) and must stay unambiguous.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from preuve.artifacts.timeconv import from_cocoa, from_unix
from preuve.evidence.formats.plists import PlistValue, plist_datetime


def key_path(*parts: str | int) -> str:
    """A JSON Pointer to a value inside a plist."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


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
