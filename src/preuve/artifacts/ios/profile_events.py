"""Configuration profile events: which profiles were installed or removed, when, and by which process.

``MCProfileEvents.plist`` (beside the profile stubs) holds ``ProfileEvents``,
a list of one-key dictionaries ``{profile identifier: {timestamp, operation,
process}}``. It outlives the profiles: a profile installed and later removed
still shows here.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, PlistArtifact
from preuve.artifacts.plistvalues import cocoa_date, key_path, string_items
from preuve.artifacts.values import plist_text
from preuve.evidence.formats.plists import PlistValue
from preuve.model import Kind, Locator, Observable, Record, Timestamp

_FOLDERS = (
    "/private/var/containers/Shared/SystemGroup/systemgroup.com.apple.configurationprofiles/Library/"
    "ConfigurationProfiles/",
    "/private/var/mobile/Library/ConfigurationProfiles/",
)
_MAX_EVENTS = 100_000


@dataclass(kw_only=True)
class ProfileEvent(Record):
    record_type: ClassVar[str] = "ios:profile_events:event"
    profile_id: str
    operation: str | None  # "install", "remove"…
    process: str | None
    when: datetime | None

    def observables(self) -> Iterator[Observable]:
        yield Observable(Kind.PROFILE_ID, self.profile_id)
        if self.process:
            if self.process.startswith("/"):
                yield Observable(Kind.FILE_PATH, self.process)
                name = posixpath.basename(self.process.rstrip("/"))
                if name:
                    yield Observable(Kind.PROCESS, name)
            else:
                yield Observable(Kind.PROCESS, self.process)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.when is not None:
            yield Timestamp(self.when, f"Configuration profile {self.operation or 'event'}: {self.profile_id}")

    def summary(self) -> str:
        return f"Profile {self.profile_id} {self.operation or 'event'} by {self.process or '?'}"


def _lower_keys(value: Mapping[str, PlistValue]) -> dict[str, PlistValue]:
    return {key.lower(): item for key, item in string_items(value)}


class ProfileEvents(PlistArtifact):
    name = "profile_events"
    platform = "ios"
    title = "Configuration profile installs and removals (MCProfileEvents)"
    paths: ClassVar[tuple[str, ...]] = tuple(folder + "MCProfileEvents.plist" for folder in _FOLDERS)

    def parse_plist(self, ctx: ArtifactContext, value: object, path: str, sha256: str) -> Iterator[Record]:
        if not isinstance(value, dict):
            ctx.error(path, f"top level is a {type(value).__name__}, not a dictionary")
            return
        events = value.get("ProfileEvents")
        if events is None:
            return
        # The list form is what iOS writes; a dictionary keyed by profile is accepted too.
        entries: list[tuple[tuple[str | int, ...], str, PlistValue]] = []
        if isinstance(events, dict):
            entries = [((key,), key, item) for key, item in string_items(events)]
        elif isinstance(events, list):
            for index, event in enumerate(events[:_MAX_EVENTS]):
                if isinstance(event, dict) and event:
                    for profile_id, item in string_items(event):
                        entries.append(((index, profile_id), profile_id, item))
                else:
                    ctx.warn(f"{path}: {key_path('ProfileEvents', index)} is a {type(event).__name__}, "
                             "not a dictionary")
        else:
            ctx.warn(f"{path}: ProfileEvents is a {type(events).__name__}, not a list")
            return
        for parts, profile_id, item in entries:
            where = key_path("ProfileEvents", *parts)
            identifier = plist_text(profile_id)
            if identifier is None:
                continue
            if not isinstance(item, dict):
                ctx.warn(f"{path}: {where} is a {type(item).__name__}, not a dictionary")
                item = {}
            details = _lower_keys(item)
            yield ProfileEvent(
                locator=Locator(path, sha256, key_path=where),
                profile_id=identifier,
                operation=plist_text(details.get("operation")),
                process=plist_text(details.get("process")),
                when=cocoa_date(details.get("timestamp")),
            )
