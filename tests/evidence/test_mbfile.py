"""The MBFile kernel against plistlib: the same fields on every blob it reads, plistlib's answer on
every other (generated archives of many shapes, the builders' own, and damaged copies of them)."""

from __future__ import annotations

import plistlib
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preuve.builders.ios_backup import mbfile_blob
from preuve.evidence.errors import EvidenceError
from preuve.evidence.limits import Limits
from preuve.evidence.mbfile import MBFile, MBFileDecoder, decode_mbfile_general
from tests.builders.ios_encrypted import _with_encryption_key

LIMITS = Limits()
UID = plistlib.UID

ints = st.one_of(
    st.integers(0, 255), st.integers(0, 2**16), st.integers(0, 2**32 - 1), st.integers(-(2**63), 2**63 - 1)
)
texts = st.one_of(st.text(alphabet="abcdefghij/._- ", max_size=300), st.text(max_size=40))
leaf = st.one_of(ints, st.booleans(), texts, st.binary(max_size=60), st.floats(allow_nan=False))


@st.composite
def archives(draw: st.DrawFn) -> bytes:
    """An NSKeyedArchiver'd MBFile as iOS and plistlib write them, with its fields of any type and
    in any order, optional link target and encryption key, extra keys and nested objects."""
    objects: list[object] = ["$null"]
    root: dict[str, object] = {}
    objects.append(root)
    names = ["Size", "Mode", "LastModified", "LastStatusChange", "Birth", "InodeNumber", "UserID", "GroupID",
             "ProtectionClass", "Flags"]
    for name in draw(st.permutations(names)):
        if draw(st.integers(0, 9)) == 0:
            continue  # absent
        root[name] = draw(ints) if draw(st.integers(0, 5)) else draw(leaf)
    root["RelativePath"] = UID(len(objects))
    objects.append(draw(texts))
    kind = draw(st.integers(0, 5))
    if kind == 1:
        root["Target"] = UID(len(objects))
        objects.append(draw(st.one_of(texts, st.just("$null"))))
    elif kind == 2:
        root["Target"] = UID(draw(st.integers(0, 12)))  # pointing anywhere, out of range too
    elif kind == 3:
        root["Target"] = draw(leaf)
    key_kind = draw(st.integers(0, 4))
    if key_kind == 1:
        objects.append({"$classname": "NSMutableData", "$classes": ["NSMutableData", "NSData", "NSObject"]})
        objects.append({"NS.data": draw(st.binary(min_size=0, max_size=44)), "$class": UID(len(objects) - 1)})
        root["EncryptionKey"] = UID(len(objects) - 1)
    elif key_kind == 2:
        root["EncryptionKey"] = draw(st.binary(max_size=40))
    elif key_kind == 3:
        root["EncryptionKey"] = UID(draw(st.integers(0, 12)))
    if draw(st.booleans()):
        objects.append({"NS.keys": [UID(2)], "NS.objects": [UID(2)], "$class": UID(0)})
        root["ExtendedAttributes"] = UID(len(objects) - 1)
    root["$class"] = UID(len(objects))
    objects.append({"$classname": "MBFile", "$classes": ["MBFile", "NSObject"]})
    top: dict[str, object] = {"root": UID(draw(st.sampled_from([1, 1, 1, 0, 2, 40])))}
    archive = {"$version": 100000, "$archiver": "NSKeyedArchiver", "$top": top, "$objects": objects}
    return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY, sort_keys=draw(st.booleans()))


def general(blob: bytes) -> MBFile | str:
    try:
        return decode_mbfile_general(blob, "MBFile", LIMITS)
    except EvidenceError as exc:
        return f"error: {exc.reason}"


def kernel(decoder: MBFileDecoder, blob: bytes) -> MBFile | str:
    try:
        return decoder.decode(blob, "MBFile")
    except EvidenceError as exc:
        return f"error: {exc.reason}"


