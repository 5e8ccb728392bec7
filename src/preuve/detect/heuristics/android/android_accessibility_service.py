"""An accessibility service is enabled (MEDIUM), or installed and switched off (LOW)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android._dumpsys import AccessibilityService, AccessibilityServiceInstalled
from preuve.artifacts.android.settings import AndroidSetting
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity


class AndroidAccessibilityService(Rule):
    name = "android_accessibility_service"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (AccessibilityService, AccessibilityServiceInstalled, AndroidSetting)
    reason = (
        "An accessibility service sees everything on screen and every key typed; stalkerware uses one to "
        "read messaging apps. Screen readers and some launchers use it legitimately."
    )
    reference = "Google, Accessibility API policy; Echap stalkerware analyses"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        if isinstance(record, AccessibilityService):
            yield self.finding(
                record, artifact,
                f"The accessibility service {record.component} is enabled: it can read the screen and typing. "
                "Check that the owner knows this app.",
                observable=Observable(Kind.APP_ID, record.package),
            )
        elif isinstance(record, AccessibilityServiceInstalled):
            if record.enabled_stated:
                yield self.finding(
                    record, artifact,
                    f"The accessibility service {record.component} is installed but not enabled: switched on, it "
                    "could read the screen and typing. Check that the owner knows this app.",
                    severity=Severity.LOW,
                    observable=Observable(Kind.APP_ID, record.package),
                )
            else:
                yield self.finding(
                    record, artifact,
                    f"The accessibility service {record.component} is installed and the dump does not say whether "
                    "it is enabled: it may be reading the screen and typing. Check that the owner knows this app.",
                    observable=Observable(Kind.APP_ID, record.package),
                )
        elif isinstance(record, AndroidSetting) and record.key == "enabled_accessibility_services":
            for component in (c.strip() for c in record.value.split(":")):
                if "/" in component:
                    yield self.finding(
                        record, artifact,
                        f"The accessibility service {component} is enabled in settings: it can read the screen "
                        "and typing. Check that the owner knows this app.",
                        observable=Observable(Kind.APP_ID, component.split("/", 1)[0]),
                    )
