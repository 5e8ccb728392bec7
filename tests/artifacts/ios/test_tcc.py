from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from preuve.artifacts.ios.tcc import TccAccess
from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.ios_plists import TccEntry, fill_tcc
from preuve.model import Kind, Observable, Severity
from tests.builders import check, feed, records, snapshot
from tests.helpers import ArtifactRun, run_artifact, sqlite_bytes

T = datetime(2023, 5, 2, 8, 0, tzinfo=UTC)
ENTRIES = [
    TccEntry("kTCCServiceMicrophone", "net.whatsapp.WhatsApp"),
    TccEntry("kTCCServiceCamera", "com.evil.spy", allowed=False, auth_reason=3),
    TccEntry("kTCCServicePhotos", "net.whatsapp.WhatsApp", limited=True),
    TccEntry("kTCCServiceMicrophone", "/private/var/tmp/roleaboutd", client_type=1),
    TccEntry("kTCCServiceSomethingNew", "com.example.app"),
    TccEntry("kTCCServiceMotion", "/usr/libexec/motiond", client_type=1),  # not sensitive: no rule finding
    TccEntry("kTCCServiceCamera", "/usr/libexec/camerad", client_type=1, allowed=False),  # refused: none either
    TccEntry("kTCCServiceMicrophone", "/usr/libexec/assistantd", client_type=1),  # system volume: low
]


def _backup(tmp_path: Path, ios_major: int) -> Path:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/TCC/TCC.db", lambda c: fill_tcc(c, ENTRIES, ios_major))
    return builder.finish()


TCC_DB = "/private/var/mobile/Library/TCC/TCC.db"


def _tree(tmp_path: Path, ios_major: int) -> ArtifactRun:
    """The artifact over a device tree holding TCC.db alone, as the phone writes it."""
    return run_artifact("tcc", {TCC_DB: sqlite_bytes(tmp_path / "db", lambda c: fill_tcc(c, ENTRIES, ios_major))},
                        tmp_path)


def test_records_ios16(tmp_path: Path) -> None:
    run = _tree(tmp_path, 16)
    assert (run.warnings, run.errors) == ([], [])
    got = run.records
    assert all(isinstance(r, TccAccess) for r in got)
    assert [(r.service_name, r.client, r.client_type, r.allowed, r.auth_value, r.auth_reason) for r in got] == [
        ("microphone", "net.whatsapp.WhatsApp", "bundle_id", True, "allowed", "user consent"),
        ("camera", "com.evil.spy", "bundle_id", False, "denied", "user set"),
        ("photos", "net.whatsapp.WhatsApp", "bundle_id", True, "limited", "user consent"),
        ("microphone", "/private/var/tmp/roleaboutd", "path", True, "allowed", "user consent"),
        ("SomethingNew", "com.example.app", "bundle_id", True, "allowed", "user consent"),
        ("motion and fitness", "/usr/libexec/motiond", "path", True, "allowed", "user consent"),
        ("camera", "/usr/libexec/camerad", "path", False, "denied", "user consent"),
        ("microphone", "/usr/libexec/assistantd", "path", True, "allowed", "user consent"),
    ]
    assert [r.last_modified for r in got] == [T] * 8
    assert [r.prompt_count for r in got] == [None] * 8
    assert [(r.locator.table, r.locator.rowid) for r in got] == [("access", i) for i in range(1, 9)]
    assert list(got[3].observables()) == [
        Observable(Kind.FILE_PATH, "/private/var/tmp/roleaboutd"), Observable(Kind.PROCESS, "roleaboutd"),
    ]
    assert list(got[1].observables()) == [
        Observable(Kind.APP_ID, "com.evil.spy"), Observable(Kind.PROCESS, "com.evil.spy"),
    ]


@pytest.mark.parametrize(("ios_major", "stamp"), [(13, T), (11, None)])
def test_records_before_ios14(tmp_path: Path, ios_major: int, stamp: datetime | None) -> None:
    run = _tree(tmp_path, ios_major)
    assert (run.warnings, run.errors) == ([], [])
    got = run.records
    assert [(r.service, r.allowed, r.auth_value, r.auth_reason, r.prompt_count, r.last_modified) for r in got] == [
        ("kTCCServiceMicrophone", True, None, None, 1, stamp),
        ("kTCCServiceCamera", False, None, None, 1, stamp),
        ("kTCCServicePhotos", True, None, None, 1, stamp),
        ("kTCCServiceMicrophone", True, None, None, 1, stamp),
        ("kTCCServiceSomethingNew", True, None, None, 1, stamp),
        ("kTCCServiceMotion", True, None, None, 1, stamp),
        ("kTCCServiceCamera", False, None, None, 1, stamp),
        ("kTCCServiceMicrophone", True, None, None, 1, stamp),
    ]


def test_findings(tmp_path: Path) -> None:
    backup = _backup(tmp_path, 17)
    before = snapshot(backup)
    stix = feed(tmp_path / "i" / "t.stix2", ("[app:id='com.evil.spy']", "Stalker"),
                ("[process:name='roleaboutd']", "Pegasus"))
    result = check(backup, stix)
    got = [(f.rule or f.indicator.malware, f.severity, f.locator.rowid, f.observable)  # type: ignore[union-attr]
           for f in result.findings]
    assert got == [
        ("Stalker", Severity.CRITICAL, 2, Observable(Kind.APP_ID, "com.evil.spy")),
        ("Pegasus", Severity.CRITICAL, 4, Observable(Kind.PROCESS, "roleaboutd")),
        ("tcc_path_client", Severity.MEDIUM, 4, Observable(Kind.FILE_PATH, "/private/var/tmp/roleaboutd")),
        ("tcc_path_client", Severity.LOW, 8, Observable(Kind.FILE_PATH, "/usr/libexec/assistantd")),
    ]
    explanations = [f.explanation for f in result.findings if f.rule]
    assert explanations == [
        "The program /private/var/tmp/roleaboutd was allowed to use the microphone; it is not an installed app "
        "and runs from the phone's writable storage, where spyware has run from.",
        "The program /usr/libexec/assistantd (not an installed app) was allowed to use the microphone; listed for "
        "review, since spyware running outside any app would show up like this.",
    ]
    assert snapshot(backup) == before


