"""A computer is trusted for ADB (USB debugging)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android._dumpsys import AdbKey, AdbKeyInvalid
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class AndroidAdbKey(Rule):
    name = "android_adb_key"
    severity = Severity.LOW
    record_types: ClassVar[tuple[type[Record], ...]] = (AdbKey, AdbKeyInvalid)
    reason = (
        "A trusted ADB key lets that computer install apps and read data over USB without asking; "
        "stalkerware is often installed that way. The acquisition computer itself is also listed."
    )
    reference = "Android Debug Bridge documentation; MVT (mvt-project) dumpsys adb module"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        if isinstance(record, AdbKeyInvalid):
            yield self.finding(
                record, artifact,
                f"A computer ('{record.comment or 'unnamed'}') is trusted for USB debugging with a key that is not "
                f"valid ({record.key_start}…): the trusted-keys file was altered or damaged, and which computer it "
                "stands for cannot be told.",
            )
            return
        assert isinstance(record, AdbKey)
        if record.acquisition_host:
            yield self.finding(
                record, artifact,
                f"The computer '{record.comment or 'unnamed'}' (key {record.fingerprint}) trusted for USB debugging "
                "is the one that made this AndroidQF acquisition (adb_host_key.pub).",
                severity=Severity.INFO,
            )
            return
        last = (f", and last connected on {record.last_connection:%Y-%m-%d %H:%M:%S} UTC"
                if record.last_connection is not None else "")
        yield self.finding(
            record, artifact,
            f"The computer '{record.comment or 'unnamed'}' (key {record.fingerprint}) is trusted for USB "
            f"debugging{last}. Check it is the acquisition computer or one the owner knows.",
        )
