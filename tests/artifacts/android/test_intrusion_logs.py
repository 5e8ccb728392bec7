"""Android intrusion logs: the three layouts (AndroidQF folder and zip, a bare folder, one file or the phone's
zip), exact records and locators, overlapping files counted once, unknown events kept, broken lines and
oversize files reported, MVT's heuristics with its exceptions, and the derived sequence rules."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from preuve.artifacts.android.intrusion_logs import (
    IntrusionAdbSession,
    IntrusionConnectEvent,
    IntrusionDnsEvent,
    IntrusionLoggingGap,
    IntrusionOtherEvent,
    IntrusionSecurityEvent,
    IntrusionSideloadedInstall,
    IntrusionUnattendedMount,
)
from preuve.cli import build_cli
from preuve.evidence.errors import AcquisitionError
from preuve.evidence.limits import Limits
from preuve.model import ArtifactStatus, ExitCode, Kind, Locator, Observable, Severity
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from tests.builders import check, feed, records, snapshot
from tests.builders.android import AndroidQFBuilder
from tests.builders.intrusion_logs import DAY1, DAY2, connect, dns, ndjson, ns, security, write_zip, zip_bytes

ARTIFACT = "android_intrusion_logs"
DEVICE = "/sdcard/Download/Intrusion Logging"
AQF_LOGS = "/.acquisition/androidqf/intrusion_logs"
ZIP_NAME = "Pixel 8_20231115.zip"
TRUNCATED = b'{"dns_event":{"event_id":9,"event_time":17'


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _day_files() -> dict[str, bytes]:
    return {"2023-11-14.txt": ndjson(DAY1), "2023-11-15.txt": ndjson(DAY2) + TRUNCATED}


def _summary(found: list) -> list[tuple[str, str | None, int | None, str]]:
    """(record type, zip member, line, what) of each record, in order."""
    out = []
    for r in found:
        what = {
            IntrusionDnsEvent: lambda r: r.hostname,
            IntrusionConnectEvent: lambda r: f"{r.ip_address}:{r.port}",
            IntrusionSecurityEvent: lambda r: r.tag,
            IntrusionOtherEvent: lambda r: r.event_type,
        }.get(type(r), lambda r: "")(r)
        out.append((r.record_type.rsplit(":", 1)[-1], r.locator.key_path, r.locator.line, what))
    return out


# Every event of DAY1 and DAY2, the two events DAY2 repeats counted once, then what is derived from each file.
DAY1_RECORDS = [
    ("dns_event", None, 1, "example.com"),
    ("connect_event", None, 2, "192.0.2.1:443"),
    ("security_event", None, 3, "os_startup"),
    ("security_event", None, 4, "media_mounted"),
    ("security_event", None, 5, "keyguard_dismissed"),
    ("security_event", None, 6, "cert_authority_installed"),
]
DAY2_RECORDS = [
    ("security_event", None, 3, "adb_shell_cmd"),
    ("security_event", None, 4, "adb_sync_send_file"),
    ("security_event", None, 5, "adb_shell_cmd"),
    ("security_event", None, 6, "package_installed"),
    ("security_event", None, 7, "logging_stopped"),
    ("security_event", None, 8, "logging_started"),
    ("other_event", None, 9, "future_event"),
]


def test_bare_folder(tmp_path: Path) -> None:
    folder = tmp_path / "Intrusion Logging"
    folder.mkdir()
    for name, data in _day_files().items():
        (folder / name).write_bytes(data)
    before = snapshot(folder)
    result = check(folder)
    assert (result.acquisition_kind, result.platform) == ("android_intrusion_logs", "android")
    found = records(folder, ARTIFACT)
    assert _summary(found) == [
        *DAY1_RECORDS,
        ("unattended_mount", None, 4, ""),
        *DAY2_RECORDS,
        ("adb_session", None, 3, ""),
        ("logging_gap", None, 7, ""),
        ("sideloaded_install", None, 6, ""),
    ]
    day1 = _sha((folder / "2023-11-14.txt").read_bytes())
    day2 = _sha((folder / "2023-11-15.txt").read_bytes())
    assert found[0] == IntrusionDnsEvent(
        locator=Locator(f"{DEVICE}/2023-11-14.txt", day1, line=1), event_id=0, time=_t("2023-11-14T22:10:00"),
        hostname="example.com", ip_addresses=("192.0.2.1",), package_name="com.example.app",
    )
    assert found[1] == IntrusionConnectEvent(
        locator=Locator(f"{DEVICE}/2023-11-14.txt", day1, line=2), event_id=1, time=_t("2023-11-14T22:10:01"),
        ip_address="192.0.2.1", port=443, package_name="com.example.app",
    )
    assert found[5] == IntrusionSecurityEvent(
        locator=Locator(f"{DEVICE}/2023-11-14.txt", day1, line=6), event_id=5, time=_t("2023-11-14T23:59:00"),
        tag="cert_authority_installed", known_tag=True, success=True, subject="CN=Example CA",
        details='{"subject":"CN=Example CA","success":true,"target_user":0}',
    )
    assert found[6] == IntrusionUnattendedMount(
        locator=Locator(f"{DEVICE}/2023-11-14.txt", day1, line=4), mounted=_t("2023-11-14T22:12:00"),
        boot=_t("2023-11-14T22:11:00"), unlocked=_t("2023-11-14T22:20:00"), mount_point="/mnt/media_rw/1234-ABCD",
        label="USB",
    )
    assert found[13] == IntrusionOtherEvent(
        locator=Locator(f"{DEVICE}/2023-11-15.txt", day2, line=9), event_type="future_event", event_id=8,
        time=_t("2023-11-15T11:30:00"), details='{"event_id":8,"event_time":1700047800000,"field":"value"}',
    )
    assert found[14] == IntrusionAdbSession(
        locator=Locator(f"{DEVICE}/2023-11-15.txt", day2, line=3), start=_t("2023-11-15T08:00:00"),
        end=_t("2023-11-15T08:01:00"), shell_commands=2, interactive_shells=0, files_pulled=0, files_pushed=1,
        examples=("adb_shell_cmd: pm list packages", "adb_sync_send_file: /data/local/tmp/spy.apk",
                  "adb_shell_cmd: pm install /data/local/tmp/spy.apk"),
        apk_pushed=True, install_command=True, looks_like_acquisition=False,
    )
    assert found[15] == IntrusionLoggingGap(
        locator=Locator(f"{DEVICE}/2023-11-15.txt", day2, line=7), stopped=_t("2023-11-15T09:00:00"),
        restarted=_t("2023-11-15T11:00:00"),
    )
    assert found[16] == IntrusionSideloadedInstall(
        locator=Locator(f"{DEVICE}/2023-11-15.txt", day2, line=6), installed=_t("2023-11-15T08:01:10"),
        package_name="com.spy.app", version_code=3, installer="an ADB install command (pm install /data/local/tmp/"
        "spy.apk)", installer_time=_t("2023-11-15T08:01:00"),
    )
    report = next(a for a in result.artifacts if a.name == ARTIFACT)
    assert report.status == ArtifactStatus.OK and report.errors == []
    assert report.warnings == [
        f"{DEVICE}/2023-11-15.txt:10: not JSON (the file ends in the middle of this line): Expecting ',' "
        "delimiter: line 1 column 43 (char 42)",
        f"{DEVICE}/2023-11-15.txt: 1 event(s) of types preuve does not know yet, kept as generic records: "
        "future_event ×1",
        f"{DEVICE}/2023-11-15.txt: 2 event(s) already read from another file or member (overlapping downloads) "
        "counted once",
    ]
    assert [(f.rule, f.severity, f.locator.device_path.rsplit("/", 1)[-1], f.locator.line) for f in result.findings] \
        == [
        ("android_intrusion_unattended_media_mount", Severity.MEDIUM, "2023-11-14.txt", 4),
        ("android_intrusion_cert_authority_installed", Severity.MEDIUM, "2023-11-14.txt", 6),
        ("android_intrusion_adb_activity", Severity.MEDIUM, "2023-11-15.txt", 3),
        ("android_intrusion_sideloaded_install", Severity.MEDIUM, "2023-11-15.txt", 6),
        ("android_intrusion_logging_stopped", Severity.MEDIUM, "2023-11-15.txt", 7),
    ]
    # nothing high or critical, and no indicator loaded: not a full check (exit 3), never "clean"
    assert result.exit_code == ExitCode.INCOMPLETE
    assert snapshot(folder) == before


def test_overlap_is_counted_once_whatever_the_event_ids(tmp_path: Path) -> None:
    """The same events in two files (numbered differently) are read once; a repeat within one file is kept."""
    twice = security(0, "2023-11-15T08:00:00", "keyguard_secured", {})
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.txt").write_bytes(ndjson([twice, twice, connect(1, "2023-11-15T08:00:01", "a.b", "1.2.3.4", 1)]))
    renumbered = [{"security_event": {**twice["security_event"], "event_id": 40}}]  # type: ignore[dict-item]
    (tmp_path / "logs" / "b.txt").write_bytes(ndjson([*renumbered, *renumbered, *renumbered]))
    found = records(tmp_path / "logs", ARTIFACT)
    # a.txt holds it twice (two real events), b.txt three times: the union is three events.
    assert [(r.locator.device_path[-5:], r.locator.line) for r in found] == [
        ("a.txt", 1), ("a.txt", 2), ("a.txt", 3), ("b.txt", 3),
    ]


def _aqf_members() -> dict[str, bytes]:
    extra_day = ndjson([
        security(0, "2023-11-16T10:00:00", "key_integrity_violation", {"key_id": "k1", "uid": 10000}),
        dns(1, "2023-11-16T10:00:01", "com.spy.app", "c2.example.net", ["203.0.113.7", "0.0.0.0"]),
    ])
    return {
        f"intrusion_logs/{ZIP_NAME}": zip_bytes(_day_files()),
        "intrusion_logs/2023-11-16.txt": extra_day,
    }


@pytest.mark.parametrize("layout", ["folder", "zip"])
def test_androidqf_acquisition(tmp_path: Path, layout: str) -> None:
    builder = AndroidQFBuilder()
    builder.extra.update(_aqf_members())
    evidence = builder.folder(tmp_path / "aqf") if layout == "folder" else builder.zip(tmp_path / "aqf.zip")
    stix = feed(tmp_path / "iocs" / "spy.stix2", ("[domain-name:value='c2.example.net']", "Spy"),
                ("[ipv4-addr:value='192.0.2.1']", "Spy"))
    before = snapshot(tmp_path)
    result = check(evidence, stix, only=(ARTIFACT,))
    assert result.acquisition_kind == "androidqf"
    found = records(evidence, ARTIFACT)
    # Files in name order: the day file, then the zip.
    in_zip = _summary(found)[2:]
    member1, member2 = "2023-11-14.txt", "2023-11-15.txt"
    # One zip: the derived records come after both members, from their events in time order.
    assert in_zip == [
        *[(t, member1, n, w) for t, _, n, w in DAY1_RECORDS],
        *[(t, member2, n, w) for t, _, n, w in DAY2_RECORDS],
        ("adb_session", member2, 3, ""),
        ("logging_gap", member2, 7, ""),
        ("unattended_mount", member1, 4, ""),
        ("sideloaded_install", member2, 6, ""),
    ]
    zip_sha = _sha(zip_bytes(_day_files()))
    assert found[2].locator == Locator(f"{AQF_LOGS}/{ZIP_NAME}", zip_sha, key_path=member1, line=1)
    assert _summary(found)[:2] == [
        ("security_event", None, 1, "key_integrity_violation"), ("dns_event", None, 2, "c2.example.net"),
    ]
    assert found[1].locator.device_path == f"{AQF_LOGS}/2023-11-16.txt"
    assert list(found[1].observables()) == [
        Observable(Kind.DOMAIN, "c2.example.net"), Observable(Kind.IP, "203.0.113.7"),
        Observable(Kind.APP_ID, "com.spy.app"),
    ]
    assert sorted((f.rule or f.indicator.value, f.severity, f.locator.key_path, f.locator.line)  # type: ignore[union-attr]
                  for f in result.findings) == sorted([
        ("192.0.2.1", Severity.HIGH, member1, 1),  # the DNS answer
        ("192.0.2.1", Severity.HIGH, member1, 2),  # the connection
        ("c2.example.net", Severity.HIGH, None, 2),
        ("android_intrusion_unattended_media_mount", Severity.MEDIUM, member1, 4),
        ("android_intrusion_cert_authority_installed", Severity.MEDIUM, member1, 6),
        ("android_intrusion_adb_activity", Severity.MEDIUM, member2, 3),
        ("android_intrusion_sideloaded_install", Severity.MEDIUM, member2, 6),
        ("android_intrusion_logging_stopped", Severity.MEDIUM, member2, 7),
        ("android_intrusion_key_integrity_violation", Severity.MEDIUM, None, 1),
    ])
    assert snapshot(tmp_path) == before


def test_the_phones_zip_and_one_log_file_alone(tmp_path: Path) -> None:
    download = write_zip(tmp_path / "dl" / ZIP_NAME, _day_files())
    result = check(download)
    assert result.acquisition_kind == "android_intrusion_logs"
    found = records(download, ARTIFACT)
    assert found[0].locator == Locator(f"{DEVICE}/{ZIP_NAME}", _sha(download.read_bytes()), key_path="2023-11-14.txt",
                                       line=1)
    assert len(found) == 17
    single = tmp_path / "one" / "2023-11-14.ndjson"
    single.parent.mkdir()
    single.write_bytes(ndjson(DAY1))
    assert check(single).acquisition_kind == "android_intrusion_logs"
    assert _summary(records(single, ARTIFACT)) == [*DAY1_RECORDS, ("unattended_mount", None, 4, "")]


def test_what_is_not_intrusion_logs_is_not_taken_for_them(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("hello\n")
    (notes / "b.json").write_text('{"dns_event": 1}\n')
    with pytest.raises(AcquisitionError):
        check(notes)
    builder = AndroidQFBuilder()
    builder.extra.update(_aqf_members())
    assert check(builder.folder(tmp_path / "aqf")).acquisition_kind == "androidqf"


def test_mvt_security_heuristics_and_their_exceptions(tmp_path: Path) -> None:
    events = [
        security(0, "2024-01-01T00:00:00", "cert_authority_installed", {"subject": "CN=Root A", "success": True}),
        security(1, "2024-01-01T00:00:01", "cert_authority_installed", {"subject": "CN=Root B", "success": False}),
        security(2, "2024-01-01T00:00:02", "cert_authority_installed", {"subject": "CN=Root C", "success": 0}),
        security(3, "2024-01-01T00:00:03", "cert_authority_installed", {"subject": "CN=Root D"}),
        security(4, "2024-01-01T00:00:04", "key_integrity_violation", {"key_id": "k1", "uid": 10000}),
        security(5, "2024-01-01T00:00:05", "cert_validation_failure", {"reason": "chain validation failed"}),
        security(6, "2024-01-01T00:00:06", "cert_validation_failure", "chain validation failed"),
        security(7, "2024-01-01T00:00:07", "wipe_failure", {}),
        security(8, "2024-01-01T00:00:08", "crypto_self_test_completed", {"success": True}),
        security(9, "2024-01-01T00:00:09", "crypto_self_test_completed", {"success": False}),
        security(10, "2024-01-01T00:00:10", "crypto_self_test_completed", 1),
        security(11, "2024-01-01T00:00:11", "crypto_self_test_completed", 0),
        security(12, "2024-01-01T00:00:12", "key_generated",
                 {"success": False, "key_id": "PinStorage_crossReboot_key", "uid": 1001}),
        security(13, "2024-01-01T00:00:13", "key_generated",
                 {"success": False, "key_id": "PinStorage_crossReboot_key", "uid": 10000}),
        security(14, "2024-01-01T00:00:14", "key_generated", {"success": True, "key_id": "k2", "uid": 10000}),
        security(15, "2024-01-01T00:00:15", "app_process_start",
                 {"process": "com.google.android.webview:sandboxed_process0", "uid": 10000, "pid": 1234}),
    ]
    log = tmp_path / "logs" / "2024-01-01.txt"
    log.parent.mkdir()
    log.write_bytes(ndjson(events))
    result = check(log.parent)
    assert [(f.rule, f.severity, f.locator.line) for f in result.findings] == [
        ("android_intrusion_cert_authority_installed", Severity.MEDIUM, 1),
        ("android_intrusion_cert_authority_installed", Severity.MEDIUM, 4),
        ("android_intrusion_key_integrity_violation", Severity.MEDIUM, 5),
        ("android_intrusion_cert_validation_failure", Severity.MEDIUM, 6),
        ("android_intrusion_cert_validation_failure", Severity.MEDIUM, 7),
        ("android_intrusion_wipe_failure", Severity.MEDIUM, 8),
        ("android_intrusion_crypto_self_test_failed", Severity.MEDIUM, 10),
        ("android_intrusion_crypto_self_test_failed", Severity.MEDIUM, 12),
        ("android_intrusion_key_generation_failed", Severity.INFO, 14),
    ]
    process = records(log.parent, ARTIFACT)[15]
    assert list(process.observables()) == [
        Observable(Kind.PROCESS, "com.google.android.webview:sandboxed_process0"),
        Observable(Kind.APP_ID, "com.google.android.webview"),
    ]


def test_broken_unknown_and_overlong_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps(dns(0, "2024-01-01T00:00:00", "a.b", "ok.example", ["/198.51.100.1"])),
        "garbage{",
        "[1, 2, 3]",
        '{"dns_event": NaN}',
        "x" * 5000,
        json.dumps(security(1, "2024-01-01T00:00:01", "future_google_event", {"field": "value"})),
        json.dumps({"other_stream": {"event_time": ms_of("2024-01-01T00:00:02")}}),
        json.dumps(connect(2, "2024-01-01T00:00:03", "a.b", "::1", 53)),
        json.dumps({"security_event": {"event_id": 3, "event_time": "soon", "keyguard_secured": {}}}),
    ]
    log = tmp_path / "logs" / "day.txt"
    log.parent.mkdir()
    log.write_bytes(("\n".join(lines) + "\n").encode())
    result = run_check(log.parent, CheckOptions(limits=Limits(max_text_line_bytes=4096)))
    report = next(a for a in result.artifacts if a.name == ARTIFACT)
    where = f"{DEVICE}/day.txt"
    assert report.status == ArtifactStatus.OK
    assert report.warnings == [
        f"{where}:2: not JSON: Expecting value: line 1 column 1 (char 0)",
        f"{where}:3: not an intrusion-log event (an object naming its type)",
        f"{where}:4: not JSON: NaN is not JSON",
        f"{where}:5: longer than 4096 bytes: skipped",
        f"{where}: 1 event(s) of types preuve does not know yet, kept as generic records: other_stream ×1",
        f"{where}: 1 security event(s) with tags preuve does not know yet, kept: future_google_event ×1",
        f"{where}: 1 event(s) without a usable event_time: kept, but not on the timeline",
    ]
    found = records(log.parent, ARTIFACT)
    assert [(type(r).__name__, r.locator.line) for r in found] == [
        ("IntrusionDnsEvent", 1), ("IntrusionSecurityEvent", 6), ("IntrusionOtherEvent", 7),
        ("IntrusionConnectEvent", 8), ("IntrusionSecurityEvent", 9),
    ]
    assert (found[4].time, list(found[4].timestamps())) == (None, [])
    assert (found[1].tag, found[1].known_tag, found[1].details) == ("future_google_event", False, '{"field":"value"}')
    assert list(found[3].observables()) == [Observable(Kind.APP_ID, "a.b")]  # ::1 is not an observable


def ms_of(when: str) -> int:
    return ns(when) // 1_000_000


def test_oversize_file_is_read_up_to_the_bound_and_the_run_is_incomplete(tmp_path: Path) -> None:
    events = [security(i, f"2024-01-01T00:00:{i:02d}", "keyguard_secured", {}) for i in range(40)]
    data = ndjson(events)
    log = tmp_path / "logs" / "big.txt"
    log.parent.mkdir()
    log.write_bytes(data)
    line = len(data) // 40
    result = run_check(log.parent, CheckOptions(limits=Limits(max_read_bytes=line * 10 + 5)))
    report = next(a for a in result.artifacts if a.name == ARTIFACT)
    assert report.status == ArtifactStatus.FAILED
    assert report.errors == [
        f"{DEVICE}/big.txt: {DEVICE}/big.txt: larger than {line * 10 + 5} bytes; read up to line 10"
    ]
    assert report.records == 10
    assert result.exit_code == ExitCode.INCOMPLETE


def test_verify_confirms_event_and_derived_findings(tmp_path: Path) -> None:
    builder = AndroidQFBuilder()
    builder.extra.update(_aqf_members())
    evidence = builder.zip(tmp_path / "aqf.zip")
    out = tmp_path / "out"
    runner = CliRunner(env={"COLUMNS": "250"})
    result = runner.invoke(build_cli(), ["check", str(evidence), "-o", str(out), "-q", "--artifact", ARTIFACT])
    assert result.exit_code == 3, result.output  # one artifact, no indicator: a partial check
    findings = json.loads((out / "findings.json").read_text())["findings"]
    assert len(findings) == 6
    result = runner.invoke(build_cli(), ["verify", str(out / "bundle.json"), str(evidence)])
    assert result.exit_code == 0, result.output
    assert "6 of 6 findings confirmed" in " ".join(result.output.split())


def test_derived_sequences(tmp_path: Path) -> None:
    events = [
        security(0, "2024-02-01T10:00:00", "app_process_start",
                 {"process": "com.google.android.packageinstaller", "uid": 10050, "pid": 99}),
        security(1, "2024-02-01T10:02:00", "package_installed",
                 {"package_name": "com.stalker.app", "version_code": 7, "user_id": 0}),
        security(2, "2024-02-01T10:30:00", "package_installed",
                 {"package_name": "com.later.app", "version_code": 1, "user_id": 0}),
        security(3, "2024-02-01T11:00:00", "adb_shell_cmd", {"command": "settings get secure advanced_protection_mode"}),
        security(4, "2024-02-01T11:00:05", "adb_shell_cmd", {"command": "am start -n com.google.android.gms/"
                                                                        ".intrusiondetection.ui.retrieval.Intrusion"
                                                                        "DetectionRetrievalActivity"}),
        security(5, "2024-02-01T12:00:00", "adb_shell_interactive", {}),
        security(6, "2024-02-01T12:00:10", "adb_sync_recv_file", {"path": "/sdcard/DCIM/a.jpg"}),
        security(7, "2024-02-01T13:00:00", "os_shutdown", {}),
        security(8, "2024-02-01T13:01:00", "os_startup", {"verified_boot_state": "green", "dm_verity_mode": "enforcing"}),
        security(9, "2024-02-01T13:05:00", "media_mount", {"mount_point": "/mnt/media_rw/AAAA", "volume_label": "KIT"}),
        security(10, "2024-02-01T13:06:00", "logging_stopped", {}),
    ]
    log = tmp_path / "logs" / "2024-02-01.txt"
    log.parent.mkdir()
    log.write_bytes(ndjson(events))
    derived = [r for r in records(log.parent, ARTIFACT) if not isinstance(r, IntrusionSecurityEvent)]
    assert [(r.record_type.rsplit(":", 1)[-1], r.locator.line) for r in derived] == [
        ("adb_session", 4), ("adb_session", 6), ("logging_gap", 11), ("unattended_mount", 10),
        ("sideloaded_install", 2),
    ]
    assert (derived[0].looks_like_acquisition, derived[1].looks_like_acquisition) == (True, False)
    assert derived[2].restarted is None
    assert (derived[3].boot, derived[3].unlocked, derived[3].mount_point, derived[3].label) == (
        _t("2024-02-01T13:01:00"), None, "/mnt/media_rw/AAAA", "KIT",
    )
    assert (derived[4].package_name, derived[4].version_code, derived[4].installer) == (
        "com.stalker.app", 7, "the package installer (com.google.android.packageinstaller)",
    )
    result = check(log.parent)
    assert [(f.rule, f.severity, f.locator.line) for f in result.findings] == [
        ("android_intrusion_sideloaded_install", Severity.MEDIUM, 2),
        ("android_intrusion_unattended_media_mount", Severity.MEDIUM, 10),
        ("android_intrusion_logging_stopped", Severity.MEDIUM, 11),
        ("android_intrusion_adb_activity", Severity.LOW, 6),
        ("android_intrusion_adb_activity", Severity.INFO, 4),
    ]
    assert result.findings[2].explanation == (
        "Intrusion logging stopped at 2024-02-01T13:06:00+00:00 and did not start again in this log."
    )
