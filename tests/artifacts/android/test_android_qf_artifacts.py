"""AndroidQF artifacts on built acquisitions: exact records, locators, and fault isolation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from preuve.artifacts.android._dumpsys import (
    AccessibilityService,
    AdbKey,
    AppOp,
    BroadcastReceiver,
    DeviceAdmin,
    PackageActivity,
    PackageEvent,
)
from preuve.artifacts.android.files import AndroidFile
from preuve.artifacts.android.getprop import AndroidProperty, SecurityPatch
from preuve.artifacts.android.mounts import Mount
from preuve.artifacts.android.packages import AndroidPackage
from preuve.artifacts.android.root_binaries import RootBinary
from preuve.artifacts.android.settings import AndroidSetting
from preuve.evidence.androidqf_integrity import IntegrityEntry
from preuve.model import ArtifactStatus, DeviceFacts, ExitCode, Kind, Observable
from tests.builders import check, records, snapshot
from tests.builders.android import AndroidQFBuilder, DumpsysSpec, PackageSpec

AQF = "/.acquisition/androidqf"


def _builder() -> AndroidQFBuilder:
    b = AndroidQFBuilder()
    b.packages.append(PackageSpec("com.spy.app", installer="com.android.chrome", uid=10123,
                                  cert_sha1="31A6ECECD97CF39BC4126B8745CD94A7C30BF81C"))
    b.dumpsys = DumpsysSpec(
        accessibility=["com.spy.app/.A11y"], device_admins=["com.spy.app/.Admin"],
        sms_receivers=["com.spy.app/.Sms"], install_allowed=["com.spy.app"], adb_keys=["user@laptop"],
    )
    b.root_binaries = ["/system/xbin/su"]
    b.files = [{"path": "/data/local/tmp/exploit", "mode": "-rwxr-xr-x", "size": 10, "modified_time": 1699990000,
                "sha256": "ab" * 32}]
    return b


@pytest.fixture
def aqf(tmp_path: Path) -> Path:
    return _builder().folder(tmp_path / "aqf")


def test_packages_records(aqf: Path) -> None:
    found = records(aqf, "android_packages")
    assert [type(r) for r in found] == [AndroidPackage] * 3
    assert [(r.name, r.installer, r.system, r.uid) for r in found] == [
        ("com.android.settings", None, True, 1000),
        ("org.example.notes", "com.android.vending", False, 10100),
        ("com.spy.app", "com.android.chrome", False, 10123),
    ]
    spy = found[2]
    assert spy.locator.device_path == f"{AQF}/packages.json"
    assert spy.locator.key_path == "[2]"
    kinds = [o.kind for o in spy.observables()]
    assert kinds == [Kind.APP_ID, Kind.SHA256, Kind.CERT_SHA256, Kind.CERT_SHA1, Kind.CERT_MD5]
    assert Observable(Kind.CERT_SHA1, "31A6ECECD97CF39BC4126B8745CD94A7C30BF81C") in list(spy.observables())


def test_processes_getprop_settings(aqf: Path) -> None:
    procs = records(aqf, "android_processes")
    assert [(p.user, p.pid, p.ppid, p.name, p.locator.line) for p in procs] == [
        ("root", 1, 0, "init", 2), ("system", 900, 1, "system_server", 3),
        ("u0_a100", 4000, 700, "org.example.notes", 4),
    ]
    assert list(procs[2].observables()) == [
        Observable(Kind.PROCESS, "org.example.notes"), Observable(Kind.APP_ID, "org.example.notes"),
    ]
    props = records(aqf, "android_getprop")
    assert [type(r) for r in props] == [AndroidProperty, AndroidProperty, AndroidProperty, SecurityPatch, DeviceFacts]
    assert props[4].locator.key_path == "device" and props[4].platform == "android"
    patch = props[3]
    assert patch.patch == datetime(2023, 1, 5, tzinfo=UTC)
    assert patch.acquired == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert patch.acquired_from == f"{AQF}/acquisition.json (started)"
    assert patch.age_days == 313
    assert patch.locator.line == 3
    settings = records(aqf, "android_settings")
    assert [(s.namespace, s.key, s.value) for s in settings] == [
        ("global", "adb_enabled", "1"), ("global", "package_verifier_enable", "1"),
        ("secure", "install_non_market_apps", "0"), ("system", "screen_brightness", "102"),
    ]
    assert all(isinstance(s, AndroidSetting) for s in settings)


def test_dumpsys_records(aqf: Path) -> None:
    found = records(aqf, "android_dumpsys")
    summary = [(type(r).__name__, r.locator.line) for r in found]
    assert summary == [
        ("AccessibilityService", 7), ("AdbKey", 17), ("AppOp", 26), ("AppOp", 28), ("DeviceAdmin", 34),
        ("PackageActivity", 44), ("BroadcastReceiver", 49), ("BroadcastReceiver", 50), ("PackageEvent", 71),
    ]
    a11y, key, op, quiet, admin, activity, messaging, spy, event = found
    assert isinstance(activity, PackageActivity)
    assert (activity.package, activity.component, activity.intent) == (
        "com.android.settings", "com.android.settings/com.android.settings.Settings", "android.intent.action.MAIN")
    assert isinstance(event, PackageEvent)
    assert (event.event, event.uid, event.package) == ("installed", 10150, "com.example.game")
    assert isinstance(a11y, AccessibilityService) and a11y.component == "com.spy.app/com.spy.app.A11y"
    assert isinstance(key, AdbKey) and key.comment == "user@laptop" and len(key.fingerprint) == 47
    assert isinstance(op, AppOp) and (op.package, op.op, op.mode) == ("com.spy.app", "REQUEST_INSTALL_PACKAGES", "allow")
    assert isinstance(quiet, AppOp) and quiet.mode == "default"
    assert isinstance(admin, DeviceAdmin) and admin.package == "com.spy.app"
    assert isinstance(messaging, BroadcastReceiver) and messaging.package == "com.android.messaging"
    assert isinstance(spy, BroadcastReceiver) and spy.action == "android.provider.Telephony.SMS_RECEIVED"


def test_files_root_mounts_integrity(aqf: Path) -> None:
    files = records(aqf, "android_files")
    assert len(files) == 1 and isinstance(files[0], AndroidFile)
    assert (files[0].path, files[0].executable, files[0].modified) == (
        "/data/local/tmp/exploit", True, datetime.fromtimestamp(1699990000, UTC))
    roots = records(aqf, "android_root_binaries")
    assert roots == [RootBinary(locator=roots[0].locator, path="/system/xbin/su")]
    mounts = records(aqf, "android_mounts")
    assert [(m.mount_point, m.read_write, m.locator.key_path) for m in mounts] == [("/", False, "[0]"), ("/dev", True, "[1]")]
    assert all(isinstance(m, Mount) for m in mounts)
    entries = records(aqf, "androidqf_integrity")
    assert len(entries) == 11
    assert all(isinstance(e, IntegrityEntry) and e.status == "ok" for e in entries)


def test_integrity_mismatch_and_missing(tmp_path: Path) -> None:
    root = _builder().folder(tmp_path / "aqf")
    (root / "processes.txt").write_text("USER PID PPID VSZ RSS WCHAN ADDR S NAME\nroot 1 0 1 1 0 0 S init\n")
    (root / "mounts.json").unlink()
    (root / "added.txt").write_text("planted")
    (root / "logs").mkdir()
    (root / "logs" / "link").symlink_to("/etc/passwd")
    result = check(root, only=("androidqf_integrity",))
    found = [(f.rule, f.severity.label, f.locator.line, f.explanation.split(" ")[0]) for f in result.findings]
    assert found == [
        ("androidqf_integrity", "high", 4, "processes.txt"),
        ("androidqf_integrity", "medium", 7, "mounts.json,"),
        ("androidqf_integrity", "low", None, "added.txt"),
    ]


def test_zip_equals_folder_and_evidence_unchanged(tmp_path: Path) -> None:
    folder = _builder().folder(tmp_path / "aqf")
    archive = _builder().zip(tmp_path / "aqf.zip")
    before = snapshot(tmp_path)
    by_folder = check(folder)
    by_zip = check(archive)
    assert snapshot(tmp_path) == before
    assert by_zip.acquisition_kind == by_folder.acquisition_kind == "androidqf"
    assert [f.id for f in by_zip.findings] == [f.id for f in by_folder.findings]
    assert len(by_zip.findings) == 10


def test_malformed_json_costs_one_artifact(tmp_path: Path) -> None:
    root = _builder().folder(tmp_path / "aqf")
    (root / "packages.json").write_text('[{"name": "com.x", ')
    (root / "hashes.csv").unlink()
    result = check(root)
    status = {a.name: a.status for a in result.artifacts}
    assert status["android_packages"] == ArtifactStatus.FAILED
    assert status["android_processes"] == ArtifactStatus.OK
    assert status["android_dumpsys"] == ArtifactStatus.OK
    assert result.incomplete
    errors = next(a.errors for a in result.artifacts if a.name == "android_packages")
    assert errors[0].startswith(f"{AQF}/packages.json: malformed JSON")


def test_malformed_only_is_exit_3(tmp_path: Path) -> None:
    b = AndroidQFBuilder(hashes=False)
    root = b.folder(tmp_path / "aqf")
    (root / "files.json").write_text("{not json")
    result = check(root)
    assert [f for f in result.findings if f.severity >= 3] == []
    assert result.exit_code == ExitCode.INCOMPLETE


def test_processes_json_of_the_collector(tmp_path: Path) -> None:
    import json

    b = AndroidQFBuilder(hashes=False)
    root = b.folder(tmp_path / "aqf")
    (root / "processes.txt").unlink()
    (root / "processes.json").write_text(json.dumps([
        {"pid": 1, "uid": 0, "ppid": 0, "filename": "(init)", "command_line": ["/system/bin/init", "second_stage"],
         "context": "u:r:init:s0"},
        {"pid": 4321, "uid": 10200, "ppid": 700, "filename": "(bh)", "command_line": None, "context": ""},
        {"uid": 3},
    ]))
    found = records(root, "android_processes")
    assert [(p.user, p.pid, p.ppid, p.name, p.context, p.locator.key_path) for p in found] == [
        ("0", 1, 0, "/system/bin/init", "u:r:init:s0", "[0]"),
        ("10200", 4321, 700, "bh", None, "[1]"),
    ]
    assert list(found[0].observables()) == [Observable(Kind.PROCESS, "/system/bin/init"),
                                            Observable(Kind.PROCESS, "init")]


def test_dumpsys_packages_only_without_packages_json(tmp_path: Path) -> None:
    root = _builder().folder(tmp_path / "aqf")
    (root / "packages.json").unlink()
    found = [r for r in records(root, "android_dumpsys") if isinstance(r, AndroidPackage)]
    assert len(found) == 1
    package = found[0]
    # dumpsys omits the installer line of this package: unknown, not "installed over adb".
    assert (package.name, package.installer, package.installer_recorded, package.uid, package.locator.line) == (
        "com.no.installer.line", None, False, 10999, 60)
    assert [f.rule for f in check(root, only=("android_dumpsys",)).findings
            if f.rule == "android_package_installer"] == []


def test_integrity_of_old_folder_format_with_host_paths(tmp_path: Path) -> None:
    import hashlib

    b = AndroidQFBuilder(hashes=False)
    members = b.members()
    members["command.log"] = b"started\n"
    root = tmp_path / "6b1e4d2c-0000-4000-8000-000000000001"
    root.mkdir()
    for name, data in members.items():
        (root / name).write_bytes(data)
    rows = [f"/home/analyst/androidqf/{root.name}/{name},{hashlib.sha256(data).hexdigest()}"
            for name, data in members.items()]
    rows[1] = f"C:\\Users\\a\\androidqf\\{root.name}\\getprop.txt,{hashlib.sha256(members['getprop.txt']).hexdigest()}"
    rows.append(f"/home/analyst/androidqf/{root.name}/hashes.csv,{'0' * 64}")  # hashed while being written
    (root / "hashes.csv").write_text("\n".join(rows) + "\n")
    (root / "command.log").write_text("started\nacquisition completed\n")  # androidqf kept logging
    entries = records(root, "androidqf_integrity")
    assert sorted((e.member.rsplit("/", 1)[-1].rsplit("\\", 1)[-1], e.status) for e in entries) == sorted(
        [(name, "ok") for name in members if name != "command.log"] + [("command.log", "mismatch")]
    )
    findings = check(root, only=("androidqf_integrity",)).findings
    assert [(f.severity.label, f.explanation.split(" ")[0]) for f in findings] == [("info", "command.log")]
