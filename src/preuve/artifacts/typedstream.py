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
    """Runs of printable text in a blob (UTF-8 and UTF-16BE), for a last-resort link scan."""
    out: list[str] = []
    for encoding in ("utf-8", "utf-16-be"):
        text = blob.decode(encoding, "ignore")
        run: list[str] = []
        for char in text + "\x00":
            if char.isprintable() and char not in "\x00":
                run.append(char)
                continue
            if len(run) >= minimum:
                out.append("".join(run))
                if len(out) >= limit:
                    return out
            run = []
    return out
