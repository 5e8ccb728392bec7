"""An app installed through a sideloading installer (intrusion logs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.intrusion_logs import IntrusionSideloadedInstall
from preuve.detect.heuristics.android._intrusion import INTRUSION_LOGGING
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class AndroidIntrusionSideloadedInstall(Rule):
    name = "android_intrusion_sideloaded_install"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (IntrusionSideloadedInstall,)
    reason = (
        "Stalkerware and most Android spyware are installed from an APK file (the package-installer screen, or "
        "adb install), not from an app store. The log does not name the installer: an install counts as "
        "sideloaded when the package installer started, or an APK was pushed or installed over ADB, in the "
        "10 minutes before it."
    )
    reference = INTRUSION_LOGGING

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, IntrusionSideloadedInstall)
        yield self.finding(
            record, artifact,
            f"{record.package_name or 'A package'} was installed at {record.installed.isoformat()}, "
            f"{int((record.installed - record.installer_time).total_seconds())} s after {record.installer}: "
            "check the owner installed it.",
        )