class WholeChecks:
    """Counts the kernel's whole checks (`learning`: also those that learn a layout), once installed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, learning: bool = True) -> None:
        import preuve.evidence.mbfile as kernel_module

        self.count = 0
        whole = kernel_module._check

        def counted(*args: object, **kwargs: object) -> object:
            if learning or not kwargs.get("with_layout"):
                self.count += 1
            return whole(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(kernel_module, "_check", counted)


def damaged(blob: bytes, rng: random.Random) -> bytes:
    data = bytearray(blob)
    for _ in range(rng.randint(1, 4)):
        how = rng.randint(0, 3)
        if how == 0:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif how == 1:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif how == 2:  # in the trailer: sizes, counts, offsets
            data[len(data) - 32 + rng.randrange(32)] = rng.randrange(256)
        else:
            cut = rng.randrange(len(data))
            data = data[:cut] + data[cut + rng.randint(1, 8) :]
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(archives(), min_size=1, max_size=4), st.integers(0, 2**32))
def test_kernel_agrees_with_plistlib_on_archives_and_their_damaged_copies(blobs: list[bytes], seed: int) -> None:
    decoder = MBFileDecoder(LIMITS)  # one decoder for all: layouts seen before are reused
    rng = random.Random(seed)
    for blob in blobs:
        for _ in range(2):  # the second read goes through the layout
            assert kernel(decoder, blob) == general(blob)
        for _ in range(6):
            bad = damaged(blob, rng)
            assert kernel(decoder, bad) == general(bad)
            # What the kernel reads on its own (None: left to plistlib) is plistlib's answer.
            found = decoder.read(bad)
            assert found is None or found == general(bad)


def test_kernel_reads_the_builders_mbfiles_and_reuses_their_layouts() -> None:
    blobs = [mbfile_blob(f"Library/Caches/app/file{i % 37}.dat", i * 1_000_003 % 2**40, 1_700_000_000 + i, 0o100644, 1)
             for i in range(300)]
    blobs += [mbfile_blob(f"Library/link{i}", 0, 1_700_000_000, 0o120755, 4, target=f"../target/{i}") for i in range(20)]
    blobs += [_with_encryption_key(b, bytes([3, 0, 0, 0]) + bytes(range(i % 7, 40 + i % 7))) for i, b in enumerate(blobs[:30])]
    decoder = MBFileDecoder(LIMITS)
    for blob in blobs:
        assert decoder.read(blob) == general(blob)
    assert decoder.read(blobs[0]) == MBFile(
        size=0, mode=0o100644, last_modified=1_700_000_000, last_status_change=1_700_000_000, birth=1_700_000_000
    )
    assert decoder.read(blobs[300]) is not None and decoder.read(blobs[300]).target == "../target/0"  # type: ignore[union-attr]
    assert decoder.read(blobs[320]).encryption_key == bytes([3, 0, 0, 0]) + bytes(range(40))  # type: ignore[union-attr]
    # Far fewer layouts than blobs: most are read by comparing their fixed bytes.
    assert 0 < len(decoder._layouts) < 60


def test_a_layout_never_stands_for_a_blob_whose_structure_differs() -> None:
    decoder = MBFileDecoder(LIMITS)
    first = mbfile_blob("Library/a.txt", 10, 1_700_000_000, 0o100644, 1)
    decoder.read(first)
    decoder.read(first)  # the layout is kept from here
    # Same offset table and trailer, the key "Size" renamed (same length): no Size to report.
    renamed = first.replace(b"TSize", b"TSizf")
    assert len(renamed) == len(first) and renamed[-40:] == first[-40:]
    assert decoder.read(renamed) == general(renamed)
    assert decoder.read(renamed).size is None  # type: ignore[union-attr]
    # A path that is no longer ASCII: plistlib refuses the blob, and so does the kernel.
    broken = first.replace(b"Library/a.txt", b"Library/\xffa.txt"[:13])
    assert decoder.read(broken) is None
    assert general(broken).startswith("error:")  # type: ignore[union-attr]


def test_a_malformed_archive_graph_is_the_blob_s_error_not_the_artifact_s() -> None:
    # $top is not a dictionary: the general resolver reads the root at UID 1, then an NS.objects
    # that is a UID, not an array (plistlib's resolver raised TypeError and stopped the artifact).
    archive = {"$version": 100000, "$archiver": "NSKeyedArchiver", "$top": "broken",
               "$objects": ["$null", {"Size": 5, "ExtendedAttributes": UID(2)}, {"NS.objects": UID(0)}]}
    blob = plistlib.dumps(archive, fmt=plistlib.FMT_BINARY)
    decoder = MBFileDecoder(LIMITS)
    with pytest.raises(EvidenceError, match="cannot be resolved"):
        decoder.decode(blob, "MBFile")
    assert general(blob).startswith("error: MBFile archive cannot be resolved")  # type: ignore[union-attr]


@pytest.mark.parametrize("blob", [b"", b"bplist00", b"bplist00" + b"\0" * 40, b"<plist></plist>", b"x" * 70_000])
def test_kernel_leaves_what_it_cannot_read_to_plistlib(blob: bytes) -> None:
    decoder = MBFileDecoder(LIMITS)
    assert decoder.read(blob) is None
    assert kernel(decoder, blob) == general(blob)


def general_size(blob: bytes) -> int | None:
    """The Size the integrity check wants, by plistlib: a whole number, else None."""
    found = general(blob)
    if isinstance(found, str) or found.size is None or found.size < 0:
        return None
    return found.size


def plain_plistlib_size(blob: bytes) -> int | None | str:
    """The Size as plistlib alone reads an archive of the usual shape (``$top.root`` pointing at a
    dictionary in ``$objects``); "other" for any other blob."""
    try:
        value = plistlib.loads(blob)
    except Exception:  # noqa: BLE001 - whatever plistlib refuses
        return "other"
    if not isinstance(value, dict) or not isinstance(value.get("$top"), dict):
        return "other"
    root, objects = value["$top"].get("root"), value.get("$objects")
    if not isinstance(root, UID) or not isinstance(objects, list) or not root.data < len(objects):
        return "other"
    fields = objects[root.data]
    if not isinstance(fields, dict):
        return "other"
    size = fields.get("Size")
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(archives(), min_size=1, max_size=4), st.integers(0, 2**32))
def test_size_kernel_agrees_with_plistlib_on_archives_and_their_damaged_copies(blobs: list[bytes], seed: int) -> None:
    decoder = MBFileDecoder(LIMITS)
    rng = random.Random(seed)
    for blob in blobs:
        for _ in range(3):  # the later reads go through the layout
            assert decoder.size(blob, "MBFile") == general_size(blob)
        plain = plain_plistlib_size(blob)
        if plain != "other":
            assert decoder.size(blob, "MBFile") == plain
        for _ in range(6):
            bad = damaged(blob, rng)
            assert decoder.size(bad, "MBFile") == general_size(bad)
            plain = plain_plistlib_size(bad)
            if plain != "other" and not isinstance(general(bad), str):
                assert decoder.size(bad, "MBFile") == plain


def test_size_kernel_reads_the_builders_mbfiles_through_their_layouts() -> None:
    blobs = [mbfile_blob(f"Library/Caches/app/file{i % 37}.dat", i * 1_000_003 % 2**40, 1_700_000_000 + i, 0o100644, 1)
             for i in range(200)]
    decoder = MBFileDecoder(LIMITS)
    assert [decoder.size(b, "MBFile") for b in blobs] == [i * 1_000_003 % 2**40 for i in range(200)]
    assert [decoder.size(b, "MBFile") for b in blobs] == [plain_plistlib_size(b) for b in blobs]
    # A layout that no longer fits (a renamed key, a path no longer ASCII) is not read by the layout.
    first = blobs[0]
    assert decoder.size(first.replace(b"TSize", b"TSizf"), "MBFile") is None
    assert decoder.size(first.replace(b"Library/Caches", b"Library/\xffaches"), "MBFile") is None
    negative = mbfile_blob("Library/n.txt", -5, 1_700_000_000, 0o100644, 1)
    assert decoder.size(negative, "MBFile") is None and decoder.size(negative, "MBFile") is None


def general_fields(blob: bytes) -> tuple[object, ...] | str:
    """All the fields plistlib's decode gives, as the full-field kernel gives them (a tuple)."""
    found = general(blob)
    if isinstance(found, str):
        return found
    return (found.size, found.mode, found.last_modified, found.last_status_change, found.birth, found.target,
            found.encryption_key)


