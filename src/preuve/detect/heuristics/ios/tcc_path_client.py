"""A program named by its path, not an installed app, holding a sensitive privacy permission."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.ios.tcc import TccAccess
from preuve.detect.ios_paths import on_writable_volume
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity

SENSITIVE = frozenset({
    "kTCCServiceMicrophone", "kTCCServiceCamera", "kTCCServiceAddressBook", "kTCCServiceContactsFull",
    "kTCCServicePhotos", "kTCCServiceCalendar", "kTCCServiceCallHistory", "kTCCServiceScreenCapture",
    "kTCCServiceListenEvent", "kTCCServiceAccessibility", "kTCCServiceSystemPolicyAllFiles",
})


class TccPathClient(Rule):
    name = "tcc_path_client"
    severity = Severity.LOW
    record_types: ClassVar[tuple[type[Record], ...]] = (TccAccess,)
    reason = (
        "On an iPhone the privacy prompts are answered for installed apps, named by bundle id. A bare program "
        "named by its file path holding the microphone, camera or contacts did not get there through a prompt; "
        "implants running outside any app would appear this way. Some system programs do too: review it. It is "
        "rated higher when the program runs from the writable data volume rather than the system."
    )
    reference = "Apple Platform Security, 'Protecting access to user data' (TCC); Amnesty MVT tcc module"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, TccAccess)
        if not record.is_path or record.allowed is not True or record.service not in SENSITIVE:
            return
        if on_writable_volume(record.client):
            yield self.finding(
                record,
                artifact,
                f"The program {record.client} was allowed to use the {record.service_name}; it is not an installed "
                "app and runs from the phone's writable storage, where spyware has run from.",
                observable=Observable(Kind.FILE_PATH, record.client),
                severity=Severity.MEDIUM,
            )
            return
        yield self.finding(
            record,
            artifact,
            f"The program {record.client} (not an installed app) was allowed to use the {record.service_name}; "
            "listed for review, since spyware running outside any app would show up like this.",
            observable=Observable(Kind.FILE_PATH, record.client),
        )
