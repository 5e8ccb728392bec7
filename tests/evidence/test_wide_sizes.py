"""An MBFile whose Size no 64-bit integer holds (a hostile Manifest.db) is one file's problem, never the
backup's: the backup is read, and its integrity check reports the file's size as the row gives it."""

from __future__ import annotations

import plistlib
from pathlib import Path

from preuve.builders.ios_backup import BackupBuilder
from tests.builders import check, snapshot
from tests.builders.ios_encrypted import encrypt_backup

UID = plistlib.UID
WIDE = (1 << 64) - 1  # plistlib writes it in 16 bytes


def _wide_mbfile() -> bytes:
    top = {"$class": UID(3), "RelativePath": UID(2), "Size": WIDE, "Mode": 0o100644, "LastModified": 1_685_620_800,
           "LastStatusChange": 1_685_620_800, "Birth": 1_685_620_800, "ProtectionClass": 3}
    objects = ["$null", top, "Library/wide", {"$classname": "MBFile", "$classes": ["MBFile", "NSObject"]}]
    archive = {"$version": 100000, "$archiver": "NSKeyedArchiver", "$top": {"root": UID(1)}, "$objects": objects}
    return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY)


def _backup(folder: Path) -> Path:
    builder = BackupBuilder(folder)
    builder.add_file("HomeDomain", "Library/plain", b"abc")
    builder.add_file("HomeDomain", "Library/wide", b"x")
    builder.set_mbfile("HomeDomain", "Library/wide", _wide_mbfile())
    return builder.finish()


def _sizes_reported(root: Path, password: str | None = None) -> list[tuple[str, object, object]]:
    from preuve.evidence.acquisition import Secrets
    from preuve.run.engine import run_check
    from preuve.run.results import CheckOptions
    from tests.helpers import RecordCollector

    collector = RecordCollector()
    run_check(root, CheckOptions(only_artifacts=("acquisition_integrity", "manifest"), secrets=Secrets(password=password)),
              sinks=[collector])
    return sorted((type(r).__name__, getattr(r, "relative_path", None), getattr(r, "expected_size", None))
                  for r in collector.records if getattr(r, "relative_path", None) == "Library/wide")


def test_a_wide_size_is_a_size_mismatch(tmp_path: Path) -> None:
    root = _backup(tmp_path / "b")
    before = snapshot(root)
    result = check(root)
    assert snapshot(root) == before
    explanations = [f.explanation for f in result.findings]
    assert f"Backup file HomeDomain/Library/wide is 1 bytes; Manifest.db says {WIDE}." in explanations
    assert _sizes_reported(root) == [("BackupFile", "Library/wide", None), ("BackupFileIssue", "Library/wide", WIDE)]


def test_an_encrypted_backup_with_a_wide_size_is_read(tmp_path: Path) -> None:
    root = encrypt_backup(_backup(tmp_path / "plain"), tmp_path / "enc", "pw", seed="wide")
    assert [name for name, _, _ in _sizes_reported(root, password="pw")][:1] == ["BackupFile"]
