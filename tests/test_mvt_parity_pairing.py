"""benchmarks/mvt_parity.py: reading MVT's and preuve's outputs and pairing them by object, without running MVT.

The MVT outputs are written here the way MVT 2.7+ writes them (alerts.json: a list of
{level, module, message, event_time, event, matched_indicator}; every module's <slug>_detected.json)
and the way older MVT did (<slug>_detected.json holding the detected records, no level); the preuve
outputs as `preuve check` writes them (findings.json; artifacts/<name>.jsonl, one record a line).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmarks.mvt_parity import (
    Comparison,
    MvtAlert,
    PreuveFinding,
    choose_command,
    compare,
    dump_root,
    exit_status,
    expand_feeds,
    mvt_problems,
    pair_all,
    read_mvt_alerts,
    read_preuve_findings,
    render,
    safe_unpack,
)

SHA = "0" * 64


def _ioc(value: str, kind: str) -> dict[str, str]:
    return {"value": value, "type": kind, "name": "Pegasus", "stix2_file_name": "pegasus.stix2"}


def _alert(level: str, module: str, message: str, event: dict[str, object], ioc: dict[str, str] | None = None
           ) -> dict[str, object]:
    return {"level": level, "module": module, "message": message, "event_time": "", "event": event,
            "matched_indicator": ioc}


def _finding(severity: str, artifact: str, locator: dict[str, object], rule: str | None = None,
             indicator: tuple[str, str] | None = None, observable: tuple[str, str] | None = None,
             explanation: str = "") -> dict[str, object]:
    return {
        "id": "x", "severity": severity, "artifact": artifact, "rule": rule,
        "indicator": None if indicator is None else {
            "kind": indicator[0], "value": indicator[1], "malware": "Pegasus", "feed": "pegasus.stix2",
            "feed_sha256": SHA, "stix_id": "indicator--1", "published": None, "valid_until": None},
        "observable": None if observable is None else {"kind": observable[0], "value": observable[1]},
        "locator": {"sha256": SHA, **locator}, "timestamp": None, "explanation": explanation, "record_sha256": None,
    }


def _record(record_type: str, locator: dict[str, object], **fields: object) -> dict[str, object]:
    full = {"device_path": "", "sha256": SHA, "table": None, "rowid": None, "key_path": None, "line": None,
            "offset": None, **locator}
    return {"record_type": record_type, "locator": full, **fields}


def _write_preuve(out: Path, findings: list[dict[str, object]], records: dict[str, list[dict[str, object]]]) -> Path:
    (out / "artifacts").mkdir(parents=True)
    (out / "findings.json").write_text(json.dumps({"findings": findings, "summary": {}}))
    for artifact, rows in records.items():
        (out / "artifacts" / f"{artifact}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return out / "findings.json"


SMS_DB = "/private/var/mobile/Library/SMS/sms.db"
DATAUSAGE = "/private/var/wireless/Library/Databases/DataUsage.sqlite"


def _mvt_ios(out: Path) -> None:
    out.mkdir()
    alerts = [
        _alert("CRITICAL", "sms", 'Found a known suspicious domain https://tookcheckout.com/r/1 matching indicator '
               '"tookcheckout.com" from "Pegasus"', {"ROWID": 42, "text": "see https://tookcheckout.com/r/1"},
               _ioc("tookcheckout.com", "domains")),
        _alert("CRITICAL", "id_status_cache", 'Found a known suspicious email address "bogaardlisa803@gmail.com"',
               {"user": "mailto:bogaardlisa803@gmail.com", "package": "com.apple.madrid"},
               _ioc("bogaardlisa803@gmail.com", "emails")),
        _alert("HIGH", "manifest", 'Found a known suspicious file name "roleaccountd.plist"',
               {"relative_path": "Library/Preferences/roleaccountd.plist", "domain": "HomeDomain"},
               _ioc("roleaccountd.plist", "file_names")),
        _alert("LOW", "datausage", 'Missing process 10. Previous process at "2023-04-14 21:12:05.000000" (fservernetd)',
               {"proc_id": 8, "proc_name": "fservernetd", "live_id": 8}),
        _alert("HIGH", "sms", "Apple warning about state-sponsored attack received on 2023-05-24 21:12:05.000000",
               {"ROWID": 65, "text": "ALERT: Apple detected a targeted mercenary spyware attack"}),
        _alert("LOW", "global_preferences", "Lockdown mode disabled", {"entry": "LDMGlobalEnabled", "value": False}),
    ]
    (out / "alerts.json").write_text(json.dumps(alerts))
    (out / "sms_detected.json").write_text(json.dumps([alerts[0], alerts[4]]))  # the same alerts, per module
    (out / "info.json").write_text("{}")


def _preuve_ios(out: Path) -> Path:
    findings = [
        _finding("high", "sms", {"device_path": SMS_DB, "table": "message", "rowid": 42},
                 indicator=("domain", "tookcheckout.com"), observable=("url", "https://tookcheckout.com/r/1")),
        # the email is also in a message: a finding in another artifact is no counterpart for idstatuscache
        _finding("high", "sms", {"device_path": SMS_DB, "table": "message", "rowid": 45},
                 indicator=("email", "bogaardlisa803@gmail.com"), observable=("email", "bogaardlisa803@gmail.com")),
        _finding("critical", "manifest", {"device_path": "/.acquisition/backup/Manifest.db", "table": "Files",
                                          "rowid": 9}, indicator=("file_name", "roleaccountd.plist"),
                 observable=("file_path", "/private/var/mobile/Library/Preferences/roleaccountd.plist")),
        _finding("low", "datausage", {"device_path": DATAUSAGE, "table": "ZPROCESS", "rowid": 12,
                                      "key_path": "Z_PK 9-11"}, rule="datausage_process_gap"),
        # a rule on another message than the warning MVT saw
        _finding("high", "sms", {"device_path": SMS_DB, "table": "message", "rowid": 64},
                 rule="apple_threat_notification"),
        _finding("info", "global_preferences", {"device_path": "/private/var/mobile/Library/Preferences/"
                                                ".GlobalPreferences.plist", "key_path": "/LDMGlobalEnabled"},
                 rule="lockdown_mode"),
    ]
    return _write_preuve(out, findings, {})


def test_ios_outputs_paired_by_object(tmp_path: Path) -> None:
    _mvt_ios(tmp_path / "mvt")
    alerts = read_mvt_alerts(tmp_path / "mvt")
    assert [(a.module, a.level, a.indicator_value) for a in alerts] == [
        ("sms", 4, "tookcheckout.com"), ("id_status_cache", 4, "bogaardlisa803@gmail.com"),
        ("manifest", 3, "roleaccountd.plist"), ("datausage", 1, None), ("sms", 3, None),
        ("global_preferences", 1, None),
    ]
    findings = read_preuve_findings(_preuve_ios(tmp_path / "preuve"))
    pairs, unmatched = pair_all(alerts, findings)
    got = [(p.alert.module, p.finding.artifact if p.finding else None,
            (p.finding.rule or p.finding.indicator_value) if p.finding else None, p.note) for p in pairs]
    assert got == [
        ("sms", "sms", "tookcheckout.com", "same indicator, same record"),
        ("id_status_cache", None, None, "no finding for this indicator in idstatuscache"),
        ("manifest", "manifest", "roleaccountd.plist", "same indicator, same record"),
        ("datausage", "datausage", "datausage_process_gap", "counterpart on the same record"),
        ("sms", None, None, "expected apple_threat_notification in sms/android_backup_sms"),
        ("global_preferences", "global_preferences", "lockdown_mode", "counterpart on the same record"),
    ]
    assert [(f.artifact, f.rule or f.indicator_value) for f in unmatched] == [
        ("sms", "bogaardlisa803@gmail.com"), ("sms", "apple_threat_notification")]


def test_render_lists_missing_with_both_levels_and_counts(tmp_path: Path) -> None:
    _mvt_ios(tmp_path / "mvt")
    pairs, unmatched = pair_all(read_mvt_alerts(tmp_path / "mvt"),
                                read_preuve_findings(_preuve_ios(tmp_path / "preuve")))
    comparison = Comparison("backup", "mvt-ios check-backup", pairs, unmatched, ["Error in module X: 'k'"])
    text = render(comparison)
    lines = text.splitlines()
    assert lines[0] == "== backup  (MVT mvt-ios check-backup)"
    assert lines[1] == "   problem: Error in module X: 'k'"
    assert lines[3].split()[:4] == ["id_status_cache", "critical", "bogaardlisa803@gmail.com", "MISSING"]
    assert lines[4].split()[:3] == ["sms", "high", "Apple"] and " MISSING " in lines[4]
    lockdown = next(line for line in lines if line.strip().startswith("global_preferences"))
    assert lockdown.split()[:5] == ["global_preferences", "low", "Lockdown", "mode", "disabled"]
    assert lockdown.endswith("info          preuve LOWER; counterpart on the same record")
    assert lines[-1] == ("   MVT alerts: 6; with a preuve counterpart: 4; MISSING: 2; preuve level lower: 2; "
                         "preuve findings without an MVT alert: 2 high")
    assert exit_status([comparison]) == 1
    assert exit_status([Comparison("x", "c", failed=True)]) == 2
    assert exit_status([Comparison("x", "c")]) == 0


def test_detected_files_when_no_alerts_json_and_older_mvt(tmp_path: Path) -> None:
    out = tmp_path / "mvt"
    out.mkdir()
    (out / "tcc_detected.json").write_text(json.dumps([
        _alert("CRITICAL", "tcc", 'Found a known suspicious process name "bh"', {"client": "bh"},
               _ioc("bh", "processes"))]))
    # MVT before alert levels: the detected records themselves, the indicator inside
    (out / "os_analytics_ad_daily_detected.json").write_text(json.dumps([
        {"package": "accountpfd", "ts": "2023-01-01", "matched_indicator": _ioc("accountpfd", "processes")}]))
    alerts = read_mvt_alerts(out)
    assert [(a.module, a.level, a.indicator_type, a.indicator_value) for a in alerts] == [
        ("os_analytics_ad_daily", None, "processes", "accountpfd"), ("tcc", 4, "processes", "bh")]
    assert "v:accountpfd" in alerts[0].objects


def test_heuristic_needs_its_rule_and_an_identity_not_a_category(tmp_path: Path) -> None:
    """Two app-op alerts share the permission name: only the package that preuve flagged is paired."""
    dump = "/.acquisition/bugreport/bugreport-x.txt"
    alerts = [
        MvtAlert("dumpsys_appops", 2, "Package 'com.example.browser' had risky permission 'REQUEST_INSTALL_PACKAGES'",
                 None, None, frozenset()),
        MvtAlert("dumpsys_appops", 2, "Package 'com.example.quiet' had risky permission 'REQUEST_INSTALL_PACKAGES'",
                 None, None, frozenset()),
    ]
    out = tmp_path / "mvt"
    out.mkdir()
    (out / "alerts.json").write_text(json.dumps([
        _alert("MEDIUM", a.module, a.message, {"package_name": a.message.split("'")[1], "uid": "10123",
                                               "permissions": [{"name": "REQUEST_INSTALL_PACKAGES",
                                                                "access": "allow"}]}) for a in alerts]))
    findings = [
        _finding("low", "android_dumpstate", {"device_path": dump, "line": 36}, rule="android_install_packages"),
        # a rule of another kind on the quiet app is no counterpart
        _finding("medium", "android_dumpstate", {"device_path": dump, "line": 40}, rule="android_package_installer",
                 observable=("app_id", "com.example.quiet")),
    ]
    records = {"android_dumpstate": [
        _record("android:dumpsys:appop", {"device_path": dump, "line": 36}, package="com.example.browser",
                operation="REQUEST_INSTALL_PACKAGES", mode="allow"),
        _record("android:dumpsys:package", {"device_path": dump, "line": 40}, name="com.example.quiet"),
    ]}
    pairs, _ = pair_all(read_mvt_alerts(out), read_preuve_findings(_write_preuve(tmp_path / "p", findings, records)))
    assert [(p.finding.rule if p.finding else None) for p in pairs] == ["android_install_packages", None]
    assert pairs[1].note == "expected android_install_packages in android_dumpsys/android_dumpstate"


def test_record_values_from_artifacts_jsonl_and_whole_file_records(tmp_path: Path) -> None:
    """A finding with no observable is paired through its record; a tombstone's record is its file."""
    out = tmp_path / "mvt"
    out.mkdir()
    (out / "alerts.json").write_text(json.dumps([
        _alert("MEDIUM", "aqf_settings", 'Found suspicious "global" setting "package_verifier_enable = 0" (x)',
               {"namespace": "global", "name": "package_verifier_enable", "value": "0"}),
        _alert("MEDIUM", "tombstones", "Potentially suspicious crash in process 'Binder:1234_2' running as UID '0' "
               "in tombstone 'tombstone_00' at 2023-11-10", {"file_name": "tombstone_00", "uid": 0,
                                                             "process_name": "Binder:1234_2"}),
        _alert("HIGH", "mounts", "Root detected /system partition is mounted as read-write (rw)",
               {"mount_point": "/system", "device": "/dev/block/dm-1"}),
    ]))
    settings = {"device_path": "/.acquisition/androidqf/settings_global.txt", "line": 2}
    tombstone = {"device_path": "/data/tombstones/tombstone_00"}
    findings = [
        _finding("medium", "android_settings", settings, rule="android_play_protect_off"),
        _finding("medium", "android_tombstones", tombstone, rule="android_tombstone_privileged"),
        _finding("high", "android_mounts", {"device_path": "/.acquisition/androidqf/mounts.json", "key_path": "[1]"},
                 rule="android_system_rw"),
    ]
    records = {
        "android_settings": [_record("android:settings:setting", {**settings, "line": 1}, namespace="global",
                                     key="adb_enabled", value="1"),
                             _record("android:settings:setting", settings, namespace="global",
                                     key="package_verifier_enable", value="0")],
        "android_tombstones": [_record("android:tombstones:tombstone", tombstone, process="/system/bin/mediaserver",
                                       uid=0)],
        # mounts.jsonl is absent: the finding keeps only what findings.json says, and is not paired
    }
    pairs, _ = pair_all(read_mvt_alerts(out), read_preuve_findings(_write_preuve(tmp_path / "p", findings, records)))
    assert [(p.alert.module, p.finding.rule if p.finding else None) for p in pairs] == [
        ("aqf_settings", "android_play_protect_off"), ("tombstones", "android_tombstone_privileged"),
        ("mounts", None)]


