"""A bugreport read as fully as MVT reads it: every dumpstate section in one pass, bare dumpsys,
FS/proc mountinfo, the three layouts (zip, zip of its folder, unpacked folder); AndroidQF folders
and zips holding only some of their files; getprop values over several lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from preuve.artifacts.android._dumpsys import (
    AppOp,
    BatteryDailyUpdate,
    BatteryHistoryEvent,
    BroadcastReceiver,
    CompatOverride,
    DatabaseAccess,
    PackageActivity,
)
from preuve.artifacts.android.getprop import AndroidProperty
from preuve.artifacts.android.mounts import Mount
from preuve.artifacts.android.processes import AndroidProcess
from preuve.artifacts.android.settings import AndroidSetting
from preuve.evidence.acquisition import detect_kind
from preuve.evidence.fs import DeviceFS
from preuve.evidence.kinds.android_bugreport import AndroidBugreport
from preuve.evidence.kinds.android_qf import AndroidQF
from preuve.model import ArtifactStatus, DeviceFacts
from tests.builders import check, feed, records, snapshot
from tests.builders.bugreport import MAIN, bugreport_members, dumpstate_text, write_folder, write_zip

DEVICE_MAIN = f"/.acquisition/bugreport/{MAIN}"

# (line, record type) of every record the dumpstate gives, in order.
EXPECTED_LAYOUT = [
    (9, "AndroidProperty"), (10, "AndroidProperty"), (13, "AndroidProperty"), (13, "SecurityPatch"),
    (14, "AndroidProperty"),
    (18, "AndroidProcess"), (19, "AndroidProcess"), (21, "AndroidThread"), (22, "AndroidProcess"),
    (23, "AndroidThread"),
    (26, "Mount"), (27, "Mount"),
    (40, "AppOp"), (47, "AppOp"), (49, "AppOp"), (51, "AppOp"),
    (56, "AndroidSetting"), (60, "AndroidSetting"), (61, "AndroidSetting"), (67, "AndroidSetting"),
    (68, "AndroidSetting"), (63, "AndroidSettingChange"),  # (a row's changes come at the end of the dump)
    (79, "PackageActivity"), (83, "PackageActivity"), (89, "BroadcastReceiver"),
    (96, "PackageEvent"), (97, "PackageEvent"),
    (98, "BatteryHistoryEvent"), (98, "BatteryHistoryEvent"), (99, "BatteryHistoryEvent"),
    (114, "BatteryDailyUpdate"), (115, "BatteryDailyUpdate"), (116, "BatteryDailyUpdate"),
    (117, "BatteryDailyUpdate"), (110, "BatteryDailyUpdate"), (111, "BatteryDailyUpdate"),
    (133, "DatabaseAccess"), (139, "CompatOverride"), (139, "CompatOverride"),
    (None, "DeviceFacts"),  # what the properties say of the device, once the dumpstate is read
]

EXPECTED_FINDINGS = sorted([
    ("android_system_rw", "high", DEVICE_MAIN, 27),
    ("android_system_rw", "high", "/proc/5678/mountinfo", 3),
    ("android_shell_appops", "medium", DEVICE_MAIN, 40),
    ("android_install_packages", "medium", DEVICE_MAIN, 47),
    ("dangerous setting", "medium", DEVICE_MAIN, 61),
    ("android_accessibility_service", "medium", DEVICE_MAIN, 67),
    ("android_battery_daily_change", "medium", DEVICE_MAIN, 110),
    ("android_battery_daily_change", "medium", DEVICE_MAIN, 111),
    ("android_battery_daily_change", "medium", DEVICE_MAIN, 117),
    ("android_sms_receiver", "low", DEVICE_MAIN, 89),
])


def _layout(found: list) -> list[tuple[int | None, str]]:
    return [(r.locator.line, type(r).__name__) for r in found]


# Play Protect off is judged by android_play_protect_off here and by android_dangerous_setting (MVT's ten
# settings) once the Android rules' branch is merged: either name is the same finding for these tests.
_SETTING_RULES = {"android_play_protect_off": "dangerous setting", "android_dangerous_setting": "dangerous setting"}


def _findings(result) -> list[tuple[str, str, str, int | None]]:  # noqa: ANN001
    return sorted((_SETTING_RULES.get(f.rule or "", f.rule or ""), f.severity.label, f.locator.device_path,
                   f.locator.line) for f in result.findings)


def test_every_section_is_read(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "bugreport.zip", bugreport_members())
    found = records(path, "android_dumpstate")
    assert _layout(found) == EXPECTED_LAYOUT
    facts = found[-1]
    assert isinstance(facts, DeviceFacts) and facts.locator.key_path == "device"
    assert facts.facts() == [("model", "Pixel 4a"), ("time zone", "Europe/Paris"), ("security patch", "2023-09-01")]
    by_line = {(r.locator.line, type(r).__name__): r for r in found}
    boots = by_line[(10, "AndroidProperty")]
    assert isinstance(boots, AndroidProperty)
    assert (boots.name, boots.value) == (
        "persist.sys.boot.reason.history", "reboot,userrequested,1699990000\nkernel_panic,1699900000\nreboot,ota,1699800000")
    # Processes: one per process (the thread rows 'Binder:900_1' and 'spyworker' are threads, not processes).
    procs = [r for r in found if isinstance(r, AndroidProcess)]
    assert [(p.user, p.pid, p.ppid, p.name, p.context) for p in procs] == [
        ("root", 1, 0, "init", "u:r:init:s0"),
        ("system", 900, 700, "system_server", "u:r:system_server:s0"),
        ("u0_a12", 5678, 690, "com.spy.agent", "u:r:untrusted_app:s0:c12,c257,c512,c768"),
    ]
    mounts = [r for r in found if isinstance(r, Mount)]
    assert [(m.device, m.mount_point, m.fs_type, m.options, m.read_write) for m in mounts] == [
        ("/dev/block/dm-5", "/", "ext4", ("ro", "seclabel", "relatime"), False),
        ("/dev/block/dm-8", "/system", "ext4", ("rw", "seclabel", "relatime"), True),
    ]
    ops = [r for r in found if isinstance(r, AppOp)]
    assert [(o.package, o.op, o.mode, o.last_access) for o in ops] == [
        # the uid's LEGACY_STORAGE default is no package's
        ("com.android.shell", "READ_CLIPBOARD", "allow", datetime(2023, 11, 14, 21, 50, 1, tzinfo=UTC)),
        ("com.spy.app", "REQUEST_INSTALL_PACKAGES", "allow", datetime(2023, 11, 10, 10, 0, tzinfo=UTC)),
        ("com.spy.app", "CAMERA", "ignore", None),
        ("com.android.vending", "REQUEST_INSTALL_PACKAGES", "allow", None),
    ]
    settings = [r for r in found if isinstance(r, AndroidSetting)]
    assert [(s.namespace, s.key, s.value) for s in settings] == [
        ("config", "activity_manager/max_cached_processes", "32"),
        ("global", "adb_enabled", "1"),
        ("global", "package_verifier_enable", "0"),
        ("secure", "enabled_accessibility_services", "com.spy.app/com.spy.app.A11y"),
        ("secure", "bluetooth_name", "Pixel\nof Alice"),  # a value over two lines, whole
    ]
    activities = [r for r in found if isinstance(r, PackageActivity)]
    assert [(a.package, a.component, a.intent) for a in activities] == [
        ("com.android.contacts", "com.android.contacts/com.android.contacts.activities.ContactEditorActivity",
         "vnd.android.cursor.item/contact"),
        ("com.spy.app", "com.spy.app/com.spy.app.MainActivity", "android.intent.action.MAIN"),
    ]
    receiver = by_line[(89, "BroadcastReceiver")]
    assert isinstance(receiver, BroadcastReceiver)
    assert receiver.action == "android.provider.Telephony.NEW_OUTGOING_SMS"
    daily = [r for r in found if isinstance(r, BatteryDailyUpdate)]
    day12, day13 = datetime(2023, 11, 12, 3, tzinfo=UTC), datetime(2023, 11, 13, 3, tzinfo=UTC)
    assert [(d.package, d.version_code, d.action, d.previous_version_code, d.period_start) for d in daily] == [
        ("com.bank.app", "130", "update", None, day12),
        ("com.example.game", "7", "update", None, day12),
        ("com.pkg.installer", "3", "update", None, day12),  # 'pkg' in a name is no battery history event
        ("com.old.thing", "0", "uninstall", None, day12),
        ("com.spy.gone", None, "uninstall", None, day13),
        ("com.bank.app", "120", "downgrade", "130", day13),
    ]
    history = [r for r in found if isinstance(r, BatteryHistoryEvent)]
    assert [(h.event, h.uid, h.package, h.name) for h in history] == [
        ("top", "u0a12", "com.spy.agent", "com.spy.agent"),
        ("job", "u0a12", "com.spy.agent", "com.spy.agent/.UploadJob"),  # its end (-job) is not a second record
        ("wake_lock", "u0a200", "com.spy.gone", "*alarm*:com.spy.gone/.Beacon"),  # NlpWakeLock names no app
    ]
    db = by_line[(133, "DatabaseAccess")]
    assert isinstance(db, DatabaseAccess)
    assert (db.path, db.pid, db.operation, db.when) == (
        "/data/user/0/com.spy.agent/databases/loot.db", None, "executeForLastInsertedRowId", "2023-11-14 22:00:00.123")
    assert {(o.kind.value, o.value) for o in db.observables()} == {
        ("file_path", "/data/user/0/com.spy.agent/databases/loot.db"), ("app_id", "com.spy.agent")}
    compat = [r for r in found if isinstance(r, CompatOverride)]
    assert [(c.package, c.change_id, c.change_name) for c in compat] == [
        ("com.spy.gone", 168419799, "DOWNSCALED"), ("com.android.chrome", 168419799, "DOWNSCALED")]


def test_findings_and_indicators(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "bugreport.zip", bugreport_members())
    iocs = feed(tmp_path / "spy.stix2", ("[process:name = 'com.spy.agent']", "SpyAgent"),
                ("[app:id = 'com.spy.gone']", "SpyAgent"))
    before = snapshot(tmp_path)
    result = check(path, iocs)
    assert snapshot(tmp_path) == before
    rules = [f for f in result.findings if f.rule]
    assert _findings(type("R", (), {"findings": rules})) == EXPECTED_FINDINGS
    hits = sorted((f.observable.kind.value, f.observable.value, f.locator.line) for f in result.findings
                  if f.indicator and f.observable)
    # The process from PROCESSES AND THREADS; the uninstalled app in the battery history and daily stats.
    assert hits == [("app_id", "com.spy.gone", 97), ("app_id", "com.spy.gone", 99), ("app_id", "com.spy.gone", 110),
                    ("app_id", "com.spy.gone", 139), ("process", "com.spy.agent", 22)]
    assert result.warnings == [] and all(not a.warnings and not a.errors for a in result.artifacts)
    shell = next(f for f in result.findings if f.rule == "android_shell_appops")
    assert shell.explanation == (
        "The ADB shell (com.android.shell) has the app-op READ_CLIPBOARD recorded (mode allow, last used "
        "2023-11-14 21:50:01 (device time)): commands were run on the phone from a computer.")
    assert shell.timestamp == datetime(2023, 11, 14, 21, 50, 1, tzinfo=UTC)


@pytest.mark.parametrize("layout", ["zip", "zip_under_folder", "folder", "folder_in_folder", "samsung"])
def test_bugreport_layouts(tmp_path: Path, layout: str) -> None:
    members = bugreport_members()
    if layout == "samsung":  # the main text as dumpState_<model>_<time>.log, no main_entry.txt
        members = {("dumpState_G991B_202311142213.log" if k == MAIN else k): v for k, v in members.items()
                   if k != "main_entry.txt"}
        path = write_zip(tmp_path / "bugreport.zip", members)
    elif layout == "zip":
        path = write_zip(tmp_path / "bugreport.zip", members)
    elif layout == "zip_under_folder":
        path = write_zip(tmp_path / "bugreport.zip", members, folder="bugreport-sunfish-2023-11-14")
    elif layout == "folder":
        path = write_folder(tmp_path / "bugreport-sunfish", members)
    else:
        write_folder(tmp_path / "outer" / "bugreport-sunfish", members)
        path = tmp_path / "outer"
    before = snapshot(tmp_path)
    assert detect_kind(path) is AndroidBugreport
    assert _layout(records(path, "android_dumpstate")) == EXPECTED_LAYOUT
    result = check(path)
    assert snapshot(tmp_path) == before
    main = "/.acquisition/bugreport/dumpState_G991B_202311142213.log" if layout == "samsung" else DEVICE_MAIN
    assert _findings(result) == sorted((r, s, main if p == DEVICE_MAIN else p, n) for r, s, p, n in EXPECTED_FINDINGS)
    by_artifact = {a.name: (a.status, a.records) for a in result.artifacts}
    assert by_artifact["android_dumpstate"] == (ArtifactStatus.OK, len(EXPECTED_LAYOUT))
    assert by_artifact["android_mounts"] == (ArtifactStatus.OK, 5)
    unpacked = [w for w in result.warnings if "unpacked bugreport" in w]
    assert len(unpacked) == (1 if layout.startswith("folder") else 0)


def test_mountinfo_namespaces(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "bugreport.zip", bugreport_members())
    mounts = records(path, "android_mounts")
    # init's namespace in full; the app's namespace only for what init's does not have.
    assert [(m.locator.device_path, m.locator.line, m.mount_point, m.options) for m in mounts] == [
        ("/proc/1/mountinfo", 1, "/", ("ro", "relatime", "seclabel")),
        ("/proc/1/mountinfo", 2, "/dev", ("rw", "nosuid", "relatime", "seclabel", "size=2854900k", "mode=755")),
        ("/proc/1/mountinfo", 3, "/vendor", ("ro", "relatime", "seclabel")),
        # mounted rw over a read-only superblock: not writable, as /proc/mounts would say
        ("/proc/1/mountinfo", 4, "/product", ("ro", "relatime", "seclabel")),
        ("/proc/5678/mountinfo", 3, "/system_ext", ("rw", "relatime", "seclabel")),
    ]


def test_bare_dumpsys(tmp_path: Path) -> None:
    """dumpstate.txt saved from ``adb shell dumpsys``: no dumpstate headers, only DUMP OF SERVICE blocks."""
    path = write_zip(tmp_path / "bugreport.zip", {"version.txt": b"2.0", "dumpstate.txt": dumpstate_text(bare=True).encode()})
    assert detect_kind(path) is AndroidBugreport
    found = records(path, "android_dumpstate")
    assert [type(r).__name__ for r in found] == (
        ["AppOp"] * 4 + ["AndroidSetting"] * 5 + ["AndroidSettingChange"] + ["PackageActivity"] * 2 + ["BroadcastReceiver"]
        + ["PackageEvent"] * 2 + ["BatteryHistoryEvent"] * 3 + ["BatteryDailyUpdate"] * 6 + ["DatabaseAccess"]
        + ["CompatOverride"] * 2)
    assert found[0].locator.line == 11 and found[0].locator.device_path == "/.acquisition/bugreport/dumpstate.txt"
    assert all(not a.warnings for a in check(path).artifacts)


def test_no_section_found_is_said(tmp_path: Path) -> None:
    text = "== dumpstate: 2023-11-14 22:13:20\n------ UPTIME (uptime) ------\n up 3 days\nrandom text\n"
    path = write_zip(tmp_path / "bugreport.zip", {"version.txt": b"2.0", "dumpstate.txt": text.encode()})
    report = {a.name: a for a in check(path).artifacts}["android_dumpstate"]
    assert (report.status, report.records) == (ArtifactStatus.EMPTY, 0)
    assert report.warnings == [
        "/.acquisition/bugreport/dumpstate.txt: no section preuve reads was found (SYSTEM PROPERTIES, "
        "PROCESSES AND THREADS, DUMPSYS, DUMP OF SERVICE …): nothing was read from this file"
    ]


def test_dumpstate_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_zip(tmp_path / "bugreport.zip", bugreport_members())
    reads: list[str] = []
    original = DeviceFS.read_text_lines

    def counting(self: DeviceFS, device_path: str):  # noqa: ANN202
        reads.append(device_path)
        return original(self, device_path)

    monkeypatch.setattr(DeviceFS, "read_text_lines", counting)
    records(path, "android_dumpstate")
    assert reads == [DEVICE_MAIN]


def test_partial_androidqf(tmp_path: Path) -> None:
    from tests.builders.android import android_backup_bytes, sms_backup_members

    only_props = tmp_path / "aqf-props"
    only_props.mkdir()
    (only_props / "getprop.txt").write_bytes(b"[ro.product.model]: [Pixel 4a]\n[persist.sys.boot.reason.history]: "
                                             b"[reboot,1699990000\nshutdown,1699900000]\n")
    props_zip = write_zip(tmp_path / "aqf-props.zip", {"getprop.txt": (only_props / "getprop.txt").read_bytes()})
    for evidence in (only_props, props_zip):
        assert detect_kind(evidence) is AndroidQF
        result = check(evidence)
        status = {a.name: (a.status, a.records) for a in result.artifacts}
        assert status["android_getprop"] == (ArtifactStatus.OK, 3)  # two properties and the device's facts
        assert {s for name, (s, _) in status.items() if name != "android_getprop"} == {ArtifactStatus.MISSING}
        assert result.warnings == [] and all(not a.warnings and not a.errors for a in result.artifacts)
    *props, facts = records(only_props, "android_getprop")
    assert isinstance(facts, DeviceFacts) and facts.facts() == [("model", "Pixel 4a")]
    assert [(p.name, p.value, p.locator.line) for p in props] == [
        ("ro.product.model", "Pixel 4a", 1), ("persist.sys.boot.reason.history", "reboot,1699990000\nshutdown,1699900000", 2)]

    only_backup = tmp_path / "aqf-backup"
    only_backup.mkdir()
    sms = [{"address": "+1", "body": "hello", "date": 1699990000000, "type": 1}]
    (only_backup / "backup.ab").write_bytes(android_backup_bytes(sms_backup_members(sms)))
    assert detect_kind(only_backup) is AndroidQF
    result = check(only_backup)
    status = {a.name: (a.status, a.records) for a in result.artifacts}
    assert status["android_backup_sms"] == (ArtifactStatus.OK, 1)
    assert status["android_getprop"] == (ArtifactStatus.MISSING, 0)
    assert not result.incomplete


def test_shared_names_alone_are_not_androidqf(tmp_path: Path) -> None:
    """ps.txt and logs/ are in sysdiagnoses too: alone they do not say AndroidQF."""
    from preuve.evidence.errors import AcquisitionError

    folder = tmp_path / "thing"
    (folder / "logs").mkdir(parents=True)
    (folder / "ps.txt").write_text("USER PID\n")
    with pytest.raises(AcquisitionError):
        detect_kind(folder)


def test_getprop_multiline_values_are_bounded(tmp_path: Path) -> None:
    text = "\n".join([
        "[a.cut]: [first line",
        "[b.whole]: [one]",
        "[c.long]: [start",
        *[f"line {i}" for i in range(300)],
        "[d.after]: [x]",
        "[e.open]: [never closed",
        "",
    ])
    folder = tmp_path / "aqf"
    folder.mkdir()
    (folder / "getprop.txt").write_text(text)
    props = records(folder, "android_getprop")  # (no property names the device: no device facts)
    assert [(p.name, p.locator.line, p.value.count("\n")) for p in props] == [
        ("a.cut", 1, 0), ("b.whole", 2, 0), ("c.long", 3, 256), ("d.after", 304, 0), ("e.open", 305, 0)]
    warnings = {a.name: a for a in check(folder).artifacts}["android_getprop"].warnings
    assert [w.split(": ", 1)[1] for w in warnings] == [
        "the value of property a.cut is cut short by the next property; kept as read",
        "the value of property c.long is longer than 256 lines or 65536 characters; kept as read",
        "the value of property e.open has no closing ']'; kept as read",
    ]
    assert json.dumps([w.split(":", 2)[1] for w in warnings]) == '["1", "3", "305"]'


def _noise(size: int) -> str:
    import hashlib

    return "".join(hashlib.sha256(str(i).encode()).hexdigest() for i in range(size // 64 + 1))[:size]


def test_hostile_dumpstate_is_bounded(tmp_path: Path) -> None:
    """Values that never end, rows that go on for ever, an over-long line, binary junk: read as far as
    sane, said in warnings, and the sections after them still read."""
    lines = [
        "== dumpstate: 2023-11-14 22:13:20",
        "------ SYSTEM PROPERTIES (getprop) ------",
        "[a.never.closed]: [first",
        "second",
        "------ PROCESSES AND THREADS (ps -A -T -Z -O pri,nice,rtprio,sched,pcy,time) ------",
        "LABEL USER PID TID PPID CMD",
        "u:r:x:s0 root",
        "u:r:x:s0 root notapid 1 0 x",
        "u:r:x:s0 root 42 42 1 survivor",
        "------ DUMPSYS (/system/bin/dumpsys) ------",
        "DUMP OF SERVICE settings:",
        "GLOBAL SETTINGS (user 0)",
        "_id:1 name:endless pkg:android value:x",
        *[f"more {i}" for i in range(200)],
        "_id:2 name:after pkg:android value:y",
        "",
        "DUMP OF SERVICE package:",
        "Receiver Resolver Table:",
        "  Non-Data Actions:",
        "      android.provider.Telephony.SMS_RECEIVED:",
        "        " + _noise(2 * 1024 * 1024),  # longer than a line may be (and not compressible)
        "        aa11bb com.spy.app/.Sms filter cc22dd",
        "\udcff\udcfe junk",
        "",
    ]
    data = "\n".join(lines).encode("utf-8", "surrogateescape")
    path = write_zip(tmp_path / "bugreport.zip", {"version.txt": b"2.0", "dumpstate.txt": data})
    found = records(path, "android_dumpstate")
    assert [(type(r).__name__, r.locator.line) for r in found] == [
        ("AndroidProperty", 3), ("AndroidProcess", 9), ("AndroidSetting", 13), ("AndroidSetting", 214),
        ("BroadcastReceiver", 221)]
    prop, _, endless, after, _ = found
    assert isinstance(prop, AndroidProperty) and prop.value == "first\nsecond"
    assert isinstance(endless, AndroidSetting) and endless.value.count("\n") == 64
    assert isinstance(after, AndroidSetting) and (after.key, after.value) == ("after", "y")
    report = {a.name: a for a in check(path).artifacts}["android_dumpstate"]
    where = "/.acquisition/bugreport/dumpstate.txt"
    assert report.status == ArtifactStatus.OK
    assert report.warnings == [
        f"{where}:3: the value of property a.never.closed has no closing ']'; kept as read",
        f"{where}:7: short line skipped",
        f"{where}:8: no process id, skipped",
        f"{where}: line 13: a settings row longer than 64 lines; kept as read",
    ]


def test_bugreport_inside_androidqf(tmp_path: Path) -> None:
    """Nested in AndroidQF, the bugreport under a top folder is read; its settings are left to
    settings_*.txt when AndroidQF holds them (as its packages are left to packages.json)."""
    from tests.builders.android import AndroidQFBuilder

    nested = write_zip(tmp_path / "br.zip", bugreport_members(), folder="bugreport-sunfish-2023-11-14").read_bytes()
    counts = {}
    for label, settings in (("with", None), ("without", {})):
        builder = AndroidQFBuilder()
        if settings is not None:
            builder.settings = settings
        builder.extra["bugreport.zip"] = nested
        found = records(builder.folder(tmp_path / f"aqf-{label}"), "android_dumpstate")
        counts[label] = sum(isinstance(r, AndroidSetting) for r in found)
        assert sum(isinstance(r, AndroidProcess) for r in found) == 3
    assert counts == {"with": 0, "without": 5}


def test_androidqf_processes_txt_holding_json(tmp_path: Path) -> None:
    """With its collector, AndroidQF writes the process list as JSON into processes.txt: read as JSON,
    not as ps text that yields nothing; ps text without a header says so."""
    root = tmp_path / "aqf"
    root.mkdir()
    (root / "processes.txt").write_text(json.dumps([
        {"pid": 1, "uid": 0, "ppid": 0, "filename": "(init)", "command_line": ["/system/bin/init"], "context": "u:r:init:s0"},
        {"pid": 5678, "uid": 10123, "ppid": 690, "filename": "(com.spy.agent)", "command_line": None, "context": ""},
    ], indent=1))
    found = records(root, "android_processes")
    assert [(p.pid, p.name, p.locator.key_path) for p in found] == [(1, "/system/bin/init", "[0]"),
                                                                    (5678, "com.spy.agent", "[1]")]
    (root / "processes.txt").write_text("garbage\nmore garbage\n")
    report = {a.name: a for a in check(root).artifacts}["android_processes"]
    assert (report.status, report.warnings) == (ArtifactStatus.EMPTY, [
        "/.acquisition/androidqf/processes.txt: no ps header line (USER PID …) was found: no process was read"])


def test_androidqf_text_files_that_give_nothing_say_so(tmp_path: Path) -> None:
    root = tmp_path / "aqf"
    root.mkdir()
    (root / "getprop.txt").write_text("error: device offline\n")
    (root / "dumpsys.txt").write_text("Can't find service: foo\n")
    warnings = {a.name: a.warnings for a in check(root).artifacts}
    assert warnings["android_getprop"] == [
        "/.acquisition/androidqf/getprop.txt: no [name]: [value] line was found: no property was read"]
    assert warnings["android_dumpsys"] == [
        "/.acquisition/androidqf/dumpsys.txt: no 'DUMP OF SERVICE' section was found: nothing was read from this file"]


def test_accessibility_enabled_services_over_several_lines(tmp_path: Path) -> None:
    text = "\n".join([
        "-" * 79,
        "DUMP OF SERVICE accessibility:",
        "ACCESSIBILITY MANAGER (dumpsys accessibility)",
        "User state[",
        "     attributes:{id=0, touchExplorationEnabled=false, installedServiceCount=2}",
        "     installed services: {",
        "          0 : com.google.android.marvin.talkback/com.android.switchaccess.SwitchAccessService",
        "          1 : com.spy.app/com.spy.app.A11y",
        "     }",
        "     Enabled services: {",
        "          0 : com.spy.app/com.spy.app.A11y",
        "     }",
        "     Bound services:{}",
        "]",
        "--------- 0.003s was the duration of dumpsys accessibility, ending at: 2023-11-14 22:13:30",
        "",
    ])
    path = write_zip(tmp_path / "bugreport.zip", {"version.txt": b"2.0", "dumpstate.txt": text.encode()})
    found = records(path, "android_dumpstate")
    # Enabled, and installed only (talkback: a record of its own, which MVT reports at low).
    assert [(type(r).__name__, r.locator.line, r.component) for r in found] == [
        ("AccessibilityService", 11, "com.spy.app/com.spy.app.A11y"),
        ("AccessibilityServiceInstalled", 7,
         "com.google.android.marvin.talkback/com.android.switchaccess.SwitchAccessService")]


def _accessibility_dump(tmp_path: Path, lines: list[str]) -> Path:
    text = "\n".join(["-" * 79, "DUMP OF SERVICE accessibility:", "ACCESSIBILITY MANAGER (dumpsys accessibility)",
                      *lines, "--------- 0.003s was the duration of dumpsys accessibility, ending at: 2023-11-14 22:13:30",
                      ""])
    return write_zip(tmp_path / "bugreport.zip", {"version.txt": b"2.0", "dumpstate.txt": text.encode()})


def _a11y_findings(path: Path) -> list[tuple[str, str, int | None, str]]:
    return [(f.rule or "", f.severity.label, f.locator.line, f.explanation) for f in check(path).findings
            if f.rule in ("android_accessibility_service", "android_accessibility_unnamed")]


def test_accessibility_count_the_dump_does_not_name(tmp_path: Path) -> None:
    """Most builds print only `installedServiceCount=N` in a user's attributes: the services it does not
    name are said, per user, as MVT says them (low)."""
    path = _accessibility_dump(tmp_path, [
        "User state[",
        "     attributes:{id=0, touchExplorationEnabled=false, serviceInfoChangeCount=0, installedServiceCount=13}",
        "     Bound services:{}",
        "     Enabled services:{}",
        "     Binding services:{}",
        "     Crashed services:{}",
        "]",
        "User state[",
        "     attributes:{id=10, touchExplorationEnabled=false, installedServiceCount=2}",
        "     Bound services:{Service[label=Spy, feedbackType[FEEDBACK_GENERIC], capabilities=1]}",
        "     Enabled services:{{com.spy.app/com.spy.app.A11y}}",
        "]",
    ])
    found = [r for r in records(path, "android_dumpstate") if type(r).__name__.startswith("Accessibility")]
    assert [(type(r).__name__, r.locator.line, getattr(r, "user", None), getattr(r, "stated", None),
             getattr(r, "named", None), getattr(r, "component", None)) for r in found] == [
        ("AccessibilityService", 14, None, None, None, "com.spy.app/com.spy.app.A11y"),
        ("AccessibilityServicesUnnamed", 5, 0, 13, 0, None),
        ("AccessibilityServicesUnnamed", 12, 10, 2, 1, None)]
    assert _a11y_findings(path) == [
        ("android_accessibility_service", "medium", 14,
         "The accessibility service com.spy.app/com.spy.app.A11y is enabled: it can read the screen and typing. "
         "Check that the owner knows this app."),
        ("android_accessibility_unnamed", "low", 5,
         "The accessibility dump states 13 installed accessibility service(s) for Android user 0 but names none of "
         "them: the unnamed ones cannot be checked from this dump. The owner can list them under Settings > "
         "Accessibility."),
        ("android_accessibility_unnamed", "low", 12,
         "The accessibility dump states 2 installed accessibility service(s) for Android user 10 but names only 1 "
         "(1 unnamed): the unnamed ones cannot be checked from this dump. The owner can list them under Settings > "
         "Accessibility."),
    ]


def test_accessibility_count_met_by_every_list(tmp_path: Path) -> None:
    """A service named in any list counts as named (Android 10's one-line state, as a car's dump printed it);
    a list left open does not swallow the lists after it."""
    path = _accessibility_dump(tmp_path, [
        "User state[attributes:{id=0, currentUser=true, touchExplorationEnabled=false, installedServiceCount=3}",
        "     Bound services:{Service[label=.custom.StatusBarAcces…, feedbackType[FEEDBACK_SPOKEN], capabilities=43]}",
        "     Crashed services:{",
        "          com.example.crashy/.CrashyService",
        "     Enabled services:{{com.vendor.voice/com.vendor.voice.Access}, {com.vendor.nav/.NavService}}",
        "     Binding services:{{com.vendor.nav/com.vendor.nav.NavService}}]",
    ])
    assert [(rule, severity, line) for rule, severity, line, _ in _a11y_findings(path)] == [
        ("android_accessibility_service", "medium", 8), ("android_accessibility_service", "medium", 8)]
    found = records(path, "android_dumpstate")
    assert [(type(r).__name__, getattr(r, "component", None)) for r in found] == [
        ("AccessibilityService", "com.vendor.voice/com.vendor.voice.Access"),
        ("AccessibilityService", "com.vendor.nav/com.vendor.nav.NavService")]


def test_vendor_wrapper_around_the_bugreport(tmp_path: Path) -> None:
    """MIUI / HyperOS: a zip of app logs and captures with the real bugreport zip inside."""
    inner = write_zip(tmp_path / "inner.zip", bugreport_members()).read_bytes()
    path = write_zip(tmp_path / "miui-feedback.zip", {
        "applogs/com.miui.home.log": b"log\n", "tcpdump.pcap": b"\xd4\xc3\xb2\xa1",
        "bugreport-sunfish-2023-11-14-22-13-20.zip": inner})
    before = snapshot(tmp_path)
    assert detect_kind(path) is AndroidBugreport
    assert _layout(records(path, "android_dumpstate")) == EXPECTED_LAYOUT
    result = check(path)
    assert snapshot(tmp_path) == before
    assert _findings(result) == EXPECTED_FINDINGS
    assert result.warnings == [
        f"{path}: a wrapper around the bugreport bugreport-sunfish-2023-11-14-22-13-20.zip: that bugreport is "
        "read, the wrapper's 2 other entries (app logs, captures) are not"]


def test_old_toolbox_ps_section(tmp_path: Path) -> None:
    """Android 7 and before: toolbox ``ps -Z -t -p -P``, the state letter printed before NAME without a
    header of its own."""
    text = "\n".join([
        "== dumpstate: 2016-05-01 10:00:00",
        "------ PROCESSES AND THREADS (ps -Z -t -p -P) ------",
        "LABEL                          USER     PID   PPID  VSIZE  RSS   PRIO  NICE  RTPRI SCHED  PCY  WCHAN        "
        "      PC  NAME",
        "u:r:init:s0                    root      1     0     9412   1092  20    0     0     0     fg  SyS_epoll_ "
        "0000000000 S /init",
        "u:r:untrusted_app:s0:c512,c768 u0_a99    4321  300   1500000 60000 20    0     0     0     fg  SyS_epoll_ "
        "0000000000 S com.spy.agent",
        "------ 0.100s was the duration of 'PROCESSES AND THREADS' ------",
        "",
    ])
    path = write_zip(tmp_path / "bugreport.zip", {"version.txt": b"1.0", "dumpstate.txt": text.encode()})
    found = records(path, "android_dumpstate")
    assert [(p.user, p.pid, p.ppid, p.name, p.context) for p in found] == [
        ("root", 1, 0, "/init", "u:r:init:s0"), ("u0_a99", 4321, 300, "com.spy.agent", "u:r:untrusted_app:s0:c512,c768")]


def test_androidqf_is_not_looked_for_in_every_subfolder(tmp_path: Path) -> None:
    """Detection stays cheap: an AndroidQF folder is the folder given or its only subfolder, never one
    of many (a backup holds 256 shard folders, and a subfolder holding a getprop.txt is not an AndroidQF)."""
    from preuve.evidence.acquisition import detect_kind
    from preuve.evidence.kinds.android_qf import AndroidQF

    many = tmp_path / "many"
    for number in range(3):
        (many / f"{number:02x}").mkdir(parents=True)
    (many / "01" / "getprop.txt").write_text("[ro.product.model]: [Pixel 4a]\n")
    assert not AndroidQF.detect(many)
    wrapped = tmp_path / "wrapped"
    (wrapped / "aqf").mkdir(parents=True)
    (wrapped / "aqf" / "getprop.txt").write_text("[ro.product.model]: [Pixel 4a]\n")
    assert detect_kind(wrapped) is AndroidQF
