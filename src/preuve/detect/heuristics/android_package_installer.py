"""An app installed from a browser download, an APK file, adb, or an unknown installer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.packages import AndroidPackage
from preuve.detect.heuristics._android_lists import BROWSERS, KNOWN_STORES, PACKAGE_INSTALLERS
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity


class AndroidPackageInstaller(Rule):
    name = "android_package_installer"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (AndroidPackage,)
    reason = (
        "Stalkerware is not in app stores: whoever installs it downloads the APK with a browser or pushes it "
        "over adb, so an app that no store installed deserves a look."
    )
    reference = "Echap, stalkerware-indicators; MVT (mvt-project) androidqf packages module"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, AndroidPackage)
        if record.system:
            return
        installer = record.installer
        app = Observable(Kind.APP_ID, record.name)
        if installer is None and not record.installer_recorded:
            return
        if installer is None:
            yield self.finding(
                record, artifact,
                f"The app {record.name} has no installer recorded: it was installed over adb (a computer "
                "connected to the phone) or by another hidden method.",
                observable=app,
            )
        elif installer in BROWSERS:
            yield self.finding(
                record, artifact,
                f"The app {record.name} was installed from a file downloaded with the browser {installer}.",
                observable=app,
            )
        elif installer in PACKAGE_INSTALLERS:
            yield self.finding(
                record, artifact,
                f"The app {record.name} was installed from an APK file opened on the phone ({installer}), "
                "not from an app store.",
                observable=app, severity=Severity.LOW,
            )
        elif installer not in KNOWN_STORES:
            yield self.finding(
                record, artifact,
                f"The app {record.name} was installed by {installer}, which is not a known app store.",
                observable=app, severity=Severity.LOW,
            )