def test_unmapped_module_and_other_indicator_on_same_record() -> None:
    files = PreuveFinding("android_files", None, 4, "file_path", "/data/local/tmp/wd/pred.so",
                          frozenset({"v:/data/local/tmp/wd/pred.so"}), "")
    folder_ioc = MvtAlert("aqf_files", 4, "Found a known suspicious file path", "file_paths", "/data/local/tmp/wd/",
                          frozenset({"v:/data/local/tmp/wd/pred.so", "v:/data/local/tmp/wd"}))
    plugin = MvtAlert("some_plugin", 3, 'Found "/data/local/tmp/wd/pred.so"', None, None,
                      frozenset({"v:/data/local/tmp/wd/pred.so"}))
    rule = PreuveFinding("android_files", "android_data_local_tmp", 3, None, None,
                         frozenset({"v:/data/local/tmp/wd/pred.so"}), "")
    pairs, unmatched = pair_all([folder_ioc, plugin], [files, rule])
    assert [(p.finding, p.note) for p in pairs] == [
        (files, "another indicator on the same record"),
        (rule, "counterpart on the same record (module not mapped: any artifact) "
               "(MVT heuristic not in the table: any rule)"),
    ]
    assert unmatched == []


@pytest.mark.parametrize(("layout", "expected"), [
    ("backup", ("mvt-ios", "check-backup")),
    ("fs", ("mvt-ios", "check-fs")),
    ("androidqf", ("mvt-android", "check-androidqf")),
    ("bugreport.zip", ("mvt-android", "check-bugreport")),
    ("androidqf.zip", ("mvt-android", "check-androidqf")),
    ("backup.ab", ("mvt-android", "check-backup")),
    ("sysdiagnose_2023.06.01_12-00-00+0200_iPhone-OS_iPhone_20F66.tar.gz", ("mvt-ios", "check-sysdiagnose")),
    ("dump.tar.gz", ("mvt-ios", "check-fs")),
])
def test_command_chosen_from_the_acquisition(tmp_path: Path, layout: str, expected: tuple[str, str]) -> None:
    import zipfile

    target = tmp_path / layout
    if layout == "backup":
        target.mkdir()
        (target / "Manifest.db").write_bytes(b"SQLite format 3\x00")
    elif layout == "fs":
        (target / "private" / "var").mkdir(parents=True)
    elif layout == "androidqf":
        target.mkdir()
        (target / "acquisition.json").write_text("{}")
    elif layout.endswith(".zip"):
        with zipfile.ZipFile(target, "w") as archive:
            if layout.startswith("bugreport"):
                archive.writestr("main_entry.txt", "bugreport-x.txt")
                archive.writestr("bugreport-x.txt", "== dumpstate")
            else:
                archive.writestr("getprop.txt", "[a]: [b]\n")
    else:
        target.write_bytes(b"x")
    assert choose_command(target) == expected


