"""A wipe of the phone or of a user failed (intrusion logs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.intrusion_logs import IntrusionSecurityEvent
from preuve.detect.heuristics.android._intrusion import MVT_REFERENCE
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class AndroidIntrusionWipeFailure(Rule):
    name = "android_intrusion_wipe_failure"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (IntrusionSecurityEvent,)
    reason = "A requested wipe that failed leaves data the owner (or an administrator) meant to erase."
    reference = MVT_REFERENCE

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, IntrusionSecurityEvent)
        if record.tag == "wipe_failure":
            yield self.finding(record, artifact, "A wipe of the device or of a user's data failed.")
