"""An iOS backup packed in an archive (zip, tar, tar.gz, tar.bz2) is read in place, as its folder is.

The archives are written by zipfile and tarfile (as Finder's "Compress", Info-ZIP and tar write a
backup's folder: the folder's name, then its files), from backups made by the package's builders;
each check is held to the check of the same folder.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from preuve.builders.demo import build_demo_backup
from preuve.builders.ios_backup import BackupBuilder, file_id
from preuve.evidence.acquisition import OpenContext, Secrets, detect_kind, open_acquisition
from preuve.evidence.errors import AcquisitionError
from preuve.evidence.kinds.ios_backup import IosBackup, is_encrypted_archive
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from tests.builders import snapshot
from tests.builders.demo_expected import DEMO_FINDINGS
from tests.builders.ios_encrypted import encrypt_backup
from tests.helpers import check_then_verify, records

UDID = "00008030-001A2B3C4D5E802E"
PASSWORD = "correct horse battery staple"
_MODES = {"tar": "w", "tar.gz": "w:gz", "tar.bz2": "w:bz2"}


def pack(folder: Path, archive: Path, extra: dict[str, bytes] | None = None) -> Path:
    """`folder` packed under its own name, every file in sorted order (and `extra` members, by name)."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as packed:
            for file in files:
                packed.write(file, str(file.relative_to(folder.parent)))
            for name, data in (extra or {}).items():
                packed.writestr(name, data)
        return archive
    mode = _MODES[archive.name.split(".", 1)[1]]
    with tarfile.open(archive, mode) as packed:  # type: ignore[call-overload]
        for file in files:
            packed.add(file, str(file.relative_to(folder.parent)))
        for name, data in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            packed.addfile(info, io.BytesIO(data))
    return archive


def _findings(result: object) -> list[tuple[object, ...]]:
    return [(f.id, f.locator.device_path, f.locator.sha256, f.locator.table, f.locator.rowid)
            for f in result.findings]  # type: ignore[attr-defined]


def _artifacts(result: object) -> list[tuple[str, str, int, int]]:
    return [(a.name, a.status, a.records, a.findings) for a in result.artifacts]  # type: ignore[attr-defined]


@pytest.mark.parametrize("fmt", ["zip", "tar", "tar.gz", "tar.bz2"])
def test_a_packed_backup_is_checked_as_its_folder(tmp_path: Path, pegasus_feed: Path, fmt: str) -> None:
    """Finder's zip of a backup, or a tar of it, was refused ("unpack it"): it is now read in place, with
    the findings, records and file hashes of its folder, each file named by its member."""
    backup = build_demo_backup(tmp_path / "made" / UDID)
    archive = pack(backup, tmp_path / "ev" / f"backup.{fmt}")
    before = snapshot(tmp_path / "ev")
    assert detect_kind(archive) is IosBackup
    folder = run_check(backup, CheckOptions(iocs=(pegasus_feed,)))
    packed = run_check(archive, CheckOptions(iocs=(pegasus_feed,)))
    assert snapshot(tmp_path / "ev") == before
    assert packed.acquisition_kind == "ios_backup"
    assert len(packed.findings) == DEMO_FINDINGS
    assert _findings(packed) == _findings(folder)
    assert _artifacts(packed) == _artifacts(folder)
    assert packed.acquisition_problems == [] and packed.coverage().complete
    hashes = {e.device_path: (e.sha256, e.size) for e in folder.evidence_files}
    assert {e.device_path: (e.sha256, e.size) for e in packed.evidence_files} == hashes
    sources = {e.device_path: e.source for e in packed.evidence_files}
    sms = file_id("HomeDomain", "Library/SMS/sms.db")
    assert sources["/private/var/mobile/Library/SMS/sms.db"] == f"{UDID}/{sms[:2]}/{sms}"
    assert sources["/.acquisition/backup/Manifest.db"] == f"{UDID}/Manifest.db"
    # Nothing was extracted beside the evidence.
    assert sorted(os.listdir(tmp_path / "ev")) == [f"backup.{fmt}"]


def test_a_check_of_a_packed_backup_is_verified(tmp_path: Path, pegasus_feed: Path) -> None:
    backup = build_demo_backup(tmp_path / "made" / UDID)
    archive = pack(backup, tmp_path / "ev" / "backup.tar.gz")
    checked, verified, last = check_then_verify(archive, pegasus_feed, tmp_path / "out")
    assert (checked, verified) == (2, 0)
    assert last.startswith(f"{DEMO_FINDINGS} of {DEMO_FINDINGS} findings confirmed")


