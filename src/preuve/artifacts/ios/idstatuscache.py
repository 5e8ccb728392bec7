"""The identity-services lookup cache: accounts the phone looked up for iMessage and FaceTime.

Before sending an iMessage or placing a FaceTime call, iOS asks Apple whether
an address (``mailto:…``, ``tel:…``) is registered, and caches the answer with
its date. Zero-click exploits are delivered over iMessage from attacker
accounts; Amnesty found Pegasus operators' iCloud accounts in this cache.
The plist maps a service (``com.apple.madrid`` is iMessage, ``com.apple.ess``
FaceTime) to handles, each with ``LookupDate`` (seconds since 2001) and a
status (``IDStatus``; some versions write ``LookupStatus``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, PlistArtifact
from preuve.artifacts.plistvalues import cocoa_date, key_path, string_items
from preuve.artifacts.values import as_int, plist_text
from preuve.model import Kind, Locator, Observable, Record, Timestamp

SERVICES = {"com.apple.madrid": "iMessage", "com.apple.ess": "FaceTime", "com.apple.private.alloy.facetime.multi":
            "FaceTime (group)"}
STATUSES = {0: "unknown", 1: "registered", 2: "not registered"}


@dataclass(kw_only=True)
class IdStatusLookup(Record):
    """One address the phone looked up with Apple's identity service."""

    record_type: ClassVar[str] = "ios:idstatuscache:lookup"
    service: str
    service_name: str
    handle: str  # as stored: "mailto:x@example.com", "tel:+41…" (without NUL characters)
    escaped_handle: str | None  # the handle as stored with each NUL written \x00, when it held any
    address: str  # without its scheme
    address_kind: str  # "email", "phone" or "other"
    status: int | None
    status_name: str | None
    looked_up: datetime | None

    def observables(self) -> Iterator[Observable]:
        if self.address_kind == "email":
            yield Observable(Kind.EMAIL, self.address)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.looked_up is not None:
            yield Timestamp(self.looked_up, f"{self.service_name} lookup of {self.address}")

    def summary(self) -> str:
        return f"{self.service_name} looked up {self.address} ({self.status_name or 'no status'})"


def split_handle(handle: str) -> tuple[str, str]:
    """(address without its scheme, kind) for an identity-services handle."""
    lowered = handle.lower()
    if lowered.startswith("mailto:"):
        return handle[7:].strip().strip("'\""), "email"
    if lowered.startswith("tel:"):
        return handle[4:].strip(), "phone"
    if "@" in handle and ":" not in handle:
        return handle, "email"
    return handle, "other"


class IdStatusCache(PlistArtifact):
    name = "idstatuscache"
    platform = "ios"
    title = "Accounts looked up for iMessage and FaceTime (idstatuscache)"
    paths: ClassVar[tuple[str, ...]] = (
        "/private/var/mobile/Library/Preferences/com.apple.identityservices.idstatuscache.plist",
        "/private/var/mobile/Library/IdentityServices/idstatuscache.plist",
    )

    def parse_plist(self, ctx: ArtifactContext, value: object, path: str, sha256: str) -> Iterator[Record]:
        if not isinstance(value, dict):
            ctx.error(path, f"top level is a {type(value).__name__}, not a dictionary")
            return
        for service, handles in string_items(value):
            if not isinstance(handles, dict):
                # Some versions keep scalars (a format version) beside the services.
                continue
            for handle, entry in string_items(handles):
                clean = plist_text(handle)
                if clean is None:
                    continue
                escaped = handle.replace("\x00", "\\x00")[:1024] if "\x00" in handle else None
                if not isinstance(entry, dict):
                    ctx.warn(f"{path}: {key_path(service, handle)} is a {type(entry).__name__}, not a dictionary")
                    entry = {}
                status = as_int(entry.get("IDStatus", entry.get("LookupStatus")))
                address, kind = split_handle(clean)
                yield IdStatusLookup(
                    locator=Locator(path, sha256, key_path=key_path(service, handle)),
                    service=service,
                    service_name=SERVICES.get(service, service),
                    handle=clean,
                    escaped_handle=escaped,
                    address=address,
                    address_kind=kind,
                    status=status,
                    status_name=None if status is None else STATUSES.get(status, f"status {status}"),
                    looked_up=cocoa_date(entry.get("LookupDate")),
                )
