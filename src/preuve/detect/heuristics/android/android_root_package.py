"""A rooting or root-hiding app is installed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.packages import AndroidPackage
from preuve.detect.heuristics.android._android_lists import ROOT_PACKAGES
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity


class AndroidRootPackage(Rule):
    name = "android_root_package"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (AndroidPackage,)
    reason = (
        "Root gives an app the whole phone; stalkerware sellers ask buyers to root the phone to read "
        "messaging apps. The owner may also have rooted it on purpose."
    )
    reference = "MVT (mvt-project), ROOT_PACKAGES in mvt/android/utils.py"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, AndroidPackage)
        if record.name in ROOT_PACKAGES:
            yield self.finding(
                record, artifact,
                f"The rooting tool {record.name} is installed: some app may have full control of the phone.",
                observable=Observable(Kind.APP_ID, record.name),
            )
