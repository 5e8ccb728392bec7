"""A backup's link rows (Manifest.db flags 4) are followed as the device follows them.

A backup stores no file for a symbolic link: its row's MBFile names the target. The phone reads a link
where an app opens the file; a check that did not follow it would say the Messages database is not in
the backup when it is there under another name. The links are read from the row's MBFile only, resolved
in the backup's own listing (never on a disk), and one that names nothing the backup holds is told so.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from preuve.builders.demo import build_demo_backup
from preuve.builders.ios_backup import BackupBuilder, file_id
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from tests.builders import snapshot
from tests.evidence.test_archived_backup import pack
from tests.helpers import records

SMS = "/private/var/mobile/Library/SMS/sms.db"


def _messages_db(tmp_path: Path) -> bytes:
    demo = build_demo_backup(tmp_path / "demo")
    sms = file_id("HomeDomain", "Library/SMS/sms.db")
    return (demo / sms[:2] / sms).read_bytes()


def _linked_backup(root: Path, database: bytes, target: str) -> Path:
    builder = BackupBuilder(root)
    builder.add_file("HomeDomain", "Library/SMS/Archive/kept.db", database)
    builder.add_link("HomeDomain", "Library/SMS/sms.db", target)
    builder.add_link("HomeDomain", "Library/SMS/nowhere.db", "/private/var/mobile/Library/SMS/none.db")
    builder.add_link("HomeDomain", "Library/SMS/host.db", "/etc/hostname")
    return builder.finish()


@pytest.mark.parametrize("target", ["/private/var/mobile/Library/SMS/Archive/kept.db", "Archive/kept.db",
                                    "../SMS/Archive/../Archive/kept.db"])
def test_the_messages_database_behind_a_link_row_is_read(tmp_path: Path, target: str) -> None:
    database = _messages_db(tmp_path)
    backup = _linked_backup(tmp_path / "b", database, target)
    before = snapshot(backup)
    conn = sqlite3.connect(":memory:")
    conn.deserialize(database)
    count = conn.execute("SELECT count(*) FROM message").fetchone()[0]
    conn.close()
    found = records(backup, "sms")
    assert len(found) == count > 0
    assert {r.locator.device_path for r in found} == {SMS}
    result = run_check(backup, CheckOptions(only_artifacts=("sms",)))
    files = {e.device_path: e for e in result.evidence_files}
    kept = file_id("HomeDomain", "Library/SMS/Archive/kept.db")
    assert files[SMS].source == f"{kept[:2]}/{kept}"
    assert snapshot(backup) == before


def test_a_link_row_to_nothing_is_told_and_not_read(tmp_path: Path) -> None:
    backup = _linked_backup(tmp_path / "b", _messages_db(tmp_path), "/private/var/mobile/Library/SMS/none.db")
    result = run_check(backup, CheckOptions(only_artifacts=("sms",)))
    (sms,) = [a for a in result.artifacts if a.name == "sms"]
    assert (sms.status.value, sms.absence.value if sms.absence else None, sms.absent_files) == (
        "missing", "link_not_followed", [SMS])
    assert not result.coverage().complete


def test_a_link_row_in_a_packed_backup(tmp_path: Path) -> None:
    database = _messages_db(tmp_path)
    backup = _linked_backup(tmp_path / "made" / "00008030-001A2B3C4D5E802E", database, "Archive/kept.db")
    archive = pack(backup, tmp_path / "ev" / "backup.zip")
    assert len(records(archive, "sms")) == len(records(backup, "sms")) > 0