def test_bare_program_name_stored_as_bundle_id_matches_process_indicators(tmp_path: Path) -> None:
    # An implant without an app bundle is recorded by its name with client_type 0 (bundle id).
    entries = [
        TccEntry("kTCCServiceMicrophone", "roleaboutd"),
        TccEntry("kTCCServiceCamera", "com.apple.camera"),  # no indicator: nothing
        TccEntry("kTCCServiceMicrophone", "supercalifragil"),  # a kernel-truncated name
    ]
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/TCC/TCC.db", lambda c: fill_tcc(c, entries, 17))
    backup = builder.finish()
    stix = feed(tmp_path / "i" / "t.stix2", ("[process:name='roleaboutd']", "Pegasus"),
                ("[process:name='supercalifragilisticd']", "Spy"))
    result = check(backup, stix)
    got = [(f.indicator.malware, f.severity, f.locator.rowid, f.observable)  # type: ignore[union-attr]
           for f in result.findings]
    assert got == [
        ("Pegasus", Severity.CRITICAL, 1, Observable(Kind.PROCESS, "roleaboutd")),
        ("Spy", Severity.CRITICAL, 3, Observable(Kind.PROCESS, "supercalifragil")),
    ]
    assert [r.client_type for r in records(backup, "tcc")] == ["bundle_id"] * 3


def test_missing_table_is_an_error(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/TCC/TCC.db", lambda c: c.execute("CREATE TABLE other (x)"))
    result = check(builder.finish(), only=("tcc",))
    (report,) = [a for a in result.artifacts if a.name == "tcc"]
    assert report.errors == ["/private/var/mobile/Library/TCC/TCC.db: no table 'access'"]


def test_corrupt_database_does_not_stop_other_artifacts(tmp_path: Path) -> None:
    from preuve.builders.ios_plists import global_preferences

    builder = BackupBuilder(tmp_path / "b")
    builder.add_file("HomeDomain", "Library/TCC/TCC.db", b"SQLite format 3\x00" + b"\xff" * 200)
    builder.add_plist("HomeDomain", "Library/Preferences/.GlobalPreferences.plist", global_preferences(True))
    result = check(builder.finish(), only=("tcc", "global_preferences"))
    status = {a.name: (a.status.value, a.records, len(a.errors)) for a in result.artifacts}
    assert status == {"global_preferences": ("ok", 1, 0), "tcc": ("failed", 0, 1)}
    assert result.incomplete is True
    assert [f.rule for f in result.findings] == ["lockdown_mode"]


def test_rows_only_in_the_wal_are_read(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/TCC/TCC.db", lambda c: fill_tcc(c, ENTRIES[:2], 16), wal=True)
    backup = builder.finish()
    before = snapshot(backup)
    got = records(backup, "tcc")
    assert [(r.client, r.allowed) for r in got] == [("net.whatsapp.WhatsApp", True), ("com.evil.spy", False)]
    assert snapshot(backup) == before


def test_hostile_cell_types(tmp_path: Path) -> None:
    def fill(conn) -> None:  # noqa: ANN001
        conn.execute("CREATE TABLE access (service, client, client_type, auth_value, auth_reason, last_modified)")
        conn.executemany("INSERT INTO access VALUES (?, ?, ?, ?, ?, ?)", [
            (b"\xff\xfe", "com.a", 0, 2, 2, 0),  # service as a blob: skipped
            ("kTCCServiceCamera", 42, 0, 2, 2, 0),  # client as a number: skipped
            ("kTCCServiceCamera", "/tmp/x", "one", "2", 99, "yesterday"),  # odd types: kept, narrowed
            ("kTCCServiceMicrophone", "com.b", 7, 9, None, 1e300),  # unknown codes and an absurd date
        ])

    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/TCC/TCC.db", fill)
    backup = builder.finish()
    got = records(backup, "tcc")
    assert [(r.locator.rowid, r.client, r.client_type, r.allowed, r.auth_value, r.auth_reason, r.last_modified)
            for r in got] == [
        (3, "/tmp/x", None, None, None, "reason 99", None),
        (4, "com.b", None, None, "value 9", None, None),
    ]
    assert [o.kind for o in got[0].observables()] == [Kind.FILE_PATH, Kind.PROCESS]
    (report,) = check(backup, only=("tcc",)).artifacts
    assert report.warnings == [
        "/private/var/mobile/Library/TCC/TCC.db: access row 1 without a service or client, skipped",
        "/private/var/mobile/Library/TCC/TCC.db: access row 2 without a service or client, skipped",
    ]


def test_a_file_that_is_no_database_is_one_error(tmp_path: Path) -> None:
    run = run_artifact("tcc", {TCC_DB: b"SQLite format 3\x00" + b"\xff" * 200}, tmp_path)
    assert (run.records, run.warnings) == ([], [])
    assert run.errors == [f"{TCC_DB}: SQLite error: file is not a database"]

