"""An app installed by something other than the App Store or the device's management."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.ios.applications import InstalledApp
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity

# Installers that are Apple's store or the device's MDM (dmd installs managed apps).
STORE_INSTALLERS = frozenset({
    "com.apple.AppStore", "com.apple.AppStore.ProductPageExtension", "com.apple.dmd", "dmd",
})
TEST_INSTALLERS = frozenset({"com.apple.TestFlight"})


class AppUnusualInstaller(Rule):
    name = "app_unusual_installer"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (InstalledApp,)
    reason = (
        "Stalkerware and spyware apps are often installed from outside the App Store (alternative "
        "marketplaces, web distribution, enterprise or developer builds), where Apple's review does not apply. "
        "TestFlight betas skip the full review too, and scam and spy apps have been spread through TestFlight."
    )
    reference = (
        "Amnesty International, Mobile Verification Toolkit (iOS applications check: known installers); "
        "Sophos X-Ops, 'CryptoRom' apps distributed through TestFlight (2022)"
    )

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, InstalledApp)
        source = record.source_app
        if not source or source in STORE_INSTALLERS:
            return
        beta = source in TEST_INSTALLERS
        what = "the TestFlight beta service" if beta else f"'{source}', not the App Store"
        yield self.finding(
            record,
            artifact,
            f"The app {record.name or record.bundle_id} ({record.bundle_id}) was installed by {what}; "
            "check that the owner knows and wants it.",
            observable=Observable(Kind.APP_ID, record.bundle_id),
        )
