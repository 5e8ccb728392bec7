"""Whether Lockdown Mode was on: context for every other finding."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.ios.global_preferences import GlobalPreferences
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class LockdownModeState(Rule):
    name = "lockdown_mode"
    severity = Severity.INFO
    record_types: ClassVar[tuple[type[Record], ...]] = (GlobalPreferences,)
    reason = (
        "Lockdown Mode (iOS 16 and later) turns off the features mercenary spyware has used to get in, such as "
        "message attachments and link previews; knowing whether it was on tells how exposed the phone was."
    )
    reference = "Apple, 'About Lockdown Mode' (support.apple.com/105120); Citizen Lab, BLASTPASS (2023)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, GlobalPreferences)
        if record.lockdown_mode is True:
            text = "Lockdown Mode was on: iOS blocked the attack routes it covers (attachments, link previews, …)."
        elif record.lockdown_mode is False:
            # Turned on once and off since (MVT: low): the phone lost that protection.
            yield self.finding(
                record, artifact, "Lockdown Mode was off (the setting is recorded as turned off).", severity=Severity.LOW
            )
            return
        else:
            text = "Lockdown Mode was not on: the setting has never been recorded on this device."
        yield self.finding(record, artifact, text)