def test_feeds_from_folders_deduplicated_by_content(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "sub").mkdir(parents=True)
    (tmp_path / "a" / "pegasus.stix2").write_text('{"objects": []}')
    (tmp_path / "b" / "sub" / "copy.stix2").write_text('{"objects": []}')
    (tmp_path / "b" / "other.stix2").write_text('{"objects": [1]}')
    (tmp_path / "b" / "notes.txt").write_text("not a feed")
    feeds = expand_feeds([tmp_path / "a", tmp_path / "b"])
    assert [p.relative_to(tmp_path).as_posix() for p in feeds] == ["a/pegasus.stix2", "b/other.stix2"]
    with pytest.raises(FileNotFoundError):
        expand_feeds([tmp_path / "missing"])


def test_mvt_problems_from_its_log(tmp_path: Path) -> None:
    (tmp_path / "command.log").write_text(
        "2026-12-05 20:45:58,196 - mvt.ios.modules.mixed.sms - CRITICAL - Found a known suspicious domain\n"
        "2026-12-05 20:45:58,197 - mvt.ios.modules.mixed.sms_attachments - ERROR - Error when serializing data "
        "from module SMSAttachments: 'is_sticker'\n"
        "Traceback (most recent call last):\n  File \"x.py\", line 1, in run\nKeyError: 'is_sticker'\n")
    assert mvt_problems(tmp_path, "") == [
        "Error when serializing data from module SMSAttachments: 'is_sticker'", "KeyError: 'is_sticker'"]


