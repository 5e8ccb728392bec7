"""A backup whose folder does not hold exactly what its Manifest.db lists."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import ClassVar

from preuve.detect.rules import Rule
from preuve.evidence.ios_integrity import BackupFileIssue
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

    grouped = True

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, BackupFileIssue)
        # Extra files do not remove evidence; missing, resized or misnamed ones may hide it.
        severity = Severity.LOW if record.issue == "extra" else Severity.MEDIUM
        yield self.finding(record, artifact, record.summary() + ".", severity=severity, group=record.issue)

    def group_explanation(self, key: str, findings: Sequence[Finding]) -> str:
        what = _GROUPS.get(key, f"have the problem {key!r}")
        return (
            f"{len(findings)} files of the backup {what} (every one is listed in this finding's group; the first: "
            f"{findings[0].explanation.rstrip('.')})."
        )


_GROUPS = {
    "missing": "are listed in Manifest.db but absent from the folder",
    "size_mismatch": "differ in size from what Manifest.db says",
    "not_regular": "are not regular files (links, FIFOs or devices)",
    "name_mismatch": "are listed under a name their id was not made from (damaged or altered rows)",
    "extra": "lie in the folder but are not listed in Manifest.db",
}
