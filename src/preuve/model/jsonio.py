"""JSON encoding of preuve's typed values, fast and canonical.

orjson serialises dataclasses, enums and datetimes natively and is several
times faster than the standard library on the millions of records a large
backup yields; the small `_default` covers what it does not know (bytes).
"""

from __future__ import annotations

import base64
import copy
import math
import re
from collections.abc import Iterable
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO

import orjson

_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"cannot encode {type(value).__name__}")


_SMALLEST, _LARGEST = -(2**63), 2**64 - 1  # the integers orjson writes


_SURROGATE = re.compile("[\ud800-\udfff]")


def _encodable(value: Any) -> Any:
    """`value` with what orjson refuses without asking `_default` made writable: each integer beyond 64
    bits as its decimal text, each lone surrogate of a string as its escape text (``\\udcff``).
    Dataclasses stay dataclasses (a copy, its fields replaced), so orjson writes their fields as it
    always does (in their order, never sorted)."""
    if type(value) is int:
        return value if _SMALLEST <= value <= _LARGEST else str(value)
    if type(value) is str:
        if _SURROGATE.search(value) is None:
            return value
        return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", value)
    if is_dataclass(value) and not isinstance(value, type):
        clone = copy.copy(value)
        for field in fields(value):
            object.__setattr__(clone, field.name, _encodable(getattr(value, field.name)))
        return clone
    if isinstance(value, dict):
        return {_encodable(key): _encodable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encodable(item) for item in value]
    return value


def encode(value: Any, option: int) -> bytes:
    """orjson's JSON of `value`, with `_default` for what orjson does not know. What orjson refuses
    without asking `_default` is written rather than failing the record: an integer beyond 64 bits (a
    hostile size in an archive header, a damaged database's value) as its decimal text, a lone surrogate
    (a name or an escape that was not UTF-8, where a reader let it through) as its escape text."""
    try:
        return orjson.dumps(value, default=_default, option=option)
    except TypeError as exc:
        reason = str(exc)
        if "64-bit" not in reason and "surrogates" not in reason:
            raise
        return orjson.dumps(_encodable(value), default=_default, option=option)


def dumps(value: Any, *, indent: bool = False) -> bytes:
    option = _OPTIONS | orjson.OPT_SORT_KEYS
    if indent:
        option |= orjson.OPT_INDENT_2
    return encode(value, option)


def write_indented(stream: BinaryIO, document: dict[str, Any], key: str, items: Iterable[Any]) -> None:
    """Write ``dumps({**document, key: list(items)}, indent=True)``, byte for byte (tested), taking the
    items one at a time: a document of many findings (a hostile phone can make a million) is never
    held whole as values and as bytes at once, as one call to orjson would hold it.

    The document is written with the list empty, and the items are put in its place: each written
    alone, as dumps writes it, its lines indented two levels deeper (a top-level key's list). The
    empty list's place is found as the key's line at the top level, which no nested key's line can
    be (it is indented further); JSON strings hold no raw line break."""
    if key in document:
        raise ValueError(f"{key!r} is given twice")
    whole = dumps({**document, key: []}, indent=True)
    marker = b"\n  " + dumps(key) + b": []"
    at = whole.find(marker)
    if at < 0 or whole.find(marker, at + 1) >= 0:
        raise ValueError(f"{key!r}: its place in the document is not found once")
    cut = at + len(marker) - 2  # where "[]" begins
    stream.write(whole[:cut])
    first = True
    for item in items:
        stream.write(b"[\n    " if first else b",\n    ")
        stream.write(dumps(item, indent=True).replace(b"\n", b"\n    "))
        first = False
    stream.write(b"[]" if first else b"\n  ]")
    stream.write(whole[cut + 2 :])


def dumps_line(value: Any) -> bytes:
    """One JSON line (no sorting: the dataclass field order is already stable)."""
    return encode(value, _OPTIONS | orjson.OPT_APPEND_NEWLINE)


def canonical_bytes(value: Any) -> bytes:
    """The canonical form that record hashes are computed over."""
    return encode(value, _OPTIONS | orjson.OPT_SORT_KEYS)


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


def to_iso(when: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, microseconds only when there are some.

    Written by orjson, which gives exactly ``isoformat()``'s text for an aware UTC datetime (tested
    for every year from 1 to 9999) three times faster: this runs once per timeline row.
    """
    if when is None:
        return None
    if when.tzinfo is not UTC:
        when = when.astimezone(UTC)
    return orjson.dumps(when, option=orjson.OPT_UTC_Z)[1:-1].decode()
