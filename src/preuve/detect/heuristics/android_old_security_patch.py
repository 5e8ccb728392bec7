"""The security patch level is more than six months older than the acquisition."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.getprop import SecurityPatch
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity

MAX_DAYS = 183


class AndroidOldSecurityPatch(Rule):
    name = "android_old_security_patch"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (SecurityPatch,)
    reason = (
        "Spyware vendors exploit flaws fixed in monthly security patches; a phone months behind is open to "
        "exploits that are public."
    )
    reference = "Android Security Bulletins; MVT (mvt-project) getprop module"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, SecurityPatch)
        if record.age_days > MAX_DAYS:
            yield self.finding(
                record, artifact,
                f"The security patch level is {record.patch.date()}, {record.age_days} days before the "
                f"acquisition ({record.acquired.date()}): the phone misses months of security fixes.",
            )
