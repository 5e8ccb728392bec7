"""Backup integrity: Manifest.db against the files present."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from preuve.builders.ios_backup import BackupBuilder, file_id
from preuve.builders.ios_dbs import Message, fill_sms
from preuve.cli import build_cli
from preuve.proof.verify import Status, verify
from tests.builders import check, records, snapshot


def _backup(tmp_path: Path) -> Path:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, [Message(text="hi")]))
    builder.add_file("HomeDomain", "Library/Preferences/a.plist", b"A" * 100)
    builder.add_file("HomeDomain", "Library/Preferences/b.plist", b"B" * 100)
    builder.add_file("HomeDomain", "Library/Preferences/fifo", b"C" * 10)
    builder.add_entry_only("HomeDomain", "Library/Preferences/gone.plist", size=42)
    root = builder.finish()
    # after the backup was made: one file grows, one file appears, one becomes a FIFO
    fid = file_id("HomeDomain", "Library/Preferences/b.plist")
    (root / fid[:2] / fid).write_bytes(b"B" * 150)
    extra = "f" * 40
    (root / "ff").mkdir(exist_ok=True)
    (root / "ff" / extra).write_bytes(b"planted")
    fifo = file_id("HomeDomain", "Library/Preferences/fifo")
    (root / fifo[:2] / fifo).unlink()
    os.mkfifo(root / fifo[:2] / fifo)
    return root


def test_sound_backup_has_no_issue(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, [Message(text="hi")]), wal=True)
    root = builder.finish(manifest_wal=True)
    result = check(root)
    report = {r.name: r for r in result.artifacts}["acquisition_integrity"]
    assert str(report.status) == "empty" and report.records == 0
    assert [f for f in result.findings if f.artifact == "acquisition_integrity"] == []


def test_issues_found(tmp_path: Path) -> None:
    root = _backup(tmp_path)
    before = snapshot(root)
    found = records(root, "acquisition_integrity")
    assert snapshot(root) == before
    by_issue = {r.issue: r for r in found}
    assert sorted(by_issue) == ["extra", "missing", "not_regular", "size_mismatch"]
    assert len(found) == 4
    assert by_issue["missing"].relative_path == "Library/Preferences/gone.plist"
    assert by_issue["missing"].expected_size == 42
    assert (by_issue["size_mismatch"].expected_size, by_issue["size_mismatch"].actual_size) == (100, 150)
    assert by_issue["extra"].file_id == "f" * 40 and by_issue["extra"].actual_size == 7
    assert by_issue["extra"].locator.key_path == f"folder:ff/{'f' * 40}"
    assert by_issue["missing"].locator.table == "Files"


def test_findings_summary_and_verify(tmp_path: Path) -> None:
    root = _backup(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(build_cli(), ["check", str(root), "-o", str(out)])
    assert result.exit_code == 3, result.output  # no indicator given: heuristics only, not a full check
    assert "Acquisition integrity: 4 problem(s)" in " ".join(result.output.split())
    doc = json.loads((out / "findings.json").read_text())
    integrity = [f for f in doc["findings"] if f["artifact"] == "acquisition_integrity"]
    assert sorted(f["severity"] for f in integrity) == ["low", "medium", "medium", "medium"]
    assert doc["summary"]["acquisition_integrity_problems"] == 4
    checks = verify(out / "bundle.json", root).checks
    assert [c.status for c in checks if c.finding.artifact == "acquisition_integrity"] == [Status.CONFIRMED] * 4


def test_a_row_whose_name_is_not_its_file_id_is_reported(tmp_path: Path) -> None:
    """A damaged or altered Manifest row can hide sms.db from every artifact: its file id (the SHA-1 of
    its real domain and path) no longer matches the name the row shows, and that is a finding."""
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, [Message(text="hi")]))
    builder.add_file("HomeDomain", "Library/Preferences/a.plist", b"A")
    builder.add_file("HomeDomain", "Library/Preferences/b.plist", b"B")
    builder.misname("HomeDomain", "Library/SMS/sms.db", "HomeDomain", "Library/SMS/s\\s.db")
    builder.misname("HomeDomain", "Library/Preferences/a.plist", None, "Library/Preferences/a.plist")
    root = builder.finish()
    # A sound row whose path is not valid UTF-8: named by its bytes, so not reported.
    odd = b"Library/\xff.plist"
    conn = sqlite3.connect(root / "Manifest.db")
    fid = hashlib.sha1(b"HomeDomain-" + odd).hexdigest()  # noqa: S324 - Apple's naming
    conn.execute(
        "INSERT INTO Files VALUES (?, 'HomeDomain', CAST(? AS TEXT), 1, NULL)", (fid, odd)
    )
    conn.commit()
    conn.close()
    (root / fid[:2]).mkdir(exist_ok=True)
    (root / fid[:2] / fid).write_bytes(b"odd")
    before = snapshot(root)
    result = check(root)
    assert snapshot(root) == before
    found = records(root, "acquisition_integrity")
    assert [(r.issue, r.file_id, r.domain, r.relative_path) for r in found] == [
        ("name_mismatch", file_id("HomeDomain", "Library/Preferences/a.plist"), None, "Library/Preferences/a.plist"),
        ("name_mismatch", file_id("HomeDomain", "Library/SMS/sms.db"), "HomeDomain", "Library/SMS/s\\s.db"),
    ]
    assert found[1].locator.table == "Files" and found[1].locator.rowid is not None
    integrity = [f for f in result.findings if f.artifact == "acquisition_integrity"]
    # One kind of problem, one finding: its group holds both rows.
    assert [(f.rule, f.severity.label, f.count) for f in integrity] == [("backup_integrity", "medium", 2)]
    assert integrity[0].group is not None and [m.locator for m in integrity[0].group.members] == [
        r.locator for r in found
    ]
    assert {r.name: str(r.status) for r in result.artifacts}["sms"] == "missing"
    assert "are listed under a name their id was not made from" in integrity[0].explanation
