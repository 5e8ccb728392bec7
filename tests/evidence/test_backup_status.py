"""A backup that was not finished: its Status.plist's SnapshotState is not "finished".

Finder, iTunes and libimobiledevice's idevicebackup2 write Status.plist first and set its SnapshotState
to "finished" once the backup ends (idevicebackup2 calls a backup successful only then). A backup
stopped before keeps another state, and its folder may lack files and rows: the run says the
acquisition is damaged, is not a full check, and takes every artifact it does not find for one that
may have been lost. A Status.plist that is absent, not a plist or without a state claims nothing.

The backups are written by the builders; Status.plist is rewritten with plistlib."""

from __future__ import annotations

import hashlib
import plistlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.ios_dbs import Message, fill_sms
from preuve.evidence.acquisition import Secrets
from preuve.model import Absence, ArtifactStatus, ExitCode, VerdictKey
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions, CheckResult
from tests.builders import feed, snapshot
from tests.builders.ios_encrypted import encrypt_backup
from tests.helpers import RecordCollector

SPY = "spy-domain.example"
STATUS = "/.acquisition/backup/Status.plist"


def _backup(root: Path, text: str = "hello") -> Path:
    builder = BackupBuilder(root)
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, [Message(text=text)]))
    return builder.finish()


def _state(root: Path, state: object) -> None:
    status = plistlib.loads((root / "Status.plist").read_bytes())
    status["SnapshotState"] = state
    (root / "Status.plist").write_bytes(plistlib.dumps(status, fmt=plistlib.FMT_BINARY))


def _check(root: Path, tmp_path: Path, secrets: Secrets | None = None) -> CheckResult:
    iocs = feed(tmp_path / "spy.stix2", (f"[domain-name:value='{SPY}']", "Spy"))
    options: dict[str, Any] = {"secrets": secrets} if secrets is not None else {}
    return run_check(root, CheckOptions(iocs=[iocs], **options))


def _report(result: CheckResult, name: str) -> Any:
    (report,) = [a for a in result.all_artifacts() if a.name == name]
    return report


def _unfinished(state: str) -> str:
    return (
        f"the backup was not finished: its Status.plist gives the state {state!r} ('finished' once a backup "
        "ends), so files and rows of Manifest.db may be missing"
    )


def test_a_finished_backup_is_a_full_check_and_its_status_is_hashed(tmp_path: Path) -> None:
    root = _backup(tmp_path / "backup")
    result = _check(root, tmp_path)
    assert result.acquisition_problems == []
    assert result.verdict().key is VerdictKey.NOTHING and result.verdict().full_check
    (entry,) = [e for e in result.evidence_files if e.device_path == STATUS]
    data = (root / "Status.plist").read_bytes()
    assert (entry.source, entry.size, entry.sha256) == ("Status.plist", len(data), hashlib.sha256(data).hexdigest())
    calls = _report(result, "calls")
    assert (calls.status, calls.absence) == (ArtifactStatus.MISSING, Absence.NOT_LISTED)


@pytest.mark.parametrize("state", ["uploading", "moving", "new", ""])
def test_an_unfinished_backup_is_damaged_and_its_absent_artifacts_may_be_lost(tmp_path: Path, state: str) -> None:
    root = _backup(tmp_path / "backup")
    _state(root, state)
    evidence = snapshot(root)
    result = _check(root, tmp_path)
    assert snapshot(root) == evidence
    assert result.acquisition_problems == [_unfinished(state)]
    verdict = result.verdict()
    assert (verdict.key, verdict.full_check, verdict.exit_code) == (VerdictKey.PARTIAL, False, ExitCode.INCOMPLETE)
    assert f"The acquisition is damaged: {_unfinished(state)}." in verdict.detail
    # What was there was read: the messages, the file list.
    assert _report(result, "sms").status is ArtifactStatus.OK
    calls = _report(result, "calls")
    assert (calls.status, calls.absence) == (ArtifactStatus.MISSING, Absence.LOST)


def test_a_hostile_state_is_told_escaped_and_clipped(tmp_path: Path) -> None:
    root = _backup(tmp_path / "backup")
    _state(root, "up\x1b[31m\u202e" + "x" * 5000)
    result = _check(root, tmp_path)
    told = "up\x1b[31m\u202e" + "x" * 56 + "…"  # (64 characters)
    assert result.acquisition_problems == [_unfinished(told)]
    assert "\x1b" not in result.acquisition_problems[0] and "\u202e" not in result.acquisition_problems[0]


def test_an_unfinished_backup_still_reports_what_it_holds(tmp_path: Path) -> None:
    root = _backup(tmp_path / "backup", text=f"see https://{SPY}/x")
    _state(root, "uploading")
    result = _check(root, tmp_path)
    verdict = result.verdict()
    assert (verdict.key, verdict.full_check, verdict.exit_code) == (VerdictKey.SPYWARE, False, ExitCode.DETECTED)
    assert [f.indicator.value for f in result.findings if f.indicator is not None] == [SPY]


