"""A database of the phone with a damaged page is read around the damage: the messages after it are
read too (before, the read stopped at the damage), the artifact is reported failed with what was
lost, and `preuve verify` re-derives a finding from after the damage the same way.

The backups are written by the builders; the damage is written over sms.db's pages with plain file
writes, the pages found with SQLite's own dbstat table."""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.ios_dbs import LiveUsage, Message, Process, fill_datausage, fill_sms
from preuve.builders.safari import Visit, fill_history
from preuve.cli import build_cli
from preuve.evidence.parallel import can_fork
from preuve.model import ArtifactStatus, ExitCode
from preuve.proof.verify import Status, verify
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions, CheckResult
from tests.builders import feed, snapshot
from tests.builders.sqlite_pages import leaves, zero_pages
from tests.helpers import RecordCollector

SPY = "spy-domain.example"
MALFORMED = "database disk image is malformed"
SMS_PATH = "/private/var/mobile/Library/SMS/sms.db"
MESSAGES = 600
SPIED = (5, 300, 590)  # the messages (ROWID) carrying the spy's link


def _sms_file(root: Path) -> Path:
    fid = hashlib.sha1(b"HomeDomain-Library/SMS/sms.db").hexdigest()  # noqa: S324 - the backup's naming
    return root / fid[:2] / fid


def _backup(root: Path) -> Path:
    builder = BackupBuilder(root)
    messages = [
        Message(text=f"message {n}: see https://{SPY}/x" if n in SPIED else f"message {n}: " + "words " * 20)
        for n in range(1, MESSAGES + 1)
    ]
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, messages))
    return builder.finish()


def _zero_leaf_of(database: Path, rowid: int) -> tuple[int, int, list[int]]:
    """Zero the leaf of message holding `rowid`: the rowids read on either side of it, and those lost."""
    pages = leaves(database, "message")
    (at,) = [n for n, (_, ids) in enumerate(pages) if rowid in ids]
    assert 0 < at < len(pages) - 1
    page, lost = pages[at]
    zero_pages(database, page)
    return pages[at - 1][1][-1], pages[at + 1][1][0], lost


def _check(root: Path, tmp_path: Path, jobs: int = 1) -> tuple[CheckResult, RecordCollector]:
    iocs = feed(tmp_path / "spy.stix2", (f"[domain-name:value='{SPY}']", "Spy"))
    collector = RecordCollector()
    result = run_check(root, CheckOptions(iocs=[iocs], jobs=jobs, only_artifacts=("sms",)), sinks=[collector])
    return result, collector


def _sms(result: CheckResult) -> Any:
    (report,) = [a for a in result.all_artifacts() if a.name == "sms"]
    return report


def _shown(records: list[Any]) -> list[tuple[int | None, str | None]]:
    return [(r.locator.rowid, r.text) for r in records if r.record_type.startswith("ios:sms")]


@pytest.mark.parametrize("jobs", [1, 2])
def test_messages_after_a_damaged_page_are_read(tmp_path: Path, jobs: int) -> None:
    if jobs == 2 and not can_fork(2):
        pytest.skip("no second process on this platform")
    root = _backup(tmp_path / "backup")
    clean, clean_records = _check(root, tmp_path, jobs)
    assert [f.locator.rowid for f in clean.findings] == list(SPIED)
    stored, tables = _stored_rows(root)
    after, before, lost = _zero_leaf_of(_sms_file(root), SPIED[1])
    evidence = snapshot(root)
    result, collector = _check(root, tmp_path, jobs)
    assert snapshot(root) == evidence

    # Every message but those of the damaged page, as the sound database gives them, in their order.
    assert _shown(collector.records) == [m for m in _shown(clean_records.records) if m[0] not in lost]
    assert [f.locator.rowid for f in result.findings] == [SPIED[0], SPIED[2]]
    report = _sms(result)
    assert report.status is ArtifactStatus.FAILED
    assert report.records == MESSAGES - len(lost)
    read = stored - len(lost)
    assert report.errors == [
        f"{SMS_PATH}: damaged ({MALFORMED}): read around the damage, {read:,} rows of {tables} table(s) read; the "
        f"rows after rowid {after} and before rowid {before} of message could not be read ({MALFORMED})"
    ]
    assert report.warnings == []
    # Told as read in part, never as unread.
    assert report.why() == f"was read in part ({report.records:,} record(s)): {report.errors[0]}"
    assert "1 artifact(s) could not be read in full: sms." in result.coverage().gaps()
    assert result.verdict().exit_code is ExitCode.DETECTED


