"""shutdown.log as recent iOS versions write it: UUID-suffixed clients, rotated files (MVT #830/#834)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from preuve.artifacts.ios.shutdown_log import ShutdownClient
from preuve.model import Kind, Observable
from tests.builders import check, feed, records, snapshot
from tests.builders.ios_dump import write_dump
from tests.builders.ios_sysdiagnose import Shutdown, shutdown_log, write_sysdiagnose

UUID = "123E4567-E89B-12D3-A456-426614174000"
DIAG = "private/var/db/diagnostics/"
T1, T2 = 1751000000, 1752000000


def _current() -> bytes:
    return shutdown_log([Shutdown(T2, [[(40, f"/usr/sbin/filecoordinationd/{UUID}"),
                                        (41, f"/usr/sbin/filecoordinationdx/{UUID}"),  # another program
                                        (42, "/usr/libexec/keepsitsname/not-a-uuid")]])]).encode()


def _rotated() -> bytes:
    return shutdown_log([Shutdown(T1, [[(7, f"/private/var/db/com.apple.xpc.roleaccountd.staging/helper/{UUID}")]])]).encode()


def _dump(tmp_path: Path) -> Path:
    return write_dump([(DIAG + "shutdown.log", _current()), (DIAG + "shutdown.0.log", _rotated())],
                      tmp_path / "ev" / "dump", "folder")


def test_uuid_component_is_not_the_program(tmp_path: Path) -> None:
    got = [r for r in records(_dump(tmp_path), "shutdown_log") if isinstance(r, ShutdownClient)]
    assert [(r.locator.device_path, r.locator.line, r.client_path, r.program_path, r.process_name) for r in got] == [
        ("/private/var/db/diagnostics/shutdown.0.log", 2,
         f"/private/var/db/com.apple.xpc.roleaccountd.staging/helper/{UUID}",
         "/private/var/db/com.apple.xpc.roleaccountd.staging/helper", "helper"),
        ("/private/var/db/diagnostics/shutdown.log", 2, f"/usr/sbin/filecoordinationd/{UUID}",
         "/usr/sbin/filecoordinationd", "filecoordinationd"),
        ("/private/var/db/diagnostics/shutdown.log", 3, f"/usr/sbin/filecoordinationdx/{UUID}",
         "/usr/sbin/filecoordinationdx", "filecoordinationdx"),
        ("/private/var/db/diagnostics/shutdown.log", 4, "/usr/libexec/keepsitsname/not-a-uuid",
         "/usr/libexec/keepsitsname/not-a-uuid", "not-a-uuid"),
    ]
    assert [r.reboot_time for r in got] == [datetime.fromtimestamp(T1, UTC)] + [datetime.fromtimestamp(T2, UTC)] * 3
    assert list(got[1].observables()) == [
        Observable(Kind.FILE_PATH, "/usr/sbin/filecoordinationd"), Observable(Kind.PROCESS, "filecoordinationd"),
        Observable(Kind.PROCESS, "usr"), Observable(Kind.PROCESS, "sbin"),
    ]


@pytest.mark.parametrize("spec", [
    "[file:path='/usr/sbin/filecoordinationd']", "[file:name='filecoordinationd']",
    "[process:name='filecoordinationd']",
])
def test_program_indicators_match_uuid_suffixed_clients(tmp_path: Path, spec: str) -> None:
    dump = _dump(tmp_path)
    before = snapshot(dump)
    result = check(dump, feed(tmp_path / "i.stix2", (spec, "Spy")), only=("shutdown_log",))
    assert snapshot(dump) == before
    # Only the client of that program: not filecoordinationdx, not the other rotation.
    assert [(f.severity.label, f.locator.device_path, f.locator.line, f.indicator.value)  # type: ignore[union-attr]
            for f in result.findings if f.rule is None] == [
        ("critical", "/private/var/db/diagnostics/shutdown.log", 2, spec.split("'")[1]),
    ]
    assert [f.rule for f in result.findings if f.rule] == ["shutdown_client_in_var_db_tmp"]  # the other rotation


def test_process_named_folder_and_rotation(tmp_path: Path) -> None:
    # MVT compares every component of a client's path with process indicators.
    stix = feed(tmp_path / "i.stix2", ("[process:name='com.apple.xpc.roleaccountd.staging']", "Pegasus"),
                ("[process:name='keepsitsname']", "Spy"))
    result = check(_dump(tmp_path), stix)
    assert [(f.rule or f.indicator.malware, f.severity.label, f.locator.device_path, f.locator.line,  # type: ignore[union-attr]
             f.observable) for f in result.findings] == [
        ("Pegasus", "critical", "/private/var/db/diagnostics/shutdown.0.log", 2,
         Observable(Kind.PROCESS, "com.apple.xpc.roleaccountd.staging")),
        ("Spy", "critical", "/private/var/db/diagnostics/shutdown.log", 4, Observable(Kind.PROCESS, "keepsitsname")),
        ("shutdown_client_in_var_db_tmp", "high", "/private/var/db/diagnostics/shutdown.0.log", 2,
         Observable(Kind.FILE_PATH, "/private/var/db/com.apple.xpc.roleaccountd.staging/helper")),
    ]


def test_rotations_in_a_sysdiagnose(tmp_path: Path) -> None:
    evidence = write_sysdiagnose({
        "system_logs.logarchive/Extra/shutdown.log": _current(),
        "system_logs.logarchive/Extra/shutdown.0.log": _rotated(),
        "sysdiagnose.log": b"done\n",
    }, tmp_path / "ev", "tar.gz")
    got = [r for r in records(evidence, "shutdown_log") if isinstance(r, ShutdownClient)]
    assert sorted({r.locator.device_path for r in got}) == [
        "/.acquisition/sysdiagnose/system_logs.logarchive/Extra/shutdown.0.log",
        "/private/var/db/diagnostics/shutdown.log",
    ]
    assert len(got) == 4


def test_text_after_the_client_bracket_is_not_the_client(tmp_path: Path) -> None:
    log = (
        "After 1.25s, these clients are still here:\n"
        f"\t\tremaining client pid: 40 (/usr/sbin/filecoordinationd/{UUID}) still running\n"
        "\t\tremaining client pid: 41 (/private/var/containers/Bundle/Application/A/My (Beta).app/My (Beta))\n"
        f"SIGTERM: [{T2}] (Shutting down)\n"
    ).encode()
    dump = write_dump([(DIAG + "shutdown.log", log)], tmp_path / "ev" / "dump", "folder")
    got = [r for r in records(dump, "shutdown_log") if isinstance(r, ShutdownClient)]
    assert [(r.pid, r.client_path, r.process_name) for r in got] == [
        (40, f"/usr/sbin/filecoordinationd/{UUID}", "filecoordinationd"),
        (41, "/private/var/containers/Bundle/Application/A/My (Beta).app/My (Beta)", "My (Beta)"),
    ]
