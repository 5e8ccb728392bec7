from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from preuve.artifacts.ios.processes import RunningProcess, executable_of
from preuve.artifacts.ios.shutdown_log import Reboot, ShutdownClient
from preuve.evidence.acquisition import detect_kind
from preuve.evidence.kinds.ios_sysdiagnose import IosSysdiagnose, sysdiagnose_device_path
from tests.builders import check, feed, records, snapshot
from tests.builders.ios_dump import write_dump
from tests.builders.ios_sysdiagnose import Shutdown, ps_txt, shutdown_log, write_sysdiagnose

IMPLANT = "/private/var/db/com.apple.xpc.roleaccountd.staging/roleaccountd"
LOG = "/private/var/db/diagnostics/shutdown.log"
T1, T2 = 1685600000, 1685700000


def _shutdown_log() -> bytes:
    return shutdown_log([
        Shutdown(T1, [[(51, "/usr/libexec/ok"), (77, "/private/var/containers/Bundle/Application/A/X.app/X")]]),
        Shutdown(T2, [[(88, IMPLANT)], [(88, IMPLANT)], [(88, IMPLANT), (90, "/usr/sbin/mediaserverd")]]),
    ]).encode() + b"\t\tremaining client pid: 5 (/sbin/launchd)\n"


def _ps() -> bytes:
    return ps_txt([
        (1, 0, "root", "/sbin/launchd"),
        (88, 1, "root", IMPLANT + " -d"),
        (120, 1, "mobile", "/private/var/containers/Bundle/Application/B/My App.app/My App -launch x"),
        (130, 1, "mobile", "fservernetd"),
    ]).encode()


def _sysdiagnose(tmp_path: Path, fmt: str) -> Path:
    files = {
        "system_logs.logarchive/Extra/shutdown.log": _shutdown_log(),
        "ps.txt": _ps(),
        "ps_thread.txt": b"USER PID TT %CPU STAT PRI STIME UTIME COMMAND\nroot 1 ?? 0.0 S 31T 0:01 0:00 /sbin/launchd\n"
                         b"                   1    0.0 S 31T 0:00 0:00\n",
        "sysdiagnose.log": b"done\n",
        "crashes_and_spins/roleaccountd-2023-06-01.ips": b"{}",
    }
    return write_sysdiagnose(files, tmp_path / "ev", fmt)


def test_layout_mapping() -> None:
    assert sysdiagnose_device_path("system_logs.logarchive/Extra/shutdown.log") == LOG
    assert sysdiagnose_device_path("ps.txt") == "/.acquisition/sysdiagnose/ps.txt"
    assert sysdiagnose_device_path("crashes_and_spins/a.ips") == "/private/var/mobile/Library/Logs/CrashReporter/a.ips"


@pytest.mark.parametrize("fmt", ["tar.gz", "folder"])
def test_sysdiagnose_shutdown_log_and_processes(tmp_path: Path, fmt: str) -> None:
    evidence = _sysdiagnose(tmp_path, fmt)
    before = snapshot(tmp_path / "ev")
    assert detect_kind(evidence) is IosSysdiagnose
    stix = feed(tmp_path / "iocs.stix2", ("[file:name = 'roleaccountd']", "Pegasus"),
                ("[process:name = 'fservernetd']", "Pegasus"))
    result = check(evidence, stix)
    assert snapshot(tmp_path / "ev") == before
    assert result.acquisition_kind == "ios_sysdiagnose"
    status = {a.name: (str(a.status), a.records) for a in result.artifacts}
    assert status["shutdown_log"] == ("ok", 7)
    assert status["processes"] == ("ok", 5)
    assert status["filesystem"] == ("not_collected", 0)  # a sysdiagnose is no file tree: not a gap
    got = sorted((f.rule or f.indicator.value, f.artifact, f.locator.device_path, f.locator.line, f.severity.label)  # type: ignore[union-attr]
                 for f in result.findings)
    assert got == [
        ("fservernetd", "processes", "/.acquisition/sysdiagnose/ps.txt", 5, "critical"),
        ("roleaccountd", "processes", "/.acquisition/sysdiagnose/ps.txt", 3, "critical"),
        ("roleaccountd", "shutdown_log", LOG, 6, "critical"),
        ("shutdown_client_in_var_db_tmp", "shutdown_log", LOG, 6, "high"),
        ("shutdown_sticky_reboot", "shutdown_log", LOG, 12, "medium"),
    ]


