"""Bounded property-list decoding.

The standard library's plistlib does the decoding (XML and binary); around it
preuve bounds the input size, refuses entity declarations (plistlib does),
turns recursion blow-ups into a clean error, and walks the result once to
bound its depth and its expanded size, because a binary plist can reference
one object many times (a few KiB expanding to gigabytes when traversed) or
nest itself deeper than any consumer can follow.
"""

from __future__ import annotations

import datetime as _dt
import plistlib
import struct
from typing import Any

from preuve.evidence.errors import EvidenceError, LimitExceeded
from preuve.evidence.limits import Limits

PlistValue = Any  # plist values are dynamically typed; callers narrow with isinstance


def _check_shape(value: PlistValue, path: str, limits: Limits) -> None:
    # Depth-first with the containers of the current path tracked: a container met again on its own
    # path is a cycle (a binary plist may reference an ancestor); met elsewhere it is a shared
    # reference, legal but counted once per use, so amplification is bounded by max_plist_objects.
    stack: list[tuple[PlistValue, int, bool]] = [(value, 0, False)]
    on_path: set[int] = set()
    seen = 0
    while stack:
        item, depth, leaving = stack.pop()
        if leaving:
            on_path.discard(id(item))
            continue
        seen += 1
        if seen > limits.max_plist_objects:
            raise LimitExceeded(path, f"plist expands to more than {limits.max_plist_objects} objects")
        if depth > limits.max_plist_depth:
            raise LimitExceeded(path, f"plist nests deeper than {limits.max_plist_depth} levels")
        if isinstance(item, (dict, list)):
            if id(item) in on_path:
                raise EvidenceError(path, "plist contains a reference cycle")
            on_path.add(id(item))
            stack.append((item, depth, True))
            children = item.values() if isinstance(item, dict) else item
            stack.extend((v, depth + 1, False) for v in children)


