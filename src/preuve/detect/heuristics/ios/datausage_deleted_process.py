"""Network usage left behind by a process whose record was deleted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.ios.datausage import OrphanedUsage
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class DataUsageDeletedProcess(Rule):
    name = "datausage_deleted_process"
    severity = Severity.HIGH
    record_types: ClassVar[tuple[type[Record], ...]] = (OrphanedUsage,)
    reason = (
        "Pegasus removed its processes from the usage database but left their usage rows; "
        "usage pointing to a deleted process, or to none, is a sign of that clean-up (MVT: manipulated entry)."
    )
    reference = "Amnesty International, Forensic Methodology Report: How to catch NSO Group's Pegasus (2021)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, OrphanedUsage)
        whose = (
            "a process the row does not name" if record.missing_process_id is None
            else f"process #{record.missing_process_id}, whose entry was deleted"
        )
        yield self.finding(
            record,
            artifact,
            f"Network usage is recorded for {whose}; spyware has been seen erasing its own entries this way.",
        )
