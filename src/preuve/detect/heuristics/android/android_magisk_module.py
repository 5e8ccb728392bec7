"""A Magisk module is installed on the phone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.magisk_modules import MagiskModule
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class AndroidMagiskModule(Rule):
    name = "android_magisk_module"
    severity = Severity.HIGH
    record_types: ClassVar[tuple[type[Record], ...]] = (MagiskModule,)
    reason = (
        "Magisk roots a phone, and each of its modules runs with root at every boot: it can read every app's "
        "data, change the system without touching its partitions, and hide itself. Unless the owner installed "
        "it, someone else did."
    )
    reference = "AndroidQF magisk_modules module (mvt-project/androidqf); Magisk module layout (/data/adb/modules)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, MagiskModule)
        what = record.summary()
        by = f" by {record.author}" if record.author else ""
        state = " (disabled)" if record.disabled else ""
        yield self.finding(
            record, artifact,
            f"{what}{by} is installed{state} in {record.device_path or '/data/adb/modules'}: the phone is rooted "
            "with Magisk. Ask the owner whether they installed it.",
        )
