"""Call history (``CallHistory.storedata``: ``ZCALLRECORD``): phone, FaceTime and app calls.

``ZADDRESS`` is a number, or an Apple ID for FaceTime (an e-mail observable),
and is stored as text or as a blob depending on the iOS version.
``ZSERVICE_PROVIDER`` names the app that placed the call (``com.apple.Telephony``,
``com.apple.FaceTime``, or a third-party VoIP app's bundle id through CallKit).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import SqliteArtifact
from preuve.artifacts.tables import Database, Query, Table
from preuve.artifacts.timeconv import from_cocoa
from preuve.artifacts.values import as_bool_int, as_float, as_int, as_text
from preuve.model import Kind, Observable, Record, Timestamp

_COLUMNS = ("ZADDRESS", "ZDATE", "ZDURATION", "ZORIGINATED", "ZANSWERED", "ZSERVICE_PROVIDER", "ZCALLTYPE",
            "ZLOCATION", "ZISO_COUNTRY_CODE", "ZNAME", "ZUNIQUE_ID")


@dataclass(kw_only=True)
class Call(Record):
    record_type: ClassVar[str] = "ios:calls:call"
    address: str | None
    date: datetime | None
    duration: float | None
    outgoing: bool | None
    answered: bool | None
    service_provider: str | None
    call_type: int | None
    location: str | None
    country: str | None
    name: str | None
    unique_id: str | None

    def observables(self) -> Iterator[Observable]:
        if self.address and "@" in self.address:
            yield Observable(Kind.EMAIL, self.address.removeprefix("mailto:").strip())
        if self.service_provider and "." in self.service_provider:
            yield Observable(Kind.APP_ID, self.service_provider)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.date is not None:
            yield Timestamp(self.date, "Outgoing call" if self.outgoing else "Incoming call")

    def summary(self) -> str:
        way = "to" if self.outgoing else "from"
        return f"Call {way} {self.address or 'unknown'} via {self.service_provider or '?'} ({self.duration or 0:.0f} s)"


class Calls(SqliteArtifact):
    name = "calls"
    platform = "ios"
    title = "Call history"
    paths = ("/private/var/mobile/Library/CallHistoryDB/CallHistory.storedata",)

    tables = (Table("ZCALLRECORD", required=("Z_PK",), optional=_COLUMNS, key=("Z_PK",)),)

    def read(self, db: Database) -> Iterator[Record]:
        for row in db.rows(Query(self.tables[0])):
            yield Call(
                locator=db.locator("ZCALLRECORD", row["_key"]),
                address=as_text(row["ZADDRESS"]),
                date=from_cocoa(row["ZDATE"]),
                duration=as_float(row["ZDURATION"]),
                outgoing=as_bool_int(row["ZORIGINATED"]),
                answered=as_bool_int(row["ZANSWERED"]),
                service_provider=as_text(row["ZSERVICE_PROVIDER"]),
                call_type=as_int(row["ZCALLTYPE"]),
                location=as_text(row["ZLOCATION"]),
                country=as_text(row["ZISO_COUNTRY_CODE"]),
                name=as_text(row["ZNAME"]),
                unique_id=as_text(row["ZUNIQUE_ID"]),
            )
