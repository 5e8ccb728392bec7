"""A backup whose folder does not hold exactly what its Manifest.db lists."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.ios.acquisition_integrity import BackupFileIssue
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class BackupIntegrity(Rule):
    name = "backup_integrity"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (BackupFileIssue,)
    reason = (
        "A backup's Manifest.db lists every file with its size, under an id made from its domain and path. A "
        "file missing, resized, added or listed under another name means the backup was interrupted, damaged "
        "or altered after it was made: findings (and their absence) are then only as strong as the files that "
        "remain."
    )
    reference = "Apple MobileBackup format (Manifest.db / MBFile), as documented by libimobiledevice"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, BackupFileIssue)
        # Extra files do not remove evidence; missing, resized or misnamed ones may hide it.
        severity = Severity.LOW if record.issue == "extra" else Severity.MEDIUM
        yield self.finding(record, artifact, record.summary() + ".", severity=severity)
