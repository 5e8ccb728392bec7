"""CoreDuet interactions (``interactionC.db``): who the phone talked to, through which app, when.

iOS records an interaction for messages, calls, mails and shares, with the
app's bundle id (``ZBUNDLEID``, ``ZTARGETBUNDLEID``), the account used
(``ZACCOUNT``), the sender from ``ZCONTACTS`` and sometimes a content URL.
An implant or an attacker's iMessage account can appear here after its own
traces were wiped from sms.db. The contacts themselves are yielded too, with
the first and last time each was seen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import SqliteArtifact
from preuve.artifacts.tables import Aggregate, Database, Grouped, Join, Query, Table
from preuve.artifacts.timeconv import from_cocoa
from preuve.artifacts.values import as_int, as_text
from preuve.evidence.sqlite import tables as table_names
from preuve.model import Kind, Observable, Record, Timestamp

_INTERACTION = ("ZSTARTDATE", "ZENDDATE", "ZCREATIONDATE", "ZBUNDLEID", "ZTARGETBUNDLEID", "ZACCOUNT",
                "ZDIRECTION", "ZMECHANISM", "ZDOMAINIDENTIFIER", "ZCONTENTURL", "ZGROUPNAME",
                "ZRECIPIENTCOUNT")  # only what the record holds (ZSENDER is read through its join)
# Core Data names the interaction-recipient join table and its columns after entity numbers
# (Z_2INTERACTIONRECIPIENT: Z_2RECIPIENTS -> ZCONTACTS, Z_3INTERACTIONRECIPIENT -> ZINTERACTIONS);
# the numbers can change with the model version, so they are found by shape.
_RECIPIENT_TABLE = re.compile(r"^Z_\d+INTERACTIONRECIPIENT$")
_RECIPIENT_CONTACT = re.compile(r"^Z_\d+RECIPIENTS$")
_RECIPIENT_INTERACTION = re.compile(r"^Z_\d+INTERACTIONRECIPIENT$")
_CONTACT = ("ZIDENTIFIER", "ZDISPLAYNAME", "ZPERSONID", "ZCUSTOMIDENTIFIER", "ZCREATIONDATE",
            "ZFIRSTINCOMINGSENDERDATE", "ZLASTINCOMINGSENDERDATE", "ZLASTOUTGOINGRECIPIENTDATE")


def _account_observables(value: str | None) -> Iterator[Observable]:
    """Apple IDs and mail accounts (``mailto:x@y``, ``x@y``) as e-mail observables."""
    if value and "@" in value:
        yield Observable(Kind.EMAIL, value.removeprefix("mailto:").removeprefix("e:").strip())


@dataclass(kw_only=True)
class Interaction(Record):
    record_type: ClassVar[str] = "ios:interactionc:interaction"
    start: datetime | None
    end: datetime | None
    bundle_id: str | None
    target_bundle_id: str | None
    account: str | None
    direction: int | None
    mechanism: int | None
    domain_identifier: str | None
    content_url: str | None
    group_name: str | None
    sender: str | None
    sender_name: str | None
    recipients: tuple[str, ...]
    recipient_count: int | None

    def observables(self) -> Iterator[Observable]:
        for app in (self.bundle_id, self.target_bundle_id):
            if app:
                yield Observable(Kind.APP_ID, app)
        yield from _account_observables(self.account)
        yield from _account_observables(self.sender)
        for recipient in self.recipients:
            yield from _account_observables(recipient)
        if self.content_url and "://" in self.content_url and not self.content_url.startswith("file:"):
            yield Observable(Kind.URL, self.content_url)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.start is not None:
            yield Timestamp(self.start, f"Interaction through {self.bundle_id or 'an app'}")

    def summary(self) -> str:
        who = self.sender_name or self.sender or "?"
        return f"Interaction via {self.bundle_id or '?'} with {who} (account {self.account or '?'})"


@dataclass(kw_only=True)
class InteractionContact(Record):
    record_type: ClassVar[str] = "ios:interactionc:contact"
    identifier: str | None
    display_name: str | None
    person_id: str | None
    created: datetime | None
    first_incoming: datetime | None
    last_incoming: datetime | None
    last_outgoing: datetime | None

    def observables(self) -> Iterator[Observable]:
        return _account_observables(self.identifier)

    def timestamps(self) -> Iterator[Timestamp]:
        for when, what in ((self.created, "Contact first recorded"), (self.first_incoming, "First message from contact"),
                           (self.last_incoming, "Last message from contact"),
                           (self.last_outgoing, "Last message to contact")):
            if when is not None:
                yield Timestamp(when, what)

    def summary(self) -> str:
        return f"Interaction contact {self.display_name or '?'} ({self.identifier or '?'})"


class InteractionC(SqliteArtifact):
    name = "interactionc"
    platform = "ios"
    title = "App interactions (CoreDuet interactionC)"
    paths = ("/private/var/mobile/Library/CoreDuet/People/interactionC.db",)

    tables = (
        Table("ZINTERACTIONS", required=("Z_PK",), optional=(*_INTERACTION, "ZSENDER"), key=("Z_PK",)),
        Table("ZCONTACTS", required=("Z_PK",), optional=_CONTACT, key=("Z_PK",)),
    )

    def read(self, db: Database) -> Iterator[Record]:
        interactions, contacts = self.tables
        if db.report_missing(interactions):
            return
        person = Table("ZCONTACTS", required=("Z_PK", "ZIDENTIFIER"), optional=("ZDISPLAYNAME",))
        joins: list[Join | Grouped] = [Join(person, "c", on="Z_PK", to="i.ZSENDER")]
        if db.has(person):
            for table in sorted(t for t in table_names(db.conn) if _RECIPIENT_TABLE.match(t)):
                cols = sorted(db.columns(table).values())
                contact_col = next((c for c in cols if _RECIPIENT_CONTACT.match(c)), None)
                interaction_col = next((c for c in cols if _RECIPIENT_INTERACTION.match(c)), None)
                if contact_col and interaction_col:
                    # Grouped once and joined, not a subquery per interaction.
                    joins.append(Grouped(
                        Table(table, required=(contact_col, interaction_col)), "r", by=interaction_col, to="i.Z_PK",
                        joins=(Join(person, "rc", on="Z_PK", to=f"r.{contact_col}", inner=True),),
                        aggregates=(Aggregate("ids", "group_concat", ("rc.ZIDENTIFIER",), " "),),
                    ))
                    break
        interactions = Table("ZINTERACTIONS", required=("Z_PK",), optional=_INTERACTION, key=("Z_PK",))
        grouped = len(joins) > 1  # a recipients table was found
        for row in db.rows(Query(interactions, "i", joins=tuple(joins))):
            yield Interaction(
                locator=db.locator("ZINTERACTIONS", row["_key"]),
                start=from_cocoa(row["ZSTARTDATE"]) or from_cocoa(row["ZCREATIONDATE"]),
                end=from_cocoa(row["ZENDDATE"]),
                bundle_id=as_text(row["ZBUNDLEID"]),
                target_bundle_id=as_text(row["ZTARGETBUNDLEID"]),
                account=as_text(row["ZACCOUNT"]),
                direction=as_int(row["ZDIRECTION"]),
                mechanism=as_int(row["ZMECHANISM"]),
                domain_identifier=as_text(row["ZDOMAINIDENTIFIER"]),
                content_url=as_text(row["ZCONTENTURL"]),
                group_name=as_text(row["ZGROUPNAME"]),
                sender=as_text(row["c.ZIDENTIFIER"]),
                sender_name=as_text(row["c.ZDISPLAYNAME"]),
                recipients=tuple(r for r in (as_text(row["r.ids"] if grouped else None) or "").split(" ") if r),
                recipient_count=as_int(row["ZRECIPIENTCOUNT"]),
            )
        if not db.has(contacts):
            return
        for row in db.rows(Query(contacts, "c")):
            person_id = row["ZPERSONID"]
            yield InteractionContact(
                locator=db.locator("ZCONTACTS", row["_key"]),
                identifier=as_text(row["ZIDENTIFIER"]) or as_text(row["ZCUSTOMIDENTIFIER"]),
                display_name=as_text(row["ZDISPLAYNAME"]),
                person_id=as_text(person_id) if person_id is None or isinstance(person_id, (str, bytes))
                else str(person_id),
                created=from_cocoa(row["ZCREATIONDATE"]),
                first_incoming=from_cocoa(row["ZFIRSTINCOMINGSENDERDATE"]),
                last_incoming=from_cocoa(row["ZLASTINCOMINGSENDERDATE"]),
                last_outgoing=from_cocoa(row["ZLASTOUTGOINGRECIPIENTDATE"]),
            )
