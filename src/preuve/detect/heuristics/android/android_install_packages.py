"""An app holds the app-op REQUEST_INSTALL_PACKAGES: allowed to install other apps, or asking to.

Allowed: MEDIUM, as MVT rates it. In another mode (default, ignore…) the app asked for the
permission but cannot install while it is not allowed: one INFO finding lists them all for review
(MVT rates every entry medium). App stores and the system's package installers, which install apps
by design, are left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import ClassVar

from preuve.artifacts.android._dumpsys import AppOp
from preuve.detect.heuristics.android._android_lists import BROWSERS, KNOWN_STORES, PACKAGE_INSTALLERS
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

    grouped = True  # the apps that asked but are not allowed: one review list

    def group_explanation(self, key: str, findings: Sequence[Finding]) -> str:
        names = sorted({f.observable.value for f in findings if f.observable is not None})
        shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
        return (f"{len(findings)} apps asked to install other apps but are not allowed to ({shown}); "
                "listed for review.")

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, AppOp)
        if record.op != "REQUEST_INSTALL_PACKAGES":
            return
        if record.package in KNOWN_STORES or record.package in PACKAGE_INSTALLERS:
            return
        where = " (a browser)" if record.package in BROWSERS else ""
        if record.mode == "allow":
            yield self.finding(
                record, artifact,
                f"The app {record.package}{where} is allowed to install other apps.",
                observable=Observable(Kind.APP_ID, record.package), group=None,
            )
            return
        yield self.finding(
            record, artifact,
            f"The app {record.package}{where} asked to install other apps (mode {record.mode or 'unknown'}): it "
            "cannot while the mode is not allow; listed for review.",
            observable=Observable(Kind.APP_ID, record.package), severity=Severity.INFO, group="asked",
        )