def test_a_value_many_records_share_does_not_pair(tmp_path: Path) -> None:
    """Both settings are in the "secure" namespace: that does not make preuve's finding on one a counterpart
    of MVT's alert on the other."""
    out = tmp_path / "mvt"
    out.mkdir()
    (out / "alerts.json").write_text(json.dumps([
        _alert("MEDIUM", "aqf_settings", 'Found suspicious "secure" setting "accessibility_enabled = 1" (x)',
               {"namespace": "secure", "name": "accessibility_enabled", "value": "1"})]))
    secure = "/.acquisition/androidqf/settings_secure.txt"
    findings = [_finding("low", "android_settings", {"device_path": secure, "line": 1}, rule="android_unknown_sources")]
    records = {"android_settings": [
        _record("android:settings:setting", {"device_path": secure, "line": 1}, namespace="secure",
                key="install_non_market_apps", value="1"),
        _record("android:settings:setting", {"device_path": secure, "line": 2}, namespace="secure",
                key="accessibility_enabled", value="1"),
    ]}
    pairs, unmatched = pair_all(read_mvt_alerts(out), read_preuve_findings(_write_preuve(tmp_path / "p", findings,
                                                                                          records)))
    assert [(p.finding, p.note) for p in pairs] == [
        (None, "expected android_dangerous_setting/android_play_protect_off/android_unknown_sources in "
               "android_settings")]
    assert [f.rule for f in unmatched] == ["android_unknown_sources"]


