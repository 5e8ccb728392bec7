"""An X.509 certificate failed validation (intrusion logs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.intrusion_logs import IntrusionSecurityEvent
from preuve.detect.heuristics.android._intrusion import MVT_REFERENCE
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class AndroidIntrusionCertValidationFailure(Rule):
    name = "android_intrusion_cert_validation_failure"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (IntrusionSecurityEvent,)
    reason = (
        "Android logs a certificate validation failure when a certificate chain it checks (an update, a "
        "connection of the system) does not validate: a sign of interception, or of a broken server."
    )
    reference = MVT_REFERENCE

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, IntrusionSecurityEvent)
        if record.tag == "cert_validation_failure":
            yield self.finding(
                record, artifact, f"A certificate failed validation ({record.subject or 'no reason given'}).",
            )
