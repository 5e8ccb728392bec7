"""Bugreport zips alone and inside AndroidQF (with a backup), read in one pass; hostile zips."""

from __future__ import annotations

import tarfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from preuve.artifacts.android._dumpsys import (
    AccessibilityService,
    AppOp,
    BroadcastReceiver,
    DeviceAdmin,
    PackageActivity,
    PackageEvent,
)
from preuve.artifacts.android.getprop import AndroidProperty, SecurityPatch
from preuve.artifacts.android.packages import AndroidPackage
from preuve.artifacts.android.tombstones import Tombstone
from preuve.evidence.acquisition import Secrets, detect_kind
from preuve.evidence.errors import AcquisitionError
from preuve.evidence.kinds.android_bugreport import AndroidBugreport
from preuve.evidence.kinds.android_qf import AndroidQF
from preuve.model import DeviceFacts, ExitCode
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from tests.builders import check, records, snapshot
from tests.builders.android import (
    AndroidQFBuilder,
    DumpsysSpec,
    android_backup_bytes,
    bugreport_members,
    sms_backup_members,
    tombstone_text,
    write_zip,
)

MAIN = "/.acquisition/bugreport/bugreport-sunfish-TQ3A-2023-11-14-22-13-20.txt"
PROPS = {"ro.product.model": "Pixel 4a", "ro.build.version.security_patch": "2023-03-01"}


def _bugreport_members() -> dict[str, bytes]:
    return bugreport_members(
        PROPS,
        DumpsysSpec(accessibility=["com.spy.app/.A11y"], device_admins=["com.spy.app/.Admin"],
                    packages=[("com.android.phone", None, True, False), ("com.spy.app", "com.android.chrome", False, False),
                              ("com.android.vending", None, True, True)]).text(),
        {"tombstone_00": tombstone_text("/system/bin/mediaserver", 1013),
         "tombstone_01": tombstone_text("com.example.game", 10200),
         "tombstone_01.pb": "binary"},
    )


def test_bugreport_records_and_findings(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "bugreport.zip", _bugreport_members())
    before = snapshot(tmp_path)
    assert detect_kind(path) is AndroidBugreport
    state = records(path, "android_dumpstate")
    # The UPTIME section's property-like line is not a property: sections are honoured.
    assert [type(r) for r in state] == [AndroidProperty, AndroidProperty, SecurityPatch, AccessibilityService,
                                        AppOp, DeviceAdmin, PackageActivity, BroadcastReceiver] + [
                                        AndroidPackage] * 4 + [PackageEvent, DeviceFacts]
    assert [r.locator.line for r in state] == [7, 8, 8, 17, 36, 42, 52, 57, 67, 75, 83, 91, 102, None]
    assert state[-1].facts() == [("model", "Pixel 4a"), ("security patch", "2023-03-01")]
    assert [(p.name, p.installer, p.system, p.disabled, p.uid) for p in state[8:12]] == [
        ("com.android.phone", None, True, False, 10100),
        ("com.spy.app", "com.android.chrome", False, False, 10101),
        ("com.android.vending", None, True, True, 10102),
        ("com.no.installer.line", None, False, None, 10999),
    ]
    patch = state[2]
    assert isinstance(patch, SecurityPatch)
    assert (patch.acquired, patch.acquired_from, patch.age_days) == (
        datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC), f"{MAIN}:2", 258)
    tombs = records(path, "android_tombstones")
    assert [(t.locator.device_path, t.process, t.uid, t.signal, t.abort_message) for t in tombs] == [
        ("/data/tombstones/tombstone_00", "/system/bin/mediaserver", 1013, "SIGSEGV (11)", "stack corruption detected"),
        ("/data/tombstones/tombstone_01", "com.example.game", 10200, "SIGSEGV (11)", "stack corruption detected"),
    ]
    assert isinstance(tombs[0], Tombstone)
    assert tombs[0].when == datetime(2023, 11, 10, 7, 30, tzinfo=UTC)
    result = check(path)
    assert snapshot(tmp_path) == before
    assert sorted((f.rule, f.locator.device_path, f.locator.line) for f in result.findings) == [
        ("android_accessibility_service", MAIN, 17),
        ("android_device_admin", MAIN, 42),
        ("android_install_packages", MAIN, 36),
        ("android_old_security_patch", MAIN, 8),
        ("android_package_installer", MAIN, 75),
        ("android_security_package_disabled", MAIN, 83),
        ("android_tombstone_privileged", "/data/tombstones/tombstone_00", None),
    ]


