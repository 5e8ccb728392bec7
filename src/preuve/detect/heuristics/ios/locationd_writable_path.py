"""A program on the writable data volume that used location services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.ios.locationd_clients import LocationClientRecord
from preuve.detect.ios_paths import on_writable_volume
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity


class LocationdWritablePath(Rule):
    name = "locationd_writable_path"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (LocationClientRecord,)
    reason = (
        "iOS programs run from the read-only system volume and apps from their installed bundles; a location "
        "client running from elsewhere on the data volume was placed there later, as Pegasus's processes were."
    )
    reference = "Amnesty International, Forensic Methodology Report: How to catch NSO Group's Pegasus (2021)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, LocationClientRecord)
        for path in (record.client_path, record.executable):
            if path and on_writable_volume(path):
                yield self.finding(
                    record,
                    artifact,
                    f"The program {path} used location services and runs from the phone's writable storage, "
                    "not from the system or an installed app; spyware has run from such places.",
                    observable=Observable(Kind.FILE_PATH, path),
                )
                return
