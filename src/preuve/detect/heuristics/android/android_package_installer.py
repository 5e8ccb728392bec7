"""An app installed from an APK file, a browser download, adb, an open-source store or an unknown installer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.packages import AndroidPackage
from preuve.detect.heuristics.android._android_lists import (
    BROWSERS,
    KNOWN_STORES,
    PACKAGE_INSTALLERS,
    THIRD_PARTY_STORES,
)
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity


class AndroidPackageInstaller(Rule):
    name = "android_package_installer"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (AndroidPackage,)
    reason = (
        "Stalkerware is not in app stores: whoever installs it downloads the APK with a browser, opens it with "
        "the package installer or pushes it over adb, so an app that no store installed deserves a look. This "
        "holds for a preinstalled app too: its update from an APK file replaced the maker's code (with code "
        "signed by the same key, which Android checks). Apps from "
        "F-Droid or Aurora are listed for information (open-source stores). An app with no installer is not "
        "flagged when it is a system app (preinstalled apps have none), nor when the acquisition could not "
        "ask the phone for installers. An installer that is no known store is low: phone makers and carriers "
        "install apps with their own agents."
    )
    reference = "MVT (mvt-project) androidqf packages module (BROWSER_INSTALLERS, THIRD_PARTY_STORE_INSTALLERS); Echap, stalkerware-indicators"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, AndroidPackage)
        if not record.installer_recorded:
            return
        installer = record.installer
        app = Observable(Kind.APP_ID, record.name)
        preinstalled = record.system is True
        what = f"The preinstalled (system) app {record.name}" if preinstalled else f"The app {record.name}"
        if installer is None:
            if preinstalled:
                return
            where = ""
            if record.system is False and record.third_party is False:
                where = (" It is in neither the system nor the third-party list of the phone's main user: its data "
                         "was kept after an uninstall, or it is installed for another user or a work profile.")
            yield self.finding(
                record, artifact,
                f"{what} has no installer recorded and is not a system app: it was installed over adb (a "
                f"computer connected to the phone) or by another hidden method.{where}",
                observable=app,
            )
        elif installer in THIRD_PARTY_STORES:
            yield self.finding(
                record, artifact,
                f"{what} was installed from the open-source store {installer} (F-Droid or Aurora), not Google Play.",
                observable=app, severity=Severity.INFO,
            )
        elif installer in PACKAGE_INSTALLERS:
            how = "was updated from" if preinstalled else "was installed from"
            same_key = (" Android accepts such an update only when it is signed with the key of the "
                        "preinstalled app." if preinstalled else "")
            yield self.finding(
                record, artifact,
                f"{what} {how} an APK file opened on the phone ({installer}), not from an app store.{same_key}",
                observable=app,
            )
        elif installer in BROWSERS:
            yield self.finding(
                record, artifact,
                f"{what} was installed from a file downloaded with the browser {installer}.",
                observable=app,
            )
        elif installer not in KNOWN_STORES and not preinstalled:
            yield self.finding(
                record, artifact,
                f"{what} was installed by {installer}, which is not a known app store.",
                observable=app, severity=Severity.LOW,
            )
