"""The ADB shell (com.android.shell) used an app-op on the phone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android._dumpsys import AppOp
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity

SHELL = "com.android.shell"


class AndroidShellAppOps(Rule):
    name = "android_shell_appops"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (AppOp,)
    reason = (
        "App-ops recorded for com.android.shell mean commands were run on the phone over ADB (a computer "
        "connected with debugging on): the way stalkerware is often installed by someone holding the phone. "
        "An acquisition tool run over ADB leaves such entries too, so check when they happened."
    )
    reference = "MVT (mvt-project) dumpsys appops artifact (RISKY_PACKAGES)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, AppOp)
        if record.package != SHELL:
            return
        when = f", last used {record.last_access:%Y-%m-%d %H:%M:%S} (device time)" if record.last_access else ""
        yield self.finding(
            record, artifact,
            f"The ADB shell ({SHELL}) has the app-op {record.op} recorded (mode {record.mode or 'not stated'}"
            f"{when}): commands were run on the phone from a computer.",
        )