def test_a_setting_pairs_by_its_name_and_value_when_each_alone_is_shared(tmp_path: Path) -> None:
    """A bugreport's settings hold accessibility_enabled once per user (MVT's own test dumpstate: 1 for
    user 0, 0 for user 10): neither the name nor "1" identifies a record, the pair does."""
    out = tmp_path / "mvt"
    out.mkdir()
    (out / "alerts.json").write_text(json.dumps([
        _alert("MEDIUM", "settings", 'Found suspicious "secure" setting "accessibility_enabled = 1" (x)',
               {"namespace": "secure", "name": "accessibility_enabled", "value": "1"})]))
    dumpstate = "/.acquisition/bugreport/dumpstate.txt"
    findings = [_finding("medium", "android_dumpstate", {"device_path": dumpstate, "line": 304},
                         rule="android_dangerous_setting")]
    records = {"android_dumpstate": [
        _record("android:settings:setting", {"device_path": dumpstate, "line": 284}, namespace="global",
                key="development_settings_enabled", value="1"),
        _record("android:settings:setting", {"device_path": dumpstate, "line": 304}, namespace="secure",
                key="accessibility_enabled", value="1"),
        _record("android:settings:setting", {"device_path": dumpstate, "line": 309}, namespace="secure",
                key="accessibility_enabled", value="0"),
    ]}
    pairs, unmatched = pair_all(read_mvt_alerts(out), read_preuve_findings(_write_preuve(tmp_path / "p", findings,
                                                                                          records)))
    assert [(p.finding.rule if p.finding else None, p.note) for p in pairs] == [
        ("android_dangerous_setting", "counterpart on the same record")]
    assert unmatched == []


