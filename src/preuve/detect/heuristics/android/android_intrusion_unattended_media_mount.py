"""Removable media mounted after a boot and before the owner unlocked the phone (intrusion logs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.intrusion_logs import IntrusionUnattendedMount
from preuve.detect.heuristics.android._intrusion import INTRUSION_LOGGING
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class AndroidIntrusionUnattendedMediaMount(Rule):
    name = "android_intrusion_unattended_media_mount"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (IntrusionUnattendedMount,)
    reason = (
        "USB storage attached between a reboot and the first unlock is how forensic extraction kits are used on "
        "a seized phone (a restart, then a cable). An SD card or a USB drive left in the phone at boot also "
        "mounts then; ask the owner."
    )
    reference = (
        "Amnesty International, A Digital Prison: surveillance and the suppression of civil society in Serbia "
        "(2024, Cellebrite used on seized phones); " + INTRUSION_LOGGING
    )

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, IntrusionUnattendedMount)
        after = "no unlock follows in this log" if record.unlocked is None else (
            f"the first unlock came at {record.unlocked.isoformat()}"
        )
        yield self.finding(
            record, artifact,
            f"Removable media {record.mount_point or '(no path)'} ({record.label or 'no label'}) was mounted at "
            f"{record.mounted.isoformat()}, after the phone started at {record.boot.isoformat()} and before the "
            f"owner unlocked it; {after}.",
        )
