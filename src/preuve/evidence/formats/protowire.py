"""Protocol Buffers' wire format, read by hand: the fields of one message, bounded.

Written here rather than taken from a protobuf library because preuve reads a handful of scalar
fields from one kind of file (an Android tombstone's ``.pb``): a generated schema and a runtime would
be a dependency for a dozen lines, and this reader stays within the bounds a hostile file needs
(its size, each field's length, the number of fields), raising ProtoError on anything it cannot
read. The wire format: https://protobuf.dev/programming-guides/encoding/.
"""

from __future__ import annotations

from collections.abc import Iterator

VARINT, I64, LEN, I32 = 0, 1, 2, 5
MAX_FIELDS = 1_000_000  # fields of one message read before it is refused


class ProtoError(ValueError):
    """Bytes that are not a message in the wire format (cut short, a wire type that does not exist)."""


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """The varint at `at`, and where the next thing starts."""
    value = shift = 0
    while True:
        if at >= len(data):
            raise ProtoError("cut short inside a varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value & 0xFFFFFFFFFFFFFFFF, at  # (a tenth byte's high bits lie past 64: dropped)
        shift += 7
        if shift > 63:
            raise ProtoError("a varint longer than 10 bytes")


def fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of each field of a message, in order: an integer for a varint
    or a fixed-width field (little-endian, unsigned), the bytes of a length-delimited one (a string, a
    nested message, packed numbers). Groups (wire types 3 and 4, long deprecated) are refused."""
    at, count = 0, 0
    while at < len(data):
        count += 1
        if count > MAX_FIELDS:
            raise ProtoError(f"more than {MAX_FIELDS} fields")
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtoError("field number 0")
        if wire == VARINT:
            value, at = _varint(data, at)
            yield number, wire, value
        elif wire == LEN:
            length, at = _varint(data, at)
            if length > len(data) - at:
                raise ProtoError(f"field {number} runs past the end")
            yield number, wire, data[at : at + length]
            at += length
        elif wire in (I64, I32):
            width = 8 if wire == I64 else 4
            if width > len(data) - at:
                raise ProtoError(f"field {number} runs past the end")
            yield number, wire, int.from_bytes(data[at : at + width], "little")
            at += width
        else:
            raise ProtoError(f"wire type {wire} (field {number})")


def signed32(value: int) -> int:
    """An int32 field's value (a negative one is written as a 64-bit two's complement varint)."""
    value &= 0xFFFFFFFFFFFFFFFF
    value = value - (1 << 64) if value >= 1 << 63 else value
    return value if -(1 << 31) <= value < 1 << 31 else ((value + (1 << 31)) % (1 << 32)) - (1 << 31)
