from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.ios.datausage import NetworkProcess, OrphanedUsage, ProcessIdGap
from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.ios_dbs import LiveUsage, Process, fill_datausage
from preuve.model import Severity
from tests.builders import check, feed, records

T1 = datetime(2023, 4, 1, tzinfo=UTC)
T2 = datetime(2023, 5, 1, tzinfo=UTC)


def _backup(tmp_path: Path) -> Path:
    processes = [
        Process(1, "MobileSafari", "com.apple.mobilesafari", T1, T2, wifi_in=10.0),
        Process(2, "bh", None, T1, T2, wifi_in=5.0),
        Process(5, "com.apple.WebKit.Networking/com.apple.mobilesafari", None, T1, T2),
    ]
    live = [
        LiveUsage(1, 1, T2, 10.0),
        LiveUsage(2, 1, T2, 2.5),
        LiveUsage(3, 2, T2, 5.0),
        LiveUsage(4, 4, T2, 99.0),  # process 4 was deleted
    ]
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("WirelessDomain", "Library/Databases/DataUsage.sqlite",
                       lambda c: fill_datausage(c, processes, live))
    return builder.finish()


def test_records(tmp_path: Path) -> None:
    got = records(_backup(tmp_path), "datausage")
    assert [type(r) for r in got] == [NetworkProcess, NetworkProcess, ProcessIdGap, NetworkProcess, OrphanedUsage]
    first = got[0]
    assert (first.process_id, first.process_name, first.bundle_id, first.first_seen, first.last_seen) == (
        1, "MobileSafari", "com.apple.mobilesafari", T1, T2,
    )
    assert first.wifi_in == 12.5
    assert (got[2].first_missing, got[2].last_missing, got[2].before) == (3, 4, "bh")
    assert got[2].locator.rowid == 5
    assert (got[4].missing_process_id, got[4].locator.table, got[4].locator.rowid) == (4, "ZLIVEUSAGE", 4)
    assert [o.value for o in got[3].observables()] == [
        "com.apple.WebKit.Networking/com.apple.mobilesafari", "com.apple.WebKit.Networking", "com.apple.mobilesafari",
    ]


def test_findings(tmp_path: Path) -> None:
    stix = feed(tmp_path / "i" / "p.stix2", ("[process:name='bh']", "Pegasus"))
    result = check(_backup(tmp_path), stix)
    got = [(f.rule or f.indicator.malware, f.severity, f.locator.table, f.locator.rowid)  # type: ignore[union-attr]
           for f in result.findings]
    assert got == [
        ("Pegasus", Severity.CRITICAL, "ZPROCESS", 2),
        ("datausage_deleted_process", Severity.HIGH, "ZLIVEUSAGE", 4),  # MVT: manipulated entry, high
        ("datausage_process_gap", Severity.LOW, "ZPROCESS", 5),
        ("datausage_unbundled_process", Severity.INFO, "ZPROCESS", 2),
    ]


def test_usage_naming_no_process_is_manipulated(tmp_path: Path) -> None:
    # MVT joins ZLIVEUSAGE to ZPROCESS and reports every usage row without a process row, a NULL link included.
    def fill(conn) -> None:  # noqa: ANN001
        fill_datausage(conn, [Process(1, "MobileSafari", "com.apple.mobilesafari", T1, T2)])
        conn.execute("INSERT INTO ZLIVEUSAGE (Z_PK, Z_ENT, Z_OPT, ZHASPROCESS, ZTIMESTAMP) VALUES (7, 9, 1, NULL, ?)",
                     (T2.timestamp() - 978307200,))

    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("WirelessDomain", "Library/Databases/DataUsage.sqlite", fill)
    root = builder.finish()
    got = [r for r in records(root, "datausage") if isinstance(r, OrphanedUsage)]
    assert [(r.missing_process_id, r.when, r.locator.rowid, r.summary()) for r in got] == [
        (None, T2, 7, "Network use linked to no process"),
    ]
    result = check(root, only=("datausage",))
    assert [(f.rule, f.severity, f.locator.rowid, f.explanation) for f in result.findings] == [
        ("datausage_deleted_process", Severity.HIGH, 7, "Network usage is recorded for a process the row does not "
         "name; spyware has been seen erasing its own entries this way."),
    ]


def _sqlite_bytes(tmp_path: Path, fill) -> bytes:  # noqa: ANN001
    import sqlite3

    path = tmp_path / "built.sqlite"
    conn = sqlite3.connect(path)
    fill(conn)
    conn.commit()
    conn.close()
    data = path.read_bytes()
    path.unlink()
    return data


