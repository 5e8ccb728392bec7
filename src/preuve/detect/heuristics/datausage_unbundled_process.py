"""A process with network use and no app bundle behind it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import ClassVar

from preuve.artifacts.ios.datausage import NetworkProcess
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity


class DataUsageUnbundledProcess(Rule):
    name = "datausage_unbundled_process"
    severity = Severity.INFO
    record_types: ClassVar[tuple[type[Record], ...]] = (NetworkProcess,)
    reason = (
        "Implants run as bare processes with names chosen to look like iOS daemons; a process without a "
        "bundle is where they appear. Many legitimate daemons look the same, so this is for review only."
    )
    reference = "Amnesty International, Forensic Methodology Report: How to catch NSO Group's Pegasus (2021)"

    grouped = True  # a review list: one finding listing every such process

    def group_explanation(self, key: str, findings: Sequence[Finding]) -> str:
        names = sorted({f.observable.value for f in findings if f.observable is not None})
        shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
        return (
            f"{len(findings)} processes used the network and belong to no app ({shown}); listed for review, "
            "most such processes are ordinary parts of iOS."
        )

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, NetworkProcess)
        name = record.process_name
        if not name or record.bundle_id or "." in name or "/" in name:
            return
        yield self.finding(
            record,
            artifact,
            f"The process '{name}' used the network and belongs to no app; listed for review, "
            "most such processes are ordinary parts of iOS.",
            observable=Observable(Kind.PROCESS, name),
        )
