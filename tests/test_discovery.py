"""shipped_classes: the concrete subclasses a package's modules define, and nothing else."""

from __future__ import annotations

from preuve.artifacts import ios
from preuve.artifacts.base import Artifact, SqliteArtifact, discover_artifacts
from preuve.discovery import shipped_classes
from preuve.evidence import kinds
from preuve.evidence.acquisition import AcquisitionKind


def test_acquisition_kinds_in_module_order() -> None:
    assert [(k.__module__, k.__qualname__) for k in shipped_classes(kinds, AcquisitionKind)] == [
        ("preuve.evidence.kinds.android_backup", "AndroidBackup"),
        ("preuve.evidence.kinds.android_bugreport", "AndroidBugreport"),
        ("preuve.evidence.kinds.android_intrusion_logs", "AndroidIntrusionLogs"),
        ("preuve.evidence.kinds.android_qf", "AndroidQF"),
        ("preuve.evidence.kinds.ios_backup", "IosBackup"),
        ("preuve.evidence.kinds.ios_backup_files", "IosBackupFiles"),
        ("preuve.evidence.kinds.ios_dump", "IosFilesystemDump"),
        ("preuve.evidence.kinds.ios_sysdiagnose", "IosSysdiagnose"),
    ]


def test_only_concrete_classes_defined_in_the_module() -> None:
    found = list(shipped_classes(ios, Artifact))
    assert len(found) == 37  # and the backup's and the dump's kind checks, run as artifacts (see below)
    assert all(cls.__module__.startswith("preuve.artifacts.ios.") for cls in found)
    assert Artifact not in found and SqliteArtifact not in found  # imported there, and abstract
    sms = [cls for cls in found if cls.__module__ == "preuve.artifacts.ios.sms"]
    assert [cls.__qualname__ for cls in sms] == ["Sms"]  # not its record classes


def test_the_artifacts_of_a_platform_hold_its_kinds_checks() -> None:
    names = [a.name for a in discover_artifacts("ios")]
    assert len(names) == 39 and names == sorted(names)
    assert "acquisition_integrity" in names and "filesystem" in names
    android = [a.name for a in discover_artifacts("android")]
    assert "acquisition_integrity" not in android and "filesystem" not in android
