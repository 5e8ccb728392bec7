"""A reboot held up three or more times by clients that would not stop (iShutdown)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.ios.shutdown_log import Reboot
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity

STICKY_WAITS = 3


class ShutdownStickyReboot(Rule):
    name = "shutdown_sticky_reboot"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (Reboot,)
    reason = (
        "Pegasus, Reign and Predator implants kept running at shutdown and delayed reboots several times; "
        "three or more waits before one reboot is the pattern Kaspersky found. Ordinary apps also cause "
        "delays at times, so the clients named deserve a look rather than a conclusion."
    )
    reference = "Kaspersky, iShutdown: lightweight detection of iOS spyware from shutdown.log (2024)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, Reboot)
        if record.waits < STICKY_WAITS:
            return
        names = ", ".join(record.clients[:5]) + (" …" if len(record.clients) > 5 else "")
        yield self.finding(
            record,
            artifact,
            f"The phone waited {record.waits} times for processes that would not stop before rebooting "
            f"({names}); spyware has caused this pattern.",
        )