def test_shutdown_log_records(tmp_path: Path) -> None:
    evidence = _sysdiagnose(tmp_path, "folder")
    got = records(evidence, "shutdown_log")
    first, second = datetime.fromtimestamp(T1, UTC), datetime.fromtimestamp(T2, UTC)
    clients = [(r.pid, r.client_path, r.process_name, r.reboot_time, r.times_listed, r.waits_in_shutdown,
                r.locator.line) for r in got if isinstance(r, ShutdownClient)]
    assert clients == [
        (51, "/usr/libexec/ok", "ok", first, 1, 1, 2),
        (77, "/private/var/containers/Bundle/Application/A/X.app/X", "X", first, 1, 1, 3),
        (88, IMPLANT, "roleaccountd", second, 3, 3, 6),
        (90, "/usr/sbin/mediaserverd", "mediaserverd", second, 1, 3, 11),
        (5, "/sbin/launchd", "launchd", None, 1, 0, 13),
    ]
    reboots = [(r.reboot_time, r.waits, r.clients, r.locator.line) for r in got if isinstance(r, Reboot)]
    assert reboots == [
        (first, 1, ("/usr/libexec/ok", "/private/var/containers/Bundle/Application/A/X.app/X"), 4),
        (second, 3, (IMPLANT, "/usr/sbin/mediaserverd"), 12),
    ]
    assert [t.description for t in got[2].timestamps()] == ["Reboot (shutdown.log)"]


def test_processes_records(tmp_path: Path) -> None:
    got = records(_sysdiagnose(tmp_path, "tar.gz"), "processes")
    assert all(isinstance(r, RunningProcess) for r in got)
    assert [(r.pid, r.ppid, r.user, r.process_name, r.executable, r.locator.device_path[-13:]) for r in got] == [
        (1, 0, "root", "launchd", "/sbin/launchd", "sdiagnose/ps.txt"[-13:]),
        (88, 1, "root", "roleaccountd", IMPLANT, "sdiagnose/ps.txt"[-13:]),
        (120, 1, "mobile", "My App", "/private/var/containers/Bundle/Application/B/My App.app/My App",
         "sdiagnose/ps.txt"[-13:]),
        (130, 1, "mobile", "fservernetd", "fservernetd", "sdiagnose/ps.txt"[-13:]),
        (1, None, "root", "launchd", "/sbin/launchd", "ps_thread.txt"),
    ]


def test_executable_of() -> None:
    assert executable_of("/usr/libexec/x -a b") == "/usr/libexec/x"
    assert executable_of("/var/containers/Bundle/Application/U/A B.app/A B") == \
        "/var/containers/Bundle/Application/U/A B.app/A B"
    assert executable_of("") == ""


def test_processes_bad_header_is_an_error(tmp_path: Path) -> None:
    evidence = write_sysdiagnose({"ps.txt": b"garbage here\n1 2 3\n"}, tmp_path / "ev", "folder")
    result = check(evidence, only=("processes",))
    report = result.artifacts[0]
    assert str(report.status) == "failed"
    assert report.errors == ["/.acquisition/sysdiagnose/ps.txt: line 1: not a ps header ('garbage here')"]
    assert result.incomplete


def test_filesystem_does_not_run_on_a_sysdiagnose_or_backup(tmp_path: Path) -> None:
    result = check(_sysdiagnose(tmp_path, "folder"), only=("filesystem",))
    assert [(a.name, str(a.status)) for a in result.artifacts] == [("filesystem", "not_collected")]


def test_shutdown_log_reads_the_same_from_a_dump(tmp_path: Path) -> None:
    dump = write_dump([(LOG.lstrip("/"), _shutdown_log())], tmp_path / "ev" / "dump.zip", "zip")
    from_dump = records(dump, "shutdown_log")
    from_sysdiagnose = records(_sysdiagnose(tmp_path, "folder"), "shutdown_log")
    assert len(from_dump) == 7
    assert [(r.locator, r.fields()) for r in from_dump] == [(r.locator, r.fields()) for r in from_sysdiagnose]