@pytest.mark.parametrize("status", [
    None, b"not a plist", plistlib.dumps(["a list"]), plistlib.dumps({"Date": 1}), plistlib.dumps({"SnapshotState": 3}),
    plistlib.dumps({"SnapshotState": "finished"}),
], ids=["absent", "not-a-plist", "a-list", "no-state", "a-number", "xml-finished"])
def test_a_status_that_claims_nothing(tmp_path: Path, status: bytes | None) -> None:
    root = _backup(tmp_path / "backup")
    if status is None:
        (root / "Status.plist").unlink()
    else:
        (root / "Status.plist").write_bytes(status)
    result = _check(root, tmp_path)
    assert result.acquisition_problems == []
    assert result.verdict().key is VerdictKey.NOTHING
    assert [e.device_path for e in result.evidence_files if e.device_path == STATUS] == ([] if status is None else [STATUS])


def test_a_status_that_is_a_link_is_not_followed(tmp_path: Path) -> None:
    root = _backup(tmp_path / "backup")
    outside = tmp_path / "outside.plist"
    outside.write_bytes(plistlib.dumps({"SnapshotState": "uploading"}))
    (root / "Status.plist").unlink()
    (root / "Status.plist").symlink_to(outside)
    result = _check(root, tmp_path)
    assert result.acquisition_problems == []
    assert not [e for e in result.evidence_files if e.device_path == STATUS]


def test_an_unfinished_encrypted_backup(tmp_path: Path) -> None:
    plain = _backup(tmp_path / "plain")
    root = encrypt_backup(plain, tmp_path / "enc", "pw", seed="status")
    result = _check(root, tmp_path, Secrets(password="pw"))
    assert result.acquisition_problems == []
    _state(root, "uploading")
    result = _check(root, tmp_path, Secrets(password="pw"))
    assert result.acquisition_problems == [_unfinished("uploading")]
    assert _report(result, "sms").status is ArtifactStatus.OK
    calls = _report(result, "calls")
    assert (calls.status, calls.absence) == (ArtifactStatus.MISSING, Absence.LOST)


NONE_LISTED = "Manifest.db lists no file: the backup was stopped at its start or its Manifest.db was emptied"


def _emptied(root: Path) -> None:
    conn = sqlite3.connect(root / "Manifest.db")
    conn.execute("DELETE FROM Files")
    conn.commit()
    conn.execute("VACUUM")
    conn.close()


def test_a_backup_whose_manifest_lists_no_file_is_not_a_full_check(tmp_path: Path) -> None:
    """No file listed, none in the folder: before, "nothing found" after checking nothing."""
    root = BackupBuilder(tmp_path / "backup").finish()
    result = _check(root, tmp_path)
    assert result.acquisition_problems == [NONE_LISTED]
    verdict = result.verdict()
    assert (verdict.key, verdict.full_check, verdict.exit_code) == (VerdictKey.PARTIAL, False, ExitCode.INCOMPLETE)
    sms = _report(result, "sms")
    assert (sms.status, sms.absence) == (ArtifactStatus.MISSING, Absence.NOT_LISTED)  # (looked for by name: not there)
    whatsapp = _report(result, "whatsapp_messages")
    assert (whatsapp.status, whatsapp.absence) == (ArtifactStatus.MISSING, Absence.LOST)


def test_an_emptied_manifest_the_files_are_found_by_name_and_told_unlisted(tmp_path: Path) -> None:
    root = _backup(tmp_path / "backup", text=f"see https://{SPY}/x")
    stored = sorted(p.name for p in root.glob("??/*"))
    _emptied(root)
    evidence = snapshot(root)
    collector = RecordCollector()
    iocs = feed(tmp_path / "spy.stix2", (f"[domain-name:value='{SPY}']", "Spy"))
    result = run_check(root, CheckOptions(iocs=[iocs]), sinks=[collector])
    assert snapshot(root) == evidence
    assert result.acquisition_problems == [NONE_LISTED]
    verdict = result.verdict()
    assert (verdict.key, verdict.full_check, verdict.exit_code) == (VerdictKey.SPYWARE, False, ExitCode.DETECTED)
    assert [f.indicator.value for f in result.findings if f.indicator is not None] == [SPY]
    assert _report(result, "sms").status is ArtifactStatus.OK
    assert len([w for w in result.warnings if "found in the backup's folder by its name" in w]) == 1
    issues = [r for r in collector.records if r.record_type == "ios:backup:integrity"]
    assert sorted((r.issue, r.file_id) for r in issues) == [("extra", name) for name in stored]


def test_an_emptied_encrypted_manifest(tmp_path: Path) -> None:
    plain = _backup(tmp_path / "plain")
    _emptied(plain)
    root = encrypt_backup(plain, tmp_path / "enc", "pw", seed="status")
    result = _check(root, tmp_path, Secrets(password="pw"))
    assert result.acquisition_problems == [NONE_LISTED]
    sms = _report(result, "sms")
    assert (sms.status, sms.absence) == (ArtifactStatus.MISSING, Absence.LOST)  # (its key was in its row)
