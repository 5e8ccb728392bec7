"""The keystore reported a key whose integrity was violated (intrusion logs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.intrusion_logs import IntrusionSecurityEvent
from preuve.detect.heuristics.android._intrusion import MVT_REFERENCE
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class AndroidIntrusionKeyIntegrityViolation(Rule):
    name = "android_intrusion_key_integrity_violation"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (IntrusionSecurityEvent,)
    reason = "Android logs a key integrity violation when a stored key was corrupted or tampered with."
    reference = MVT_REFERENCE

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, IntrusionSecurityEvent)
        if record.tag == "key_integrity_violation":
            yield self.finding(
                record, artifact,
                f"The keystore reported an integrity violation of key {record.key_id or '(not named)'}"
                + (f" (uid {record.uid})" if record.uid is not None else "") + ".",
            )