def test_androidqf_with_nested_bugreport_and_backup(tmp_path: Path) -> None:
    b = AndroidQFBuilder()
    b.extra["bugreport.zip"] = write_zip(tmp_path / "br.zip", _bugreport_members()).read_bytes()
    sms = [{"address": "+1", "body": "hi https://evil.example.net/a", "date": 1699990000000, "type": 1}]
    b.extra["backup.ab"] = android_backup_bytes(sms_backup_members(sms), password="pw")
    folder = b.folder(tmp_path / "aqf")
    archive = b.zip(tmp_path / "aqf.zip")
    tars = []  # the folder packed with tar, under AndroidQF's own folder (its UUID), as analysts pass it on
    for suffix, mode in ((".tar", "w"), (".tar.gz", "w:gz")):
        with tarfile.open(tmp_path / f"aqf{suffix}", mode) as packed:
            packed.add(folder, arcname="6b1e4d2c-0000-4000-8000-000000000001")
        tars.append(tmp_path / f"aqf{suffix}")
    feed = tmp_path / "feed.stix2"
    from tests.builders import feed as make_feed

    make_feed(feed, ("[domain-name:value = 'evil.example.net']", "Predator"))
    before = snapshot(tmp_path)
    for evidence in (folder, archive, *tars):
        result = run_check(evidence, CheckOptions(iocs=(feed,), secrets=Secrets(password="pw")))
        assert result.acquisition_kind == "androidqf"
        by_artifact = {a.name: (a.status.value, a.records) for a in result.artifacts}
        assert by_artifact["android_dumpstate"] == ("ok", 10)  # packages come from packages.json; device facts
        assert by_artifact["android_tombstones"] == ("ok", 2)
        assert by_artifact["android_backup_sms"] == ("ok", 1)
        assert by_artifact["androidqf_integrity"] == ("ok", 13)
        hits = [(f.indicator.malware, f.locator.device_path) for f in result.findings if f.indicator]
        assert hits == [("Predator", "/data/user_de/0/com.android.providers.telephony/files/000000_sms_backup")]
        assert result.exit_code == ExitCode.DETECTED
    assert snapshot(tmp_path) == before
    # Without the backup password the rest is analysed and the run says what was left out.
    result = check(folder)
    assert {a.name: a.records for a in result.artifacts}["android_backup_sms"] == 0
    assert any("backup.ab" in w and "password" in w for w in result.warnings)


def test_hostile_zip_members(tmp_path: Path) -> None:
    path = tmp_path / "bugreport.zip"
    members = _bugreport_members()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.writestr("../../escape.txt", b"x")
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("FS/data/tombstones/tombstone_00", b"a second, different copy")
        archive.writestr("FS/data/tombstones/tombstone_09", b"\0" * (4 * 1024 * 1024))  # ratio ~1000
    result = check(path)
    assert not (tmp_path.parent / "escape.txt").exists()
    assert f"{path}: member refused: ../../escape.txt: unsafe member name" in result.warnings
    # A member beyond the ratio bound is not read: reported, and the run is incomplete.
    [members] = [a for a in result.artifacts if a.name == "archive_members"]
    assert any("tombstone_09: declares" in e and "decompression bomb" in e for e in members.errors)
    assert result.incomplete
    assert any("tombstone_00: appears twice" in w for w in result.warnings)
    first = next(r for r in records(path, "android_tombstones") if r.locator.device_path.endswith("_00"))
    assert first.process == "/system/bin/mediaserver"
    assert {a.name: a.records for a in result.artifacts}["android_tombstones"] == 2


