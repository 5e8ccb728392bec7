"""The archived MBFile of a Manifest.db row, decoded once, by one kernel.

Every row of an iOS backup's ``Files`` table carries an ``MBFile``: a small
NSKeyedArchiver binary plist (a few hundred bytes: the archive's top dictionary,
``$objects``, a root dictionary of a dozen numbers and references, the class
description). A Manifest can list half a million of them, and three readers
need their fields: the Manifest artifact (size, mode, times, link target), the
backup integrity check (size) and an encrypted backup's listing (size and the
wrapped file key). Each blob is decoded once, by the backup's listing, through
the full-field kernel (:meth:`MBFileDecoder.fields`, a tuple of every field);
the listing keeps what the integrity check and the encrypted backup need, and
every row's fields in :class:`DecodedMBFiles`, from which the Manifest artifact
takes them. A blob the kernel is not sure of is decoded by its reader, through
:class:`MBFileDecoder` too.

The kernel, :func:`read_mbfile`, is a binary-plist reader for the
shapes an archived MBFile takes: integers, booleans, strings, data, UIDs,
arrays and dictionaries, each container referenced once (a tree, as both
Apple's writer and plistlib write them). On such a blob it returns the very
value ``plistlib.loads`` returns, having also checked what
:func:`preuve.evidence.formats.plists.load_plist` checks (depth, expanded size), for
about a third of plistlib's cost. On anything else (another object kind, a
shared or cyclic container, an offset or length it cannot vouch for, a string
that does not decode, a blob too large) it says it is unsure and the blob
goes through plistlib, so damaged and hostile blobs behave exactly as
plistlib makes them behave. A test compares the two on generated and mutated
blobs.
"""

from __future__ import annotations

import plistlib
import struct
from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate
from operator import itemgetter
from typing import cast

from preuve.evidence.errors import EvidenceError
from preuve.evidence.formats.plists import PlistValue, load_plist, resolve_keyed_archive
from preuve.evidence.limits import Limits

MAX_MBFILE_BYTES = 64 * 1024  # an MBFile archive is a few hundred bytes
_MAX_OBJECTS = 256  # more objects than any MBFile has: left to plistlib


@dataclass(frozen=True, slots=True)
class MBFile:
    """The fields of an archived MBFile that preuve reads, as stored (None when absent or not an integer).

    Times are seconds since 1970 as the archive holds them; `target` is a link's target;
    `encryption_key` the wrapped per-file key of an encrypted backup (protection class first)."""

    size: int | None = None
    mode: int | None = None
    last_modified: int | None = None
    last_status_change: int | None = None
    birth: int | None = None
    target: str | None = None
    encryption_key: bytes | None = None


# An MBFile's fields as a tuple, in MBFile's order (what MBFileDecoder.fields gives).
MBFileFields = tuple[int | None, int | None, int | None, int | None, int | None, str | None, bytes | None]

_ASCII_STRINGS = frozenset(range(0x50, 0x60))
# The object kinds an MBFile holds (booleans; integers of 1-8 bytes; data, ASCII and UTF-16 strings;
# UIDs of 1-4 bytes; arrays; dictionaries), by marker byte. Anything else is left to plistlib.
_KNOWN_MARKERS = frozenset(
    (0x08, 0x09, 0x10, 0x11, 0x12, 0x13, 0x80, 0x81, 0x82, 0x83, *range(0x40, 0x70), *range(0xA0, 0xB0),
     *range(0xD0, 0xE0))
)


class _Unsure(Exception):  # noqa: N818 - control flow inside the kernel, never escapes it
    pass


_UNSEEN = object()