def _stored_rows(root: Path) -> tuple[int, int]:
    """The rows of sms.db's tables in all (SQLite's own left out), and the tables."""
    conn = sqlite3.connect(f"file:{_sms_file(root)}?mode=ro", uri=True)
    try:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                 if not n.lower().startswith("sqlite_")]
        return sum(conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names), len(names)  # noqa: S608
    finally:
        conn.close()


def test_a_damaged_schema_still_fails_the_artifact(tmp_path: Path) -> None:
    """Nothing can be read of a database whose schema is damaged: the artifact fails as it did."""
    root = _backup(tmp_path / "backup")
    database = _sms_file(root)
    data = bytearray(database.read_bytes())
    data[100:4096] = bytes(4096 - 100)
    database.write_bytes(bytes(data))
    result, collector = _check(root, tmp_path)
    report = _sms(result)
    assert report.status is ArtifactStatus.FAILED
    assert report.records == 0 and collector.records == []
    assert report.errors == [f"{SMS_PATH}: SQLite error: {MALFORMED}"]


def test_verify_rederives_a_finding_after_the_damage(tmp_path: Path) -> None:
    root = _backup(tmp_path / "backup")
    _zero_leaf_of(_sms_file(root), SPIED[1])
    stix = feed(tmp_path / "spy.stix2", (f"[domain-name:value='{SPY}']", "Spy"))
    out = tmp_path / "out"
    result = CliRunner().invoke(build_cli(), ["check", str(root), "--iocs", str(stix), "-o", str(out), "-q"])
    assert result.exit_code == 2, result.output
    checks = verify(out / "bundle.json", root, [stix]).checks
    assert [(c.status, c.finding.locator.rowid) for c in checks] == [
        (Status.CONFIRMED, SPIED[0]), (Status.CONFIRMED, SPIED[2])
    ]


