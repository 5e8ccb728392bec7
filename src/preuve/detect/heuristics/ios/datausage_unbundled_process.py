"""A process with network use and no app bundle behind it; worse when its program is nowhere in a dump."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import ClassVar

from preuve.artifacts.ios.datausage import NetworkProcess, program_name
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity


class DataUsageUnbundledProcess(Rule):
    name = "datausage_unbundled_process"
    severity = Severity.INFO
    record_types: ClassVar[tuple[type[Record], ...]] = (NetworkProcess,)
    reason = (
        "Implants run as bare processes with names chosen to look like iOS daemons; a process without a "
        "bundle is where they appear. Many legitimate daemons look the same, so this is for review only, unless "
        "the acquisition holds the whole file system and no file bears the process's name: a program that ran "
        "and is gone (MVT rates that medium)."
    )
    reference = (
        "Amnesty International, Forensic Methodology Report: How to catch NSO Group's Pegasus (2021); "
        "Amnesty MVT DataUsage/NetUsage modules (binary not found in a file-system dump)"
    )

    # Two lists, each one finding: programs that ran and are gone from a dump (medium), and the review
    # list of every other unbundled process (info).
    grouped = True
    GONE = "gone"
    REVIEW = "review"

    def group_explanation(self, key: str, findings: Sequence[Finding]) -> str:
        names = sorted({f.observable.value for f in findings if f.observable is not None})
        shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
        if key == self.GONE:
            return (
                f"{len(findings)} processes used the network, belong to no app, and no file of their name is in "
                f"this file-system dump ({shown}): programs that ran and have since disappeared."
            )
        return (
            f"{len(findings)} processes used the network and belong to no app ({shown}); listed for review, "
            "most such processes are ordinary parts of iOS."
        )

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, NetworkProcess)
        name = record.process_name
        if record.bundle_id:
            return
        if record.binary_found is False:
            program = program_name(name)
            if not program:
                text = "A process with no name and no app bundle used the network; no program can be named for it."
            else:
                cut = " (its name may be cut short by the kernel)" if len(program) in (15, 16) else ""
                text = (
                    f"The process '{program}' used the network and belongs to no app, and no file of that name is "
                    f"in this file-system dump{cut}: a program that ran and has since disappeared."
                )
            yield self.finding(
                record, artifact, text,
                observable=Observable(Kind.PROCESS, program) if program else None,
                severity=Severity.MEDIUM, group=self.GONE,
            )
            return
        if not name:
            return
        # XPC services (com.apple.…) and 'program/bundle' names are listed too: the list is one finding
        # however long, and MVT raises each such process.
        yield self.finding(
            record,
            artifact,
            f"The process '{name}' used the network and belongs to no app; listed for review, "
            "most such processes are ordinary parts of iOS.",
            observable=Observable(Kind.PROCESS, name), group=self.REVIEW,
        )
