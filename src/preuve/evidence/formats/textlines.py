"""The one line reader of text evidence (dumpstate, logs, getprop, shutdown.log…): a kernel.

A bugreport's dumpstate holds millions of lines; reading them one ``readline`` at a time through a
zip member costs several microseconds a line in the standard library's buffering alone. This reads
the stream in blocks and splits them itself, with the same results as a ``readline(limit + 1)``
loop (`tests/evidence/test_textlines.py` checks it against that reference). A block's whole lines,
when none can reach the limit, are decoded at once and handed out through ``zip`` at C speed (a
bugreport's millions of lines were most of an AndroidQF check). Lines split at ``\\n``,
trailing ``\\r``/``\\n`` stripped, decoded leniently, numbered from 1; a line longer than the limit
(its bytes with their ``\\n``) is kept as an empty line under its number, and never held whole in
memory. Blocks are small, so a member whose damage shows at its end (a bad CRC) loses at most one
block of lines before its error, as the standard library's own buffering did.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count
from typing import BinaryIO

BLOCK = 16 * 1024


def text_lines(stream: BinaryIO, limit: int, block: int = BLOCK) -> Iterator[tuple[int, str]]:
    """(line number from 1, text) of every line of `stream`; a line of more than `limit` bytes is ''."""
    number = 0
    carry = b""  # the start of a line not yet ended
    dropping = False  # inside a line already longer than `limit`: its bytes are not kept
    read = stream.read
    while data := read(block):
        start = 0
        if carry or dropping:  # the line begun in an earlier block ends at this block's first newline
            end = data.find(b"\n")
            if end < 0:
                if not dropping:
                    carry += data
                    if len(carry) > limit:
                        carry, dropping = b"", True
                continue
            number += 1
            if dropping:
                dropping = False
                yield number, ""
            else:
                piece, carry = carry + data[:end], b""
                yield number, "" if len(piece) >= limit else piece.rstrip(b"\r\n").decode("utf-8", "backslashreplace")
            start = end + 1
        last = data.rfind(b"\n")
        if last >= start:
            body = data[start:last]  # whole lines, each shorter than the block
            if len(body) < limit:
                # No line here can reach the limit: the lines decoded at once ("\n" is never part of a
                # character, so each line decodes as it would alone) and handed out at C speed; a
                # line's trailing "\r"s stripped only where there are any.
                text = body.decode("utf-8", "backslashreplace")
                lines = text.split("\n")
                if "\r" in text:
                    lines = [line.rstrip("\r") for line in lines]
                yield from zip(count(number + 1), lines)
                number += len(lines)
            else:
                for piece in body.split(b"\n"):
                    number += 1
                    yield number, "" if len(piece) >= limit else piece.rstrip(b"\r\n").decode("utf-8", "backslashreplace")
            start = last + 1
        if start < len(data):
            carry = data[start:]
            if len(carry) > limit:
                carry, dropping = b"", True
    if dropping or carry:
        number += 1
        yield number, "" if dropping else carry.rstrip(b"\r\n").decode("utf-8", "backslashreplace")
