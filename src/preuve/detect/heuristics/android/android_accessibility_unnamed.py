"""The accessibility dump counts installed services it does not name (LOW)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android._dumpsys import AccessibilityServicesUnnamed
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class AndroidAccessibilityUnnamed(Rule):
    name = "android_accessibility_unnamed"
    severity = Severity.LOW
    record_types: ClassVar[tuple[type[Record], ...]] = (AccessibilityServicesUnnamed,)
    reason = (
        "Most Android builds print only how many accessibility services are installed, not which. An installed "
        "service is one switch away from reading the screen and typing, and the ones the dump does not name "
        "cannot be checked from it: this says so rather than leaving a silent gap."
    )
    reference = "AOSP AccessibilityUserState.dump (installedServiceCount); MVT (mvt-project) dumpsys_accessibility"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, AccessibilityServicesUnnamed)
        whose = "" if record.user is None else f" for Android user {record.user}"
        if record.named == 0:
            named = "names none of them"
        else:
            named = f"names only {record.named} ({record.stated - record.named} unnamed)"
        yield self.finding(
            record, artifact,
            f"The accessibility dump states {record.stated} installed accessibility service(s){whose} but {named}: "
            "the unnamed ones cannot be checked from this dump. The owner can list them under Settings > "
            "Accessibility.",
        )