def test_a_warning_given_before_the_damage_is_not_repeated(tmp_path: Path) -> None:
    """Safari's history without its items table warns once as it begins; read again from the salvage,
    it warns the same, and the run tells it once."""
    builder = BackupBuilder(tmp_path / "backup")
    when = datetime(2023, 5, 1, 9, 30, tzinfo=UTC)
    visits = [Visit(f"https://site{n}.example/" + "p" * 200, when + timedelta(minutes=n)) for n in range(600)]
    builder.add_sqlite("AppDomain-com.apple.mobilesafari", "Library/Safari/History.db",
                       lambda c: fill_history(c, visits))
    root = builder.finish()
    fid = hashlib.sha1(b"AppDomain-com.apple.mobilesafari-Library/Safari/History.db").hexdigest()  # noqa: S324
    database = root / fid[:2] / fid
    conn = sqlite3.connect(database)
    conn.execute("DROP TABLE history_items")
    conn.commit()
    conn.execute("VACUUM")
    conn.close()
    visits = leaves(database, "history_visits")
    page, lost = visits[len(visits) // 2]
    zero_pages(database, page)
    result = run_check(root, CheckOptions(only_artifacts=("safari_history",)), sinks=[RecordCollector()])
    (report,) = [a for a in result.all_artifacts() if a.name == "safari_history"]
    path = "/private/var/mobile/Containers/Data/Application/com.apple.mobilesafari/Library/Safari/History.db"
    assert report.warnings == [f"{path}: no 'history_items' table: visits are listed without their URL"]
    assert report.records == 600 - len(lost)
    assert len(report.errors) == 1 and report.errors[0].startswith(f"{path}: damaged ({MALFORMED}): read around")


def test_rows_lost_to_damage_are_no_sign_of_a_deletion(tmp_path: Path) -> None:
    """DataUsage tells deletions by process ids missing (gaps) and usage rows naming a missing process.
    Rows lost to a damaged page are neither: only the real deletion is reported, once."""
    deleted = range(450, 453)
    processes = [Process(pk, f"com.example.process{pk}." + "x" * 80, f"com.example.bundle{pk}")
                 for pk in range(1, 601) if pk not in deleted]
    live = [LiveUsage(pk, pk, datetime(2023, 5, 1, tzinfo=UTC), 1.0, 2.0) for pk in range(1, 601)]
    builder = BackupBuilder(tmp_path / "backup")
    builder.add_sqlite("WirelessDomain", "Library/Databases/DataUsage.sqlite",
                       lambda c: fill_datausage(c, processes, live))
    root = builder.finish()
    fid = hashlib.sha1(b"WirelessDomain-Library/Databases/DataUsage.sqlite").hexdigest()  # noqa: S324
    database = root / fid[:2] / fid
    ((page, lost),) = [(page, ids) for page, ids in leaves(database, "ZPROCESS") if 300 in ids]
    zero_pages(database, page)
    collector = RecordCollector()
    result = run_check(root, CheckOptions(only_artifacts=("datausage",)), sinks=[collector])
    by_type = Counter(r.record_type for r in collector.records)
    gaps = [(r.first_missing, r.last_missing) for r in collector.records if r.record_type == "ios:datausage:process_gap"]
    orphans = [r.missing_process_id for r in collector.records if r.record_type == "ios:datausage:orphaned_usage"]
    assert gaps == [(450, 452)]
    assert orphans == list(deleted)
    assert by_type["ios:datausage:process"] == 597 - len(lost)
    (report,) = [a for a in result.all_artifacts() if a.name == "datausage"]
    assert report.status is ArtifactStatus.FAILED
    assert sorted((f.rule, f.locator.rowid) for f in result.findings) == [
        ("datausage_deleted_process", 450), ("datausage_deleted_process", 451), ("datausage_deleted_process", 452),
        ("datausage_process_gap", 453),
    ]


def test_a_database_read_in_chunks_tells_its_damage_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read in row ranges by two processes, a database damaged in two ranges gives what one read gives:
    the same records and findings, and its losses told once. (The damage lies on overflow pages, which
    counting the rows never reads: the table is then cut in ranges.)"""
    if not can_fork(2):
        pytest.skip("no second process on this platform")
    import preuve.run.engine as engine

    monkeypatch.setattr(engine, "SPLIT_MIN_ROWS", 10)
    monkeypatch.setattr(engine, "SPLIT_ROWS_PER_CHUNK", 150)
    monkeypatch.setattr(engine, "WORKERS_MIN_PATHS", 0)
    chunks: list[object] = []
    original = engine._Workers.run

    def spy(self: Any, *args: Any) -> int | None:
        chunks.append(result := original(self, *args))
        return result

    monkeypatch.setattr(engine._Workers, "run", spy)
    long = (200, 520)
    builder = BackupBuilder(tmp_path / "backup")
    messages = [Message(text=f"message {n}: see https://{SPY}/x" if n in SPIED else
                        f"message {n}: " + "words " * (2000 if n in long else 20)) for n in range(1, MESSAGES + 1)]
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, messages))
    root = builder.finish()
    database = _sms_file(root)
    conn = sqlite3.connect(database)
    # (the first overflow page of each long message: dbstat names it after its cell, "+000000")
    firsts = [page for (page,) in conn.execute(
        "SELECT pageno FROM dbstat WHERE name = 'message' AND pagetype = 'overflow' AND path LIKE '%+000000' ORDER BY path")]
    conn.close()
    assert len(firsts) == 2
    zero_pages(database, *firsts)
    one, one_records = _check(root, tmp_path, 1)
    assert chunks == []
    two, two_records = _check(root, tmp_path, 2)
    assert chunks and chunks[0] is not None  # (read in chunks, not sequentially)
    assert _shown(two_records.records) == _shown(one_records.records)
    assert [m[0] for m in _shown(one_records.records)] == [n for n in range(1, MESSAGES + 1) if n not in long]
    assert [f.locator.rowid for f in two.findings] == [f.locator.rowid for f in one.findings] == list(SPIED)
    assert _sms(two).errors == _sms(one).errors
    assert len(_sms(one).errors) == 1 and "2 stretches of rows of message could not be read" in _sms(one).errors[0]
