"""iOS version history from the analytics journals (``/private/var/db/analyticsd/Analytics-Journal-*.ips``).

The first line of each journal is JSON with the ``timestamp`` of the journal
and the ``os_version`` running then (``iPhone OS 16.5 (20F66)``). Which
version ran when tells which exploits could have worked, and when the phone
was (or was not) updated. Only in filesystem dumps and sysdiagnoses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.evidence.policy import json_text
from preuve.model import Locator, Record, Timestamp

_MAX_HEADER = 64 * 1024


@dataclass(kw_only=True)
class IosVersion(Record):
    record_type: ClassVar[str] = "ios:version_history:version"
    os_version: str
    when: datetime | None

    def timestamps(self) -> Iterator[Timestamp]:
        if self.when is not None:
            yield Timestamp(self.when, f"Running {self.os_version}")

    def summary(self) -> str:
        return f"Phone running {self.os_version}"


def _journal_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    for layout in ("%Y-%m-%d %H:%M:%S.%f %z", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(value.strip(), layout).astimezone(UTC)
        except ValueError:
            continue
    return None


class VersionHistory(Artifact):
    name = "version_history"
    platform = "ios"
    title = "iOS version history (analytics journals)"
    paths = ("/private/var/db/analyticsd/Analytics-Journal-*.ips",)

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        sha = ctx.fs.sha256(path)
        with ctx.fs.open(path) as stream:
            first = stream.readline(_MAX_HEADER)
        try:
            header = json_text(first.decode("utf-8", "replace"))
        except ValueError:
            ctx.error(path, "first line is not JSON")
            return
        version = header.get("os_version") if isinstance(header, dict) else None
        if not isinstance(version, str) or not version:
            ctx.warn(f"{path}: no os_version in the first line")
            return
        yield IosVersion(locator=Locator(path, sha, line=1), os_version=version[:200],
                         when=_journal_time(header.get("timestamp")))
