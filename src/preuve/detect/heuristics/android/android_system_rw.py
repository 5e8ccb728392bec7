"""A system partition is mounted read-write."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.mounts import Mount
from preuve.detect.heuristics.android._android_lists import is_system_partition
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class AndroidSystemReadWrite(Rule):
    name = "android_system_rw"
    severity = Severity.HIGH
    record_types: ClassVar[tuple[type[Record], ...]] = (Mount,)
    reason = (
        "Android mounts its system partitions (/system, /vendor, /product, /system_ext, /odm and, on "
        "system-as-root phones, /) read-only; one mounted read-write means the phone is rooted and system "
        "files may have been replaced. A RAM filesystem on / (rootfs, tmpfs) of an old Android is not one."
    )
    reference = "MVT (mvt-project) mounts artifact (SUSPICIOUS_MOUNT_POINTS)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, Mount)
        if not record.read_write:
            return
        point = record.mount_point
        if point == "/":
            if record.fs_type in ("rootfs", "tmpfs"):
                return
        elif not is_system_partition(point):
            return
        what = "The /system partition" if point == "/system" else f"The system partition {point}"
        yield self.finding(
            record, artifact,
            f"{what} is mounted read-write ({record.device}, {record.fs_type}): the phone is rooted or its "
            "system was modified.",
        )
