"""The battery daily stats recorded an app uninstalled, or downgraded to an older version."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android._dumpsys import BatteryDailyUpdate
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity


class AndroidBatteryDailyChange(Rule):
    name = "android_battery_daily_change"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (BatteryDailyUpdate,)
    reason = (
        "Android's battery statistics keep a few days of package changes even after an app is gone: an app "
        "removed shortly before the check may be spyware cleaning up, and a downgrade to an older version "
        "can bring back a flaw an exploit needs."
    )
    reference = "MVT (mvt-project) dumpsys battery daily artifact"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, BatteryDailyUpdate)
        day = f" on the day starting {record.period_start:%Y-%m-%d %H:%M}" if record.period_start else ""
        if record.action == "uninstall":
            text = f"The app {record.package} was uninstalled{day}."
        elif record.action == "downgrade":
            text = (f"The app {record.package} was downgraded from version {record.previous_version_code} "
                    f"to {record.version_code}{day}.")
        else:
            return
        yield self.finding(record, artifact, text, observable=Observable(Kind.APP_ID, record.package))
