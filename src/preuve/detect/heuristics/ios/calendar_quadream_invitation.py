"""QuaDream KingSpawn (ENDOFDAYS): invisible, backdated iCloud calendar invitations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.ios.calendar import CalendarEvent
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class CalendarQuadreamInvitation(Rule):
    name = "calendar_quadream_invitation"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (CalendarEvent,)
    reason = (
        "QuaDream's zero-click exploit was delivered as iCloud calendar invitations from the operator's account, "
        "for events already in the past so the victim was never shown them."
    )
    reference = (
        "Citizen Lab, 'Sweet QuaDreams' (2023-04-11); Microsoft Threat Intelligence, 'DEV-0196: QuaDream's "
        "KingsPawn malware used to target civil society in Europe, North America, the Middle East, and Southeast "
        "Asia' (2023-04-11); MVT's calendar check (an invitation titled 'Meeting' with the notes 'Notes')"
    )

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, CalendarEvent)
        signature = (record.summary_text or "").strip() == "Meeting" and (record.description or "").strip() == "Notes"
        if signature:
            # Whoever the organiser is recorded as (MVT checks every event): the title and notes are the trace.
            sender = f"A calendar invitation from {record.organizer}" if record.is_invitation else "A calendar event"
            yield self.finding(
                record, artifact,
                f"{sender} is titled 'Meeting' with the notes 'Notes', the form of the invitations QuaDream's "
                "ENDOFDAYS exploit sent. Keep the phone's data and seek expert help.",
                severity=Severity.HIGH,
            )
            return
        if not record.is_invitation:
            return
        nameless = not (record.organizer_name or "").strip()
        if record.backdated and nameless:
            yield self.finding(
                record, artifact,
                f"A calendar invitation from {record.organizer}, an account with no display name, was received after "
                "the event had already ended, so the phone never showed it: QuaDream's exploit used such hidden "
                "invitations. It can also be a harmless late invitation; check who the sender is.",
            )
