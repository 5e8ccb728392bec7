"""Process ids missing from the usage database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.ios.datausage import ProcessIdGap
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class DataUsageProcessGap(Rule):
    name = "datausage_process_gap"
    severity = Severity.LOW
    record_types: ClassVar[tuple[type[Record], ...]] = (ProcessIdGap,)
    reason = "Rows deleted from the process table leave gaps in its ids; iOS rarely deletes them itself."
    reference = "Amnesty International, Forensic Methodology Report: How to catch NSO Group's Pegasus (2021)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, ProcessIdGap)
        count = record.last_missing - record.first_missing + 1
        yield self.finding(
            record,
            artifact,
            f"{count} process record(s) (ids {record.first_missing}-{record.last_missing}) were deleted from the "
            "network usage database; worth a look if other signs are present.",
        )
