"""Text from Apple's typedstream (``NSArchiver``) blobs, as in sms.db's ``attributedBody``.

From iOS 16 the Messages database often leaves ``message.text`` empty and keeps
the text only in ``attributedBody``, an NSAttributedString archived with the
old NeXTSTEP typedstream format, which no maintained Python library decodes
for this purpose. Only the string payload matters for preuve: after the class
name ``NSString`` (or ``NSMutableString``) comes the type code ``+`` and a
length-prefixed UTF-8 string. The reader below finds that string and bounds
every length it reads; anything it cannot place returns None and the caller
falls back to a byte scan.
"""

from __future__ import annotations

import re
from functools import cache

_MARKERS = (b"NSString", b"NSMutableString")


def _length(blob: bytes, pos: int) -> tuple[int, int] | None:
    if pos >= len(blob):
        return None
    head = blob[pos]
    if head == 0x81:
        if pos + 3 > len(blob):
            return None
        return int.from_bytes(blob[pos + 1 : pos + 3], "little"), pos + 3
    if head == 0x82:
        if pos + 5 > len(blob):
            return None
        return int.from_bytes(blob[pos + 1 : pos + 5], "little"), pos + 5
    if head < 0x80:
        return head, pos + 1
    return None


def typedstream_text(blob: bytes | None, max_length: int = 4 * 1024 * 1024) -> str | None:
    """The first string archived in a typedstream blob, or None."""
    if not blob or not blob.startswith(b"\x04\x0bstreamtyped"):
        return None
    for marker in _MARKERS:
        start = blob.find(marker)
        if start < 0:
            continue
        plus = blob.find(b"+", start + len(marker), start + len(marker) + 16)
        if plus < 0:
            continue
        parsed = _length(blob, plus + 1)
        if parsed is None:
            continue
        length, begin = parsed
        if length > max_length or begin + length > len(blob):
            continue
        return blob[begin : begin + length].decode("utf-8", "backslashreplace")
    return None


def printable_runs(blob: bytes, minimum: int = 6, limit: int = 64) -> list[str]:
    """Runs of printable text in a blob (UTF-8 and UTF-16BE), for a last-resort link scan: each
    maximal run of characters ``str.isprintable`` takes, of `minimum` characters or more, in the
    order they come, at most `limit` in all.

    Found by a pattern at C speed (see _bmp_run): a blob of a megabyte of text was walked a character
    at a time in Python, 0.1 s each, and a hostile sms.db can hold thousands of such blobs. The same
    runs as that walk (a property test holds the two equal)."""
    out: list[str] = []
    pattern = _bmp_run(minimum)
    for encoding in ("utf-8", "utf-16-be"):
        for found in pattern.finditer(blob.decode(encoding, "ignore")):
            text = found.group()
            # The pattern's class holds the characters outside the BMP: a match holding one that is
            # not printable is cut there, as the walk cuts it.
            for run in (text,) if text.isprintable() else _walked(text, minimum):
                out.append(run)
                if len(out) >= limit:
                    return out
    return out


def _walked(text: str, minimum: int) -> list[str]:
    """The maximal printable runs of `minimum` characters or more in `text`, a character at a time."""
    runs: list[str] = []
    run: list[str] = []
    for char in text + "\x00":
        if char.isprintable():
            run.append(char)
            continue
        if len(run) >= minimum:
            runs.append("".join(run))
        run = []
    return runs


@cache
def _bmp_run(minimum: int) -> re.Pattern[str]:
    """A run of `minimum` or more characters none of which is a character of the BMP that this
    interpreter's ``str.isprintable`` refuses (its Unicode tables, read once: some 65,000 calls,
    a few milliseconds). A class of BMP characters is matched at C speed; one that holds the
    characters beyond the BMP too was seven times slower than the walk."""
    ranges: list[str] = []
    start: int | None = None
    for point in range(0x10001):
        if point <= 0xFFFF and not chr(point).isprintable():
            if start is None:
                start = point
        elif start is not None:
            ranges.append(f"\\u{start:04x}" if start == point - 1 else f"\\u{start:04x}-\\u{point - 1:04x}")
            start = None
    return re.compile(f"[^{''.join(ranges)}]{{{minimum},}}")
