"""osanalytics daily usage: a per-process network baseline, kept even for processes long gone.

``com.apple.osanalytics.addaily.plist`` holds ``netUsageBaseline``: for each
process name, a list ``[date, wifi in, wifi out, cellular in, cellular out]``.
Amnesty's Pegasus methodology matched implant process names here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, PlistArtifact
from preuve.artifacts.ios.datausage import process_observables
from preuve.artifacts.plistvalues import cocoa_date, key_path, string_items
from preuve.artifacts.values import as_float, plist_text
from preuve.model import Locator, Observable, Record, Timestamp


@dataclass(kw_only=True)
class ProcessNetBaseline(Record):
    """A process and the network use osanalytics recorded for it."""

    record_type: ClassVar[str] = "ios:osanalytics_addaily:baseline"
    process: str
    when: datetime | None
    wifi_in: float | None
    wifi_out: float | None
    wwan_in: float | None
    wwan_out: float | None

    def observables(self) -> Iterator[Observable]:
        return process_observables(self.process, None)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.when is not None:
            yield Timestamp(self.when, "Network usage baseline")

    def summary(self) -> str:
        return f"Network usage baseline of {self.process}"


class OsAnalyticsAdDaily(PlistArtifact):
    name = "osanalytics_addaily"
    platform = "ios"
    title = "Daily network use by process (osanalytics)"
    paths: ClassVar[tuple[str, ...]] = ("/private/var/mobile/Library/Preferences/com.apple.osanalytics.addaily.plist",)

    def parse_plist(self, ctx: ArtifactContext, value: object, path: str, sha256: str) -> Iterator[Record]:
        if not isinstance(value, dict):
            ctx.error(path, f"top level is a {type(value).__name__}, not a dictionary")
            return
        baseline = value.get("netUsageBaseline")
        if baseline is None:
            return
        if not isinstance(baseline, dict):
            ctx.warn(f"{path}: netUsageBaseline is a {type(baseline).__name__}, not a dictionary")
            return
        for process, entry in string_items(baseline):
            name = plist_text(process)
            if name is None:
                continue
            values = entry if isinstance(entry, list) else []
            if not isinstance(entry, list):
                ctx.warn(f"{path}: {key_path('netUsageBaseline', process)} is a {type(entry).__name__}, not a list")
            padded = [*values[:5], *([None] * (5 - min(len(values), 5)))]
            yield ProcessNetBaseline(
                locator=Locator(path, sha256, key_path=key_path("netUsageBaseline", process)),
                process=name,
                when=cocoa_date(padded[0]),
                wifi_in=as_float(padded[1]),
                wifi_out=as_float(padded[2]),
                wwan_in=as_float(padded[3]),
                wwan_out=as_float(padded[4]),
            )
