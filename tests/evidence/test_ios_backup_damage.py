"""A backup whose Manifest.db is damaged: its rows are read around the damage, the acquisition is
marked damaged with the rows lost, and the files the run reads are found in the folder by their names
(a file id is the SHA-1 of domain-relativePath) where their rows were lost.

The backups are written by the builders; the damage is written over Manifest.db's pages with plain
file writes, the pages found with SQLite's own dbstat table."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import preuve.evidence.sources.backup as backup_module
from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.ios_dbs import Message, Process, fill_datausage, fill_sms
from preuve.builders.safari import Visit, fill_history
from preuve.evidence.parallel import can_fork
from preuve.model import Absence, ArtifactStatus, ExitCode
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions, CheckResult
from tests.builders import feed, snapshot
from tests.builders.ios_encrypted import encrypt_backup
from tests.builders.sqlite_pages import leaves as table_leaves
from tests.builders.sqlite_pages import zero_pages
from tests.helpers import RecordCollector

SPY = "spy-domain.example"
SAFARI_SPY = "safari-spy.example"
MALFORMED = "database disk image is malformed"
REBUILT = "(their file, domain, path and flags, each file's id checked against its name; not their metadata)"
META = "/.acquisition/backup/Manifest.db"
SMS = ("HomeDomain", "Library/SMS/sms.db")
SAFARI = ("AppDomain-com.apple.mobilesafari", "Library/Safari/History.db")


def _fid(domain: str, relative: str) -> str:
    return hashlib.sha1(f"{domain}-{relative}".encode()).hexdigest()  # noqa: S324 - the backup's own naming


def _backup(root: Path) -> Path:
    builder = BackupBuilder(root)
    # Rows enough for about sixty leaves of Manifest.db, on either side of each database's row (the
    # builder lists its rows by domain and path).
    for domain, folder in (("AppDomain-com.aaa.filler", "Library"), ("HomeDomain", "Library/Caches"),
                           ("HomeDomain", "Library/ZZ")):
        for n in range(130):
            builder.add_file(domain, f"{folder}/filler/f{n:03d}.dat", bytes([n % 256]) * 10)
    builder.add_sqlite(*SMS, lambda c: fill_sms(c, [Message(text=f"see https://{SPY}/x")]))
    when = datetime(2023, 5, 1, 9, 30, tzinfo=UTC)
    builder.add_sqlite(*SAFARI, lambda c: fill_history(c, [Visit(f"https://{SAFARI_SPY}/", when)]))
    builder.add_sqlite("WirelessDomain", "Library/Databases/DataUsage.sqlite",
                       lambda c: fill_datausage(c, [Process(1, "apsd", None, when, when)]))
    return builder.finish()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rowid(database: Path, domain: str, relative: str) -> int:
    conn = sqlite3.connect(database)
    (rowid,) = conn.execute("SELECT rowid FROM Files WHERE fileID = ?", (_fid(domain, relative),)).fetchone()
    conn.close()
    return int(rowid)


def _damage_rows_of(root: Path, *rowids: int) -> tuple[list[tuple[int | None, int | None]], int]:
    """Zero the leaves holding these rows (not the last, none beside another): the stretches lost (the
    rowids read on either side, None before the first leaf) and the rows left."""
    leaves = table_leaves(root / "Manifest.db", "Files")
    hit = sorted({at for at, (_, ids) in enumerate(leaves) for rowid in rowids if rowid in ids})
    assert all(at < len(leaves) - 1 for at in hit) and all(b - a > 1 for a, b in zip(hit, hit[1:], strict=False))
    zero_pages(root / "Manifest.db", *[leaves[at][0] for at in hit])
    left = sum(len(ids) for at, (_, ids) in enumerate(leaves) if at not in hit)
    return [(leaves[at - 1][1][-1] if at else None, leaves[at + 1][1][0]) for at in hit], left


def _check(root: Path, tmp_path: Path, jobs: int = 1, **options: Any) -> tuple[CheckResult, RecordCollector]:
    iocs = feed(tmp_path / "spy.stix2", (f"[domain-name:value='{SPY}']", "Spy"),
                (f"[domain-name:value='{SAFARI_SPY}']", "Spy"))
    collector = RecordCollector()
    result = run_check(root, CheckOptions(iocs=[iocs], jobs=jobs, **options), sinks=[collector])
    return result, collector


def _report(result: CheckResult, name: str) -> Any:
    (report,) = [a for a in result.all_artifacts() if a.name == name]
    return report


def _records(collector: RecordCollector, record_type: str) -> list[Any]:
    return [r for r in collector.records if r.record_type == record_type]


def _without_indexes(manifest: Path) -> None:
    """Manifest.db without its indexes (rewritten by SQLite, so its pages are laid out afresh): rows lost
    to damage cannot then be rebuilt, and the files the run reads are found by name."""
    conn = sqlite3.connect(manifest)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").fetchall():
        conn.execute(f'DROP INDEX "{name}"')
    conn.commit()
    conn.execute("VACUUM")
    conn.close()


def test_rows_read_around_a_damaged_page_and_files_found_by_name(tmp_path: Path) -> None:
    root = _backup(tmp_path / "backup")
    _without_indexes(root / "Manifest.db")
    clean, clean_records = _check(root, tmp_path)
    manifest = root / "Manifest.db"
    stretches, left = _damage_rows_of(root, _rowid(manifest, *SMS), _rowid(manifest, *SAFARI))
    assert len(stretches) == 2
    evidence = snapshot(root)
    result, collector = _check(root, tmp_path)
    assert snapshot(root) == evidence

    (before, after), _ = stretches
    where = f"the rows before rowid {after}" if before is None else f"the rows after rowid {before} and before rowid {after}"
    lost = (
        f"2 stretches of rows of Files could not be read, {left:,} rows were; the first: {where} of Files could not "
        f"be read ({MALFORMED})"
    )
    assert result.acquisition_problems == [f"Manifest.db is damaged: {lost}"]
    assert result.verdict().exit_code is ExitCode.DETECTED
    # sms.db and Safari's history (in the app's container: its name from the apps the backup lists)
    # are read as from the sound backup, found by their names; the same findings.
    for name in ("sms", "safari_history"):
        assert _report(result, name).status is ArtifactStatus.OK
    for record_type in ("ios:sms:message", "ios:safari:visit"):
        assert _records(collector, record_type) == _records(clean_records, record_type)
    spies = [f for f in result.findings if f.artifact in ("sms", "safari_history")]
    assert len(spies) == 2 and spies == [f for f in clean.findings if f.artifact in ("sms", "safari_history")]
    found = [w for w in result.warnings if "found in the backup's folder by its name" in w]
    assert found == [
        f"{root / 'Manifest.db'}: /private/var/mobile/Containers/Data/Application/com.apple.mobilesafari/Library/Safari/"
        f"History.db: found in the backup's folder by its name ({SAFARI[0]}-{SAFARI[1]}, {_fid(*SAFARI)[:2]}/"
        f"{_fid(*SAFARI)}); its row of the damaged Manifest.db was not read",
        f"{root / 'Manifest.db'}: /private/var/mobile/Library/SMS/sms.db: found in the backup's folder by its name "
        f"({SMS[0]}-{SMS[1]}, {_fid(*SMS)[:2]}/{_fid(*SMS)}); its row of the damaged Manifest.db was not read",
    ]
    # The Manifest artifact has the rows that could be read, and says which could not.
    manifest_report = _report(result, "manifest")
    assert manifest_report.status is ArtifactStatus.FAILED
    assert manifest_report.errors == [f"{META}: {lost}"]
    kept = [r for r in _records(clean_records, "ios:manifest:file")
            if not any((low or 0) < r.locator.rowid < high for low, high in stretches)]
    read = _records(collector, "ios:manifest:file")
    assert {r.locator.sha256 for r in read} == {sha256_of(root / "Manifest.db")}  # (the damaged file's)
    assert [replace(r, locator=replace(r.locator, sha256="")) for r in read] == [
        replace(r, locator=replace(r.locator, sha256="")) for r in kept]
    # A fixed path looked for by name and not in the folder is not in the backup; a path with a glob
    # the names cannot be guessed for may have been among the rows lost.
    calls = _report(result, "calls")
    assert (calls.status, calls.absence) == (ArtifactStatus.MISSING, Absence.NOT_LISTED)
    whatsapp = _report(result, "whatsapp_messages")
    assert (whatsapp.status, whatsapp.absence) == (ArtifactStatus.MISSING, Absence.LOST)
    assert (_report(clean, "whatsapp_messages").absence) is Absence.NOT_LISTED


@pytest.mark.parametrize("where", ["leaves", "root"])
def test_rows_lost_are_rebuilt_from_the_indexes(tmp_path: Path, where: str) -> None:
    """Manifest.db's indexes (on fileID, domain, relativePath and flags) are b-trees of their own pages:
    the rows a damaged leaf, or the table's damaged root, took are given back from them, each file's id
    checked against its name. A row whose id was not made from its name is not given back."""
    root = _backup(tmp_path / "backup")
    manifest = root / "Manifest.db"
    odd = _rowid(manifest, "HomeDomain", "Library/ZZ/filler/f000.dat")
    conn = sqlite3.connect(manifest)
    conn.execute("UPDATE Files SET relativePath = 'Library/ZZ/filler/renamed.dat' WHERE rowid = ?", (odd,))
    conn.commit()
    conn.close()
    clean, clean_records = _check(root, tmp_path)
    assert [f.explanation for f in clean.findings if f.artifact == "acquisition_integrity"] == [
        f"Backup file {_fid('HomeDomain', 'Library/ZZ/filler/f000.dat')} is listed in Manifest.db as "
        "HomeDomain/Library/ZZ/filler/renamed.dat, a name its id was not made from: the row was damaged or altered."
    ]
    leaves = table_leaves(manifest, "Files")
    if where == "root":
        conn = sqlite3.connect(manifest)
        (page,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'Files'").fetchone()
        conn.close()
        zero_pages(manifest, page)
        lost, count = [rowid for _, ids in leaves for rowid in ids], 0
        told = f"every row of Files could not be read ({MALFORMED}); 0 rows were read"
    else:
        hit = [n for n, (_, ids) in enumerate(leaves) if {_rowid(manifest, *SAFARI), odd} & set(ids)]
        assert len(hit) == 2 and 0 < hit[0] and hit[0] + 1 < hit[1] < len(leaves) - 1
        zero_pages(manifest, *[leaves[n][0] for n in hit])
        lost = [rowid for n in hit for rowid in leaves[n][1]]
        count = sum(len(ids) for _, ids in leaves) - len(lost)
        first = hit[0]
        told = (f"2 stretches of rows of Files could not be read, {count:,} rows were; the first: the rows after rowid "
                f"{leaves[first - 1][1][-1]} and before rowid {leaves[first + 1][1][0]} of Files could not be read "
                f"({MALFORMED})")
    evidence = snapshot(root)
    result, collector = _check(root, tmp_path)
    assert snapshot(root) == evidence
    assert result.acquisition_problems == [
        f"Manifest.db is damaged: {told}; its indexes gave back {len(lost) - 1:,} of the rows lost {REBUILT}"
    ]
    # Listed again: no file is looked for by name, the messages are read as from the sound backup, and
    # the integrity check finds every file listed but the one whose row was not given back.
    assert [w for w in result.warnings if "found in the backup's folder by its name" in w] == []
    for record_type in ("ios:sms:message", "ios:safari:visit"):
        assert _records(collector, record_type) == _records(clean_records, record_type)
    assert [f.explanation for f in result.findings if f.artifact == "acquisition_integrity"] == [
        f"File {_fid('HomeDomain', 'Library/ZZ/filler/f000.dat')} lies in the backup folder but Manifest.db does not "
        "list it."
    ]
    # The Manifest artifact lists them again, each in its place, without its metadata (it had no MBFile).
    given_back = set(lost) - {odd}
    expected = [
        replace(r, size=None, mode=None, modified=None, changed=None, birth=None) if r.locator.rowid in given_back else r
        for r in _records(clean_records, "ios:manifest:file") if r.locator.rowid != odd
    ]
    strip = lambda r: replace(r, locator=replace(r.locator, sha256=""))  # noqa: E731 - (the damaged file's hash)
    assert [strip(r) for r in _records(collector, "ios:manifest:file")] == [strip(r) for r in expected]
    assert _report(result, "manifest").errors == [
        f"{META}: {told}; its indexes gave back {len(given_back):,} of the rows lost (listed without their metadata)"
    ]
    # A file-path indicator matches a file whose row was given back.
    spied = max((r for r in expected if r.locator.rowid in given_back and r.kind == "file"), key=lambda r: r.locator.rowid)
    iocs = feed(tmp_path / "path.stix2", (f"[file:path = '{spied.device_path}']", "Spy"))
    matched = run_check(root, CheckOptions(iocs=[iocs], only_artifacts=("manifest",)), sinks=[RecordCollector()])
    assert [(f.artifact, f.locator.rowid) for f in matched.findings] == [("manifest", spied.locator.rowid)]


def test_a_manifest_read_in_ranges_gives_what_one_read_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not can_fork(2):
        pytest.skip("ranges are read in forked processes")
    """Two jobs read Manifest.db in four rowid ranges (cut at a quarter of its rows each: rowids are
    1 to n); a damaged leaf across a cut, and two leaves from one cut to past the next, are each one
    stretch, told as one read tells it."""
    root = _backup(tmp_path / "backup")
    manifest = root / "Manifest.db"
    leaves = table_leaves(manifest, "Files")
    count = sum(len(ids) for _, ids in leaves)
    assert [rowid for _, ids in leaves for rowid in ids] == list(range(1, count + 1))
    cuts = [1 + count * part // 4 for part in (1, 2, 3)]
    at = [next(n for n, (_, ids) in enumerate(leaves) if cut in ids) for cut in cuts]
    assert leaves[at[0]][1][0] < cuts[0] and leaves[at[2]][1][0] < cuts[2]  # (each cut inside its leaf)
    damaged = [at[0], at[1] - 1, at[1], at[2]]
    zero_pages(manifest, *[leaves[n][0] for n in damaged])
    monkeypatch.setattr(backup_module, "PARALLEL_MIN_ROWS", 50)
    one, one_records = _check(root, tmp_path, jobs=1)
    two, two_records = _check(root, tmp_path, jobs=2)
    assert one.acquisition_problems == two.acquisition_problems
    assert one.acquisition_problems == [
        f"Manifest.db is damaged: 3 stretches of rows of Files could not be read, "
        f"{count - sum(len(leaves[n][1]) for n in damaged):,} rows were; the first: the rows after rowid "
        f"{leaves[at[0] - 1][1][-1]} and before rowid {leaves[at[0] + 1][1][0]} of Files could not be read ({MALFORMED}); "
        f"its indexes gave back {sum(len(leaves[n][1]) for n in damaged):,} of the rows lost {REBUILT}"
    ]
    assert one_records.records == two_records.records
    assert one.findings == two.findings


def _no_files_table(path: Path) -> None:
    path.unlink()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(("damage", "reason"), [
    (lambda path: path.write_bytes(b"not a database at all" * 300), "file is not a database"),
    (_no_files_table, "no such table: Files"),
])
def test_a_manifest_without_rows_lists_what_is_found_by_name(tmp_path: Path, damage: Any, reason: str) -> None:
    root = _backup(tmp_path / "backup")
    damage(root / "Manifest.db")
    evidence = snapshot(root)
    result, collector = _check(root, tmp_path)
    assert snapshot(root) == evidence
    assert result.acquisition_problems == [
        f"Manifest.db is damaged: every row of Files could not be read ({reason}); 0 rows were read"
    ]
    assert result.verdict().exit_code is ExitCode.DETECTED
    assert {a.name for a in result.artifacts if a.status is ArtifactStatus.OK} >= {"sms", "safari_history", "datausage"}
    assert _report(result, "manifest").status is ArtifactStatus.FAILED
    # With no row, every stored file would be "not listed": the folder is not compared with nothing.
    integrity = _report(result, "acquisition_integrity")
    assert integrity.status is ArtifactStatus.FAILED
    assert integrity.errors == [
        f"{META}: no row could be read ({reason}): the folder cannot be compared with it"
    ]
    assert not _records(collector, "ios:backup:integrity")


def test_an_encrypted_backup_loses_the_files_of_its_lost_rows(tmp_path: Path) -> None:
    """A file's key is in its row: what a lost row listed cannot be found by name, and every artifact
    absent may have been lost."""
    plain = _backup(tmp_path / "plain")
    root = encrypt_backup(plain, tmp_path / "enc", "pw", seed="damage")
    result, _ = _check(root, tmp_path, secrets=_secrets("pw"))
    assert result.acquisition_problems == [] and _report(result, "sms").status is ArtifactStatus.OK
    # Manifest.db is encrypted whole: a page of ciphertext damaged is a damaged page once decrypted.
    zero_pages(root / "Manifest.db", *[table_leaves(plain / "Manifest.db", "Files")[3][0]])
    result, _ = _check(root, tmp_path, secrets=_secrets("pw"))
    assert len(result.acquisition_problems) == 1
    assert result.acquisition_problems[0].startswith("Manifest.db is damaged: ")
    assert not [w for w in result.warnings if "found in the backup's folder by its name" in w]
    calls = _report(result, "calls")
    assert (calls.status, calls.absence) == (ArtifactStatus.MISSING, Absence.LOST)


def _secrets(password: str) -> Any:
    from preuve.evidence.acquisition import Secrets

    return Secrets(password=password)


def test_a_backup_without_manifest_db_is_read_by_name(tmp_path: Path) -> None:
    """An incomplete backup: its files are in their folders, Manifest.db is not there."""
    root = _backup(tmp_path / "backup")
    (root / "Manifest.db").unlink()
    evidence = snapshot(root)
    result, collector = _check(root, tmp_path)
    assert snapshot(root) == evidence
    assert result.acquisition_problems == [
        "Manifest.db is missing: the backup is incomplete, and none of its files is listed"
    ]
    assert result.verdict().exit_code is ExitCode.DETECTED
    assert {a.name for a in result.artifacts if a.status is ArtifactStatus.OK} >= {"sms", "safari_history", "datausage"}
    assert len([w for w in result.warnings if "found in the backup's folder by its name" in w]) == 3
    calls = _report(result, "calls")
    assert (calls.status, calls.absence) == (ArtifactStatus.MISSING, Absence.NOT_LISTED)
    whatsapp = _report(result, "whatsapp_messages")
    assert (whatsapp.status, whatsapp.absence) == (ArtifactStatus.MISSING, Absence.LOST)
    assert not _records(collector, "ios:manifest:file")
