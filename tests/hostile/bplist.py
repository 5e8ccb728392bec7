"""A minimal binary-plist writer for hostile cases that plistlib refuses to produce
(cycles, 50,000-deep nesting, shared-reference amplification, lying lengths)."""

from __future__ import annotations

import struct


def array(refs: list[int]) -> bytes:
    """An array object whose members are references to objects by index (4-byte refs)."""
    count = len(refs)
    head = bytes([0xA0 | count]) if count < 15 else bytes([0xAF, 0x12]) + struct.pack(">I", count)
    return head + b"".join(struct.pack(">I", r) for r in refs)


def ascii_string(text: str) -> bytes:
    data = text.encode("ascii")
    head = bytes([0x50 | len(data)]) if len(data) < 15 else bytes([0x5F, 0x12]) + struct.pack(">I", len(data))
    return head + data


def bplist(objects: list[bytes], top: int = 0, count: int | None = None, table_offset: int | None = None) -> bytes:
    """The objects with an offset table and trailer; `count`/`table_offset` may lie."""
    body = b"bplist00"
    offsets = []
    for obj in objects:
        offsets.append(len(body))
        body += obj
    real_table = len(body)
    body += b"".join(struct.pack(">I", off) for off in offsets)
    trailer = struct.pack(
        ">6xBBQQQ", 4, 4, len(objects) if count is None else count, top,
        real_table if table_offset is None else table_offset,
    )
    return body + trailer
