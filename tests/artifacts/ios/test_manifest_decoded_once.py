"""Each MBFile of a Manifest.db is decoded once, by the backup's listing (evidence.mbfile.DecodedMBFiles):
the Manifest artifact takes each row's fields from there and reads only the blobs the listing left.
Its records and warnings are those it gives decoding every blob itself, on a backup damaged every
way and on MBFiles of every kind the kernel reads or leaves, plain and encrypted, read whole and in
chunks on two processes."""

from __future__ import annotations

import plistlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import preuve.artifacts.ios.manifest as manifest_module
import preuve.run.engine as engine_module
from preuve.builders.ios_backup import BackupBuilder
from preuve.evidence.mbfile import DecodedMBFiles
from preuve.evidence.parallel import can_fork
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from tests.builders import snapshot
from tests.builders.ios_encrypted import encrypt_backup
from tests.evidence.test_ios_integrity import _damaged_backup
from tests.helpers import RecordCollector

UID = plistlib.UID


def _archive(fields: dict[str, Any], target: str | None = None) -> bytes:
    top: dict[str, Any] = {"$class": UID(3), "RelativePath": UID(2), **fields}
    objects: list[Any] = ["$null", top, "Library/x", {"$classname": "MBFile", "$classes": ["MBFile", "NSObject"]}]
    if target is not None:
        top["Target"] = UID(4)
        objects.append(target)
    archive = {"$version": 100000, "$archiver": "NSKeyedArchiver", "$top": {"root": UID(1)}, "$objects": objects}
    return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY)


FULL = {"Size": 5, "Mode": 0o100644, "LastModified": 1_685_620_800, "LastStatusChange": 1_685_620_801,
        "Birth": 1_685_620_802}
BLOBS: dict[str, object] = {
    "real": _archive({**FULL, "LastModified": 1.5}),  # a real number: the kernel leaves it to plistlib
    "partial": _archive({"Size": 3, "LastModified": -5}),  # mode and two times absent
    "huge": _archive({**FULL, "Size": (1 << 64) - 1}),  # an integer of 16 bytes: left to plistlib
    "negative": _archive({**FULL, "Size": -2, "Birth": -(1 << 62)}),
    "link": _archive({**FULL, "Mode": 0o120755}, target="../../target"),
    "wide_target": _archive({**FULL, "Mode": 0o120755}, target="cible-é"),
    "garbage": b"not a plist at all",
    "empty": b"",
    "null": None,
    "text": "a text value",
    "number": 42,
}


def _odd_blobs(root: Path) -> None:
    conn = sqlite3.connect(root / "Manifest.db")
    for number, (name, blob) in enumerate(BLOBS.items()):
        conn.execute("INSERT INTO Files (fileID, domain, relativePath, flags, file) VALUES (?, 'HomeDomain', ?, ?, ?)",
                     (f"{number:040x}", f"Library/odd/{name}", 4 if "link" in name else 1, blob))
    conn.commit()
    conn.close()


def _run(root: Path, jobs: int, password: str | None = None) -> tuple[list[Any], list[str], list[str]]:
    from preuve.evidence.acquisition import Secrets

    collector = RecordCollector()
    result = run_check(root, CheckOptions(only_artifacts=("manifest",), jobs=jobs, secrets=Secrets(password=password)),
                       sinks=[collector])
    (report,) = [a for a in result.artifacts if a.name == "manifest"]
    return collector.records, list(report.warnings), list(report.errors)


