"""A key could not be generated (intrusion logs), except the failure Android itself produces."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.intrusion_logs import IntrusionSecurityEvent
from preuve.detect.heuristics.android._intrusion import MVT_REFERENCE
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity

# (key id, uid) of failures the platform produces itself: the telephony SIM PIN storage (uid 1001) fails
# to make its cross-reboot key on phones without unattended reboot (MVT's list of benign failures).
BENIGN = frozenset({("PinStorage_crossReboot_key", 1001)})


class AndroidIntrusionKeyGenerationFailed(Rule):
    name = "android_intrusion_key_generation_failed"
    severity = Severity.INFO
    record_types: ClassVar[tuple[type[Record], ...]] = (IntrusionSecurityEvent,)
    reason = (
        "A failed key generation is usually harmless but can come with tampering of the keystore; MVT warns "
        "about it (without an alert), except for the platform's own known failures."
    )
    reference = MVT_REFERENCE

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, IntrusionSecurityEvent)
        if record.tag != "key_generated" or record.success is not False:
            return
        if (record.key_id, record.uid) in BENIGN:
            return
        yield self.finding(
            record, artifact,
            f"Key {record.key_id or '(not named)'} could not be generated"
            + (f" (uid {record.uid})" if record.uid is not None else "") + ".",
        )