def test_an_encrypted_backup_packed_in_a_zip(tmp_path: Path, pegasus_feed: Path) -> None:
    plain = build_demo_backup(tmp_path / "plain")
    encrypted = encrypt_backup(plain, tmp_path / "enc" / UDID, PASSWORD)
    archive = pack(encrypted, tmp_path / "ev" / "backup.zip")
    before = snapshot(tmp_path / "ev")
    assert is_encrypted_archive(archive, DEFAULT_LIMITS)
    assert not is_encrypted_archive(pack(plain, tmp_path / "plain.zip"), DEFAULT_LIMITS)
    secrets = Secrets(password=PASSWORD)
    folder = run_check(encrypted, CheckOptions(iocs=(pegasus_feed,), secrets=secrets))
    packed = run_check(archive, CheckOptions(iocs=(pegasus_feed,), secrets=secrets))
    assert snapshot(tmp_path / "ev") == before
    assert len(packed.findings) == DEMO_FINDINGS
    assert _findings(packed) == _findings(folder)
    assert _artifacts(packed) == _artifacts(folder)
    hashes = {e.device_path: (e.sha256, e.size) for e in folder.evidence_files}
    assert {e.device_path: (e.sha256, e.size) for e in packed.evidence_files} == hashes
    sources = {e.device_path: e.source for e in packed.evidence_files}
    sms = file_id("HomeDomain", "Library/SMS/sms.db")
    assert sources["/private/var/mobile/Library/SMS/sms.db"] == f"{UDID}/{sms[:2]}/{sms} (decrypted)"
    with pytest.raises(AcquisitionError) as caught:
        run_check(archive, CheckOptions(iocs=(pegasus_feed,), secrets=Secrets(password="wrong")))
    assert str(caught.value) == f"{archive}!{UDID}: wrong password for this encrypted backup"


def _damaged_backup(root: Path) -> Path:
    """A backup whose folder lacks a listed file, holds one of another size, a file nobody lists, and a
    folder where a file should be."""
    builder = BackupBuilder(root)
    for n in range(40):
        builder.add_file("HomeDomain", f"Library/Notes/n{n}.txt", f"note {n}".encode() * (n + 1))
    builder.finish()
    gone = file_id("HomeDomain", "Library/Notes/n3.txt")
    (root / gone[:2] / gone).unlink()
    cut = file_id("HomeDomain", "Library/Notes/n7.txt")
    (root / cut[:2] / cut).write_bytes(b"cut")
    stray = "ab" + "c" * 38
    (root / "ab").mkdir(exist_ok=True)
    (root / "ab" / stray).write_bytes(b"left here")
    (root / "ab" / "README").write_bytes(b"not an id")
    folder = file_id("HomeDomain", "Library/Notes/n9.txt")
    (root / folder[:2] / folder).unlink()
    (root / folder[:2] / folder).mkdir()
    (root / folder[:2] / folder / "inside").write_bytes(b"x")
    return root


def _issues(evidence: Path) -> list[tuple[object, ...]]:
    return [(r.issue, r.file_id, r.domain, r.relative_path, r.expected_size, r.actual_size, r.locator.rowid,
             r.locator.key_path) for r in records(evidence, "acquisition_integrity")]


@pytest.mark.parametrize("fmt", ["zip", "tar"])
def test_the_integrity_check_compares_the_archive_as_the_folder(tmp_path: Path, fmt: str) -> None:
    backup = _damaged_backup(tmp_path / "made" / UDID)
    archive = pack(backup, tmp_path / "ev" / f"backup.{fmt}")
    expected = _issues(backup)
    assert sorted(issue[0] for issue in expected) == ["extra", "extra", "missing", "not_regular", "size_mismatch"]
    assert _issues(archive) == expected


