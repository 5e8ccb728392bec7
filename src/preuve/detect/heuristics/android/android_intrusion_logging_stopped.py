"""Intrusion logging stopped for a while (intrusion logs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.intrusion_logs import IntrusionLoggingGap
from preuve.detect.heuristics.android._intrusion import INTRUSION_LOGGING
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class AndroidIntrusionLoggingStopped(Rule):
    name = "android_intrusion_logging_stopped"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (IntrusionLoggingGap,)
    reason = (
        "While logging is stopped nothing is recorded: whoever controls the phone can act unseen. The owner "
        "turning the feature off also stops it; ask them."
    )
    reference = INTRUSION_LOGGING

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, IntrusionLoggingGap)
        if record.restarted is None:
            until = "and did not start again in this log"
        else:
            until = f"until {record.restarted.isoformat()} ({_duration(record.restarted - record.stopped)})"
        yield self.finding(record, artifact, f"Intrusion logging stopped at {record.stopped.isoformat()} {until}.")


def _duration(delta: object) -> str:
    from datetime import timedelta

    assert isinstance(delta, timedelta)
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minutes"
    hours = minutes // 60
    return f"{hours} hours" if hours < 72 else f"{hours // 24} days"
