"""A privileged process crashed (a tombstone)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.tombstones import Tombstone
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity

_FIRST_APP_UID = 10000


class AndroidTombstonePrivileged(Rule):
    name = "android_tombstone_privileged"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (Tombstone,)
    reason = (
        "Exploits against media, messaging and system services often crash them while they try; crashes "
        "of privileged processes around a suspected attack are worth examining. MVT reports root (0), system "
        "(1000) and shell (2000); preuve reports every uid below the first app uid (10000), which adds the "
        "media, camera and audio servers that exploits target, and a /system, /apex or /vendor binary whose "
        "uid the tombstone does not give."
    )
    reference = (
        "MVT (mvt-project) tombstone_crashes artifact; Google Project Zero and Amnesty Tech analyses of "
        "Android exploit chains"
    )

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, Tombstone)
        privileged = (record.uid is not None and record.uid < _FIRST_APP_UID) or (
            record.uid is None and (record.process or "").startswith(("/system/", "/apex/", "/vendor/"))
        )
        if privileged:
            yield self.finding(
                record, artifact,
                f"The privileged process {record.process or '?'} (uid {record.uid}) crashed "
                f"with {record.signal or 'an abort'}.",
            )
