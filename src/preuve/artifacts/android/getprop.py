"""System properties (``getprop``): AndroidQF getprop.txt; the bugreport's copy is read by dumpstate.

Each property is a record with an ANDROID_PROPERTY observable (feeds name
properties that spyware sets). The security patch level is also yielded as a
record of its own, with the acquisition date it is judged against.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from preuve.artifacts.android._common import AQF, load_json, parse_date, parse_property_line, text
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.evidence.errors import EvidenceError
from preuve.model import Kind, Locator, Observable, Record, Timestamp

PATCH_PROPERTY = "ro.build.version.security_patch"


@dataclass(kw_only=True)
class AndroidProperty(Record):
    record_type: ClassVar[str] = "android:getprop:property"
    name: str
    value: str

    def observables(self) -> Iterator[Observable]:
        yield Observable(Kind.ANDROID_PROPERTY, self.name)

    def summary(self) -> str:
        return f"{self.name} = {self.value}"


@dataclass(kw_only=True)
class SecurityPatch(Record):
    """The security patch level and the date of the acquisition it is compared with."""

    record_type: ClassVar[str] = "android:getprop:security_patch"
    patch: datetime
    acquired: datetime
    acquired_from: str

    @property
    def age_days(self) -> int:
        return (self.acquired - self.patch).days

    def timestamps(self) -> Iterator[Timestamp]:
        yield Timestamp(self.patch, "Security patch level")

    def summary(self) -> str:
        return f"Security patch {self.patch.date()} ({self.age_days} days before {self.acquired.date()})"


def acquisition_date(ctx: ArtifactContext, fallback_path: str) -> tuple[datetime, str] | None:
    """When the acquisition was made: AndroidQF's acquisition.json, else the file's own time."""
    meta = f"{AQF}/acquisition.json"
    if ctx.fs.is_file(meta):
        try:
            data = load_json(ctx, meta)
        except EvidenceError as exc:
            ctx.warn(f"{meta}: {exc.reason}")
            data = None
        if isinstance(data, dict):
            for key in ("started", "Started", "completed", "Completed"):
                when = parse_date(text(data.get(key)))
                if when is not None:
                    return when, f"{meta} ({key})"
    mtime = ctx.fs.stat(fallback_path).mtime
    if mtime:
        return datetime.fromtimestamp(mtime, UTC), f"time of {fallback_path}"
    return None


def security_patch(
    name: str, value: str, locator: Locator, acquired: tuple[datetime, str] | None
) -> SecurityPatch | None:
    if name != PATCH_PROPERTY or acquired is None:
        return None
    patch = parse_date(value)
    if patch is None:
        return None
    return SecurityPatch(locator=locator, patch=patch, acquired=acquired[0], acquired_from=acquired[1])


class GetProp(Artifact):
    name = "android_getprop"
    platform = "android"
    title = "System properties (getprop)"
    paths: ClassVar[tuple[str, ...]] = (f"{AQF}/getprop.txt",)

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        acquired = acquisition_date(ctx, path)
        for number, line in ctx.fs.read_text_lines(path):
            parsed = parse_property_line(line)
            if parsed is None:
                continue
            name, value = parsed
            locator = ctx.locator(path, line=number)
            yield AndroidProperty(locator=locator, name=name, value=value)
            patch = security_patch(name, value, locator, acquired)
            if patch is not None:
                yield patch
