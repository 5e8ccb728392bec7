"""TCC.db: which apps and programs were granted (or refused) the microphone, camera, contacts…

iOS keeps the answers to its privacy prompts in the ``access`` table. Its
columns changed over time: up to iOS 13 a row says ``allowed`` (0/1) and
``prompt_count``; from iOS 14 it says ``auth_value`` (denied, unknown,
allowed, limited) and ``auth_reason`` (the user, the system, an MDM policy…);
``last_modified`` (seconds since 1970) appeared in iOS 12. The client is a
bundle id (``client_type`` 0) or the absolute path of a program (1).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import SqliteArtifact
from preuve.artifacts.tables import Database, Query, Table
from preuve.artifacts.timeconv import from_unix
from preuve.artifacts.values import as_int_strict
from preuve.model import Kind, Observable, Record, Timestamp

# Service identifiers in plain words. Unknown ones are shown without their
# ``kTCCService`` prefix rather than dropped.
SERVICES = {
    "kTCCServiceMicrophone": "microphone",
    "kTCCServiceCamera": "camera",
    "kTCCServiceAddressBook": "contacts",
    "kTCCServiceContactsFull": "contacts",
    "kTCCServiceContactsLimited": "contacts (limited)",
    "kTCCServiceCalendar": "calendar",
    "kTCCServiceReminders": "reminders",
    "kTCCServicePhotos": "photos",
    "kTCCServicePhotosAdd": "adding photos",
    "kTCCServiceMediaLibrary": "media library",
    "kTCCServiceMotion": "motion and fitness",
    "kTCCServiceBluetoothAlways": "Bluetooth",
    "kTCCServiceBluetoothPeripheral": "Bluetooth devices",
    "kTCCServiceBluetoothWhileInUse": "Bluetooth while in use",
    "kTCCServiceSiri": "Siri",
    "kTCCServiceSpeechRecognition": "speech recognition",
    "kTCCServiceFaceID": "Face ID",
    "kTCCServiceWillow": "Home (HomeKit)",
    "kTCCServiceUserTracking": "tracking across apps",
    "kTCCServiceFocusStatus": "focus status",
    "kTCCServiceNearbyInteraction": "nearby interaction",
    "kTCCServiceExposureNotification": "exposure notifications",
    "kTCCServiceKeyboardNetwork": "keyboard network access",
    "kTCCServiceLiverpool": "iCloud (CloudKit)",
    "kTCCServiceUbiquity": "iCloud Drive",
    "kTCCServiceShareKit": "sharing",
    "kTCCServiceSensorKitSpeechMetrics": "speech metrics (SensorKit)",
    "kTCCServiceCalls": "calls",
    "kTCCServiceCallHistory": "call history",
    "kTCCServiceMSO": "mobile sign-on",
    "kTCCServiceTwitter": "Twitter account",
    "kTCCServiceFacebook": "Facebook account",
    "kTCCServiceSinaWeibo": "Sina Weibo account",
    "kTCCServiceTencentWeibo": "Tencent Weibo account",
    "kTCCServiceLinkedIn": "LinkedIn account",
    "kTCCServiceScreenCapture": "screen recording",
    "kTCCServiceAccessibility": "accessibility",
    "kTCCServiceListenEvent": "input monitoring",
    "kTCCServicePostEvent": "controlling the device",
    "kTCCServiceSystemPolicyAllFiles": "all files",
    "kTCCServiceWebKitIntelligentTrackingPrevention": "website tracking",
    "kTCCServicePrototype3Rights": "authorization rights",
    "kTCCServicePrototype4Rights": "authorization rights",
}

AUTH_VALUES = {0: "denied", 1: "unknown", 2: "allowed", 3: "limited"}
AUTH_REASONS = {
    0: "none", 1: "error", 2: "user consent", 3: "user set", 4: "system set", 5: "service policy",
    6: "MDM policy", 7: "override policy", 8: "missing usage string", 9: "prompt timeout",
    10: "preflight unknown", 11: "entitled", 12: "app type policy",
}
CLIENT_TYPES = {0: "bundle_id", 1: "path"}


def service_words(service: str) -> str:
    known = SERVICES.get(service)
    if known:
        return known
    return service.removeprefix("kTCCService") or service


@dataclass(kw_only=True)
class TccAccess(Record):
    """One privacy permission: a client, a service, and the answer."""

    record_type: ClassVar[str] = "ios:tcc:access"
    service: str
    service_name: str
    client: str
    client_type: str | None  # "bundle_id", "path", or None when the column is absent/unknown
    allowed: bool | None  # None when the database says "unknown"
    auth_value: str | None  # iOS 14+: denied / unknown / allowed / limited
    auth_reason: str | None  # iOS 14+
    prompt_count: int | None  # up to iOS 13
    last_modified: datetime | None

    @property
    def is_path(self) -> bool:
        return self.client_type == "path" or (self.client_type is None and self.client.startswith("/"))

    def observables(self) -> Iterator[Observable]:
        if self.is_path:
            yield Observable(Kind.FILE_PATH, self.client)
            name = posixpath.basename(self.client.rstrip("/"))
            if name:
                yield Observable(Kind.PROCESS, name)
        else:
            yield Observable(Kind.APP_ID, self.client)
            # A program without an app bundle is recorded by its bare name as if it were a bundle id
            # (client_type 0): every client is also a process name, as MVT compares it.
            yield Observable(Kind.PROCESS, self.client)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.last_modified is not None:
            state = {True: "granted", False: "refused", None: "changed"}[self.allowed]
            yield Timestamp(self.last_modified, f"Access to {self.service_name} {state}")

    def summary(self) -> str:
        state = {True: "allowed", False: "denied", None: "unknown"}[self.allowed]
        return f"{self.client}: {self.service_name} {state}"


class Tcc(SqliteArtifact):
    name = "tcc"
    platform = "ios"
    title = "Privacy permissions (TCC.db)"
    paths: ClassVar[tuple[str, ...]] = ("/private/var/mobile/Library/TCC/TCC.db",)

    tables = (Table("access", required=("service", "client"),
                    optional=("client_type", "allowed", "prompt_count", "auth_value", "auth_reason", "last_modified")),)

    def read(self, db: Database) -> Iterator[Record]:
        # access is an ordinary rowid table on every iOS version seen; rowid locates the row.
        for row in db.rows(Query(self.tables[0])):
            rowid, service, client = row["_key"], row["service"], row["client"]
            if not isinstance(service, str) or not isinstance(client, str) or not client:
                db.ctx.warn(f"{db.path}: access row {rowid} without a service or client, skipped")
                continue
            value = as_int_strict(row["auth_value"])
            if value is not None:
                granted: bool | None = {0: False, 2: True, 3: True}.get(value)
            else:
                flag = as_int_strict(row["allowed"])
                granted = None if flag is None else bool(flag)
            kind = as_int_strict(row["client_type"])
            reason = as_int_strict(row["auth_reason"])
            yield TccAccess(
                locator=db.locator("access", rowid),
                service=service,
                service_name=service_words(service),
                client=client,
                client_type=CLIENT_TYPES.get(kind) if kind is not None else None,
                allowed=granted,
                auth_value=None if value is None else AUTH_VALUES.get(value, f"value {value}"),
                auth_reason=None if reason is None else AUTH_REASONS.get(reason, f"reason {reason}"),
                prompt_count=as_int_strict(row["prompt_count"]),
                last_modified=from_unix(row["last_modified"]),
            )
