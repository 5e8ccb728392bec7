"""The canonical JSON: an integer beyond 64 bits (which orjson refuses without asking `default`) is
written as its decimal text; everything else is orjson's own bytes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from preuve.model import Locator
from preuve.model.jsonio import canonical_bytes, dumps_line, encode


@dataclass
class _Inner:
    size: int
    when: datetime


@dataclass
class _Outer:
    name: str
    inner: _Inner
    sizes: tuple[int, ...]
    extra: dict[str, object]
    flag: bool
    locator: Locator


def _value(size: int) -> _Outer:
    return _Outer("n", _Inner(size, datetime(2023, 5, 1, tzinfo=UTC)), (size, 1), {"b": size, "a": [size]}, True,
                  Locator("/p", "ab", table="t", rowid=size))


def test_wide_integers_are_written_as_text_and_the_rest_as_orjson_writes_it() -> None:
    wide = 2**80
    assert dumps_line(_value(wide)) == dumps_line(_value(7)).replace(b"7", b'"%d"' % wide)
    assert canonical_bytes(_value(-(2**70))) == canonical_bytes(_value(7)).replace(b"7", b'"%d"' % -(2**70))
    for edge in (2**64 - 1, -(2**63)):  # the widest integers orjson writes itself
        assert encode(_value(edge), orjson.OPT_SORT_KEYS) == orjson.dumps(_value(edge), option=orjson.OPT_SORT_KEYS)
    assert encode({"x": 2**64}, 0) == b'{"x":"18446744073709551616"}'
