"""Process ids missing from the usage database."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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

    # The gaps of one database are one finding, listing every range (a database can hold dozens).
    grouped = True

    def group_explanation(self, key: str, findings: Sequence[Finding]) -> str:
        ranges = [f.explanation.split("(ids ", 1)[1].split(")", 1)[0] for f in findings if "(ids " in f.explanation]
        shown = ", ".join(ranges[:12]) + (f" and {len(ranges) - 12} more" if len(ranges) > 12 else "")
        return (
            f"{len(findings)} gaps in the process ids of this network usage database (ids {shown}): process "
            "records were deleted; worth a look if other signs are present."
        )

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, ProcessIdGap)
        count = record.last_missing - record.first_missing + 1
        yield self.finding(
            record,
            artifact,
            f"{count} process record(s) (ids {record.first_missing}-{record.last_missing}) were deleted from the "
            "network usage database; worth a look if other signs are present.",
            group=record.locator.device_path,
        )
