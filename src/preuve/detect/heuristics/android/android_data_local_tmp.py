"""A file lies in /data/local/tmp, where exploits and adb-pushed tools are dropped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.files import AndroidFile
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity

_PREFIX = "/data/local/tmp/"
# AndroidQF pushes its collector there (TMPDIR + "collector") for the time of the acquisition.
_ACQUISITION_TOOL = "/data/local/tmp/collector"
_AQF_COPIES = "/.acquisition/androidqf/tmp/"  # the copies AndroidQF pulls of the folder's files


class AndroidDataLocalTmp(Rule):
    name = "android_data_local_tmp"
    severity = Severity.HIGH
    record_types: ClassVar[tuple[type[Record], ...]] = (AndroidFile,)
    reason = (
        "/data/local/tmp is writable by adb and by exploits; implants and exploit stages have been found "
        "there. A file without an execute bit is no less suspect: libraries, dex files and scripts are loaded "
        "or run without it. Developer tools also use the folder. AndroidQF's own collector "
        "(/data/local/tmp/collector) is not reported. A file both listed in files.json and copied by AndroidQF "
        "(tmp/) is reported once for each: the copy carries the file's SHA-256."
    )
    reference = "MVT (mvt-project) androidqf files module (SUSPICIOUS_PATHS)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, AndroidFile)
        if not record.path.startswith(_PREFIX) or record.path == _ACQUISITION_TOOL:
            return
        copy = ""
        if record.locator.device_path.startswith(_AQF_COPIES):
            copy = f" AndroidQF copied it ({record.locator.device_path}, SHA-256 {record.sha256})."
        yield self.finding(
            record, artifact,
            f"The {'executable ' if record.executable else ''}file {record.path} is in /data/local/tmp, where "
            f"exploit stages and adb-pushed tools are left.{copy}",
            observable=Observable(Kind.FILE_PATH, record.path),
        )