def test_members_outside_the_backup_are_told_and_not_read(tmp_path: Path) -> None:
    """Finder's zip keeps each file's resource fork under __MACOSX/: not the backup's, counted, not read."""
    backup = build_demo_backup(tmp_path / "made" / UDID)
    extra = {f"__MACOSX/{UDID}/._Manifest.db": b"\x00\x05\x16\x07", f"__MACOSX/{UDID}/._Info.plist": b"\x00"}
    archive = pack(backup, tmp_path / "ev" / "backup.zip", extra)
    ctx = OpenContext(ledger=HashLedger(), limits=DEFAULT_LIMITS, workdir=tmp_path / "work")
    ctx.workdir.mkdir()
    warned: list[str] = []
    fs = open_acquisition(archive, replace(ctx, warn=warned.append)).fs
    try:
        assert fs.is_file("/private/var/mobile/Library/SMS/sms.db")
        assert not any("__MACOSX" in path for path in fs.paths())
    finally:
        fs.close()
    assert warned == [f"{archive}: 2 members of the archive lie outside the backup's folder {UDID}: not read"]
    assert os.listdir(ctx.workdir) == []  # (the private copies removed with the acquisition)


def test_a_later_member_of_a_name_stands(tmp_path: Path) -> None:
    """A tar appended to (tar -r) holds a name twice: the later member is the file, as extracting it gives."""
    backup = build_demo_backup(tmp_path / "made" / UDID)
    sms = file_id("HomeDomain", "Library/SMS/sms.db")
    archive = pack(backup, tmp_path / "ev" / "backup.tar", {f"{UDID}/{sms[:2]}/{sms}": b"replaced later"})
    ctx = OpenContext(ledger=HashLedger(), limits=DEFAULT_LIMITS, workdir=tmp_path / "work")
    ctx.workdir.mkdir()
    fs = open_acquisition(archive, ctx).fs
    try:
        assert fs.read_bytes("/private/var/mobile/Library/SMS/sms.db") == b"replaced later"
    finally:
        fs.close()


def test_two_backups_in_one_archive_are_refused(tmp_path: Path) -> None:
    first = build_demo_backup(tmp_path / "Backup" / UDID)
    build_demo_backup(tmp_path / "Backup" / "00008101-000A1B2C3D4E001E")
    archive = tmp_path / "ev" / "MobileSync.zip"
    pack(first.parent, archive)
    with pytest.raises(AcquisitionError) as caught:
        run_check(archive, CheckOptions())
    assert str(caught.value) == (
        f"{archive}: holds 2 backups (Backup/00008030-001A2B3C4D5E802E, Backup/00008101-000A1B2C3D4E001E); preuve "
        "checks one backup at a time: give an archive of one of them")


def test_a_manifest_past_the_file_bound_is_refused(tmp_path: Path) -> None:
    backup = build_demo_backup(tmp_path / "made" / UDID)
    archive = pack(backup, tmp_path / "ev" / "backup.zip")
    size = (backup / "Manifest.db").stat().st_size
    limits = replace(DEFAULT_LIMITS, max_file_bytes=size - 1)
    ctx = OpenContext(ledger=HashLedger(), limits=limits, workdir=tmp_path / "work")
    ctx.workdir.mkdir()
    with pytest.raises(AcquisitionError) as caught:
        open_acquisition(archive, ctx)
    assert str(caught.value) == f"{archive}: {UDID}/Manifest.db: file of {size} bytes exceeds {size - 1}"
    assert os.listdir(ctx.workdir) == []


def test_an_archive_of_hashed_names_without_its_manifest(tmp_path: Path) -> None:
    backup = build_demo_backup(tmp_path / "made" / UDID)
    for name in ("Manifest.db", "Manifest.plist"):
        (backup / name).unlink()
    archive = pack(backup, tmp_path / "ev" / "backup.zip")
    with pytest.raises(AcquisitionError) as caught:
        run_check(archive, CheckOptions())
    assert str(caught.value) == (
        f"{archive}: holds files of an iOS backup but neither its Manifest.db nor its Manifest.plist")


def test_the_key_of_a_packed_encrypted_backup(tmp_path: Path) -> None:
    """`preuve backup-key` on the zip derives the key it derives on the folder."""
    plain = build_demo_backup(tmp_path / "plain")
    encrypted = encrypt_backup(plain, tmp_path / "enc" / UDID, PASSWORD)
    archive = pack(encrypted, tmp_path / "ev" / "backup.zip")
    env = {**os.environ, "PREUVE_BACKUP_PASSWORD": PASSWORD}
    keys = []
    for evidence, out in ((encrypted, tmp_path / "k1"), (archive, tmp_path / "k2")):
        done = subprocess.run([sys.executable, "-m", "preuve", "backup-key", str(evidence), "-o", str(out)],
                              capture_output=True, text=True, env=env, check=False)
        assert done.returncode == 0, done.stderr
        keys.append(out.read_text())
    assert keys[0] == keys[1] and len(keys[0].strip()) == 64


