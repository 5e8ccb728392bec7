"""WhatsApp contacts (``ContactsV2.sqlite``: ``ZWAADDRESSBOOKCONTACT``).

Who the phone knew on WhatsApp, with each contact's "about" text (where
links are looked for) and when WhatsApp last refreshed the contact. Columns
are renamed across WhatsApp versions; the schema decides what is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import SqliteArtifact
from preuve.artifacts.ios.whatsapp_messages import WHATSAPP_GROUPS
from preuve.artifacts.rows import links_in
from preuve.artifacts.tables import Database, Query, Table
from preuve.artifacts.timeconv import from_cocoa
from preuve.artifacts.values import as_text
from preuve.model import Kind, Observable, Record, Timestamp

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

    tables = (Table("ZWAADDRESSBOOKCONTACT", required=("Z_PK",), optional=_COLUMNS, key=("Z_PK",)),)

    def read(self, db: Database) -> Iterator[Record]:
        for row in db.rows(Query(self.tables[0])):
            about = as_text(row["ZABOUTTEXT"])
            full = as_text(row["ZFULLNAME"]) or " ".join(
                n for n in (as_text(row["ZGIVENNAME"]), as_text(row["ZLASTNAME"])) if n
            ) or None
            yield WhatsAppContact(
                locator=db.locator("ZWAADDRESSBOOKCONTACT", row["_key"]),
                whatsapp_id=as_text(row["ZWHATSAPPID"]),
                lid=as_text(row["ZLID"]),
                phone_number=as_text(row["ZPHONENUMBER"]),
                full_name=full,
                business_name=as_text(row["ZBUSINESSNAME"]),
                about=about,
                last_updated=from_cocoa(row["ZLASTUPDATED"]) or from_cocoa(row["ZABOUTTIMESTAMP"]),
                links=links_in(about),
            )
