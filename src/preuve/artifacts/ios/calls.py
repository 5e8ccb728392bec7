"""Call history (``CallHistory.storedata``: ``ZCALLRECORD``): phone, FaceTime and app calls.

``ZADDRESS`` is a number, or an Apple ID for FaceTime (an e-mail observable),
and is stored as text or as a blob depending on the iOS version.
``ZSERVICE_PROVIDER`` names the app that placed the call (``com.apple.Telephony``,
``com.apple.FaceTime``, or a third-party VoIP app's bundle id through CallKit).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.rows import flag, integer, number, pick, text
from preuve.artifacts.timeconv import from_cocoa
from preuve.evidence.sqlite import iter_rows, table_columns
from preuve.model import Kind, Locator, Observable, Record, Timestamp

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

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        columns = table_columns(conn, "ZCALLRECORD")
        if "Z_PK" not in columns:
            ctx.error(path, "no ZCALLRECORD table")
            return
        sql = f"SELECT r.Z_PK AS pk, {pick(columns, 'r', _COLUMNS)} FROM ZCALLRECORD r ORDER BY r.Z_PK"  # noqa: S608
        for row in iter_rows(conn, sql):
            yield Call(
                locator=Locator(path, sha256, "ZCALLRECORD", integer(row["pk"])),
                address=text(row["ZADDRESS"]),
                date=from_cocoa(row["ZDATE"]),
                duration=number(row["ZDURATION"]),
                outgoing=flag(row["ZORIGINATED"]),
                answered=flag(row["ZANSWERED"]),
                service_provider=text(row["ZSERVICE_PROVIDER"]),
                call_type=integer(row["ZCALLTYPE"]),
                location=text(row["ZLOCATION"]),
                country=text(row["ZISO_COUNTRY_CODE"]),
                name=text(row["ZNAME"]),
                unique_id=text(row["ZUNIQUE_ID"]),
            )