def test_row_ids_of_different_tables_do_not_pair(tmp_path: Path) -> None:
    """MVT names a DataUsage row by process id and live-usage id; preuve's finding is on process row 7, another
    process than the one MVT alerts on (whose live-usage row is 7)."""
    out = tmp_path / "mvt"
    out.mkdir()
    (out / "alerts.json").write_text(json.dumps([
        _alert("MEDIUM", "netusage", "Could not find the binary associated with the process with name "
               "com.apple.sbd", {"proc_name": "com.apple.sbd", "bundle_id": None, "proc_id": 5, "live_id": 7,
                                 "live_proc_id": 5}),
        _alert("MEDIUM", "netusage", "Could not find the binary associated with the process with name geod",
               {"proc_name": "geod", "bundle_id": None, "proc_id": 7, "live_id": 9, "live_proc_id": 7}),
    ]))
    netusage = "/private/var/networkd/netusage.sqlite"
    findings = [_finding("info", "netusage", {"device_path": netusage, "table": "ZPROCESS", "rowid": 7},
                         rule="datausage_unbundled_process", observable=("process", "geod"))]
    pairs, _ = pair_all(read_mvt_alerts(out), read_preuve_findings(_write_preuve(tmp_path / "p", findings, {})))
    assert [(p.alert.message[-13:], p.finding is not None) for p in pairs] == [
        ("com.apple.sbd", False), ("ith name geod", True)]


def test_a_missing_input_is_reported_not_compared(tmp_path: Path) -> None:
    comparison = compare(tmp_path / "nothing", [], tmp_path / "no-venv", None, None, 10.0, None)
    assert (comparison.failed, comparison.problems, comparison.pairs) == (True, ["no such file or folder"], [])
    assert render(comparison).splitlines() == [
        f"== {tmp_path / 'nothing'}  (MVT ?)", "   problem: no such file or folder",
        "   not compared: a tool did not produce its output"]


FAKE_MVT = '''#!{python}
"""Stands in for mvt-ios: records how it was called and writes an MVT-shaped output folder."""
import json, os, sys
args = sys.argv[1:]
if args == ["--help"]:
    print("Options:\\n  --disable-update-check\\n  --disable-indicator-update-check")
    sys.exit(0)
out = args[args.index("--output") + 1]
os.makedirs(out)
alert = {{"level": "CRITICAL", "module": "tcc", "message": 'Found a known suspicious process name "bh"',
          "event_time": "", "event": {{"client": "bh"}},
          "matched_indicator": {{"value": "bh", "type": "processes", "name": "Pegasus", "stix2_file_name": "f"}}}}
json.dump([alert], open(os.path.join(out, "alerts.json"), "w"))
seen = {{"mvt_version": "9.9", "args": args, "env": {{k: v for k, v in os.environ.items() if k.startswith("MVT_")}}}}
json.dump(seen, open(os.path.join(out, "info.json"), "w"))
open(os.path.join(out, "command.log"), "w").write("x - mvt.ios.modules.mixed.sms - ERROR - Error in running "
                                                  "extraction from module SMS: no such table: message\\n")
'''


