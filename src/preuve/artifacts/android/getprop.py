"""System properties (``getprop``): AndroidQF getprop.txt; the bugreport's copy is read by dumpstate.

Each property is a record with an ANDROID_PROPERTY observable (feeds name
properties that spyware sets). The security patch level is also yielded as a
record of its own, with the acquisition date it is judged against.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from preuve.artifacts.android._common import AQF, load_json, parse_date, parse_property_line
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.artifacts.values import text_or_number
from preuve.evidence.errors import EvidenceError
from preuve.model import DeviceFacts, Kind, Locator, Observable, Record, Timestamp

PATCH_PROPERTY = "ro.build.version.security_patch"
# The start of a value that goes on over the next lines: "[persist.sys.boot.reason.history]: [reboot,1699"
_OPEN_VALUE = re.compile(r"^\[(?P<name>[^\]]{1,512})\]: \[(?P<value>.*)$")
MAX_VALUE_LINES = 256
MAX_VALUE_CHARS = 64 * 1024
_NONE: tuple[tuple[int, str, str], ...] = ()


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
                when = parse_date(text_or_number(data.get(key)))
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


class PropertyReader:
    """getprop lines in, (first line, name, value) out; a value may run over several lines.

    ``getprop`` prints ``[name]: [value]``; a value holding newlines (the boot reason history
    holds one boot per line) goes on until a line that ends with ``]``. Such a value is kept
    whole, up to MAX_VALUE_LINES lines and MAX_VALUE_CHARS characters; a longer one, or one
    that another property cuts short, is kept as far as it was read and a warning says so.
    """

    def __init__(self, where: str, warn: Callable[[str], None]) -> None:
        self.where = where
        self.warn = warn
        self._start = 0
        self._name = ""
        self._parts: list[str] = []
        self._size = 0
        self.device: dict[str, str] = {}  # the properties that describe the device (DEVICE_PROPERTIES)

    def line(self, number: int, line: str) -> Sequence[tuple[int, str, str]]:
        """The properties this line completes (usually one or none)."""
        if self._parts:
            if line.startswith("[") and _OPEN_VALUE.match(line):
                # A new property begins: the open value was cut short; both are kept.
                return [self._cut("is cut short by the next property"), *self.line(number, line)]
            self._parts.append(line)
            self._size += len(line) + 1
            if line.rstrip().endswith("]"):
                self._parts[-1] = line.rstrip()[:-1]
                return [self._done()]
            if len(self._parts) > MAX_VALUE_LINES or self._size > MAX_VALUE_CHARS:
                return [self._cut(f"is longer than {MAX_VALUE_LINES} lines or {MAX_VALUE_CHARS} characters")]
            return _NONE
        parsed = parse_property_line(line)
        if parsed is not None:
            if parsed[0] in DEVICE_PROPERTIES and parsed[0] not in self.device:
                self.device[parsed[0]] = parsed[1][:200]
            return [(number, parsed[0], parsed[1])]
        opened = _OPEN_VALUE.match(line) if line.startswith("[") else None
        if opened is not None:
            self._start, self._name = number, opened["name"]
            self._parts = [opened["value"]]
            self._size = len(opened["value"])
        return _NONE

    def end(self) -> Sequence[tuple[int, str, str]]:
        """At the end of the text (or section): a value still open is kept as read, with a warning."""
        return [self._cut("has no closing ']'")] if self._parts else _NONE

    def _done(self) -> tuple[int, str, str]:
        value = "\n".join(self._parts)
        self._parts = []
        return self._start, self._name, value

    def _cut(self, why: str) -> tuple[int, str, str]:
        self.warn(f"{self.where}:{self._start}: the value of property {self._name} {why}; kept as read")
        return self._done()


# Properties naming the device, in the order tried for each fact.
DEVICE_PROPERTIES = frozenset({
    "ro.product.marketname", "ro.product.model", "ro.product.manufacturer", "ro.product.brand",
    "ro.build.version.release", "ro.build.display.id", "ro.build.id", "ro.serialno", "ro.boot.serialno",
    "persist.sys.timezone", "ro.build.version.security_patch", "net.hostname",
})


def device_facts(found: dict[str, str], locator: Locator) -> Iterator[DeviceFacts]:
    """The device's facts from its properties (none when no property describes it)."""
    if not found:
        return

    def first(*names: str) -> str | None:
        return next((found[n] for n in names if found.get(n)), None)

    yield DeviceFacts(
        locator=locator,
        platform="android",
        name=first("ro.product.marketname", "net.hostname"),
        manufacturer=first("ro.product.manufacturer", "ro.product.brand"),
        model=first("ro.product.model"),
        os_version=first("ro.build.version.release"),
        build=first("ro.build.display.id", "ro.build.id"),
        serial=first("ro.serialno", "ro.boot.serialno"),
        timezone=first("persist.sys.timezone"),
        security_patch=first("ro.build.version.security_patch"),
    )


def property_records(
    found: Sequence[tuple[int, str, str]], locator_for: Callable[[int], Locator], acquired: tuple[datetime, str] | None
) -> Iterator[Record]:
    """The property record (and the security patch record) of a property the reader completed."""
    for number, name, value in found:
        locator = locator_for(number)
        yield AndroidProperty(locator=locator, name=name, value=value)
        patch = security_patch(name, value, locator, acquired)
        if patch is not None:
            yield patch


class GetProp(Artifact):
    name = "android_getprop"
    platform = "android"
    title = "System properties (getprop)"
    paths: ClassVar[tuple[str, ...]] = (f"{AQF}/getprop.txt",)

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        acquired = acquisition_date(ctx, path)
        sha = ctx.fs.sha256(path)

        def locator_for(number: int) -> Locator:
            return Locator(path, sha, line=number)

        reader = PropertyReader(path, ctx.warn)
        found = 0
        for number, line in ctx.fs.read_text_lines(path):
            done = reader.line(number, line)
            found += len(done)
            yield from property_records(done, locator_for, acquired)
        done = reader.end()
        yield from property_records(done, locator_for, acquired)
        yield from device_facts(reader.device, Locator(path, sha, key_path="device"))
        if found + len(done) == 0 and ctx.fs.stat(path).size:
            ctx.warn(f"{path}: no [name]: [value] line was found: no property was read")
