"""WhatsApp contacts (``ContactsV2.sqlite``: ``ZWAADDRESSBOOKCONTACT``).

Who the phone knew on WhatsApp, with each contact's "about" text (where
links are looked for) and when WhatsApp last refreshed the contact. Columns
are renamed across WhatsApp versions; the schema decides what is read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.ios.whatsapp_messages import WHATSAPP_GROUPS
from preuve.artifacts.rows import integer, links_in, pick, text
from preuve.artifacts.timeconv import from_cocoa
from preuve.evidence.sqlite import iter_rows, table_columns
from preuve.model import Kind, Locator, Observable, Record, Timestamp

_COLUMNS = ("ZWHATSAPPID", "ZLID", "ZPHONENUMBER", "ZFULLNAME", "ZGIVENNAME", "ZLASTNAME", "ZBUSINESSNAME",
            "ZABOUTTEXT", "ZLASTUPDATED", "ZABOUTTIMESTAMP")


@dataclass(kw_only=True)
class WhatsAppContact(Record):
    record_type: ClassVar[str] = "ios:whatsapp:contact"
    whatsapp_id: str | None
    lid: str | None
    phone_number: str | None
    full_name: str | None
    business_name: str | None
    about: str | None
    last_updated: datetime | None
    links: tuple[str, ...]

    def observables(self) -> Iterator[Observable]:
        for link in self.links:
            yield Observable(Kind.URL, link)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.last_updated is not None:
            yield Timestamp(self.last_updated, "WhatsApp contact updated")

    def summary(self) -> str:
        return f"WhatsApp contact {self.full_name or self.business_name or '?'} ({self.whatsapp_id or self.phone_number or '?'})"


class WhatsAppContacts(SqliteArtifact):
    name = "whatsapp_contacts"
    platform = "ios"
    title = "WhatsApp contacts"
    paths = (f"{WHATSAPP_GROUPS}/ContactsV2.sqlite",)

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        columns = table_columns(conn, "ZWAADDRESSBOOKCONTACT")
        if "Z_PK" not in columns:
            ctx.error(path, "no ZWAADDRESSBOOKCONTACT table")
            return
        sql = f"SELECT c.Z_PK AS pk, {pick(columns, 'c', _COLUMNS)} FROM ZWAADDRESSBOOKCONTACT c ORDER BY c.Z_PK"  # noqa: S608
        for row in iter_rows(conn, sql):
            about = text(row["ZABOUTTEXT"])
            full = text(row["ZFULLNAME"]) or " ".join(
                n for n in (text(row["ZGIVENNAME"]), text(row["ZLASTNAME"])) if n
            ) or None
            yield WhatsAppContact(
                locator=Locator(path, sha256, "ZWAADDRESSBOOKCONTACT", integer(row["pk"])),
                whatsapp_id=text(row["ZWHATSAPPID"]),
                lid=text(row["ZLID"]),
                phone_number=text(row["ZPHONENUMBER"]),
                full_name=full,
                business_name=text(row["ZBUSINESSNAME"]),
                about=about,
                last_updated=from_cocoa(row["ZLASTUPDATED"]) or from_cocoa(row["ZABOUTTIMESTAMP"]),
                links=links_in(about),
            )
