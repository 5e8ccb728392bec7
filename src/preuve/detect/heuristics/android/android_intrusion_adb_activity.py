"""The phone was used over ADB: shell commands or file transfers (intrusion logs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.intrusion_logs import IntrusionAdbSession
from preuve.detect.heuristics.android._intrusion import INTRUSION_LOGGING
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class AndroidIntrusionAdbActivity(Rule):
    name = "android_intrusion_adb_activity"
    severity = Severity.LOW
    record_types: ClassVar[tuple[type[Record], ...]] = (IntrusionAdbSession,)
    reason = (
        "ADB (USB or wireless debugging) gives a connected computer a shell and the files: stalkerware is "
        "often installed that way, in minutes, by someone holding the unlocked phone. One finding per session "
        "(events less than 15 minutes apart); a session that pushed an APK or ran an install is worth more "
        "attention; the session of an acquisition collecting these logs (reading Advanced Protection's state, "
        "opening the log retrieval screen, pulling the Intrusion Logging folder) is only noted."
    )
    reference = INTRUSION_LOGGING

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, IntrusionAdbSession)
        what = (f"{record.shell_commands} shell command(s), {record.interactive_shells} interactive shell(s), "
                f"{record.files_pulled} file(s) pulled and {record.files_pushed} pushed")
        examples = "; ".join(record.examples)
        if record.apk_pushed or record.install_command:
            yield self.finding(
                record, artifact,
                f"Over ADB, {what}, including an app install ({examples}): check who installed what, and when.",
                severity=Severity.MEDIUM,
            )
        elif record.looks_like_acquisition:
            yield self.finding(
                record, artifact,
                f"Over ADB, {what}, collecting the intrusion logs: most likely the acquisition itself "
                f"({examples}).",
                severity=Severity.INFO,
            )
        else:
            yield self.finding(
                record, artifact,
                f"Over ADB, {what} ({examples}): check the owner or the acquisition did this.",
            )
