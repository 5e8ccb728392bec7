"""The global preferences: Lockdown Mode and the device's language settings.

``.GlobalPreferences.plist`` is where iOS 16+ records Lockdown Mode
(``LDMGlobalEnabled``), Apple's hardened mode for people at risk of
mercenary spyware. Its absence means the mode was never turned on (or the
iOS version predates it). One record per file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, PlistArtifact
from preuve.artifacts.values import as_bool_plist, plist_text
from preuve.model import Locator, Record


@dataclass(kw_only=True)
class GlobalPreferences(Record):
    record_type: ClassVar[str] = "ios:global_preferences:settings"
    lockdown_mode: bool | None  # None: the key is absent (never enabled, or before iOS 16)
    locale: str | None
    languages: tuple[str, ...]
    keyboards: tuple[str, ...]

    def summary(self) -> str:
        state = {True: "on", False: "off", None: "never set"}[self.lockdown_mode]
        return f"Lockdown Mode {state}; locale {self.locale or '?'}"


def _strings(value: object, limit: int = 100) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    out = (plist_text(item, 256) for item in value[:limit])
    return tuple(item for item in out if item)


class GlobalPreferencesArtifact(PlistArtifact):
    name = "global_preferences"
    platform = "ios"
    title = "Global preferences (Lockdown Mode)"
    paths: ClassVar[tuple[str, ...]] = ("/private/var/mobile/Library/Preferences/.GlobalPreferences.plist",)

    def parse_plist(self, ctx: ArtifactContext, value: object, path: str, sha256: str) -> Iterator[Record]:
        if not isinstance(value, dict):
            ctx.error(path, f"top level is a {type(value).__name__}, not a dictionary")
            return
        raw = value.get("LDMGlobalEnabled")
        lockdown = as_bool_plist(raw)
        if raw is not None and lockdown is None:
            ctx.warn(f"{path}: LDMGlobalEnabled holds a {type(raw).__name__}, not a boolean")
        yield GlobalPreferences(
            locator=Locator(path, sha256, key_path="/LDMGlobalEnabled"),
            lockdown_mode=lockdown,
            locale=plist_text(value.get("AppleLocale"), 64),
            languages=_strings(value.get("AppleLanguages")),
            keyboards=_strings(value.get("AppleKeyboards")),
        )
