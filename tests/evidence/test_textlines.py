"""The block line reader against the `readline(limit + 1)` loop it replaces, on any bytes."""

from __future__ import annotations

import io
from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from preuve.evidence.formats.textlines import text_lines


def _reference(data: bytes, limit: int) -> Iterator[tuple[int, str]]:
    """The loop preuve used before: one bounded readline a line, an over-long line drained and kept as ''."""
    raw = io.BytesIO(data)
    number = 0
    while True:
        line = raw.readline(limit + 1)
        if not line:
            break
        number += 1
        if len(line) > limit:
            while line and not line.endswith(b"\n"):
                line = raw.readline(limit)
            line = b""
        yield number, line.rstrip(b"\r\n").decode("utf-8", "backslashreplace")


_BYTES = st.lists(st.sampled_from([b"a", b"bc", b"\n", b"\r", b"\r\n", b"\xff", b"\xc3\xa9", b"xyz" * 5, b""]),
                  max_size=60).map(b"".join)


@settings(max_examples=600, deadline=None)
@given(data=_BYTES, limit=st.integers(min_value=1, max_value=12), block=st.integers(min_value=1, max_value=9))
def test_same_lines_as_the_readline_loop(data: bytes, limit: int, block: int) -> None:
    assert list(text_lines(io.BytesIO(data), limit, block)) == list(_reference(data, limit))


@settings(max_examples=600, deadline=None)
@given(data=_BYTES, limit=st.integers(min_value=1, max_value=80), block=st.integers(min_value=1, max_value=40))
def test_same_lines_with_limits_beyond_the_block(data: bytes, limit: int, block: int) -> None:
    """Blocks of whole lines shorter than the limit are decoded at once: characters cut by a block's
    end, carriage returns, bytes that do not decode."""
    assert list(text_lines(io.BytesIO(data), limit, block)) == list(_reference(data, limit))


def test_the_edges_by_name() -> None:
    def lines(data: bytes, limit: int = 4, block: int = 3) -> list[tuple[int, str]]:
        return list(text_lines(io.BytesIO(data), limit, block))

    assert lines(b"") == []
    assert lines(b"\n\n") == [(1, ""), (2, "")]
    assert lines(b"abc\nabcd\nab") == [(1, "abc"), (2, ""), (3, "ab")]  # 'abcd\n' is 5 bytes: over the limit
    assert lines(b"abcd") == [(1, "abcd")]  # unended, exactly the limit: kept
    assert lines(b"abcdefghijk\nz\r\n") == [(1, ""), (2, "z")]  # a long line is dropped, not held
    assert lines(b"\xff\n", 8) == [(1, "\\xff")]


def test_a_line_without_end_is_never_held_whole() -> None:
    class Endless(io.RawIOBase):
        def __init__(self) -> None:
            self.given = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            if self.given >= 50_000_000:
                return b""
            self.given += size
            return b"x" * size

    found = list(text_lines(Endless(), 1000, 1 << 20))  # type: ignore[arg-type]
    assert found == [(1, "")]
