"""The one line reader of text evidence (dumpstate, logs, getprop, shutdown.log…): a kernel.

A bugreport's dumpstate holds millions of lines; reading them one ``readline`` at a time through a
zip member costs several microseconds a line in the standard library's buffering alone. This reads
the stream in blocks and splits them itself, with the same results as a ``readline(limit + 1)``
loop (`tests/evidence/test_textlines.py` checks it against that reference): lines split at ``\\n``,
trailing ``\\r``/``\\n`` stripped, decoded leniently, numbered from 1; a line longer than the limit
(its bytes with their ``\\n``) is kept as an empty line under its number, and never held whole in
memory. Blocks are small, so a member whose damage shows at its end (a bad CRC) loses at most one
block of lines before its error, as the standard library's own buffering did.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

BLOCK = 16 * 1024


def text_lines(stream: BinaryIO, limit: int, block: int = BLOCK) -> Iterator[tuple[int, str]]:
    """(line number from 1, text) of every line of `stream`; a line of more than `limit` bytes is ''."""
    number = 0
    carry = b""  # the start of a line not yet ended
    dropping = False  # inside a line already longer than `limit`: its bytes are not kept
    read = stream.read
    while data := read(block):
        pieces = data.split(b"\n")
        tail = pieces.pop()  # after the block's last newline (b"" when it ends with one)
        for piece in pieces:
            number += 1
            if dropping:
                dropping = False
                yield number, ""
                continue
            if carry:
                piece, carry = carry + piece, b""
            if len(piece) >= limit:  # with its newline, longer than the limit
                yield number, ""
            else:
                yield number, piece.rstrip(b"\r\n").decode("utf-8", "backslashreplace")
        if dropping:
            continue
        if tail:
            carry += tail
            if len(carry) > limit:
                carry, dropping = b"", True
    if dropping or carry:
        number += 1
        yield number, "" if dropping else carry.rstrip(b"\r\n").decode("utf-8", "backslashreplace")
