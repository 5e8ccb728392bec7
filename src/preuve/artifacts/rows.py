"""Small helpers for reading rows of evidence databases whose schema varies.

Apps and iOS versions add, rename and drop columns; an artifact names the
columns it would like and gets ``NULL`` for those a database lacks, so one
query works on every version. Values are narrowed defensively: a column that
should hold text may hold a blob or a number in a hostile or damaged file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from preuve.indicators.normalize import extract_urls

_CONTAINER = re.compile(r"^/private/var/mobile/Containers/(?:Data/Application|Shared/AppGroup|Data/PluginKitPlugin)/([^/]+)/")


def pick(columns: set[str], alias: str, names: Sequence[str]) -> str:
    """``alias.name AS name`` for each name the table has, ``NULL AS name`` for the others."""
    return ", ".join(f"{alias}.{name} AS {name}" if name in columns else f"NULL AS {name}" for name in names)


def text(value: object, limit: int = 1_000_000) -> str | None:
    """A string from a cell (UTF-8 blobs decoded leniently), or None."""
    if isinstance(value, str):
        out = value
    elif isinstance(value, (bytes, bytearray, memoryview)):
        out = bytes(value[:limit]).decode("utf-8", "backslashreplace")
    else:
        return None
    return out[:limit] if out else None


def integer(value: object) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def flag(value: object) -> bool | None:
    number_value = integer(value)
    return None if number_value is None else number_value != 0


def unique(values: Iterable[str]) -> tuple[str, ...]:
    """Values in first-seen order, without repeats or empties."""
    seen: dict[str, None] = {}
    for value in values:
        if value:
            seen.setdefault(value, None)
    return tuple(seen)


def links_in(*texts: str | None) -> tuple[str, ...]:
    """Every link written in any of the texts, deduplicated in order."""
    return unique(url for t in texts if t for url in extract_urls(t))


def container_of(device_path: str) -> str | None:
    """The app container (bundle id in a backup, UUID in a dump) a device path lies in."""
    match = _CONTAINER.match(device_path)
    return match.group(1) if match else None