def _count_artifact_decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The blobs the Manifest artifact decodes itself (not the listing's), by their length."""
    decoded: list[int] = []

    class Counting(manifest_module.MBFileDecoder):  # type: ignore[name-defined,misc]
        def fields(self, blob: bytes) -> Any:
            decoded.append(len(blob))
            return super().fields(blob)

    monkeypatch.setattr(manifest_module, "MBFileDecoder", Counting)
    return decoded


def _both_ways(root: Path, monkeypatch: pytest.MonkeyPatch, left: int, password: str | None = None) -> None:
    """The records, warnings and errors with the listing's MBFiles and without, and that the
    artifact decoded only the `left` blobs the kernel was not sure of."""
    before = snapshot(root)
    decoded = _count_artifact_decodes(monkeypatch)
    with monkeypatch.context() as patch:
        patch.setattr(manifest_module, "listed_mbfiles", lambda fs, path: None)
        reference = _run(root, 1, password)
    every = len(decoded)
    assert reference[0] and (password is not None or any("MBFile not decoded" in w for w in reference[1]))
    jobs = (1, 2) if can_fork(2) else (1,)
    for count in jobs:
        decoded.clear()
        assert _run(root, count, password) == reference
        # (with two jobs, a chunk the worker read is decoded, and counted, in the worker)
        assert (len(decoded) == left if count == 1 else len(decoded) <= left) and left < every
    assert snapshot(root) == before


@pytest.mark.parametrize("seed", [1, 2])
def test_a_damaged_backup_gives_the_same_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    monkeypatch.setattr(engine_module, "SPLIT_MIN_ROWS", 10)  # read in chunks on two processes
    monkeypatch.setattr(engine_module, "SPLIT_ROWS_PER_CHUNK", 9)
    root = _damaged_backup(tmp_path, seed)
    _odd_blobs(root)
    _both_ways(root, monkeypatch, left=5)  # real, huge, negative (a time beyond 32 bits), garbage, and x'00'


def test_an_encrypted_backup_gives_the_same_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builder = BackupBuilder(tmp_path / "plain")
    for n in range(30):
        builder.add_file(f"AppDomain-com.example.app{n % 4}", f"Library/Caches/file{n}.dat", bytes([n]) * n)
    builder.add_link("HomeDomain", "Library/link", "../target")
    builder.add_file("HomeDomain", "Library/real.plist", b"abcde")
    builder.set_mbfile("HomeDomain", "Library/real.plist", BLOBS["real"])  # type: ignore[arg-type]
    builder.add_file("HomeDomain", "Library/huge", b"zz")
    builder.set_mbfile("HomeDomain", "Library/huge", BLOBS["huge"])  # type: ignore[arg-type]
    root = encrypt_backup(builder.finish(), tmp_path / "enc", "pw", seed="decoded-once")
    _both_ways(root, monkeypatch, left=2, password="pw")  # real, huge


def test_rows_the_listing_cannot_find_by_rowid_are_read_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Files table whose rowids the listing did not see in increasing order (a column declared
    rowid): the artifact decodes every blob itself, as before."""
    builder = BackupBuilder(tmp_path / "b")
    for n in range(12):
        builder.add_file("HomeDomain", f"Library/f{n}", b"x" * n)
    root = builder.finish()
    conn = sqlite3.connect(root / "Manifest.db")
    for statement in (
        "ALTER TABLE Files RENAME TO Old",
        "CREATE TABLE Files (fileID TEXT, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB, rowid INT)",
        "INSERT INTO Files SELECT fileID, domain, relativePath, flags, file, 1000 - rowid FROM Old",
        "DROP TABLE Old",
    ):
        conn.execute(statement)
    conn.commit()
    conn.close()
    _odd_blobs(root)
    decoded = _count_artifact_decodes(monkeypatch)
    records, _, _ = _run(root, 1)
    with monkeypatch.context() as patch:
        patch.setattr(manifest_module, "listed_mbfiles", lambda fs, path: None)
        assert _run(root, 1)[0] == records
    blobs = sqlite3.connect(root / "Manifest.db").execute(
        "SELECT count(*) FROM Files WHERE typeof(file) = 'blob' AND length(file) > 0").fetchone()[0]
    assert len(decoded) == 2 * blobs  # every blob, in each of the two runs


# -- the store itself -----------------------------------------------------------------------------

_NUMBER = st.one_of(st.none(), st.integers(-(1 << 31), (1 << 31) - 1), st.integers(-(1 << 63), (1 << 63) - 1))
_FIELDS = st.one_of(
    st.none(),  # the kernel was not sure
    st.tuples(_NUMBER, _NUMBER, _NUMBER, _NUMBER, _NUMBER, st.one_of(st.none(), st.text(max_size=5)), st.none()),
)
_BLOB = st.sampled_from([b"blob", b"", None, "text", 3])
_ROW = st.tuples(st.one_of(st.integers(-5, 60), st.none(), st.just("x"), st.just(1 << 40)), _BLOB, _FIELDS)


def _expected(blob: object, fields: Any) -> Any:
    if not (type(blob) is bytes and blob):
        return (None, None, None, None, None, None, None)
    if fields is not None and any(n is not None and not -(1 << 31) <= n < 1 << 31 for n in fields[:5]):
        return None  # left to the reader: the store holds 32-bit numbers
    return fields


@given(st.lists(_ROW, max_size=30), st.integers(0, 30))
def test_the_store_gives_back_what_was_added(rows: list[tuple[Any, Any, Any]], cut: int) -> None:
    whole, first, second = DecodedMBFiles(), DecodedMBFiles(), DecodedMBFiles()
    for place, (rowid, blob, fields) in enumerate(rows):
        whole.add(rowid, blob, fields)
        (first if place < cut else second).add(rowid, blob, fields)
    first.extend(second)
    assert (first.rowids, first.numbers, first.absent, first.targets, first.ordered) == (
        whole.rowids, whole.numbers, whole.absent, whole.targets, whole.ordered
    )
    ints = [rowid for rowid, _, _ in rows]
    ordered = all(type(r) is int and -(1 << 31) <= r < 1 << 31 for r in ints) and all(
        a < b for a, b in zip(ints, ints[1:], strict=False)
    )
    assert whole.ordered == ordered and len(whole) == len(rows)
    for place, (rowid, blob, fields) in enumerate(rows):
        assert whole.fields_at(place) == _expected(blob, fields)
        if ordered:
            assert whole.find(rowid) == place == whole.find(rowid, place) == whole.find(rowid, 0)
        else:
            assert whole.find(rowid if type(rowid) is int else 0) == -1
    if ordered:
        assert whole.find(10_000) == -1 and whole.find(-10_000, 3) == -1


@given(st.lists(_ROW, max_size=30), st.lists(st.one_of(st.integers(-5, 65), st.none()), max_size=12),
       st.integers(0, 40), st.integers(0, 30), st.integers(0, 12))
def test_rows_taken_together_are_the_rows_taken_one_by_one(
    rows: list[tuple[Any, Any, Any]], others: list[Any], hint: int, start: int, count: int
) -> None:
    """fields_of gives each row what fields_at(find(rowid)) gives it: on a run of the listing's own
    rows (the usual read), on any rows, and whatever the hint."""
    store = DecodedMBFiles()
    for rowid, blob, fields in rows:
        store.add(rowid, blob, fields)

    def one_by_one(rowids: list[Any]) -> list[Any]:
        return [store.fields_at(p) if (p := store.find(r) if type(r) is int else -1) >= 0 else None for r in rowids]

    for rowids in ([r for r, _, _ in rows][start : start + count], others, [r for r, _, _ in rows][::2]):
        found, _ = store.fields_of(rowids, hint)
        assert found == one_by_one(rowids)
