"""An app is an active device administrator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android._dumpsys import DeviceAdmin
from preuve.detect.heuristics.android._android_lists import is_platform_package
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity


class AndroidDeviceAdmin(Rule):
    name = "android_device_admin"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (DeviceAdmin,)
    reason = (
        "A device administrator can lock or wipe the phone and resists being uninstalled; stalkerware asks "
        "for it to stay on the phone. A preinstalled (system) administrator, usually Find My Device or the "
        "maker's security, is listed for information; when the acquisition has no package list, an app named "
        "like the system's is taken for one (a name can be imitated)."
    )
    reference = "Android DevicePolicyManager documentation; Echap stalkerware analyses"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, DeviceAdmin)
        named = is_platform_package(record.package)
        system = record.system is True or (record.system is None and named)
        if system:
            text = " (a system component, usually Find My Device or the maker's security)."
        elif named:
            text = (": its name looks like a system app's, but it is not a system app, and it resists removal. "
                    "Check that the owner knows this app.")
        else:
            text = ": it resists removal. Check that the owner knows this app."
        yield self.finding(
            record, artifact,
            f"{record.component} is a device administrator{text}",
            observable=Observable(Kind.APP_ID, record.package),
            severity=Severity.INFO if system else None,
        )
