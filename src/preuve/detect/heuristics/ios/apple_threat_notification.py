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
    "state-sponsored attackers may be targeting",  # "ALERT: State-sponsored attackers may be targeting your iPhone"
    "mercenary spyware attack",
    "targeted mercenary spyware",
    "apple threat notification",
)

# How the notifications themselves begin (MVT's check: a message starting with either).
NOTIFICATION_OPENINGS = (
    "ALERT: State-sponsored attackers may be targeting your iPhone",
    "ALERT: Apple detected a targeted mercenary spyware attack against your iPhone",
)


class AppleThreatNotification(Rule):
    name = "apple_threat_notification"
    severity = Severity.HIGH
    record_types: ClassVar[tuple[type[Record], ...]] = (SmsMessage,)
    reason = "Apple tells the owner of an Apple ID when it detects a targeted spyware attack against it."
    reference = "Apple, 'About Apple threat notifications' (support.apple.com/102174)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, SmsMessage)
        if not record.text:
            return
        if record.is_from_me:
            # A sent message counts only when it is the notification's own text (forwarded to a helpline or a
            # friend), as MVT checks every message for it; talk about spyware in sent messages is not one.
            if record.text.startswith(NOTIFICATION_OPENINGS):
                yield self.finding(
                    record,
                    artifact,
                    "A message sent from this phone repeats Apple's threat notification word for word: the owner "
                    "forwarded one they received. Apple warns people it believes were targeted by mercenary "
                    "spyware; confirm it at appleid.apple.com.",
                )
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
