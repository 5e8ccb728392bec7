"""A process running from /private/var/db/ or /private/var/tmp/ at shutdown (iShutdown)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.ios.shutdown_log import ShutdownClient
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity

SUSPICIOUS_FOLDERS = ("/private/var/db/", "/private/var/tmp/")


class ShutdownClientInVarTmp(Rule):
    name = "shutdown_client_in_var_db_tmp"
    severity = Severity.HIGH
    record_types: ClassVar[tuple[type[Record], ...]] = (ShutdownClient,)
    reason = (
        "iOS runs its programs from the system volume and apps from their bundles; a program running from "
        "/private/var/db/ or /private/var/tmp/ is how Pegasus and Reign implants appeared in shutdown.log."
    )
    reference = "Kaspersky, iShutdown: lightweight detection of iOS spyware from shutdown.log (2024)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, ShutdownClient)
        path = record.program_path
        if not any(path.startswith(folder) for folder in SUSPICIOUS_FOLDERS):
            return
        yield self.finding(
            record,
            artifact,
            f"The program {path} was running from a data folder where iOS keeps no programs when the phone "
            "shut down; Pegasus and Reign implants were found this way.",
            observable=Observable(Kind.FILE_PATH, path),
        )