class MBFileDecoder:
    """Decodes the MBFiles of one Manifest.db: the kernel where it is sure, plistlib elsewhere.

    It keeps the layouts of the archives it has checked, by shape (at most _MAX_LAYOUTS, a few per
    shape), and templates by structure (see _Template): most blobs are read by comparing their fixed
    bytes with a checked one's (see _Layout), most others through their structure's template. A
    phone's MBFiles come in thousands of shapes (the lengths of their paths, the widths of their
    numbers, which of their numbers are equal) and a few hundred structures."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        # By shape (offset table and trailer): the layouts of checked blobs of it (see _Shape).
        self._layouts: dict[bytes, _Shape] = {}
        self._layout_count = 0  # layouts in _layouts
        # Structure (see _structure): the templates of checked blobs of it (see _template).
        self._templates: dict[bytes, list[_Template]] = {}
        self._max_bytes = min(MAX_MBFILE_BYTES, limits.max_plist_bytes)

    def decode(self, blob: bytes, where: str) -> MBFile:
        """The fields of one archived MBFile; EvidenceError when it is too large, not a plist or
        not an archive."""
        if len(blob) > MAX_MBFILE_BYTES:
            raise EvidenceError(where, f"MBFile of {len(blob)} bytes is too large")
        found = self.read(blob)
        if found is not None:
            return found
        return mbfile_from_value(load_plist(blob, where, self.limits), where, self.limits)

    def size(self, blob: bytes, where: str) -> int | None:
        """The ``Size`` of one archived MBFile as a backup's integrity check reads it: the size
        :meth:`decode` gives when it is a whole number, None when it is negative, absent, not an
        integer, or the blob cannot be decoded.

        The size kernel: for a blob laid out as a checked one (see _Layout), the same comparison of
        its fixed bytes and check of its strings, then only the ``Size`` integer is read (about half
        the cost of decoding every field); any other blob goes through :meth:`decode`."""
        size = len(blob)
        if 40 <= size <= MAX_MBFILE_BYTES and size <= self.limits.max_plist_bytes:
            table = int.from_bytes(blob[size - 8 :], "big")
            if 8 <= table < size:
                seen = self._layouts.get(blob[table:])
                if seen is not None:
                    for layout in seen.layouts:
                        found = layout.size(blob)
                        if found is not _UNSEEN:
                            return found if isinstance(found, int) and found >= 0 else None
        try:
            value = self.decode(blob, where).size
        except EvidenceError:
            return None
        return value if value is not None and value >= 0 else None

    def fields(self, blob: bytes) -> MBFileFields | None:
        """The full-field kernel: every field :meth:`decode` gives, as a tuple in :class:`MBFile`'s
        order (size, mode, last_modified, last_status_change, birth, target, encryption_key), or None
        when the kernel is not sure of the blob (then :meth:`decode` reads it, through plistlib).

        For a blob laid out as a checked one (see _Layout): the comparison of its fixed bytes and
        the check of its strings, then its numbers in one ``struct`` unpack and no MBFile made (the
        Manifest artifact reads every row of a Manifest this way); any other blob goes through
        :meth:`read` (which learns its layout)."""
        size = len(blob)
        if 40 <= size <= self._max_bytes:
            table = int.from_bytes(blob[size - 8 :], "big")
            if 8 <= table < size:
                seen = self._layouts.get(blob[table:])
                if seen is not None:
                    for layout in seen.layouts:
                        found = layout.fields(blob)
                        if found is not None:
                            return found
        return self._read(blob)

    def read(self, blob: bytes) -> MBFile | None:
        """The kernel: the fields, or None when it is not sure of the blob."""
        found = self._read(blob)
        return None if found is None else MBFile(*found)

    def _read(self, blob: bytes) -> MBFileFields | None:
        """:meth:`read`'s fields, as a tuple.

        Three tiers: a blob whose offset table and trailer are those of a checked one is read
        through its layout (see _Layout); any other whose objects are those of a checked one, in
        the same order, with strings and data of other lengths, through its template (see
        _Template); any other is checked whole (see _check), which learns its layout (from the
        second blob of a shape on) and the template of its structure."""
        size = len(blob)
        if size < 40 or size > MAX_MBFILE_BYTES or size > self.limits.max_plist_bytes:
            return None
        table = int.from_bytes(blob[size - 8 :], "big")
        if not 8 <= table < size:
            return None
        shape = blob[table:]  # the offset table and the trailer
        seen = self._layouts.get(shape)
        if seen is not None:
            for place, layout in enumerate(seen.layouts):
                found = layout.fields(blob)
                if found is not None:
                    if place:
                        seen.layouts.insert(0, seen.layouts.pop(place))
                    return found
        # A layout is worth keeping from the second blob of a shape on (blobs of one shape may differ
        # in which objects their references name: each such variant gets its own), while there is room.
        if seen is not None:
            seen.misses += 1
        learn = seen is not None and seen.may_learn() and self._layout_count < _MAX_LAYOUTS
        # The templates of the blob's structure, the same way: blobs of one structure may differ in
        # which objects their references name, and each variant has its own, tried in turn, the last
        # one to read a blob first.
        templates: list[_Template] | None = None
        structure = _structure(blob, table)
        if structure is not None:
            templates = self._templates.get(structure[0])
            if templates and not learn:
                for place, template in enumerate(templates):
                    fields = template.fields(blob, structure[1], table)
                    if fields is not None:
                        if place:
                            templates.insert(0, templates.pop(place))
                        if seen is None and len(self._layouts) < _MAX_SHAPES:
                            self._layouts[shape] = _Shape()
                        return fields
        more = structure is not None and (
            len(templates) < _TEMPLATES_PER_STRUCTURE if templates is not None else len(self._templates) < _MAX_TEMPLATES
        )
        checked = _check(blob, self.limits, with_layout=learn, with_template=more)
        if checked is None:
            return None
        decoded, new_layout, new_template = checked
        if seen is None:
            if len(self._layouts) < _MAX_SHAPES:
                self._layouts[shape] = _Shape()
        elif learn:
            if new_layout is not None:
                seen.layouts.insert(0, new_layout)
                self._layout_count += 1
            else:
                seen.failed += 1
        if structure is not None and new_template is not None:
            if templates is None:
                self._templates[structure[0]] = [new_template]
            elif len(templates) < _TEMPLATES_PER_STRUCTURE:
                templates.insert(0, new_template)
        return (decoded.size, decoded.mode, decoded.last_modified, decoded.last_status_change, decoded.birth,
                decoded.target, decoded.encryption_key)


def _check(
    blob: bytes, limits: Limits, with_layout: bool, with_template: bool = False
) -> tuple[MBFile, _Layout | None, _Template | None] | None:
    """The fields of an archived MBFile, equal to what :func:`decode_mbfile_general` (plistlib)
    gives, and its layout, or None when this reader is not sure of the blob.

    It reads every object's marker at once, checks every string (plistlib would fail on one that
    does not decode) and every container's references (in range; each container referenced once,
    by a container before it, as Apple's writer and plistlib lay an archive out: the value is then
    a tree, without cycles, no deeper than it has objects), and decodes only the numbers and
    references of the fields it returns. Integers and UIDs of the known widths cannot make
    plistlib fail, so the ones not returned are not read. It takes one-byte references (any
    archive of fewer than 256 objects, as an MBFile is) and leaves every other blob to plistlib."""
    size = len(blob)
    if size < 40 or size > MAX_MBFILE_BYTES or size > limits.max_plist_bytes or blob[:8] != b"bplist00":
        return None
    trailer = size - 32
    offset_size = blob[trailer + 6]
    count = int.from_bytes(blob[trailer + 8 : trailer + 16], "big")
    top = int.from_bytes(blob[trailer + 16 : trailer + 24], "big")
    end = int.from_bytes(blob[trailer + 24 : trailer + 32], "big")  # the offset table: objects lie before it
    if (
        blob[trailer + 7] != 1  # one-byte references
        or offset_size not in (1, 2)
        or not 1 < count <= _MAX_OBJECTS
        or count > limits.max_plist_depth  # so a tree of `count` objects is never too deep
        or top >= count
        or not 8 <= end
        or end + count * offset_size > trailer
    ):
        return None
    offsets = blob[end : end + count] if offset_size == 1 else struct.unpack_from(f">{count}H", blob, end)
    if min(offsets) < 8 or max(offsets) >= end:
        return None
    markers: tuple[int, ...] = itemgetter(*offsets)(blob)
    if not _KNOWN_MARKERS.issuperset(markers):
        return None
    try:
        return _read_archive(blob, end, offsets, markers, top, limits, with_layout, with_template)
    except _Unsure:
        return None


def _length(blob: bytes, end: int, offset: int) -> tuple[int, int]:
    """The length of the string, data or container at `offset`, and where its content starts."""
    low = blob[offset] & 0xF
    if low != 0xF:
        return low, offset + 1
    start = offset + 1
    if start >= end or blob[start] >> 4 != 1 or blob[start] & 0xF > 3:
        raise _Unsure
    width = 1 << (blob[start] & 0xF)
    if start + 1 + width > end:
        raise _Unsure
    return int.from_bytes(blob[start + 1 : start + 1 + width], "big"), start + 1 + width


def _read_archive(
    blob: bytes, end: int, offsets: Sequence[int], markers: tuple[int, ...], top: int, limits: Limits,
    with_layout: bool,
    with_template: bool = False,
) -> tuple[MBFile, _Layout | None, _Template | None] | None:
    count = len(offsets)
    # ASCII strings (most of an MBFile: its keys, class names, paths), as bytes (ASCII bytes compare
    # as their text does), all checked at once. An object starts before the offset table, which
    # ends 32 bytes before the blob: a short string, integer or UID read from there lies in the
    # blob, as plistlib reads it (even when it runs into the table). A long string (length in one
    # byte) must end where its length says, or plistlib refuses it.
    pairs = list(zip(offsets, markers, strict=True))
    strings = [blob[offset + 1 : offset + 1 + (marker & 0xF)] if 0x50 <= marker < 0x5F
               else blob[offset + 3 : offset + 3 + blob[offset + 2]] if marker == 0x5F and blob[offset + 1] == 0x10
               else b"" for offset, marker in pairs]
    if not b"".join(strings).isascii():
        raise _Unsure
    containers: dict[int, bytes] = {}  # index: references (a dictionary's keys, then its values)
    for index in [i for i, (offset, marker) in enumerate(pairs) if marker >= 0xA0 or 0x40 <= marker < 0x50
                  or 0x60 <= marker < 0x70 or marker == 0x5F]:
        offset, marker = pairs[index]
        length, start = _length(blob, end, offset)
        high = marker >> 4
        if high == 5:
            if start + length > end or len(strings[index]) != length:
                raise _Unsure  # a length in more than one byte, or running out of the objects
        elif high == 6:
            if start + 2 * length > end:
                raise _Unsure
            try:
                blob[start : start + 2 * length].decode("utf-16-be")
            except UnicodeDecodeError:
                raise _Unsure from None
        elif high == 4:
            if start + length > end:
                raise _Unsure
        else:  # array, dictionary
            stop = start + (length * 2 if high == 0xD else length)
            refs = blob[start:stop]
            if stop > end or (refs and max(refs) >= count):
                raise _Unsure
            containers[index] = refs
    # Each container referenced at most once, and only by a container before it: a tree. Every
    # dictionary key an ASCII string (plistlib may refuse other keys, keep them, or merge them).
    every_ref = b"".join(containers.values())
    keys = b"".join([refs[: len(refs) // 2] for index, refs in containers.items() if markers[index] >= 0xD0])
    if (
        len(every_ref) >= limits.max_plist_objects
        or (keys and not _ASCII_STRINGS.issuperset(itemgetter(*keys)(markers) if len(keys) > 1 else (markers[keys[0]],)))
    ):
        raise _Unsure
    for child in containers:
        uses = every_ref.count(child)
        if uses > 1 or (uses and (child == top or not all(
            parent < child for parent, refs in containers.items() if child in refs
        ))):
            raise _Unsure

    # The usual shape (see _archived_root); any other goes to plistlib and the general resolver.
    if markers[top] >> 4 != 0xD:
        return None
    archive = _table(containers[top], strings)
    objects_at, top_at = archive.get(b"$objects"), archive.get(b"$top")
    if objects_at is None or top_at is None or markers[objects_at] >> 4 != 0xA or markers[top_at] >> 4 != 0xD:
        return None
    objects = containers[objects_at]
    root_uid = _uid(blob, offsets, markers, _table(containers[top_at], strings).get(b"root"))
    if root_uid is None or root_uid >= len(objects) or markers[objects[root_uid]] >> 4 != 0xD:
        return None
    fields = _table(containers[objects[root_uid]], strings)
    numbers: list[tuple[slice, bool] | None] = []
    number_objects: list[int | None] = []
    for name in _NUMBERS:
        at = fields.get(name)
        if at is None or markers[at] >> 4 != 1:
            numbers.append(None)
            number_objects.append(None)
        else:
            low = markers[at] & 0xF
            numbers.append((slice(offsets[at] + 1, offsets[at] + 1 + (1 << low)), low == 3))
            number_objects.append(at)
    target: tuple[bool, slice] | None = None  # (UTF-16, where)
    target_object: int | None = None
    target_uid = _uid(blob, offsets, markers, fields.get(b"Target"))
    if target_uid is not None and 0 < target_uid < len(objects):
        at = objects[target_uid]
        if markers[at] >> 4 in (5, 6):
            length, start = _length(blob, end, offsets[at])
            wide = markers[at] >> 4 == 6
            target = (wide, slice(start, start + (2 * length if wide else length)))
            target_object = at
    key: slice | None = None
    key_object: int | None = None
    key_at = fields.get(b"EncryptionKey")
    if key_at is not None:
        key_uid = _uid(blob, offsets, markers, key_at)
        if key_uid is not None:
            key_at = objects[key_uid] if key_uid < len(objects) else None
        if key_at is not None and markers[key_at] >> 4 == 0xD:
            key_at = _table(containers[key_at], strings).get(b"NS.data")
        if key_at is not None and markers[key_at] >> 4 == 4:
            length, start = _length(blob, end, offsets[key_at])
            key = slice(start, start + length)
            key_object = key_at
    plan = _Plan(tuple(numbers), target, key)
    if not with_layout and not with_template:
        return plan.read(blob), None, None
    keys_at = {ref for index, refs in containers.items() if markers[index] >= 0xD0 for ref in refs[: len(refs) // 2]}
    return (
        plan.read(blob),
        _layout(blob, end, offsets, markers, keys_at, plan) if with_layout else None,
        _template(blob, end, offsets, markers, keys_at, tuple(number_objects), target_object, key_object)
        if with_template else None,
    )


@dataclass(frozen=True, slots=True)
class _Plan:
    """Where an archive's fields lie: the integers (their bytes, and whether signed), the link
    target's characters (UTF-16 or ASCII), the encryption key's bytes."""

    numbers: tuple[tuple[slice, bool] | None, ...]
    target: tuple[bool, slice] | None
    key: slice | None

    def read(self, blob: bytes) -> MBFile:
        size, mode, modified, changed, birth = [
            None if at is None else int.from_bytes(blob[at[0]], "big", signed=at[1]) for at in self.numbers
        ]
        target = None
        if self.target is not None:
            wide, where = self.target
            target = blob[where].decode("utf-16-be" if wide else "ascii")
        return MBFile(
            size, mode, modified, changed, birth,
            target=None if target == "$null" else target,
            encryption_key=None if self.key is None else blob[self.key],
        )


@dataclass(frozen=True, slots=True)
class _Layout:
    """What a checked archive shares with every blob laid out as it is.

    The kernel's checks read only the bytes outside three kinds of spans: the payloads of integers
    and data, and the characters of strings no dictionary uses as a key (a file's path, a link's
    target). Two blobs equal outside those spans are read the same way and fail or pass the same
    checks, given that their strings decode. So for a blob whose offset table and trailer are
    those of a checked one, comparing those bytes and decoding its own strings stands for the whole
    check; any difference sends it through the check again.

    The comparison is one masked compare of the blob read as a number (`mask`: every bit of the
    bytes outside those spans, and the top bit of each character of its ASCII strings; `expected`:
    the checked blob's bits there, whose ASCII characters' top bits are 0, as ASCII says). A phone's
    MBFiles come in thousands of shapes read in no order: the layout of each is two numbers, where
    the pieces of a blob cut and joined took some thirty objects a layout, and a layout read among
    thousands cost twice what one read over and over costs (benchmarks/README.md, the twenty-second
    session)."""

    length: int
    mask: int
    expected: int
    wide: tuple[slice, ...]
    plan: _Plan
    unpack: Callable[[bytes], MBFileFields]  # the plan's fields, as a tuple (see _unpacker)

    def _fits(self, blob: bytes) -> bool:
        if len(blob) != self.length or int.from_bytes(blob, "little") & self.mask != self.expected:
            return False
        for at in self.wide:
            try:
                blob[at].decode("utf-16-be")
            except UnicodeDecodeError:
                return False
        return True

    def size(self, blob: bytes) -> int | None | object:
        """Only the ``Size`` of a blob :meth:`read` would read (None when it has none), or _UNSEEN
        when :meth:`read` would not read it."""
        if not self._fits(blob):
            return _UNSEEN
        where = self.plan.numbers[0]
        return None if where is None else int.from_bytes(blob[where[0]], "big", signed=where[1])

    def read(self, blob: bytes) -> MBFile | None:
        found = self.fields(blob)
        return None if found is None else MBFile(*found)

    def fields(self, blob: bytes) -> MBFileFields | None:
        """What :meth:`read` reads, as a tuple (None when :meth:`read` would not read it)."""
        if len(blob) != self.length or int.from_bytes(blob, "little") & self.mask != self.expected:
            return None
        for at in self.wide:
            try:
                blob[at].decode("utf-16-be")
            except UnicodeDecodeError:
                return None
        return self.unpack(blob)


# struct codes of plistlib's integers by width: 1, 2 and 4 bytes unsigned, 8 bytes signed.
_INT_CODES = {1: "B", 2: "H", 4: "I", 8: "q"}


def _unpacker(plan: _Plan) -> Callable[[bytes], MBFileFields]:
    """A function reading a plan's fields as a tuple, equal to the fields of ``plan.read(blob)``:
    every integer in one ``struct`` unpack (an integer two fields share is read once), then one
    ``itemgetter`` placing them (None for an absent field); the link target and key as plan.read
    reads them."""
    # (A plan's integer is signed exactly when it has 8 bytes, as plistlib reads them.)
    places = sorted({(at.start, at.stop) for at, _signed in filter(None, plan.numbers)})
    first = places[0][0] if places else 0
    fmt, cursor = ">", first
    for start, stop in places:  # the objects of a layout never overlap (see _layout)
        fmt += f"{start - cursor}x{_INT_CODES[stop - start]}" if start > cursor else _INT_CODES[stop - start]
        cursor = stop
    numbers = struct.Struct(fmt).unpack_from
    index = {place: i for i, place in enumerate(places)}
    absent = len(places)  # where the unpacked values get a None
    order = [absent if at is None else index[(at[0].start, at[0].stop)] for at in plan.numbers]
    if plan.target is None and plan.key is None:
        place = itemgetter(*order, absent, absent)
        return lambda blob: place((*numbers(blob, first), None))
    place5 = itemgetter(*order)
    target_at, key_at = plan.target, plan.key

    def unpack(blob: bytes) -> MBFileFields:
        target = None
        if target_at is not None:
            target = blob[target_at[1]].decode("utf-16-be" if target_at[0] else "ascii")
            if target == "$null":
                target = None
        key = None if key_at is None else blob[key_at]
        return (*place5((*numbers(blob, first), None)), target, key)

    return unpack


def _layout(
    blob: bytes, end: int, offsets: Sequence[int], markers: tuple[int, ...], keys_at: set[int], plan: _Plan
) -> _Layout | None:
    """The layout of a checked archive, or None when its objects overlap (then every blob laid out
    as it is gets the whole check)."""
    spans: list[tuple[int, int]] = []  # (start, stop) of every object, in the blob
    loose: list[tuple[int, int, int]] = []  # (start, stop, kind) of the bytes that may differ
    for index, (offset, marker) in enumerate(zip(offsets, markers, strict=True)):
        high, low = marker >> 4, marker & 0xF
        if high == 0:
            spans.append((offset, offset + 1))
        elif high == 1:
            spans.append((offset, offset + 1 + (1 << low)))
            loose.append((offset + 1, offset + 1 + (1 << low), 4))
        elif high == 8:
            spans.append((offset, offset + 2 + low))
        else:
            length, start = _length(blob, end, offset)
            stop = start + length * (2 if high in (6, 0xD) else 1)
            spans.append((offset, stop))
            if high == 4 or (high in (5, 6) and index not in keys_at):
                loose.append((start, stop, high))
    spans.sort()
    if any(stop > next_start for (_, stop), (next_start, _) in zip(spans, spans[1:], strict=False)):
        return None
    loose.sort()
    mask, expected = _masked(blob, loose)
    return _Layout(
        length=len(blob),
        mask=mask,
        expected=expected,
        wide=tuple(slice(start, stop) for start, stop, kind in loose if kind == 6),
        plan=plan,
        unpack=_unpacker(plan),
    )


def _masked(data: bytes, loose: Sequence[tuple[int, int, int]]) -> tuple[int, int]:
    """A layout's comparison of `data` read as a number, little-endian (see _Layout): the mask (every
    bit of the bytes outside the `loose` spans, and the top bit of each byte of the ASCII strings'
    spans, kind 5) and the bits expected there (the data's own, the top bits of its ASCII 0)."""
    mask = bytearray(b"\xff" * len(data))
    for start, stop, kind in loose:
        mask[start:stop] = (b"\x80" if kind == 5 else b"\x00") * (stop - start)
    fixed = bytearray(data)
    for start, stop, _kind in loose:
        fixed[start:stop] = bytes(stop - start)
    bits = int.from_bytes(mask, "little")
    return bits, int.from_bytes(fixed, "little") & bits


# Bounds of what a decoder keeps: layouts (about 4 KB each) by shape, shapes seen once (their key
# only), templates by structure. When one is full, nothing more is added to it and what it holds stays:
# a Manifest of more shapes than that (a real phone's files have paths of every length, sizes and
# times of every width) is read through the templates, never by clearing and learning again.
_MAX_LAYOUTS = 4096
_LAYOUTS_PER_SHAPE = 4
_LEARN_AFTER = 8  # a layout costs a whole check to learn: learnt for shapes seen often
_MAX_SHAPES = 16384
_MAX_TEMPLATES = 1024  # structures
_TEMPLATES_PER_STRUCTURE = 8


def _structure(blob: bytes, table: int) -> tuple[bytes, tuple[int, ...]] | None:
    """A blob's structure, as templates are kept by it: its trailer but for the offset table's place,
    then every object's marker in the order of the table; with its offsets. None when it is not laid
    out as a template reads (one-byte references, offsets of one or two bytes, the offset table just
    before the trailer, every offset in the blob). Its offsets are not checked further: a template
    reads a blob only when they are where its objects lie (see _Template.fields)."""
    trailer = len(blob) - 32
    offset_size = blob[trailer + 6]
    if blob[trailer + 7] != 1 or offset_size not in (1, 2):
        return None
    count = int.from_bytes(blob[trailer + 8 : trailer + 16], "big")
    if not 1 < count <= _MAX_OBJECTS or table + count * offset_size != trailer:
        return None
    offsets = tuple(blob[table:trailer]) if offset_size == 1 else _offsets_reader(count)(blob, table)
    try:
        markers = bytes(itemgetter(*offsets)(blob))
    except IndexError:
        return None
    return blob[trailer : trailer + 24] + markers, offsets


@cache
def _offsets_reader(count: int) -> Callable[[bytes, int], tuple[int, ...]]:
    """The reader of an offset table of `count` two-byte offsets (at most _MAX_OBJECTS kept)."""
    return struct.Struct(f">{count}H").unpack_from


@dataclass(slots=True)
class _Shape:
    """What a decoder knows of a shape it has seen: the layouts of its checked blobs (one per variant
    of references, the last to read a blob first), and how many of its blobs had no layout (their
    objects overlap: such a shape is not learnt from again)."""

    layouts: list[_Layout] = field(default_factory=list)
    failed: int = 0
    misses: int = 0  # its blobs none of its layouts read, after the first

    def may_learn(self) -> bool:
        return self.misses >= _LEARN_AFTER and len(self.layouts) < _LAYOUTS_PER_SHAPE and not self.failed


@dataclass(frozen=True, slots=True)
class _Template:
    """What a checked archive shares with every blob of its structure whose objects lie in the same
    order, one after the other, as the checked one's: a _Layout for blobs whose strings and data may
    have other lengths.

    Apple's writer and plistlib lay an archive's objects out one after the other, each the bytes its
    marker says, except a string or data of 15 or more (its length written after the marker). The
    paths of a phone's files have every length, their sizes and times every width, and some of their
    numbers are equal (one object for both): a Manifest of 200,000 real files holds thousands of
    shapes (offset tables), which no bounded set of layouts holds, and each blob of a shape not held
    went through the whole check. The same objects with the same markers make a few hundred
    structures. For a blob of a template's structure, its objects' places are worked out from the
    markers and from the lengths its variable objects (strings and data of 15 or more, not keys)
    write; when they are its offsets, the blob without those objects' bytes ("canon") is laid out
    as the checked blob's, and is compared and read as a layout reads (fixed bytes, strings, the
    numbers in one unpack). Any difference sends the blob through the whole check."""

    sizes: tuple[int, ...]  # each object's bytes, in the order they lie, as checked
    variable: tuple[tuple[int, int, int], ...]  # (place in that order, object, kind: 4 data, 5 ASCII, 6 UTF-16)
    starts_by_object: Callable[[list[int]], tuple[int, ...]]  # each object's start, from the starts in order
    canon_length: int
    mask: int  # on the canon, as _Layout's
    expected: int
    wide: tuple[slice, ...]
    numbers: Callable[[bytes], MBFileFields]  # on the canon (its link target and key None)
    target: tuple[int, bool] | None  # (object, UTF-16)
    key: int | None  # object

    def fields(self, blob: bytes, offsets: tuple[int, ...], table: int) -> MBFileFields | None:
        """What the whole check would read of a blob of the template's structure (`offsets`: its own),
        or None when it is not laid out as the checked one."""
        sizes = list(self.sizes)
        bodies: list[tuple[int, int, int]] = []  # (start, stop, kind) of each variable object's characters
        for place, index, kind in self.variable:
            at = offsets[index]
            head = blob[at + 1]
            if head != 0x10 and (kind == 5 or not 0x10 < head <= 0x13):
                return None  # (the whole check takes an ASCII string's length in one byte only)
            width = 1 << (head & 0xF)
            start = at + 2 + width
            length = int.from_bytes(blob[at + 2 : start], "big")
            sizes[place] = 2 + width + (2 * length if kind == 6 else length)
            bodies.append((start, start + (2 * length if kind == 6 else length), kind))
        starts = list(accumulate(sizes, initial=8))
        if starts[-1] != table or self.starts_by_object(starts) != offsets:
            return None
        pieces: list[bytes] = []
        at = 0
        for place, _index, _kind in self.variable:
            pieces.append(blob[at : starts[place] + 1])  # up to the object's marker, which the structure holds
            at = starts[place + 1]
        pieces.append(blob[at:table])
        canon = b"".join(pieces)
        if len(canon) != self.canon_length or int.from_bytes(canon, "little") & self.mask != self.expected:
            return None
        ascii_parts = [blob[start:stop] for start, stop, kind in bodies if kind == 5]
        if ascii_parts and not b"".join(ascii_parts).isascii():
            return None
        try:
            for where in self.wide:
                canon[where].decode("utf-16-be")
            for start, stop, kind in bodies:
                if kind == 6:
                    blob[start:stop].decode("utf-16-be")
        except UnicodeDecodeError:
            return None
        size, mode, modified, changed, birth, _target, _key = self.numbers(canon)
        target = None
        if self.target is not None:
            index, wide = self.target
            start, stop = _content(blob, offsets[index])
            target = blob[start:stop].decode("utf-16-be" if wide else "ascii")
            if target == "$null":
                target = None
        key = None
        if self.key is not None:
            start, stop = _content(blob, offsets[self.key])
            key = blob[start:stop]
        return size, mode, modified, changed, birth, target, key


def _content(blob: bytes, at: int) -> tuple[int, int]:
    """Where the characters or bytes of the string or data at `at` lie (its length checked already)."""
    marker = blob[at]
    low = marker & 0xF
    if low != 0xF:
        start, length = at + 1, low
    else:
        width = 1 << (blob[at + 1] & 0xF)
        start = at + 2 + width
        length = int.from_bytes(blob[at + 2 : start], "big")
    return start, start + (2 * length if marker >> 4 == 6 else length)


def _template(
    blob: bytes, end: int, offsets: Sequence[int], markers: tuple[int, ...], keys_at: set[int],
    number_objects: tuple[int | None, ...], target_object: int | None, key_object: int | None,
) -> _Template | None:
    """The template of a checked archive, or None when its objects do not lie one after the other from
    the header to the offset table, or the table is not just before the trailer (see _structure)."""
    structure = _structure(blob, end)
    if structure is None or min(structure[1]) < 8 or max(structure[1]) >= end:
        return None
    order = sorted(range(len(offsets)), key=offsets.__getitem__)
    sizes: list[int] = []
    variable: list[tuple[int, int, int]] = []
    loose: list[tuple[int, int, int]] = []  # (start, stop, kind) in the blob, as _layout's
    for place, index in enumerate(order):
        offset, marker = offsets[index], markers[index]
        high, low = marker >> 4, marker & 0xF
        if high == 0:
            stop = offset + 1
        elif high == 1:
            stop = offset + 1 + (1 << low)
            loose.append((offset + 1, stop, 4))
        elif high == 8:
            stop = offset + 2 + low
        else:
            length, start = _length(blob, end, offset)
            stop = start + length * (2 if high in (6, 0xD) else 1)
            if high in (4, 5, 6) and index not in keys_at:
                if low == 0xF:
                    variable.append((place, index, high))
                else:
                    loose.append((start, stop, high))
        sizes.append(stop - offset)
    starts = list(accumulate(sizes, initial=8))
    if starts[:-1] != [offsets[index] for index in order] or starts[-1] != end:
        return None  # (a gap or an overlap: such blobs are read through their layouts only)
    # The canon: the blob up to the offset table, without each variable object's bytes after its marker.
    removed = [(starts[place] + 1, starts[place + 1]) for place, _index, _kind in variable]

    def canon_at(position: int) -> int:
        return position - sum(stop - start for start, stop in removed if stop <= position)

    canon_length = canon_at(end)
    canon = b"".join([blob[a:b] for a, b in zip([0, *(stop for _, stop in removed)],
                                                  [*(start for start, _ in removed), end], strict=True)])
    mask, expected = _masked(canon, [(canon_at(start), canon_at(stop), kind) for start, stop, kind in loose])
    numbers = tuple(
        None if index is None else (slice(canon_at(offsets[index] + 1), canon_at(offsets[index] + 1) + (1 << (markers[index] & 0xF))),
                                    markers[index] & 0xF == 3)
        for index in number_objects
    )
    position_of = {index: place for place, index in enumerate(order)}
    return _Template(
        sizes=tuple(sizes),
        variable=tuple(variable),
        starts_by_object=cast(
            Callable[[list[int]], tuple[int, ...]], itemgetter(*(position_of[i] for i in range(len(offsets))))
        ),
        canon_length=canon_length,
        mask=mask,
        expected=expected,
        wide=tuple(slice(canon_at(start), canon_at(stop)) for start, stop, kind in sorted(loose) if kind == 6),
        numbers=_unpacker(_Plan(numbers, None, None)),
        target=None if target_object is None else (target_object, markers[target_object] >> 4 == 6),
        key=key_object,
    )


_NUMBERS = (b"Size", b"Mode", b"LastModified", b"LastStatusChange", b"Birth")  # MBFile's fields, in order


def _table(refs: bytes, strings: list[bytes]) -> dict[bytes, int]:
    """A dictionary's keys (ASCII, as bytes; checked already) and the references of its values."""
    half = len(refs) // 2
    return dict(zip([strings[ref] for ref in refs[:half]], refs[half:], strict=True))


def _uid(blob: bytes, offsets: Sequence[int], markers: tuple[int, ...], index: int | None) -> int | None:
    if index is None or markers[index] >> 4 != 8:
        return None
    offset = offsets[index]
    return int.from_bytes(blob[offset + 1 : offset + 2 + (markers[index] & 0xF)], "big")


def _archived_root(value: PlistValue) -> tuple[dict[str, PlistValue], list[PlistValue]] | None:
    """The root object and object table of an NSKeyedArchiver plist, when it has the usual shape."""
    if not isinstance(value, dict):
        return None
    objects, top = value.get("$objects"), value.get("$top")
    root = top.get("root") if isinstance(top, dict) else None
    if not isinstance(objects, list) or not isinstance(root, plistlib.UID) or root.data >= len(objects):
        return None
    obj = objects[root.data]
    return (obj, objects) if isinstance(obj, dict) else None


def _number(fields: dict[str, PlistValue], key: str) -> int | None:
    item = fields.get(key)
    return item if isinstance(item, int) and not isinstance(item, bool) else None


def mbfile_from_value(value: PlistValue, where: str, limits: Limits) -> MBFile:
    """The MBFile fields of a decoded archive: read straight from its root object when the archive
    has the usual shape (a flat dictionary of numbers and references), else through the general
    NSKeyedArchiver resolver."""
    shaped = _archived_root(value)
    target: PlistValue = None
    key: PlistValue = None
    if shaped is not None:
        fields, objects = shaped
        target_ref = fields.get("Target")
        if isinstance(target_ref, plistlib.UID) and 0 < target_ref.data < len(objects):
            target = objects[target_ref.data]
        key = fields.get("EncryptionKey")
        if isinstance(key, plistlib.UID):
            key = objects[key.data] if key.data < len(objects) else None
        if isinstance(key, dict):
            key = key.get("NS.data")
    else:
        try:
            fields = resolve_keyed_archive(value, where, limits)
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
            # A malformed graph (an NS.objects that is not an array, an NS.time that is not a
            # number…): this blob's fault, reported as such, never the artifact's end.
            raise EvidenceError(where, f"MBFile archive cannot be resolved ({type(exc).__name__}: {exc})") from exc
        if not isinstance(fields, dict):
            raise EvidenceError(where, "MBFile is not a dictionary")
        target = fields.get("Target")
        key = fields.get("EncryptionKey")
        if isinstance(key, dict):
            key = key.get("NS.data")
    return MBFile(
        size=_number(fields, "Size"),
        mode=_number(fields, "Mode"),
        last_modified=_number(fields, "LastModified"),
        last_status_change=_number(fields, "LastStatusChange"),
        birth=_number(fields, "Birth"),
        target=target if isinstance(target, str) and target != "$null" else None,
        encryption_key=key if isinstance(key, bytes) else None,
    )


def decode_mbfile(blob: bytes, where: str, limits: Limits) -> MBFile:
    """One MBFile, without a decoder's layouts (see MBFileDecoder)."""
    return MBFileDecoder(limits).decode(blob, where)


def decode_mbfile_general(blob: bytes, where: str, limits: Limits) -> MBFile:
    """:func:`decode_mbfile` with plistlib only: the reference the kernel is tested against."""
    if len(blob) > MAX_MBFILE_BYTES:
        raise EvidenceError(where, f"MBFile of {len(blob)} bytes is too large")
    return mbfile_from_value(load_plist(blob, where, limits), where, limits)


# DecodedMBFiles.absent: per row, bit i set when number i (size, mode, three times) is None;
# _LEFT when the row's MBFile was not decoded by the listing (the kernel unsure of it, or a number
# beyond 32 bits): its reader reads the blob itself.
_ALL_ABSENT = 0x1F
_LEFT = 0x80
_FIVE_ZEROS = (0, 0, 0, 0, 0)
_LOW, _HIGH = -(1 << 31), 1 << 31  # what the store's arrays hold (array "i")
# A row's five numbers as the bytes of the store's array (its own type, native): struct packs them at
# C speed where array.extend parses each one by a format string (0.19 µs a row of 200,000), and
# refuses the same values (None, beyond 32 bits) with struct.error.
_PACK_FIVE = struct.Struct("@5" + array("i").typecode).pack


@dataclass(slots=True)
class DecodedMBFiles:
    """The MBFiles of a Manifest.db's rows, as the backup's listing decoded them with the full-field
    kernel (:meth:`MBFileDecoder.fields`), kept by rowid, so no reader decodes one twice.

    The listing reads every row's MBFile (the integrity check needs each file's size, an encrypted
    backup each file's key); the Manifest artifact then reads the same rows for their records.
    Decoding each blob once, and handing the artifact the numbers, is a phone's 200,000 blobs read
    once instead of twice. Compact, 25 bytes a row: a rowid and five numbers in 32-bit arrays, a
    byte saying which numbers are absent, the few link targets in a dict; never an object per row.
    A row whose blob the kernel was not sure of, or with a number beyond 32 bits (a file of 2 GiB
    or more, a time past 2038), is marked left: its reader decodes it as it always has (plistlib,
    its warnings). Rowids beyond 32 bits leave every row to the reader. The fields given are
    exactly those the kernel gave (no encryption key: what the Manifest artifact reads)."""

    rowids: array[int] = field(default_factory=lambda: array("i"))
    numbers: array[int] = field(default_factory=lambda: array("i"))  # five per row
    absent: bytearray = field(default_factory=bytearray)
    targets: dict[int, str] = field(default_factory=dict)  # by place
    ordered: bool = True  # rowids whole numbers, strictly increasing: found by bisection

    def __len__(self) -> int:
        return len(self.absent)

    def add(self, rowid: object, blob: object, fields: MBFileFields | None) -> None:
        """One row, in the order of the listing: its rowid, its MBFile column as read, and what the
        kernel gave of it (None when it was not sure, or not asked: the row is left)."""
        rowids = self.rowids
        if type(rowid) is int and _LOW <= rowid < _HIGH:
            if rowids and rowid <= rowids[-1]:
                self.ordered = False
            rowids.append(rowid)
        else:
            self.ordered = False
            rowids.append(0)
        if not (type(blob) is bytes and blob):
            # No MBFile: every field absent, as its reader takes it.
            self.numbers.extend(_FIVE_ZEROS)
            self.absent.append(_ALL_ABSENT)
            return
        if fields is None:
            self.numbers.extend(_FIVE_ZEROS)
            self.absent.append(_LEFT)
            return
        values = fields[:5]
        try:
            # The usual row: every number there and within 32 bits, which struct checks as it packs
            # them (None and a wider number are refused).
            packed = _PACK_FIVE(*values)
        except struct.error:
            pass
        else:
            self.numbers.frombytes(packed)
            self.absent.append(0)
            if fields[5] is not None:
                self.targets[len(self.absent) - 1] = fields[5]
            return
        # Some number absent (kept as absent), or one the arrays cannot hold (the row is left).
        numbers = self.numbers
        mask = 0
        for bit, value in enumerate(values):
            if value is None:
                mask |= 1 << bit
            elif type(value) is not int or not _LOW <= value < _HIGH:
                mask = _LEFT
                break
        numbers.extend(_FIVE_ZEROS if mask == _LEFT else [0 if v is None else v for v in values])
        self.absent.append(mask)
        if mask != _LEFT and fields[5] is not None:
            self.targets[len(self.absent) - 1] = fields[5]

    def extend(self, other: DecodedMBFiles) -> None:
        """Add the rows a later range of the listing decoded."""
        start = len(self.absent)
        if not other.ordered or (self.rowids and other.rowids and other.rowids[0] <= self.rowids[-1]):
            self.ordered = False
        self.rowids.extend(other.rowids)
        self.numbers.extend(other.numbers)
        self.absent.extend(other.absent)
        self.targets.update({place + start: target for place, target in other.targets.items()})

    def find(self, rowid: int, hint: int = 0) -> int:
        """The place of the row `rowid`, or -1 when the listing did not decode it (or the rows cannot
        be found by rowid). `hint`: where to look first (rows are read in rowid order: after the last one)."""
        rowids = self.rowids
        if not self.ordered:
            return -1
        if 0 <= hint < len(rowids) and rowids[hint] == rowid:
            return hint
        place = bisect_left(rowids, rowid)
        return place if place < len(rowids) and rowids[place] == rowid else -1

    def fields_of(self, rowids: Sequence[object], hint: int = 0) -> tuple[list[MBFileFields | None], int]:
        """The fields of the rows `rowids`, as ``fields_at(find(rowid))`` gives each (None for a row the
        listing left to its reader or did not decode), and where to look for the rows after them.

        The rows an artifact reads in rowid order are the listing's, one after the other: when they
        are, their numbers are taken as one slice of the arrays (a phone's Manifest has 200,000 rows;
        a lookup and a tuple built by item per row was most of what the rows cost here). Tested
        against fields_at and find on any rows."""
        count = len(rowids)
        first = rowids[0] if count else None
        place = self.find(first, hint) if type(first) is int else -1
        if place >= 0 and self.rowids[place : place + count].tolist() == rowids:
            numbers = iter(self.numbers[5 * place : 5 * (place + count)].tolist())
            found: list[MBFileFields | None] = [
                (size, mode, modified, changed, birth, None, None)
                for size, mode, modified, changed, birth in zip(numbers, numbers, numbers, numbers, numbers, strict=True)
            ]
            absent = self.absent[place : place + count]
            if absent.count(0) != count:
                for at, mask in enumerate(absent):
                    if mask:
                        found[at] = self.fields_at(place + at)
            targets = self.targets
            if targets:
                for at in range(count):
                    target = targets.get(place + at)
                    if target is not None and not absent[at]:
                        found[at] = (*cast("MBFileFields", found[at])[:5], target, None)
            return found, place + count
        out: list[MBFileFields | None] = []
        for rowid in rowids:
            place = self.find(rowid, hint) if type(rowid) is int else -1
            fields = self.fields_at(place) if place >= 0 else None
            if fields is not None:
                hint = place + 1
            out.append(fields)
        return out, hint

    def fields_at(self, place: int) -> MBFileFields | None:
        """The fields of the row at `place` (see :meth:`MBFileDecoder.fields`; no encryption key), or
        None when the listing left its MBFile to its reader."""
        mask = self.absent[place]
        at = 5 * place
        numbers = self.numbers
        target = self.targets.get(place) if self.targets else None
        if not mask:
            return (numbers[at], numbers[at + 1], numbers[at + 2], numbers[at + 3], numbers[at + 4], target, None)
        if mask & _LEFT:
            return None
        size, mode, modified, changed, birth = (
            None if mask & (1 << bit) else numbers[at + bit] for bit in range(5)
        )
        return (size, mode, modified, changed, birth, target, None)
