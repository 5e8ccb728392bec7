"""Android backups (.ab plain, compressed or not, password-encrypted; unpacked folder) and their SMS/MMS."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from preuve.artifacts.android.backup_sms import BackupMessage
from preuve.evidence.acquisition import Secrets, detect_kind
from preuve.evidence.errors import AcquisitionError
from preuve.evidence.kinds.android_backup import AndroidBackup
from preuve.evidence.limits import Limits
from preuve.evidence.sources.ab import device_path
from preuve.model import ExitCode
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from tests.builders import snapshot
from tests.builders.android import android_backup_bytes, sms_backup_members
from tests.builders.stix import IndicatorSpec, write_bundle

SMS = [
    {"address": "+33600000001", "body": "Your parcel: https://track-parcel.example.org/x?id=1", "date": "1699990000000",
     "type": "1", "read": "1"},
    {"address": "+33600000002", "body": "see you", "date": "1699990100000", "type": "2"},
]
MMS = [{"date": "1699990200", "msg_box": "1", "mms_addresses": [{"address": "+33600000003", "type": 137}],
        "mms_body": "photo", "sub": "hello"}]
SMS_PATH = "/data/user_de/0/com.android.providers.telephony/files/000000_sms_backup"


def _records(evidence: Path, password: str | None = None, iocs: tuple[Path, ...] = ()) -> tuple[list, object]:
    collected: list = []

    class Collect:
        def begin(self, opened, index): pass  # noqa: ANN001, ANN202, E704
        def artifact_started(self, a): pass  # noqa: ANN001, ANN202, E704
        def record(self, a, record, findings, stamps): collected.append(record)  # noqa: ANN001, ANN202, E704
        def artifact_finished(self, a, report): pass  # noqa: ANN001, ANN202, E704
        def finish(self, result): pass  # noqa: ANN001, ANN202, E704

    result = run_check(evidence, CheckOptions(iocs=iocs, secrets=Secrets(password=password)), sinks=[Collect()])
    return collected, result


@pytest.mark.parametrize(
    ("member", "expected"),
    [
        ("apps/com.x/d_f/000000_sms_backup", "/data/user_de/0/com.x/files/000000_sms_backup"),
        ("apps/com.x/db/main.db", "/data/data/com.x/databases/main.db"),
        ("apps/com.x/sp/prefs.xml", "/data/data/com.x/shared_prefs/prefs.xml"),
        ("apps/com.x/r/app_webview/Cookies", "/data/data/com.x/app_webview/Cookies"),
        ("apps/com.x/ef/a.txt", "/storage/emulated/0/Android/data/com.x/a.txt"),
        ("apps/com.x/_manifest", "/.acquisition/android_backup/apps/com.x/_manifest"),
        ("shared/0/DCIM/a.jpg", "/storage/emulated/0/DCIM/a.jpg"),
    ],
)
def test_member_mapping(member: str, expected: str) -> None:
    assert device_path(member) == expected


@pytest.mark.parametrize(("password", "compressed"), [(None, True), (None, False), ("s3cret-pass", True)])
def test_ab_sms_and_mms(tmp_path: Path, password: str | None, compressed: bool) -> None:
    ab = tmp_path / "backup.ab"
    ab.write_bytes(android_backup_bytes(sms_backup_members(SMS, MMS), password=password, compressed=compressed))
    feed = write_bundle(tmp_path / "iocs" / "f.stix2",
                        [IndicatorSpec("[domain-name:value = 'track-parcel.example.org']", "Predator")])
    before = snapshot(tmp_path)
    assert detect_kind(ab) is AndroidBackup
    found, result = _records(ab, password, (feed,))
    assert snapshot(tmp_path) == before
    messages = [r for r in found if isinstance(r, BackupMessage)]
    assert [(m.kind, m.address, m.body, m.when, m.outgoing, m.locator.key_path) for m in messages] == [
        ("mms", "+33600000003", "hello\nphoto", datetime.fromtimestamp(1699990200, UTC), False, "[0]"),
        ("sms", "+33600000001", SMS[0]["body"], datetime.fromtimestamp(1699990000, UTC), False, "[0]"),
        ("sms", "+33600000002", "see you", datetime.fromtimestamp(1699990100, UTC), True, "[1]"),
    ]
    assert messages[1].locator.device_path == SMS_PATH
    assert [(f.indicator.malware, f.severity.label, f.locator.device_path) for f in result.findings
            if f.indicator] == [("Predator", "high", SMS_PATH)]
    assert result.acquisition_kind == "android_backup"
    assert result.exit_code == ExitCode.DETECTED


def test_encrypted_needs_the_right_password(tmp_path: Path) -> None:
    ab = tmp_path / "backup.ab"
    ab.write_bytes(android_backup_bytes(sms_backup_members(SMS), password="right"))
    with pytest.raises(AcquisitionError, match="encrypted; give its password"):
        _records(ab, None)
    with pytest.raises(AcquisitionError, match="wrong backup password"):
        _records(ab, "wrong")


def test_unpacked_backup_folder(tmp_path: Path) -> None:
    root = tmp_path / "unpacked"
    for name, data in sms_backup_members(SMS).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    assert detect_kind(root) is AndroidBackup
    found, result = _records(root)
    assert [m.address for m in found if isinstance(m, BackupMessage)] == ["+33600000001", "+33600000002"]
    assert found[0].locator.device_path == SMS_PATH


def test_malformed_sms_backup_costs_only_that_artifact(tmp_path: Path) -> None:
    members = sms_backup_members(SMS, MMS)
    members["apps/com.android.providers.telephony/d_f/000000_sms_backup"] = zlib.compress(b"[{not json")
    ab = tmp_path / "backup.ab"
    ab.write_bytes(android_backup_bytes(members))
    found, result = _records(ab)
    assert [m.kind for m in found if isinstance(m, BackupMessage)] == ["mms"]
    report = next(a for a in result.artifacts if a.name == "android_backup_sms")
    assert report.errors == [f"{SMS_PATH}: malformed JSON (Expecting property name enclosed in double quotes: "
                             "line 1 column 3 (char 2))"]
    assert result.exit_code == ExitCode.INCOMPLETE


def test_damaged_and_bombed_backups(tmp_path: Path) -> None:
    for password in (None, "pw"):
        ab = tmp_path / "cut.ab"
        ab.write_bytes(android_backup_bytes(sms_backup_members(SMS), password=password)[:-40])
        found, result = _records(ab, password)
        assert [m.address for m in found if isinstance(m, BackupMessage)] == ["+33600000001", "+33600000002"]
        assert any("only the content" in w for w in result.warnings)
    bomb = tmp_path / "bomb.ab"
    bomb.write_bytes(b"ANDROID BACKUP\n5\n1\nnone\n" + zlib.compress(b"\0" * (64 * 1024 * 1024), 9))
    options = CheckOptions(limits=Limits(max_decompression_ratio=50))
    with pytest.raises(AcquisitionError, match="decompression ratio"):
        run_check(bomb, options)
    header = tmp_path / "odd.ab"
    header.write_bytes(b"ANDROID BACKUP\n99\n1\nnone\n")
    with pytest.raises(AcquisitionError, match="unknown Android backup version 99"):
        _records(header)


def test_cli_password_file(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from preuve.cli import build_cli

    ab = tmp_path / "backup.ab"
    ab.write_bytes(android_backup_bytes(sms_backup_members(SMS), password="pass word"))
    secret = tmp_path / "pw.txt"
    secret.write_text("pass word\n")
    runner = CliRunner()
    ok = runner.invoke(build_cli(), ["check", str(ab), "-o", str(tmp_path / "out"), "-q", "--password-file",
                                     str(secret)])
    assert ok.exit_code == 3, ok.output  # read whole; no indicator given: heuristics only
    assert (tmp_path / "out" / "findings.json").is_file()
    missing = runner.invoke(build_cli(), ["check", str(ab), "-o", str(tmp_path / "out2"), "-q"])
    assert missing.exit_code == 1
