"""A system partition is mounted with options Android does not use for it (remount, noatime, nodiratime)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.mounts import Mount
from preuve.detect.heuristics.android._android_lists import NOATIME_ALLOWED, is_system_partition
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity

SUSPICIOUS = ("remount", "noatime", "nodiratime")


class AndroidMountOptions(Rule):
    name = "android_mount_options"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (Mount,)
    reason = (
        "Rooting tools remount system partitions, and their mount options then differ from the ones Android "
        "sets. Partitions that Android itself mounts with noatime (/system_ext, /product, /vendor and the "
        "dlkm partitions) are not flagged for it. 'rw' is reported by android_system_rw, at high."
    )
    reference = "MVT (mvt-project) mounts artifact (SUSPICIOUS_OPTIONS, ALLOWLIST_NOATIME)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, Mount)
        point = record.mount_point
        if not is_system_partition(point):
            return
        found = [option for option in record.options if option in SUSPICIOUS]
        if not found or ("noatime" in record.options and point in NOATIME_ALLOWED):
            return
        yield self.finding(
            record, artifact,
            f"The system partition {point} is mounted with {', '.join(found)} ({','.join(record.options)}).",
        )
