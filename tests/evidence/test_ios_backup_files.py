"""A backup's files laid out by domain (``HomeDomain/Library/SMS/sms.db``…), as tools that unpack a
backup write them: recognised, each file at its device path, its indicators found as in the backup
itself, each finding confirmed by ``preuve verify`` on it, the evidence unchanged."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from preuve.builders.demo import build_demo_backup
from preuve.cli import build_cli
from preuve.evidence.acquisition import detect_kind
from preuve.evidence.kinds.ios_backup_files import IosBackupFiles, domain_mapper
from tests.builders import snapshot
from tests.builders.ios_dump import write_dump

WHEN = 1685620800


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner(env={"COLUMNS": "250"}).invoke(build_cli(), list(args))
    return result.exit_code, " ".join(result.output.split())


def _by_domain(backup: Path) -> list[tuple[str, bytes]]:
    """The backup's files as ``domain/relativePath`` and their bytes (read with sqlite3 and plain reads)."""
    with sqlite3.connect(f"file:{backup / 'Manifest.db'}?mode=ro", uri=True) as manifest:
        rows = manifest.execute("SELECT fileID, domain, relativePath FROM Files WHERE flags = 1 ORDER BY domain, "
                                "relativePath").fetchall()
    return [(f"{domain}/{relative}", (backup / file_id[:2] / file_id).read_bytes()) for file_id, domain, relative in rows]


def _write(files: list[tuple[str, bytes]], out: Path, fmt: str, top: str) -> Path:
    written = write_dump(files, out, fmt=fmt, top=top, mtime=WHEN)
    for path in written.rglob("*") if written.is_dir() else ():  # (a folder's times, as an archive's)
        os.utime(path, (WHEN, WHEN))
    return written


def _indicators(out: Path) -> list[tuple[object, ...]]:
    findings = json.loads((out / "findings.json").read_text())["findings"]
    return sorted((f["locator"]["device_path"], f["locator"].get("rowid"), f["observable"]["value"], f["severity"])
                  for f in findings if f["rule"] is None)


@pytest.mark.parametrize(("fmt", "top"), [("folder", ""), ("tar", "iTunes_Backup"), ("zip", "x/iTunes_Backup"),
                                          ("tar.gz", "")])
def test_a_backup_laid_out_by_domain_is_checked_as_the_backup(tmp_path: Path, pegasus_feed: Path, fmt: str,
                                                              top: str) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    name = "unpacked" if fmt == "folder" else f"unpacked.{fmt}"
    evidence = _write(_by_domain(backup), tmp_path / "ev" / name, fmt, top)
    before = snapshot(tmp_path / "ev")
    assert detect_kind(evidence) is IosBackupFiles
    code, output = _run("check", str(backup), "--iocs", str(pegasus_feed), "-o", str(tmp_path / "out-b"), "-q")
    assert code == 2, output
    code, output = _run("check", str(evidence), "--iocs", str(pegasus_feed), "-o", str(tmp_path / "out"), "-q")
    assert code == 2, output
    # The same indicators at the same rows; the file the backup's Manifest artifact names is named by the
    # files' own listing instead (no Manifest.db lists them).
    from_backup = [hit for hit in _indicators(tmp_path / "out-b") if hit[0] != "/.acquisition/backup/Manifest.db"]
    from_files = _indicators(tmp_path / "out")
    assert [hit for hit in from_files if hit not in from_backup] == [
        ("/private/var/mobile/Library/Preferences/roleaccountd.plist", None,
         "/private/var/mobile/Library/Preferences/roleaccountd.plist", "critical")]
    assert len(from_files) == len(from_backup) + 1
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    status = {a["name"]: a["status"] for a in run["artifacts"]}
    assert {name: status[name] for name in ("manifest", "backup_info", "acquisition_integrity", "filesystem")} == {
        "manifest": "not_collected", "backup_info": "not_collected", "acquisition_integrity": "not_collected",
        "filesystem": "ok"}
    code, output = _run("verify", str(tmp_path / "out" / "bundle.json"), str(evidence))
    assert code == 0, output
    count = len(json.loads((tmp_path / "out" / "findings.json").read_text())["findings"])
    assert f"{count} of {count} findings confirmed" in output
    assert snapshot(tmp_path / "ev") == before


def test_names_placed_by_domain() -> None:
    place = domain_mapper("iTunes_Backup")
    assert [place(name) for name in (
        "iTunes_Backup/HomeDomain/Library/SMS/sms.db",
        "iTunes_Backup/AppDomain-com.example.app/Documents/a.db",
        "iTunes_Backup/AppDomainGroup-group.net.whatsapp.WhatsApp.shared/ChatStorage.sqlite",
        "iTunes_Backup/WirelessDomain/Library/Databases/DataUsage.sqlite",
        "iTunes_Backup/HomeDomain",
        "iTunes_Backup",
        "iTunes_Backup/FooDomain/x",
        "iTunes_Backup/AppDomain-/x",
        "iTunes_Backup/notes.txt",
        "Media/DCIM/IMG_0001.HEIC",
    )] == [
        "/private/var/mobile/Library/SMS/sms.db",
        "/private/var/mobile/Containers/Data/Application/com.example.app/Documents/a.db",
        "/private/var/mobile/Containers/Shared/AppGroup/group.net.whatsapp.WhatsApp.shared/ChatStorage.sqlite",
        "/private/var/wireless/Library/Databases/DataUsage.sqlite",
        None,
        None,
        "/private/var/.backup-domains/FooDomain/x",
        "/.acquisition/ios_backup_files/iTunes_Backup/AppDomain-/x",
        "/.acquisition/ios_backup_files/iTunes_Backup/notes.txt",
        "/.acquisition/ios_backup_files/Media/DCIM/IMG_0001.HEIC",
    ]


def test_a_dump_holding_a_folder_named_homedomain_is_still_a_dump(tmp_path: Path) -> None:
    """private/var/ decides before HomeDomain/: a dump whose app keeps a folder of that name is a dump."""
    from preuve.evidence.kinds.ios_dump import IosFilesystemDump

    files = [("private/var/mobile/Library/SMS/sms.db", b"x"),
             ("private/var/mobile/Containers/Data/Application/A/HomeDomain/Library/y", b"y")]
    for fmt in ("folder", "tar"):
        evidence = _write(files, tmp_path / fmt / ("d" if fmt == "folder" else "d.tar"), fmt, "")
        assert detect_kind(evidence) is IosFilesystemDump
