"""The security patch level is more than six months older than the acquisition."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import ClassVar

from preuve.artifacts.android.getprop import SecurityPatch
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity

# MVT's threshold: more than six months of 31 days. preuve counts them up to the day of the acquisition
# (acquisition.json), not the day of the analysis, so an old acquisition reads the same later.
MAX_DAYS = 6 * 31


class AndroidOldSecurityPatch(Rule):
    name = "android_old_security_patch"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (SecurityPatch,)
    reason = (
        "Spyware vendors exploit flaws fixed in monthly security patches; a phone months behind is open to "
        "exploits that are public. Counted from the day of the acquisition, not of the analysis."
    )
    reference = "Android Security Bulletins; MVT (mvt-project) getprop module"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, SecurityPatch)
        if record.acquired - record.patch > timedelta(days=MAX_DAYS):
            # The date is the acquisition's own record (acquisition.json, the dumpstate's header) or,
            # lacking one, a file's time, which a copy may have changed: the message says which.
            source = (f", the {record.acquired_from}: nothing in the acquisition records when it was made"
                      if record.acquired_from.startswith("time of ") else "")
            yield self.finding(
                record, artifact,
                f"The security patch level is {record.patch.date()}, {record.age_days} days before the "
                f"acquisition ({record.acquired.date()}{source}): the phone misses months of security fixes.",
            )