def test_mvt_run_on_a_private_copy_and_preuve_reading_nothing(tmp_path: Path) -> None:
    """The whole run with a stand-in for MVT: how MVT is called, its problems, and an input preuve does not
    recognise, whose MVT alerts are then all without a counterpart."""
    import stat
    import sys

    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    fake = venv / "bin" / "mvt-ios"
    fake.write_text(FAKE_MVT.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    feed = tmp_path / "f.stix2"
    feed.write_text('{"objects": []}')
    evidence = tmp_path / "dump"
    evidence.mkdir()
    (evidence / "notes.txt").write_text("not an acquisition")
    keep = tmp_path / "keep"
    keep.mkdir()
    comparison = compare(evidence, [feed], venv, None, Path(__file__).resolve().parents[1] / "src", 120.0, keep)
    seen = json.loads((keep / "dump" / "mvt-out" / "info.json").read_text())
    assert seen["args"][:3] == ["--disable-update-check", "--disable-indicator-update-check", "check-fs"]
    assert seen["args"][3:5] == ["--iocs", str(feed)]
    assert seen["args"][-1] != str(evidence) and seen["args"][-1].endswith("/mvt-input/dump")  # a private copy
    assert seen["env"]["MVT_NETWORK_ACCESS_ALLOWED"] == "False"
    assert {"MVT_DATA_FOLDER", "MVT_CONFIG_FOLDER"} <= set(seen["env"])
    assert (comparison.command, comparison.mvt_version, comparison.failed) == ("mvt-ios check-fs", "9.9", False)
    assert render(comparison).splitlines()[0] == f"== {evidence}  (MVT 9.9 mvt-ios check-fs)"
    assert comparison.problems[0] == "Error in running extraction from module SMS: no such table: message"
    assert comparison.problems[1].startswith("preuve exit 1: error: ")
    assert comparison.problems[2:] == ["preuve wrote no findings.json",
                                       "preuve raised nothing: each MVT alert is listed without a counterpart"]
    assert [(p.alert.module, p.alert.indicator_value, p.finding) for p in comparison.pairs] == [("tcc", "bh", None)]
    assert exit_status([comparison]) == 1
    assert (evidence / "notes.txt").read_text() == "not an acquisition" and sorted(evidence.iterdir()) == [
        evidence / "notes.txt"]


def test_dump_archives_unpacked_for_check_fs_inside_their_folder(tmp_path: Path) -> None:
    """MVT's check-fs reads folders: a tar or zip dump is unpacked, nothing outside the folder, and the folder
    holding private/ is the one MVT gets (the archive may hold ./private or a wrapping folder)."""
    import io
    import tarfile
    import zipfile

    tar_path = tmp_path / "dump.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        for name in ("./private/var/mobile/a.txt", "../escape.txt", "/abs.txt"):
            info = tarfile.TarInfo(name)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"ok"))
    safe_unpack(tar_path, tmp_path / "t")
    assert sorted(p.relative_to(tmp_path / "t").as_posix() for p in (tmp_path / "t").rglob("*") if p.is_file()) == [
        "abs.txt", "private/var/mobile/a.txt"]
    assert not (tmp_path / "escape.txt").exists()
    assert dump_root(tmp_path / "t") == tmp_path / "t"
    (tmp_path / "t" / "abs.txt").unlink()  # private/ alone at the top: still the folder above it
    assert dump_root(tmp_path / "t") == tmp_path / "t"
    zip_path = tmp_path / "dump.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("phone/private/var/db/x", b"x")
    safe_unpack(zip_path, tmp_path / "z")
    assert dump_root(tmp_path / "z") == tmp_path / "z" / "phone"


