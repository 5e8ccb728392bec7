"""An app is allowed to install other apps (app-op REQUEST_INSTALL_PACKAGES set to allow).

MEDIUM, as MVT rates it; app stores and the system's package installers, which install apps by
design, are left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android._dumpsys import AppOp
from preuve.detect.heuristics._android_lists import BROWSERS, KNOWN_STORES, PACKAGE_INSTALLERS
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity


class AndroidInstallPackages(Rule):
    name = "android_install_packages"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (AppOp,)
    reason = (
        "An app allowed to install apps can drop further payloads; droppers and some stalkerware "
        "'installers' hold this permission."
    )
    reference = "Android REQUEST_INSTALL_PACKAGES; MVT (mvt-project) dumpsys appops module"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, AppOp)
        if record.op != "REQUEST_INSTALL_PACKAGES" or record.mode != "allow":
            return
        if record.package in KNOWN_STORES or record.package in PACKAGE_INSTALLERS:
            return
        where = " (a browser)" if record.package in BROWSERS else ""
        yield self.finding(
            record, artifact,
            f"The app {record.package}{where} is allowed to install other apps.",
            observable=Observable(Kind.APP_ID, record.package),
        )
