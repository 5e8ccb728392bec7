"""A security setting was once set off its safe value: by an app itself, over adb, or for a while."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.settings import AndroidSettingChange
from preuve.detect.heuristics.android.android_dangerous_setting import SAFE
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity

SHELL = "com.android.shell"
# What writes these settings when the owner changes them on the phone: the system itself, the Settings app
# and its quick settings, and Google Play (services) for Play Protect's own switches.
PLATFORM = frozenset({
    "android", "com.android.settings", "com.android.systemui", "com.android.providers.settings",
    "com.google.android.gms", "com.android.vending",
})


class AndroidSettingChanged(Rule):
    name = "android_setting_changed"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (AndroidSettingChange,)
    reason = (
        "dumpsys keeps who last changed each setting. Play Protect, its adb checks, error reports or "
        "accessibility turned to their unsafe value by an app itself (which needs a permission granted over "
        "adb) or by a command over adb (com.android.shell) is how stalkerware installers prepare a phone; "
        "turned off through the Settings app and later back on, the setting no longer shows it, its history "
        "does (reported low: the owner may have done it)."
    )
    reference = "MVT (mvt-project) settings artifact (ANDROID_DANGEROUS_SETTINGS, settings change timeline)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, AndroidSettingChange)
        safe = SAFE.get(record.key)
        if safe is None or record.new_value in (safe[0], "null", ""):
            return
        when = f" on {record.when:%Y-%m-%d %H:%M:%S} (device time)" if record.when else f" at {record.time_text}"
        user = f" of user {record.user}" if record.user is not None else ""
        what = (f"The {record.namespace} setting {record.key}{user} was changed from '{record.old_value}' to "
                f"'{record.new_value}'{when}")
        if record.package == SHELL:
            yield self.finding(record, artifact, f"{what} by a command over adb ({SHELL}): {safe[1]}.")
        elif record.package not in PLATFORM:
            yield self.finding(
                record, artifact,
                f"{what} by the app {record.package} itself, not through the Settings app: {safe[1]}.",
            )
        elif record.current_value == safe[0]:
            yield self.finding(
                record, artifact,
                f"{what} through {record.package}, and is '{safe[0]}' again now: {safe[1]} for a while.",
                severity=Severity.LOW,
            )
