from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from preuve.builders.ios_backup import BackupBuilder, file_id
from preuve.evidence.acquisition import OpenContext, detect_kind, open_acquisition
from preuve.evidence.errors import AcquisitionError
from preuve.evidence.fs import DeviceFS, MountFS
from preuve.evidence.ios_domains import device_path
from preuve.evidence.kinds.ios_backup import IosBackup
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.evidence.sources.backup import BackupSource
from tests.builders import snapshot


def _ctx(tmp_path: Path) -> OpenContext:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return OpenContext(ledger=HashLedger(), limits=DEFAULT_LIMITS, workdir=work)


@pytest.mark.parametrize(
    ("domain", "relative", "expected"),
    [
        ("HomeDomain", "Library/SMS/sms.db", "/private/var/mobile/Library/SMS/sms.db"),
        ("WirelessDomain", "Library/Databases/DataUsage.sqlite",
         "/private/var/wireless/Library/Databases/DataUsage.sqlite"),
        ("RootDomain", "Library/Caches/locationd/clients.plist",
         "/private/var/root/Library/Caches/locationd/clients.plist"),
        ("AppDomain-com.apple.mobilesafari", "Library/Safari/History.db",
         "/private/var/mobile/Containers/Data/Application/com.apple.mobilesafari/Library/Safari/History.db"),
        ("SysSharedContainerDomain-systemgroup.com.apple.configurationprofiles", "Library/ConfigurationProfiles/x",
         "/private/var/containers/Shared/SystemGroup/systemgroup.com.apple.configurationprofiles"
         "/Library/ConfigurationProfiles/x"),
        ("MysteryDomain", "a/b", "/private/var/.backup-domains/MysteryDomain/a/b"),
        ("HomeDomain", "../../../etc/passwd", None),
        ("HomeDomain", "/etc/passwd", None),
        ("AppDomain-..", "x", None),
        ("AppDomain-a/b", "x", None),
    ],
)
def test_domain_mapping(domain: str, relative: str, expected: str | None) -> None:
    assert device_path(domain, relative) == expected


def _backup(tmp_path: Path, wal: bool) -> Path:
    builder = BackupBuilder(tmp_path / "backup")
    builder.add_file("HomeDomain", "Library/Preferences/a.plist", b"one")
    builder.add_file("HomeDomain", "Library/SMS/sms.db", b"two")
    builder.add_file("WirelessDomain", "Library/x.txt", b"three")
    return builder.finish(manifest_wal=wal)


@pytest.mark.parametrize("wal", [False, True])
def test_backup_listing_and_reading(tmp_path: Path, wal: bool) -> None:
    root = _backup(tmp_path, wal)
    assert (root / "Manifest.db-wal").exists() is wal
    if wal:  # the rows really are only in the WAL
        conn = sqlite3.connect(f"file:{root / 'Manifest.db'}?mode=ro&immutable=1", uri=True)
        assert conn.execute("SELECT COUNT(*) FROM Files").fetchone()[0] == 0
        conn.close()
    before = snapshot(root)
    fs = open_acquisition(root, _ctx(tmp_path)).fs
    assert fs.is_file("/private/var/mobile/Library/SMS/sms.db")
    assert fs.read_bytes("/private/var/mobile/Library/SMS/sms.db") == b"two"
    assert fs.read_bytes("/private/var/wireless/Library/x.txt") == b"three"
    assert fs.glob("/private/var/mobile/**/*.plist") == ["/private/var/mobile/Library/Preferences/a.plist"]
    # Literal patterns, and patterns whose literal start no path has, are answered without a regex.
    assert fs.glob("/private/var/mobile/Library/SMS/sms.db") == ["/private/var/mobile/Library/SMS/sms.db"]
    assert fs.glob("/private/var/mobile/Library/SMS/sms") == []
    assert fs.glob("/private/var/mobile/Library/SMS/sms.db-wal") == []
    assert fs.glob("/private/var/mobile/Library/SMS") == ["/private/var/mobile/Library/SMS"]
    assert fs.glob("/zzz/*.db") == [] and fs.glob("/private/var/nothing/*") == []
    assert fs.glob("/private/var/*/Library/x.tx?") == ["/private/var/wireless/Library/x.txt"]
    assert fs.stat("/private/var/mobile/Library").is_dir
    sources = {e.device_path: e.source for e in fs.ledger.files()}
    fid = file_id("HomeDomain", "Library/SMS/sms.db")
    assert sources["/private/var/mobile/Library/SMS/sms.db"] == f"{fid[:2]}/{fid}"
    assert "/.acquisition/backup/Manifest.db" in sources
    assert snapshot(root) == before


def test_folder_holding_one_backup(tmp_path: Path) -> None:
    root = _backup(tmp_path, False)
    assert detect_kind(tmp_path) is IosBackup
    opened = open_acquisition(tmp_path, _ctx(tmp_path))
    assert opened.fs.source == root


def test_folder_holding_two_backups(tmp_path: Path) -> None:
    for name in ("a", "b"):
        builder = BackupBuilder(tmp_path / "many" / name)
        builder.finish()
    with pytest.raises(AcquisitionError, match="holds 2 backups"):
        detect_kind(tmp_path / "many")


