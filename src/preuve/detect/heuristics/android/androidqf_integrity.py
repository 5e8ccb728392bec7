"""A file of an AndroidQF acquisition is missing or differs from the hash AndroidQF recorded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.detect.rules import Rule
from preuve.evidence.androidqf_integrity import IntegrityEntry
from preuve.model import Finding, Record, Severity

# Files older AndroidQF versions write after hashes.csv: a difference there is the tool's, not tampering.
_WRITTEN_AFTER = ("command.log", "acquisition.json")


class AndroidQFIntegrityRule(Rule):
    name = "androidqf_integrity"
    severity = Severity.HIGH
    record_types: ClassVar[tuple[type[Record], ...]] = (IntegrityEntry,)
    reason = (
        "AndroidQF writes the SHA-256 of every file it collects; a file that differs or is missing was "
        "changed or lost after collection, so conclusions about it may not hold."
    )
    reference = "mvt-project/androidqf, docs/acquisition-archives.md (hashes.csv)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, IntegrityEntry)
        base = record.member.replace("\\", "/").rsplit("/", 1)[-1]
        if base in _WRITTEN_AFTER and record.status in ("mismatch", "unlisted"):
            yield self.finding(
                record, artifact,
                f"{base} is {'different from' if record.status == 'mismatch' else 'absent from'} hashes.csv; "
                "AndroidQF itself writes this file after hashing (older versions), so this is expected.",
                severity=Severity.INFO,
            )
            return
        if record.status == "mismatch":
            yield self.finding(
                record, artifact,
                f"{record.member} does not match the SHA-256 AndroidQF recorded "
                f"({record.expected_sha256[:16]}…, now {(record.actual_sha256 or '')[:16]}…): "
                "it was changed after the acquisition.",
            )
        elif record.status in ("missing", "unreadable"):
            yield self.finding(
                record, artifact,
                f"{record.member}, listed in hashes.csv, is {record.status}: the acquisition is incomplete.",
                severity=Severity.MEDIUM,
            )
        elif record.status == "unlisted":
            yield self.finding(
                record, artifact,
                f"{record.member} is in the acquisition but not in hashes.csv: it was added afterwards "
                "(or by an AndroidQF version that did not hash it).",
                severity=Severity.LOW,
            )
