"""A non-system app receives incoming SMS or sees calls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android._dumpsys import WATCHED_ACTIONS, BroadcastReceiver
from preuve.detect.heuristics._android_lists import is_platform_package
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity


class AndroidSmsReceiver(Rule):
    name = "android_sms_receiver"
    severity = Severity.LOW
    record_types: ClassVar[tuple[type[Record], ...]] = (BroadcastReceiver,)
    reason = (
        "Stalkerware registers for incoming SMS and call events to copy them; messaging and caller-id apps "
        "do so too, so this is for review."
    )
    reference = "MVT (mvt-project) dumpsys receivers module"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, BroadcastReceiver)
        if is_platform_package(record.package):
            return
        what = WATCHED_ACTIONS.get(record.action, record.action)
        yield self.finding(
            record, artifact,
            f"The app {record.package} is registered to {what} ({record.component}).",
            observable=Observable(Kind.APP_ID, record.package),
        )
