from __future__ import annotations

import plistlib
from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.ios.backup_info import BackupInfo
from preuve.builders.ios_backup import BackupBuilder, DeviceFacts
from preuve.model import DeviceFacts as DeviceFactsRecord
from tests.builders import check, feed, records, snapshot


def test_device_facts(tmp_path: Path) -> None:
    root = BackupBuilder(tmp_path / "b", DeviceFacts(device_name="Ana's iPhone")).finish()
    before = snapshot(root)
    [info, facts] = records(root, "backup_info")
    assert snapshot(root) == before
    assert isinstance(info, BackupInfo)
    # the device's facts, as every platform gives them (the report and the case store read these)
    assert isinstance(facts, DeviceFactsRecord) and facts.locator.key_path == "device"
    assert facts.summary() == "Ana's iPhone (Apple iPhone14,2, iOS 16.5 20F66)"
    assert facts.facts() == [
        ("device name", "Ana's iPhone"), ("manufacturer", "Apple"), ("model", "iPhone14,2"), ("OS version", "16.5"),
        ("build", "20F66"), ("serial number", "F2LXK0AAAAAA"), ("phone number", "+41 79 000 00 00"),
    ]
    assert {k: v for k, v in info.fields().items() if k != "record_type"} == {
        "device_name": "Ana's iPhone",
        "display_name": "Ana's iPhone",
        "product_type": "iPhone14,2",
        "product_name": "iPhone",
        "ios_version": "16.5",
        "build_version": "20F66",
        "serial_number": "F2LXK0AAAAAA",
        "imei": "356789100000001",
        "imei2": None,
        "meid": "35678910000000",
        "iccid": "8941000000000000001",
        "phone_number": "+41 79 000 00 00",
        "udid": "00008110-000A1B2C3D4E5F60",
        "guid": info.guid,
        "itunes_version": "12.12.9",
        "last_backup_date": datetime(2023, 6, 1, 12, 0, tzinfo=UTC),
    }
    assert info.guid is not None and len(info.guid) == 32
    assert info.locator.device_path == "/.acquisition/backup/Info.plist"
    assert info.summary() == "Backup of Ana's iPhone (iPhone14,2, iOS 16.5 20F66)"


def test_check_with_feed_has_no_finding_and_records_the_device(tmp_path: Path) -> None:
    root = BackupBuilder(tmp_path / "b").finish()
    stix = feed(tmp_path / "i" / "p.stix2", ("[domain-name:value='evil.example.net']", "Pegasus"))
    result = check(root, stix, only=("backup_info",))
    assert result.findings == []
    [report] = result.artifacts
    assert (report.status, report.records, report.files) == ("ok", 2, ["/.acquisition/backup/Info.plist"])


def test_sparse_and_odd_values(tmp_path: Path) -> None:
    root = BackupBuilder(tmp_path / "b").finish()
    (root / "Info.plist").write_bytes(plistlib.dumps({"Product Version": 17, "Device Name": ["x"], "IMEI": ""}))
    [info, facts] = records(root, "backup_info")
    assert (info.ios_version, info.device_name, info.imei, info.last_backup_date) == ("17", None, None, None)
    assert facts.facts() == [("manufacturer", "Apple"), ("OS version", "17")]


def test_not_a_dictionary_fails_by_name(tmp_path: Path) -> None:
    root = BackupBuilder(tmp_path / "b").finish()
    (root / "Info.plist").write_bytes(plistlib.dumps(["a"]))
    stix = feed(tmp_path / "i" / "p.stix2", ("[domain-name:value='evil.example.net']", "Pegasus"))
    result = check(root, stix)
    [report] = [a for a in result.artifacts if a.name == "backup_info"]
    assert report.status == "failed"
    assert report.errors == ["/.acquisition/backup/Info.plist: Info.plist is not a dictionary"]
    assert result.findings == []
