"""A configuration profile was installed or removed: each event, for the timeline and review."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.ios.profile_events import ProfileEvent
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity


class ProfileEventRecorded(Rule):
    name = "profile_event"
    severity = Severity.LOW
    record_types: ClassVar[tuple[type[Record], ...]] = (ProfileEvent,)
    reason = (
        "Profiles can install certificates, VPNs or device management; the install and removal events outlive "
        "the profile itself, so a profile installed to intercept traffic and later removed still shows here."
    )
    reference = "Amnesty International, Mobile Verification Toolkit (iOS profile_events module: every event)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, ProfileEvent)
        when = f" on {record.when.isoformat()}" if record.when is not None else ""
        by = f" by {record.process}" if record.process else ""
        yield self.finding(
            record,
            artifact,
            f"The configuration profile {record.profile_id} was {_done(record.operation)}{when}{by}; check that "
            "the owner or their employer knows of it.",
            observable=Observable(Kind.PROFILE_ID, record.profile_id),
        )


def _done(operation: str | None) -> str:
    words = {"install": "installed", "remove": "removed", "update": "updated"}
    if not operation:
        return "the subject of an event"
    return words.get(operation.lower(), f"the subject of '{operation}'")