def test_unbundled_process_without_its_binary_in_a_dump(tmp_path: Path) -> None:
    from tests.builders.ios_dump import write_dump

    processes = [
        Process(1, "MobileSafari", "com.apple.mobilesafari", T1, T2),
        Process(2, "bh", None, T1, T2),  # no file named bh: medium (MVT)
        Process(3, "launchd", None, T1, T2),  # /sbin/launchd is there: review only
        Process(4, "com.apple.WebKit.Networking/com.apple.mobilesafari", None, T1, T2),  # its program is there
        Process(5, "supercalifragil", None, T1, T2),  # cut by the kernel; supercalifragilisticd is there
        Process(6, "gonefromdump/com.example.app", None, T1, T2),
    ]
    db = _sqlite_bytes(tmp_path, lambda c: fill_datausage(c, processes))
    webkit = "System/Library/Frameworks/WebKit.framework/XPCServices/com.apple.WebKit.Networking.xpc/"
    dump = write_dump([
        ("private/var/wireless/Library/Databases/DataUsage.sqlite", db),
        ("sbin/launchd", b"\xcf\xfa\xed\xfe"),
        (webkit + "com.apple.WebKit.Networking", b"\xcf\xfa\xed\xfe"),
        ("usr/libexec/supercalifragilisticd", b"\xcf\xfa\xed\xfe"),
        ("private/var/mobile/bh", b""),  # a folder named bh is no binary (see below: only files count)
    ], tmp_path / "ev" / "dump", "folder")
    (dump / "private/var/mobile/bh").unlink()
    (dump / "private/var/mobile/bh").mkdir()
    got = [r for r in records(dump, "datausage") if isinstance(r, NetworkProcess)]
    assert [(r.process_name, r.binary_found) for r in got] == [
        ("MobileSafari", None), ("bh", False), ("launchd", True),
        ("com.apple.WebKit.Networking/com.apple.mobilesafari", True), ("supercalifragil", True),
        ("gonefromdump/com.example.app", False),
    ]
    result = check(dump, only=("datausage",))
    # each list is one finding (its first occurrence), counting and listing every process
    assert [(f.rule, f.severity, f.locator.rowid, f.count, f.explanation) for f in result.findings] == [
        ("datausage_unbundled_process", Severity.MEDIUM, 2, 2, "2 processes used the network, belong to no app, "
         "and no file of their name is in this file-system dump (bh, gonefromdump): programs that ran and have "
         "since disappeared."),
        ("datausage_unbundled_process", Severity.INFO, 3, 3, "3 processes used the network and belong to no app "
         "(com.apple.WebKit.Networking/com.apple.mobilesafari, launchd, supercalifragil); listed for review, most "
         "such processes are ordinary parts of iOS."),
    ]
    gone = result.findings[0].group
    assert gone is not None and [(m.locator.rowid, m.explanation) for m in gone.members] == [
        (2, "The process 'bh' used the network and belongs to no app, and no file of that name is in this "
            "file-system dump: a program that ran and has since disappeared."),
        (6, "The process 'gonefromdump' used the network and belongs to no app, and no file of that name is in "
            "this file-system dump: a program that ran and has since disappeared."),
    ]


def test_no_binary_question_on_a_backup(tmp_path: Path) -> None:
    got = [r for r in records(_backup(tmp_path), "datausage") if isinstance(r, NetworkProcess)]
    assert [r.binary_found for r in got] == [None, None, None]


def test_no_binary_question_on_a_dump_of_the_data_volume_alone(tmp_path: Path) -> None:
    # Without the system's programs in the dump, every daemon would look gone: nothing is concluded.
    from tests.builders.ios_dump import write_dump

    db = _sqlite_bytes(tmp_path, lambda c: fill_datausage(c, [Process(2, "bh", None, T1, T2)]))
    dump = write_dump([("private/var/wireless/Library/Databases/DataUsage.sqlite", db)], tmp_path / "ev" / "d", "folder")
    got = [r for r in records(dump, "datausage") if isinstance(r, NetworkProcess)]
    assert [(r.process_name, r.binary_found) for r in got] == [("bh", None)]
    assert [(f.rule, f.severity) for f in check(dump, only=("datausage",)).findings] == [
        ("datausage_unbundled_process", Severity.INFO),
    ]


def test_the_gaps_of_one_database_are_one_finding(tmp_path: Path) -> None:
    """A database with many deleted process rows gives one finding listing every gap, not one per gap."""
    processes = [Process(pk, f"proc{pk}", f"com.example.p{pk}", T1, T2) for pk in (1, 3, 4, 7, 9)]
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("WirelessDomain", "Library/Databases/DataUsage.sqlite",
                       lambda c: fill_datausage(c, processes))
    result = check(builder.finish(), only=("datausage",))
    gaps = [f for f in result.findings if f.rule == "datausage_process_gap"]
    assert [(f.severity, f.count, f.explanation) for f in gaps] == [
        (Severity.LOW, 3, "3 gaps in the process ids of this network usage database (ids 2-2, 5-6, 8-8): process "
         "records were deleted; worth a look if other signs are present."),
    ]
    assert gaps[0].group is not None
    assert [m.explanation.split("(ids ")[1].split(")")[0] for m in gaps[0].group.members] == ["2-2", "5-6", "8-8"]