def kernel_fields(decoder: MBFileDecoder, blob: bytes) -> tuple[object, ...] | str:
    """The full-field kernel's answer, plistlib's (through decode) where it leaves the blob."""
    found = decoder.fields(blob)
    if found is not None:
        return found
    try:
        decoded = decoder.decode(blob, "MBFile")
    except EvidenceError as exc:
        return f"error: {exc.reason}"
    return (decoded.size, decoded.mode, decoded.last_modified, decoded.last_status_change, decoded.birth,
            decoded.target, decoded.encryption_key)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(archives(), min_size=1, max_size=4), st.integers(0, 2**32))
def test_full_field_kernel_agrees_with_plistlib_on_archives_and_their_damaged_copies(
    blobs: list[bytes], seed: int
) -> None:
    decoder = MBFileDecoder(LIMITS)
    rng = random.Random(seed)
    for blob in blobs:
        for _ in range(3):  # the later reads go through the layout
            assert kernel_fields(decoder, blob) == general_fields(blob)
        for _ in range(6):
            bad = damaged(blob, rng)
            for _ in range(3):
                assert kernel_fields(decoder, bad) == general_fields(bad)


def _archive(root: dict[str, object], *extra: object) -> bytes:
    objects: list[object] = ["$null", root, {"$classname": "MBFile", "$classes": ["MBFile", "NSObject"]}, *extra]
    root["$class"] = UID(2)
    archive = {"$version": 100000, "$archiver": "NSKeyedArchiver", "$top": {"root": UID(1)}, "$objects": objects}
    return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY)


