"""A security or system-update package is disabled."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.packages import AndroidPackage
from preuve.detect.heuristics.android._android_lists import SECURITY_PACKAGES, SYSTEM_UPDATE_PACKAGES
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity


class AndroidSecurityPackageDisabled(Rule):
    name = "android_security_package_disabled"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (AndroidPackage,)
    reason = (
        "Disabling Google Play services, the Play Store or the update agents turns off Play Protect scans "
        "and security updates; spyware installers do it to stay undetected."
    )
    reference = "MVT (mvt-project), SECURITY_PACKAGES and SYSTEM_UPDATE_PACKAGES in mvt/android/utils.py"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, AndroidPackage)
        if not record.disabled:
            return
        if record.name in SECURITY_PACKAGES:
            what = "The security package"
        elif record.name in SYSTEM_UPDATE_PACKAGES:
            what = "The system update (OTA) package"
        else:
            return
        yield self.finding(
            record, artifact,
            f"{what} {record.name} is disabled on the phone.",
            observable=Observable(Kind.APP_ID, record.name),
        )
