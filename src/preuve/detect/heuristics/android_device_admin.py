"""An app is an active device administrator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android._dumpsys import DeviceAdmin
from preuve.detect.heuristics._android_lists import is_platform_package
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity


class AndroidDeviceAdmin(Rule):
    name = "android_device_admin"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (DeviceAdmin,)
    reason = (
        "A device administrator can lock or wipe the phone and resists being uninstalled; stalkerware asks "
        "for it to stay on the phone."
    )
    reference = "Android DevicePolicyManager documentation; Echap stalkerware analyses"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, DeviceAdmin)
        platform = is_platform_package(record.package)
        yield self.finding(
            record, artifact,
            f"{record.component} is a device administrator"
            + (" (a system component, usually Find My Device or the maker's security)." if platform
               else ": it resists removal. Check that the owner knows this app."),
            observable=Observable(Kind.APP_ID, record.package),
            severity=Severity.INFO if platform else None,
        )