def test_full_field_kernel_reads_every_integer_width_shared_numbers_links_and_keys_through_layouts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Integers of 1, 2, 4 and 8 bytes (8: signed), one integer object shared by three fields (plistlib
    # writes an equal value once), absent fields, ASCII, UTF-16 and "$null" link targets, a wrapped key.
    def blob(i: int) -> bytes:
        when = [7, 300, 1_700_000_000 + i, -(2**40) - i, 2**63 - 1][i % 5]
        root: dict[str, object] = {"Size": [i % 200, 60_000 + i, 2**31 + i, 2**40 + i][i % 4], "Mode": 0o100644,
                                   "LastModified": when, "LastStatusChange": when, "Birth": when,
                                   "RelativePath": UID(3)}
        extra: list[object] = [f"Library/file{i % 10}.txt"]
        if i % 7 == 1:
            root["Target"] = UID(4)
            extra.append([f"../t{i % 10}", f"../é{i % 10}", "$null"][i % 3])
        if i % 11 == 2:
            del root["Mode"]
        if i % 13 == 3:
            root["EncryptionKey"] = UID(4 + len(extra) - 1)
            extra.append({"NS.data": bytes([3, 0, 0, 0]) + bytes(range(i % 5, 40 + i % 5)), "$class": UID(2)})
        return _archive(root, *extra)

    blobs = [blob(i) for i in range(400)]
    decoder = MBFileDecoder(LIMITS)
    first = [decoder.fields(b) for b in blobs]
    assert first == [general_fields(b) for b in blobs]
    key = bytes([3, 0, 0, 0])
    assert first[0] == (0, 0o100644, 7, 7, 7, None, None)
    assert first[1] == (60_001, 0o100644, 300, 300, 300, "../é1", None)
    assert first[2] == (2**31 + 2, None, 1_700_000_002, 1_700_000_002, 1_700_000_002, None, None)
    assert first[8] == (8, 0o100644, -(2**40) - 8, -(2**40) - 8, -(2**40) - 8, None, None)  # "$null"
    assert first[15] == (2**40 + 15, 0o100644, 7, 7, 7, "../t5", None)
    assert first[16] == (16, 0o100644, 300, 300, 300, None, key + bytes(range(1, 41)))
    assert first[29] == (60_029, 0o100644, 2**63 - 1, 2**63 - 1, 2**63 - 1, None, key + bytes(range(4, 44)))
    # Once learnt, every blob is read through a layout (its shape's, once the shape's blobs have
    # missed the layouts kept some times: see _LEARN_AFTER) or a template: none is checked whole.
    checks = WholeChecks(monkeypatch)
    for _ in range(12):  # (a pass checks whole only the blobs whose shape's layout is learnt then)
        checks.count = 0
        assert [decoder.fields(b) for b in blobs] == first
        if not checks.count:
            break
    assert checks.count == 0 and decoder._layout_count > 0


# -- templates: blobs of one structure whose strings and data have other lengths ---------------------

_PATHS = st.one_of(
    st.text(alphabet="abcdefghij/._- ", min_size=0, max_size=300),  # ASCII, short and long (1- and 2-byte lengths)
    st.text(alphabet="abé/ü字", min_size=0, max_size=40),  # UTF-16
    st.text(max_size=20),
)


@st.composite
def families(draw: st.DrawFn) -> list[bytes]:
    """MBFiles of one recipe (fields, widths, shared numbers, a link, a key, extended attributes) whose
    path, link target and key differ in length and content: on a phone, one structure for many shapes."""
    numbers = {name: draw(ints) for name in ("Size", "Mode", "LastModified", "InodeNumber", "UserID")}
    numbers["LastStatusChange"] = draw(st.sampled_from([numbers["LastModified"], 1_700_000_000]))
    numbers["Birth"] = draw(st.sampled_from([numbers["LastModified"], 5]))
    link = draw(st.integers(0, 2))
    keyed = draw(st.booleans())
    attributes = draw(st.booleans())
    blobs = []
    for path in draw(st.lists(_PATHS, min_size=2, max_size=8)):
        objects: list[object] = ["$null"]
        root: dict[str, object] = dict(numbers)
        objects.append(root)
        root["RelativePath"] = UID(len(objects))
        objects.append(path)
        if link:
            root["Target"] = UID(len(objects))
            objects.append(draw(_PATHS) if link == 1 else "$null")
        if keyed:
            objects.append({"$classname": "NSMutableData", "$classes": ["NSMutableData", "NSData", "NSObject"]})
            objects.append({"NS.data": draw(st.binary(min_size=0, max_size=60)), "$class": UID(len(objects) - 1)})
            root["EncryptionKey"] = UID(len(objects) - 1)
        if attributes:
            objects.append({"NS.keys": [UID(2)], "NS.objects": [UID(2)], "$class": UID(0)})
            root["ExtendedAttributes"] = UID(len(objects) - 1)
        root["$class"] = UID(len(objects))
        objects.append({"$classname": "MBFile", "$classes": ["MBFile", "NSObject"]})
        archive = {"$version": 100000, "$archiver": "NSKeyedArchiver", "$top": {"root": UID(1)}, "$objects": objects}
        blobs.append(plistlib.dumps(archive, fmt=plistlib.FMT_BINARY))
    return blobs


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(families(), st.integers(0, 2**32))
def test_templates_agree_with_plistlib_on_a_structure_s_blobs_and_their_damaged_copies(
    blobs: list[bytes], seed: int
) -> None:
    """One decoder reads a family twice over (the first blob of a structure teaches its template, the
    others are read through it), then damaged copies: plistlib's answer every time."""
    decoder = MBFileDecoder(LIMITS)
    rng = random.Random(seed)
    for _ in range(2):
        for blob in blobs:
            assert kernel_fields(decoder, blob) == general_fields(blob)
    for blob in blobs:
        for _ in range(6):
            bad = damaged(blob, rng)
            assert kernel_fields(decoder, bad) == general_fields(bad)
            found = decoder.read(bad)
            assert found is None or found == general(bad)


def test_a_phone_s_many_shapes_are_read_through_a_few_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths of every length (up to 255: the kernel reads an ASCII string's length in one byte) and
    sizes of every integer width make a shape (offset table) each, some 1,000 here and thousands on
    a phone, more than the layouts a decoder keeps. They are a few dozen structures: once those are
    learnt, a blob of a shape never seen is read through its structure's template, never checked whole."""
    def blob(length: int, size: int) -> bytes:
        return mbfile_blob("p" * length, size, 1_700_000_000, 0o100644, 1)

    sizes = (7, 300, 70_000, 2**33)
    taught = [blob(length, size) for length in [*range(1, 15), *range(15, 256, 2)] for size in sizes]
    unseen = [blob(length, size + 1) for length in range(16, 256, 2) for size in sizes]
    shape = {b[int.from_bytes(b[-8:], "big"):] for b in taught + unseen}
    assert len(shape) > 1_000
    decoder = MBFileDecoder(LIMITS)
    checks = WholeChecks(monkeypatch)
    assert [decoder.fields(b) for b in taught] == [general_fields(b) for b in taught]
    # One structure per size width for paths of 15 characters and more (their length written after
    # the marker); one per length below, where the marker holds it.
    assert len(decoder._templates) == 4 * 15
    assert checks.count == len(decoder._templates)
    checks.count = 0
    assert [decoder.fields(b) for b in unseen] == [general_fields(b) for b in unseen]
    assert checks.count == 0
    assert len(decoder._layouts) == len(shape) and decoder._layout_count == 0  # each seen once, no layout yet


def test_blobs_of_one_structure_whose_references_differ_have_a_template_each(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two of the three times equal, which two varying: the same objects and markers, references to
    other objects. Each variant gets its template once; then no blob of any is checked whole but to
    learn the layout of a shape seen again (the variants share their shapes)."""
    def blob(length: int, variant: int) -> bytes:
        times = [(5_000, 5_000, 9_000), (5_000, 9_000, 9_000), (9_000, 5_000, 9_000)][variant]
        root: dict[str, object] = {"Size": 10, "Mode": 0o100644, "Birth": times[0], "LastModified": times[1],
                                   "LastStatusChange": times[2], "RelativePath": UID(3)}
        return _archive(root, "q" * length)

    taught = [blob(20, variant) for variant in range(3)]
    unseen = [blob(length, variant) for length in range(21, 200) for variant in range(3)]
    decoder = MBFileDecoder(LIMITS)
    assert [kernel_fields(decoder, b) for b in taught] == [general_fields(b) for b in taught]
    assert len(decoder._templates) == 1 and len(next(iter(decoder._templates.values()))) == 3
    checks = WholeChecks(monkeypatch, learning=False)
    assert [decoder.fields(b) for b in unseen] == [general_fields(b) for b in unseen]
    assert checks.count == 0