def test_a_count_per_user_pairs_by_its_user(tmp_path: Path) -> None:
    """MVT's "services counted but not named" alert holds numbers only: it pairs with preuve's finding for
    the same Android user, not with another user's."""
    out = tmp_path / "mvt"
    out.mkdir()
    event = {"user_id": 10, "component": None, "package_name": None, "installed_service_count": 2,
             "unnamed_service_count": 1}
    (out / "alerts.json").write_text(json.dumps([
        _alert("LOW", "dumpsys_accessibility", "The accessibility dump states 2 installed service(s) for user 10 "
               "but lists the component names of only 1 of them (1 unnamed)", event)]))
    dumpstate = "/.acquisition/bugreport/dumpstate.txt"

    def preuve(user: int) -> list[PreuveFinding]:
        findings = [_finding("low", "android_dumpstate", {"device_path": dumpstate, "line": 12},
                             rule="android_accessibility_unnamed")]
        records = {"android_dumpstate": [
            _record("android:dumpsys:accessibility_services_unnamed", {"device_path": dumpstate, "line": 12},
                    user=user, stated=2, named=1)]}
        return read_preuve_findings(_write_preuve(tmp_path / f"p{user}", findings, records))

    alerts = read_mvt_alerts(out)
    pairs, _ = pair_all(alerts, preuve(10))
    assert [(p.finding.rule if p.finding else None, p.note) for p in pairs] == [
        ("android_accessibility_unnamed", "counterpart on the same record")]
    pairs, _ = pair_all(alerts, preuve(0))
    assert [(p.finding, p.note) for p in pairs] == [(None, "expected android_accessibility_unnamed in "
                                                           "android_dumpsys/android_dumpstate")]


def test_a_heuristic_preuve_has_no_rule_for_is_missing_and_says_so() -> None:
    alert = MvtAlert("aqf_packages", 3, "VirusTotal flagged package com.example.app", None, None,
                     frozenset({"v:com.example.app"}))
    any_rule = PreuveFinding("android_packages", "some_rule", 3, None, None, frozenset({"v:com.example.app"}), "")
    pairs, _ = pair_all([alert], [any_rule])
    assert [(p.finding, p.note) for p in pairs] == [
        (None, "preuve has no rule for this MVT heuristic (a gap in docs/mvt-parity.md)")]


def test_grouped_finding_pairs_with_each_occurrence_it_lists(tmp_path: Path) -> None:
    """preuve groups a problem seen many times into one finding whose group.members list every occurrence
    (its locator and observable): an MVT alert about any occurrence pairs with that finding."""
    out = tmp_path / "mvt"
    out.mkdir()
    alerts = [
        _alert("MEDIUM", "datausage", "Could not find the binary associated with the process with name " + name,
               {"proc_name": name, "bundle_id": None, "proc_id": pid, "live_id": pid, "live_proc_id": pid})
        for name, pid in (("mDNSResponder", 4), ("nsurlsessiond", 5), ("apsd", 6))
    ]
    (out / "alerts.json").write_text(json.dumps(alerts))

    def member(name: str, rowid: int) -> dict[str, object]:
        return {"explanation": f"The process '{name}' used the network and belongs to no app.",
                "locator": {"device_path": DATAUSAGE, "sha256": SHA, "table": "ZPROCESS", "rowid": rowid},
                "observable": {"kind": "process", "value": name}, "record_sha256": None, "timestamp": None}

    grouped = _finding("info", "datausage", {"device_path": DATAUSAGE, "table": "ZPROCESS", "rowid": 4},
                       rule="datausage_unbundled_process", observable=("process", "mDNSResponder"),
                       explanation="2 processes used the network and belong to no app (mDNSResponder, nsurlsessiond)")
    grouped["group"] = {"key": "review", "count": 2,
                        "members": [member("mDNSResponder", 4), member("nsurlsessiond", 5)]}
    findings = read_preuve_findings(_write_preuve(tmp_path / "preuve", [grouped], {}))
    pairs, unmatched = pair_all(read_mvt_alerts(out), findings)
    assert [(p.alert.message.rsplit(" ", 1)[-1], p.finding is not None, p.note) for p in pairs] == [
        ("mDNSResponder", True, "counterpart on the same record"),
        ("nsurlsessiond", True, "counterpart on the same record"),
        ("apsd", False, "expected datausage_unbundled_process in datausage"),
    ]
    assert unmatched == []
