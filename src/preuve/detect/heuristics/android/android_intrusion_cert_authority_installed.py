"""A root certificate was installed into the phone's trusted storage (intrusion logs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.intrusion_logs import IntrusionSecurityEvent
from preuve.detect.heuristics.android._intrusion import MVT_REFERENCE
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class AndroidIntrusionCertAuthorityInstalled(Rule):
    name = "android_intrusion_cert_authority_installed"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (IntrusionSecurityEvent,)
    reason = (
        "A root certificate added to the trusted store lets whoever holds its key read and alter the phone's "
        "encrypted traffic. A failed attempt is not reported (as in MVT)."
    )
    reference = MVT_REFERENCE

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, IntrusionSecurityEvent)
        # A missing success value counts as installed, as in MVT; false (or 0) is a failed attempt.
        if record.tag == "cert_authority_installed" and record.success is not False:
            yield self.finding(
                record, artifact,
                f"A certificate authority ({record.subject or 'subject not given'}) was installed as trusted: "
                "check the owner or their employer installed it.",
            )
