"""Apple's threat notification, received as a message."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.ios.sms import SmsMessage
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity

# Phrases of the notifications Apple has sent since November 2021 (state-sponsored)
# and since April 2024 (mercenary spyware), compared in lower case.
PHRASES = (
    "targeted by state-sponsored attackers",
    "mercenary spyware attack",
    "targeted mercenary spyware",
    "apple threat notification",
)


class AppleThreatNotification(Rule):
    name = "apple_threat_notification"
    severity = Severity.HIGH
    record_types: ClassVar[tuple[type[Record], ...]] = (SmsMessage,)
    reason = "Apple tells the owner of an Apple ID when it detects a targeted spyware attack against it."
    reference = "Apple, 'About Apple threat notifications' (support.apple.com/102174)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, SmsMessage)
        if record.is_from_me or not record.text:  # before lower-casing: half the messages are sent ones
            return
        text = record.text.lower()
        for phrase in PHRASES:
            if phrase in text:
                yield self.finding(
                    record,
                    artifact,
                    f"A message from {record.handle or 'an unknown sender'} reads like Apple's threat notification "
                    f"(\"{phrase}\"): Apple warns people it believes were targeted by mercenary spyware. "
                    "Confirm it at appleid.apple.com, since such a message can also be imitated.",
                )
                return
