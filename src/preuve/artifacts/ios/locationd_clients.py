"""locationd's clients: every app and program that asked for the device's location.

``/private/var/root/Library/Caches/locationd/clients.plist`` (on some
versions ``/private/var/mobile/Library/Caches/…``) maps a client
key to what locationd knows of it. A key is a bundle id
(``com.apple.Maps``), a program path, or a prefixed form such as
``icon:<path>`` or ``com.apple.locationd.bundle-<path>``. Entries carry
``BundleId``, ``BundlePath``, ``Executable``, ``Registered`` (paths), the
authorization, and the times location use started and stopped (seconds since
2001). Implants that tracked location appear here by process path.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, PlistArtifact
from preuve.artifacts.plistvalues import cocoa_date, key_path, string_items
from preuve.artifacts.values import as_int, plist_text
from preuve.model import Kind, Locator, Observable, Record, Timestamp

# The timestamp fields locationd writes, with what each moment means.
TIME_FIELDS = {
    "ConsumptionPeriodBegin": "Location use period began",
    "ReceivingLocationInformationTimeStopped": "Stopped receiving location",
    "VisitTimeStopped": "Stopped monitoring visits",
    "LocationTimeStopped": "Stopped using location",
    "BackgroundLocationTimeStopped": "Stopped using location in the background",
    "SignificantTimeStopped": "Stopped monitoring significant location changes",
    "NonLocationTimeStopped": "Stopped non-location services",
    "FenceTimeStopped": "Stopped monitoring geofences",
    "BeaconRegionTimeStopped": "Stopped monitoring beacon regions",
}
_KEY_PREFIXES = ("icon:", "com.apple.locationd.bundle-", "com.apple.locationd.executable-")


@dataclass(kw_only=True)
class LocationClientRecord(Record):
    record_type: ClassVar[str] = "ios:locationd_clients:client"
    client: str  # the key as stored
    client_path: str | None  # the path the key names, if it names one
    bundle_id: str | None
    bundle_path: str | None
    executable: str | None
    registered: str | None
    authorization: int | None  # as stored: its encoding is not documented, so it is not translated
    times: tuple[tuple[str, datetime], ...]  # (field name, moment), in TIME_FIELDS order

    def observables(self) -> Iterator[Observable]:
        seen: set[Observable] = set()

        def once(kind: Kind, value: str | None) -> Iterator[Observable]:
            if value:
                item = Observable(kind, value)
                if item not in seen:
                    seen.add(item)
                    yield item

        if self.client_path is None and _looks_like_bundle_id(self.client):
            yield from once(Kind.APP_ID, self.client)
        yield from once(Kind.APP_ID, self.bundle_id)
        for path in (self.client_path, self.executable, self.bundle_path, self.registered):
            yield from once(Kind.FILE_PATH, path)
        for path in (self.client_path, self.executable):
            if path:
                yield from once(Kind.PROCESS, posixpath.basename(path.rstrip("/")))
        # The key's last component and the bundle id are process names too (as MVT compares them):
        # a program without an app bundle is keyed by its bare name, which can look like a bundle id.
        if self.client_path is None:
            yield from once(Kind.PROCESS, self.client.rstrip("/").rsplit("/", 1)[-1])
        yield from once(Kind.PROCESS, self.bundle_id)

    def timestamps(self) -> Iterator[Timestamp]:
        for name, when in self.times:
            yield Timestamp(when, f"{TIME_FIELDS.get(name, name)}: {self.client}")

    def summary(self) -> str:
        return f"Location client {self.client} (authorization {self.authorization})"


def _looks_like_bundle_id(value: str) -> bool:
    return "." in value and "/" not in value and ":" not in value and " " not in value


def client_path(key: str) -> str | None:
    """The file path a client key names (``/usr/…``, ``icon:/…``, ``…bundle-/…``), or None."""
    for prefix in _KEY_PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix) :]
            break
    return key if key.startswith("/") else None


class LocationdClients(PlistArtifact):
    name = "locationd_clients"
    platform = "ios"
    title = "Apps and programs that used location (locationd clients)"
    paths: ClassVar[tuple[str, ...]] = (
        "/private/var/root/Library/Caches/locationd/clients.plist",
        "/private/var/mobile/Library/Caches/locationd/clients.plist",
    )

    def parse_plist(self, ctx: ArtifactContext, value: object, path: str, sha256: str) -> Iterator[Record]:
        if not isinstance(value, dict):
            ctx.error(path, f"top level is a {type(value).__name__}, not a dictionary")
            return
        for key, entry in string_items(value):
            client = plist_text(key)
            if client is None:
                continue
            if not isinstance(entry, dict):
                ctx.warn(f"{path}: {key_path(key)} is a {type(entry).__name__}, not a dictionary")
                entry = {}
            times = tuple(
                (name, when) for name in TIME_FIELDS if (when := cocoa_date(entry.get(name))) is not None
            )
            yield LocationClientRecord(
                locator=Locator(path, sha256, key_path=key_path(key)),
                client=client,
                client_path=client_path(client),
                bundle_id=plist_text(entry.get("BundleId")),
                bundle_path=plist_text(entry.get("BundlePath")),
                executable=plist_text(entry.get("Executable")),
                registered=plist_text(entry.get("Registered")),
                authorization=as_int(entry.get("Authorization")),
                times=times,
            )