def load_plist(data: bytes, path: str, limits: Limits) -> PlistValue:
    """Decode a plist read from `path`, or raise EvidenceError naming it."""
    if len(data) > limits.max_plist_bytes:
        raise LimitExceeded(path, f"plist of {len(data)} bytes exceeds {limits.max_plist_bytes}")
    try:
        value = plistlib.loads(data)
    except RecursionError as exc:
        raise LimitExceeded(path, "plist nests too deeply to decode") from exc
    except (plistlib.InvalidFileException, ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise EvidenceError(path, f"not a valid plist ({exc})") from exc
    except Exception as exc:  # noqa: BLE001 - expat and struct raise their own types
        raise EvidenceError(path, f"not a valid plist ({type(exc).__name__}: {exc})") from exc
    _check_shape(value, path, limits)
    return value


_BPLIST_OFFSET_SIZES = {1: "B", 2: "H", 4: "I", 8: "Q"}  # bytes of an offset: its struct format
# Object kinds (high nibble of the marker) plistlib does not read, UTF-8 strings (7) among them:
# a plist holding one is left to plistlib, to fail there as it always did.
_BPLIST_UNKNOWN = frozenset((7, 9, 0xB, 0xC, 0xE, 0xF))


def bplist_strings(blob: bytes, max_objects: int) -> list[str | bytes] | None:
    """The strings and data of a binary plist, in object-table order (at most the first
    `max_objects` objects are looked at), or None when `blob` is not a binary plist this reader is
    sure of: the caller then decodes it with plistlib.

    Written here, beside plistlib, for the link previews and edit histories of messages, where only
    the strings matter: plistlib builds every object of the graph (about 30 µs for a preview of
    200 bytes, once per message that has one), while this reads the offset table and slices the
    string objects out. It never follows references, so a shared or cyclic graph costs nothing;
    every offset and length is checked against the blob. Strings are decoded as plistlib decodes
    them (ASCII, UTF-16 big-endian), and a string that does not decode makes it give up.
    """
    size = len(blob)
    if size < 8 + 32 or not blob.startswith(b"bplist00"):
        return None
    trailer = size - 32
    offset_size, count = blob[trailer + 6], int.from_bytes(blob[trailer + 8 : trailer + 16], "big")
    table = int.from_bytes(blob[trailer + 24 : trailer + 32], "big")
    if offset_size not in _BPLIST_OFFSET_SIZES or count > size or not 8 <= table <= trailer - count * offset_size:
        return None
    found: list[str | bytes] = []
    offsets = struct.unpack_from(f">{min(count, max_objects)}{_BPLIST_OFFSET_SIZES[offset_size]}", blob, table)
    for offset in offsets:
        if not 8 <= offset < trailer:
            return None
        marker = blob[offset]
        kind = marker >> 4
        if kind not in (4, 5, 6):  # data, ASCII string, UTF-16 string
            if kind in _BPLIST_UNKNOWN:
                return None
            continue
        length, start = marker & 0xF, offset + 1
        if length == 0xF:  # the length follows as an integer object
            if start >= trailer or blob[start] >> 4 != 1 or blob[start] & 0xF > 3:
                return None
            width = 1 << (blob[start] & 0xF)
            length = int.from_bytes(blob[start + 1 : start + 1 + width], "big")
            start += 1 + width
        end = start + (length * 2 if kind == 6 else length)
        if end > trailer:
            return None
        try:
            if kind == 4:
                found.append(blob[start:end])
            elif kind == 5:
                found.append(blob[start:end].decode("ascii"))
            else:
                found.append(blob[start:end].decode("utf-16-be"))
        except UnicodeDecodeError:
            return None
    return found


def plist_datetime(value: PlistValue) -> _dt.datetime | None:
    """A plist date as an aware UTC datetime (plistlib gives naive UTC)."""
    if isinstance(value, _dt.datetime):
        return value.replace(tzinfo=_dt.UTC) if value.tzinfo is None else value.astimezone(_dt.UTC)
    return None


def resolve_keyed_archive(value: PlistValue, path: str, limits: Limits) -> PlistValue:
    """Resolve an NSKeyedArchiver plist (``$objects`` + UIDs) into plain values.

    Only the generic object graph is resolved (dicts, arrays, strings, numbers,
    data); class names are kept under ``$class``. Cycles and repeated
    references are bounded by `limits`.
    """
    if not isinstance(value, dict) or "$objects" not in value:
        raise EvidenceError(path, "not an NSKeyedArchiver plist")
    objects = value["$objects"]
    if not isinstance(objects, list):
        raise EvidenceError(path, "NSKeyedArchiver $objects is not an array")
    budget = [limits.max_plist_objects]

    def resolve(item: PlistValue, depth: int) -> PlistValue:
        budget[0] -= 1
        if budget[0] < 0:
            raise LimitExceeded(path, "NSKeyedArchiver graph expands too far")
        if depth > limits.max_plist_depth:
            raise LimitExceeded(path, "NSKeyedArchiver graph nests too deeply")
        if isinstance(item, plistlib.UID):
            if item.data >= len(objects):
                raise EvidenceError(path, f"NSKeyedArchiver reference {item.data} out of range")
            return resolve(objects[item.data], depth + 1)
        if isinstance(item, dict):
            if "NS.keys" in item and "NS.objects" in item:
                keys = [resolve(k, depth + 1) for k in item["NS.keys"]]
                vals = [resolve(v, depth + 1) for v in item["NS.objects"]]
                return {str(k): v for k, v in zip(keys, vals, strict=False)}
            if "NS.objects" in item:
                return [resolve(v, depth + 1) for v in item["NS.objects"]]
            if "NS.string" in item:
                return item["NS.string"]
            if "NS.bytes" in item:
                return item["NS.bytes"]
            if "NS.time" in item:
                return _dt.datetime(2001, 1, 1, tzinfo=_dt.UTC) + _dt.timedelta(seconds=float(item["NS.time"]))
            out: dict[str, PlistValue] = {}
            for key, sub in item.items():
                if key == "$class":
                    cls = resolve(sub, depth + 1)
                    out["$class"] = cls.get("$classname") if isinstance(cls, dict) else cls
                else:
                    out[key] = resolve(sub, depth + 1)
            return out
        if item == "$null":
            return None
        return item

    top = value.get("$top", {})
    root = top.get("root", plistlib.UID(1)) if isinstance(top, dict) else plistlib.UID(1)
    return resolve(root, 0)
