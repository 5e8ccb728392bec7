"""A non-system app receives incoming SMS or sees calls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android._dumpsys import WATCHED_ACTIONS, BroadcastReceiver
from preuve.detect.heuristics.android._android_lists import is_platform_package
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity


class AndroidSmsReceiver(Rule):
    name = "android_sms_receiver"
    severity = Severity.LOW
    record_types: ClassVar[tuple[type[Record], ...]] = (BroadcastReceiver,)
    reason = (
        "Stalkerware registers for incoming SMS and call events to copy them; messaging and caller-id apps "
        "do so too, so this is for review. Preinstalled (system) apps are not reported: the phone's own "
        "messaging and telephony apps receive these. When the acquisition has no package list, an app named "
        "like the system's or the maker's is taken for one (a name can be imitated). MVT logs these "
        "receivers without an alert."
    )
    reference = "MVT (mvt-project) dumpsys receivers artifact"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, BroadcastReceiver)
        if record.system is True or (record.system is None and is_platform_package(record.package)):
            return
        what = WATCHED_ACTIONS.get(record.action, record.action)
        named = (" Its name looks like a system app's, but it is not a system app."
                 if is_platform_package(record.package) else "")
        yield self.finding(
            record, artifact,
            f"The app {record.package} is registered to {what} ({record.component}).{named}",
            observable=Observable(Kind.APP_ID, record.package),
        )
