"""A file lies in /data/local/tmp, where exploits and adb-pushed tools are dropped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.files import AndroidFile
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity

_PREFIX = "/data/local/tmp/"
# Left there by the acquisition tools themselves.
_ACQUISITION_TOOLS = ("/data/local/tmp/collector", "/data/local/tmp/androidqf")


class AndroidDataLocalTmp(Rule):
    name = "android_data_local_tmp"
    severity = Severity.HIGH
    record_types: ClassVar[tuple[type[Record], ...]] = (AndroidFile,)
    reason = (
        "/data/local/tmp is writable by adb and by exploits; implants and exploit stages have been found "
        "there. Developer tools also use it."
    )
    reference = "MVT (mvt-project) androidqf files module (SUSPICIOUS_PATHS)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, AndroidFile)
        if not record.path.startswith(_PREFIX) or record.path.startswith(_ACQUISITION_TOOLS):
            return
        executable = record.executable
        yield self.finding(
            record, artifact,
            f"The {'executable ' if executable else ''}file {record.path} is in /data/local/tmp, where exploit "
            "stages and adb-pushed tools are left.",
            observable=Observable(Kind.FILE_PATH, record.path),
            severity=None if executable else Severity.MEDIUM,
        )
