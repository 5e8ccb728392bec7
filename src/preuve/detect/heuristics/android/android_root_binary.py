"""A root binary (su, magisk, busybox…) exists on the phone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.root_binaries import RootBinary
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity


class AndroidRootBinary(Rule):
    name = "android_root_binary"
    severity = Severity.HIGH
    record_types: ClassVar[tuple[type[Record], ...]] = (RootBinary,)
    reason = (
        "A su or magisk binary means the phone is rooted: any app granted root can read every app's data "
        "and hide itself. Unless the owner rooted it, someone else did."
    )
    reference = "MVT (mvt-project), androidqf root_binaries module"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, RootBinary)
        yield self.finding(
            record, artifact,
            f"The root binary {record.path} is on the phone: it is rooted. Ask the owner whether they did it.",
            observable=Observable(Kind.FILE_PATH, record.path),
        )