def test_encrypted_backup_refused_clearly(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "enc")
    root = builder.finish(encrypted=True)
    with pytest.raises(AcquisitionError, match="encrypted"):
        open_acquisition(root, _ctx(tmp_path))


def test_not_an_acquisition(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(AcquisitionError, match="not an acquisition preuve recognises"):
        detect_kind(tmp_path / "empty")
    with pytest.raises(AcquisitionError, match="no such file"):
        detect_kind(tmp_path / "missing")


def test_hostile_file_ids_and_paths_are_skipped(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_file("HomeDomain", "ok.txt", b"ok")
    root = builder.finish()
    conn = sqlite3.connect(root / "Manifest.db")
    conn.execute("INSERT INTO Files VALUES ('../../../../etc/passwd', 'HomeDomain', 'evil1', 1, NULL)")
    conn.execute("INSERT INTO Files VALUES (?, 'HomeDomain', '../../escape', 1, NULL)", ("a" * 40,))
    conn.commit()
    conn.close()
    warnings: list[str] = []
    ctx = _ctx(tmp_path)
    ctx.warn = warnings.append
    fs = open_acquisition(root, ctx).fs
    assert "/private/var/mobile/evil1" not in fs
    assert fs.read_bytes("/private/var/mobile/ok.txt") == b"ok"
    assert len(warnings) == 2
    assert all("Manifest.db" in w for w in warnings)


def _file_id(fs: DeviceFS, device: str) -> str | None:
    """The file id the backup's source holds for a listed file."""
    assert isinstance(fs, MountFS)
    source, ref, _ = fs.placed(device)
    assert isinstance(source, BackupSource)
    return source.file_id(ref)


def test_listing_keeps_files_compact_and_the_later_of_two_rows_for_one_path(tmp_path: Path) -> None:
    """A backup's files are kept as sorted paths and 20-byte ids, their FileInfo made when asked for;
    a path listed twice is the later row's, whether it is a file or a folder."""
    builder = BackupBuilder(tmp_path / "b")
    builder.add_file("HomeDomain", "Library/Preferences/a.plist", b"A" * 7)
    builder.add_file("HomeDomain", "Library/Preferences/b.plist", b"B" * 9)
    builder.add_file("HomeDomain", "Library/twice.txt", b"first")
    root = builder.finish()
    conn = sqlite3.connect(root / "Manifest.db")
    # The same device path again: as a folder (a later row), then a file under another id (later still).
    conn.execute("INSERT INTO Files VALUES (?, 'HomeDomain', 'Library/Preferences/b.plist', 2, NULL)", ("e" * 40,))
    conn.execute("INSERT INTO Files VALUES (?, 'HomeDomain', 'Library/twice.txt', 2, NULL)", ("c" * 40,))
    conn.execute("INSERT INTO Files VALUES (?, 'HomeDomain', 'Library/twice.txt', 1, NULL)", ("d" * 40,))
    conn.commit()
    conn.close()
    (root / "dd").mkdir()
    (root / "dd" / ("d" * 40)).write_bytes(b"second!")
    fs = open_acquisition(root, _ctx(tmp_path)).fs
    a = "/private/var/mobile/Library/Preferences/a.plist"
    b = "/private/var/mobile/Library/Preferences/b.plist"
    twice = "/private/var/mobile/Library/twice.txt"
    assert fs.is_file(a) and a in fs and fs.stat(a).size == 7
    assert fs.read_bytes(a) == b"A" * 7
    assert _file_id(fs, a) == file_id("HomeDomain", "Library/Preferences/a.plist")
    assert b in fs and not fs.is_file(b) and fs.stat(b).is_dir
    assert fs.is_file(twice) and fs.read_bytes(twice) == b"second!" and _file_id(fs, twice) == "d" * 40
    assert "/private/var/mobile/Library/nothing" not in fs and not fs.is_file("/private/var/mobile/Library/nothing")
    paths = fs.paths()
    assert paths == sorted(set(paths)) and {a, b, twice} <= set(paths)
    assert [info.device_path for info in fs.iter_files()] == paths


@pytest.mark.parametrize("name", ["Manifest.db", "Info.plist", "Status.plist"])
def test_a_file_of_a_backup_given_for_the_backup_names_its_folder(tmp_path: Path, name: str) -> None:
    """An analyst gives the backup's Manifest.db (or Info.plist) for the backup: the run names the
    backup's folder to check, rather than 'not an acquisition preuve recognises'."""
    from preuve.builders.demo import build_demo_backup

    backup = build_demo_backup(tmp_path / "00008030-001A2B3C4D5E802E")
    before = snapshot(backup)
    with pytest.raises(AcquisitionError) as caught:
        detect_kind(backup / name)
    assert str(caught.value) == f"{backup / name}: a file of the iOS backup {backup}: check the backup's folder"
    assert snapshot(backup) == before
    if name != "Manifest.db":  # (a folder holding a Manifest.db is a backup's, if a damaged one)
        loose = tmp_path / "elsewhere" / name
        loose.parent.mkdir()
        loose.write_bytes(b"")
        with pytest.raises(AcquisitionError, match="not an acquisition preuve recognises"):
            detect_kind(loose)