def test_not_an_acquisition(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "photos.zip", {"a.jpg": b"x"})
    with pytest.raises(AcquisitionError, match="not an acquisition"):
        detect_kind(path)
    top = write_zip(tmp_path / "aqf-in-folder.zip", {f"uuid/{k}": v for k, v in AndroidQFBuilder().members().items()})
    assert detect_kind(top) is AndroidQF
    assert {a.name: a.records for a in check(top).artifacts}["android_packages"] == 2


def test_device_files_timeline(tmp_path: Path) -> None:
    import hashlib

    members = _bugreport_members()
    members["FS/data/local/tmp/payload"] = b"\x7fELF stage two"
    path = write_zip(tmp_path / "bugreport.zip", members)
    files = records(path, "android_device_files")
    when = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert [(f.path, f.size, f.modified, f.sha256) for f in files] == [
        (f"/data/{name[len('FS/data/'):]}", len(members[name]), when, hashlib.sha256(members[name]).hexdigest())
        for name in ("FS/data/local/tmp/payload", "FS/data/tombstones/tombstone_00",
                     "FS/data/tombstones/tombstone_01", "FS/data/tombstones/tombstone_01.pb")
    ]
    result = check(path)
    assert [(f.rule, f.severity.label, f.locator.device_path) for f in result.findings
            if f.artifact == "android_device_files"] == [
        ("android_data_local_tmp", "high", "/data/local/tmp/payload")
    ]


@pytest.mark.parametrize(("name", "placed"), [
    ("bugreport-sunfish-TQ3A-2023-11-14-22-13-20.txt", MAIN),
    ("phone.txt", "/.acquisition/bugreport/bugreport.txt"),
    ("dumpstate_log.txt", "/.acquisition/bugreport/bugreport.txt"),
])
def test_a_dumpstate_text_alone_is_a_bugreport(tmp_path: Path, name: str, placed: str) -> None:
    """``adb bugreport > file.txt`` on Android 6 and older wrote the main text alone, no zip: it was 'not an
    acquisition preuve recognises'. It is read as the zip's main text is, with the same records and
    findings (the tombstones beside it in a zip are not in it, and the run says so)."""
    members = _bugreport_members()
    text = tmp_path / "ev" / name
    text.parent.mkdir()
    text.write_bytes(members["bugreport-sunfish-TQ3A-2023-11-14-22-13-20.txt"])
    before = snapshot(tmp_path / "ev")
    assert detect_kind(text) is AndroidBugreport
    zipped = write_zip(tmp_path / "bugreport.zip", members)
    alone, whole = check(text), check(zipped)
    assert alone.warnings == [f"{text}: a bugreport's main text alone: what dumpstate copied beside it in a zip "
                              "(tombstones, ANR traces, FS/ files) is not in it"]
    assert [(type(r), r.summary()) for r in records(text, "android_dumpstate")] == [
        (type(r), r.summary()) for r in records(zipped, "android_dumpstate")]
    assert sorted((f.rule, f.locator.device_path, f.locator.line) for f in alone.findings) == sorted(
        (f.rule, placed if f.locator.device_path == MAIN else f.locator.device_path, f.locator.line)
        for f in whole.findings if f.rule != "android_tombstone_privileged")
    assert snapshot(tmp_path / "ev") == before


def test_text_that_only_mentions_dumpstate_is_no_bugreport(tmp_path: Path) -> None:
    for name, data in (("notes.txt", b"== dumpstate: 2023-11-14 22:13:20\n"),
                       ("log.txt", b"hello\n========================================================\n== dumpstate: x\n"),
                       ("empty.txt", b"")):
        path = tmp_path / name
        path.write_bytes(data)
        assert not AndroidBugreport.detect(path), name
