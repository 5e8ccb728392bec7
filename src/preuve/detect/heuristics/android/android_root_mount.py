"""A filesystem mounted by a rooting tool (Magisk's internal folders, KernelSU's module mounts)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.mounts import Mount
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity

# Magisk keeps its binaries, module tree and partition mirrors under a ".magisk" folder (MAGISKTMP) and names
# its own tmpfs mounts "magisk"; KernelSU's module mounts have the source "KSU".
_ROOT_SOURCES = frozenset({"magisk", "KSU"})


class AndroidRootMount(Rule):
    name = "android_root_mount"
    severity = Severity.HIGH
    record_types: ClassVar[tuple[type[Record], ...]] = (Mount,)
    reason = (
        "Magisk and KernelSU root a phone without touching its system partitions: they mount their own "
        "folders over them, which leave these mounts. Any app granted root can then read every app's data and "
        "hide itself. MVT has no such check: its mount rules look at /system and the like being read-write."
    )
    reference = "Magisk documentation (topjohnwu, 'Magisk Details': MAGISKTMP, mirrors); KernelSU module documentation"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, Mount)
        if record.device in _ROOT_SOURCES:
            tool = "Magisk" if record.device == "magisk" else "KernelSU"
        elif "/.magisk" in record.mount_point or "/.magisk" in record.device:
            tool = "Magisk"
        else:
            return
        yield self.finding(
            record, artifact,
            f"{record.device} is mounted on {record.mount_point} by {tool}: the phone is rooted. Ask the owner "
            "whether they did it.",
        )