def test_a_damaged_member_of_the_backup_is_told_and_the_rest_read(tmp_path: Path, pegasus_feed: Path) -> None:
    """Info.plist's member fails its CRC: the artifacts that read it fail with the reason, the run is not
    a full check, and every other file is read as from the folder."""
    backup = build_demo_backup(tmp_path / "made" / UDID)
    archive = tmp_path / "ev" / "backup.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as packed:
        for file in sorted(p for p in backup.rglob("*") if p.is_file()):
            packed.write(file, str(file.relative_to(backup.parent)))
    with zipfile.ZipFile(archive) as packed:
        info = packed.getinfo(f"{UDID}/Info.plist")
    data = bytearray(archive.read_bytes())
    data[info.header_offset + 30 + len(info.filename) + len(info.extra) + 10] ^= 0xFF
    archive.write_bytes(bytes(data))
    before = snapshot(tmp_path / "ev")
    folder = run_check(backup, CheckOptions(iocs=(pegasus_feed,)))
    packed_run = run_check(archive, CheckOptions(iocs=(pegasus_feed,)))
    assert snapshot(tmp_path / "ev") == before
    reason = (f"/.acquisition/backup/Info.plist: cannot be read from the archive (damaged or cut short inside its "
              f"archive (Bad CRC-32 for file '{UDID}/Info.plist'))")
    failed = {a.name: a.errors for a in packed_run.artifacts if a.status.value == "failed"}
    member = f"{UDID}/Info.plist: damaged or cut short inside its archive (Bad CRC-32 for file '{UDID}/Info.plist')"
    assert failed == {"applications": [reason], "archive_members": [member], "backup_info": [reason]}
    coverage = packed_run.coverage()
    assert not coverage.complete and coverage.failed == ("applications", "archive_members", "backup_info")
    read = {a.name for a in packed_run.artifacts} - set(failed)
    assert [(a.name, a.status, a.records) for a in packed_run.artifacts if a.name in read] == [
        (a.name, a.status, a.records) for a in folder.artifacts if a.name in read]
    untouched = [f for f in _findings(folder) if f[1] != "/.acquisition/backup/Info.plist"]
    assert [f for f in _findings(packed_run) if f[1] != "/.acquisition/backup/Info.plist"] == untouched


def test_a_zip_of_the_mobilesync_folder(tmp_path: Path) -> None:
    """A zip of the folder Finder keeps backups in (MobileSync/Backup/<UDID>/…) holds the backup three
    folders deep; a phone's own tree (private/var/…) is never taken for a backup's folder."""
    backup = build_demo_backup(tmp_path / "MobileSync" / "Backup" / UDID)
    archive = tmp_path / "ev" / "MobileSync.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as packed:
        for file in sorted(p for p in backup.rglob("*") if p.is_file()):
            packed.write(file, str(file.relative_to(tmp_path)))
    assert detect_kind(archive) is IosBackup
    assert _artifacts(run_check(archive, CheckOptions())) == _artifacts(run_check(backup, CheckOptions()))
    dump = tmp_path / "dump.zip"
    with zipfile.ZipFile(dump, "w") as packed:
        packed.writestr("private/var/mobile/Library/ab/ab" + "0" * 38, b"an app's cache")
        packed.writestr("private/var/mobile/Library/SMS/sms.db", b"")
    assert detect_kind(dump) is not IosBackup


def test_a_backup_listed_folders_first_is_recognised(tmp_path: Path) -> None:
    """An archive that lists every folder before any file (the backup's 256 hashed-name folders first)
    is still recognised from its first names."""
    backup = build_demo_backup(tmp_path / "made" / UDID)
    for shard in range(256):
        (backup / f"{shard:02x}").mkdir(exist_ok=True)
    archive = tmp_path / "ev" / "backup.tar"
    archive.parent.mkdir()
    with tarfile.open(archive, "w") as packed:
        entries = sorted(backup.rglob("*"), key=lambda p: (p.is_file(), str(p)))
        packed.add(backup, UDID, recursive=False)
        for entry in entries:
            packed.add(entry, str(entry.relative_to(backup.parent)), recursive=False)
    with tarfile.open(archive) as packed:
        first_file = next(i for i, m in enumerate(packed.getmembers()) if m.isfile())
    assert first_file == 257
    assert detect_kind(archive) is IosBackup
