"""The cryptographic self test failed (intrusion logs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.intrusion_logs import IntrusionSecurityEvent
from preuve.detect.heuristics.android._intrusion import MVT_REFERENCE
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class AndroidIntrusionCryptoSelfTestFailed(Rule):
    name = "android_intrusion_crypto_self_test_failed"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (IntrusionSecurityEvent,)
    reason = "Android tests its cryptographic module at start; a failure means it cannot be trusted as shipped."
    reference = MVT_REFERENCE

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, IntrusionSecurityEvent)
        # success is read from {"success": …} (true unless false) or from a bare 1/0 (MVT reads it so too).
        if record.tag == "crypto_self_test_completed" and record.success is False:
            yield self.finding(record, artifact, "The cryptographic self test failed.")
