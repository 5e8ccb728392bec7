"""A system partition is mounted read-write."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.mounts import Mount
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity

SYSTEM_POINTS = ("/", "/system", "/system_root", "/vendor", "/product", "/system_ext", "/odm")


class AndroidSystemReadWrite(Rule):
    name = "android_system_rw"
    severity = Severity.HIGH
    record_types: ClassVar[tuple[type[Record], ...]] = (Mount,)
    reason = (
        "Android mounts its system partitions read-only; one mounted read-write means the phone is rooted "
        "and system files may have been replaced."
    )
    reference = "MVT (mvt-project) mounts artifact"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, Mount)
        if record.mount_point in SYSTEM_POINTS and record.read_write and record.fs_type not in ("rootfs", "tmpfs"):
            yield self.finding(
                record, artifact,
                f"The system partition {record.mount_point} is mounted read-write ({record.device}): "
                "the phone is rooted or modified.",
            )
