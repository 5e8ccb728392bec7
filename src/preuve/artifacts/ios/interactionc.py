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
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.rows import integer, pick, text
from preuve.artifacts.timeconv import from_cocoa
from preuve.evidence.sqlite import iter_rows, table_columns, tables
from preuve.model import Kind, Locator, Observable, Record, Timestamp

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

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        interactions = table_columns(conn, "ZINTERACTIONS")
        contacts = table_columns(conn, "ZCONTACTS")
        if "Z_PK" not in interactions:
            ctx.error(path, "no ZINTERACTIONS table")
            return
        if {"Z_PK", "ZIDENTIFIER"} <= contacts and "ZSENDER" in interactions:
            name = "c.ZDISPLAYNAME" if "ZDISPLAYNAME" in contacts else "NULL"
            sender, join = f"c.ZIDENTIFIER AS sender, {name} AS sender_name", "LEFT JOIN ZCONTACTS c ON c.Z_PK = i.ZSENDER "
        else:
            sender, join = "NULL AS sender, NULL AS sender_name", ""
        recipients = "NULL"
        if {"Z_PK", "ZIDENTIFIER"} <= contacts:
            for table in sorted(t for t in tables(conn) if _RECIPIENT_TABLE.match(t)):
                cols = table_columns(conn, table)
                contact_col = next((c for c in sorted(cols) if _RECIPIENT_CONTACT.match(c)), None)
                interaction_col = next((c for c in sorted(cols) if _RECIPIENT_INTERACTION.match(c)), None)
                if contact_col and interaction_col:
                    # Grouped once and joined, not a subquery per interaction.
                    recipients = "rcp.ids"
                    join += (f"LEFT JOIN (SELECT r.{interaction_col} AS iid, group_concat(rc.ZIDENTIFIER, ' ') AS ids "  # noqa: S608
                             f"FROM {table} r JOIN ZCONTACTS rc ON rc.Z_PK = r.{contact_col} "
                             f"GROUP BY r.{interaction_col}) rcp ON rcp.iid = i.Z_PK ")
                    break
        sql = (f"SELECT i.Z_PK AS pk, {pick(interactions, 'i', _INTERACTION)}, {sender}, "  # noqa: S608
               f"{recipients} AS recipients FROM ZINTERACTIONS i {join}ORDER BY i.Z_PK")
        for row in iter_rows(conn, sql):
            yield Interaction(
                locator=Locator(path, sha256, "ZINTERACTIONS", integer(row["pk"])),
                start=from_cocoa(row["ZSTARTDATE"]) or from_cocoa(row["ZCREATIONDATE"]),
                end=from_cocoa(row["ZENDDATE"]),
                bundle_id=text(row["ZBUNDLEID"]),
                target_bundle_id=text(row["ZTARGETBUNDLEID"]),
                account=text(row["ZACCOUNT"]),
                direction=integer(row["ZDIRECTION"]),
                mechanism=integer(row["ZMECHANISM"]),
                domain_identifier=text(row["ZDOMAINIDENTIFIER"]),
                content_url=text(row["ZCONTENTURL"]),
                group_name=text(row["ZGROUPNAME"]),
                sender=text(row["sender"]),
                sender_name=text(row["sender_name"]),
                recipients=tuple(r for r in (text(row["recipients"]) or "").split(" ") if r),
                recipient_count=integer(row["ZRECIPIENTCOUNT"]),
            )
        if "Z_PK" not in contacts:
            return
        sql = f"SELECT c.Z_PK AS pk, {pick(contacts, 'c', _CONTACT)} FROM ZCONTACTS c ORDER BY c.Z_PK"  # noqa: S608
        for row in iter_rows(conn, sql):
            person = row["ZPERSONID"]
            yield InteractionContact(
                locator=Locator(path, sha256, "ZCONTACTS", integer(row["pk"])),
                identifier=text(row["ZIDENTIFIER"]) or text(row["ZCUSTOMIDENTIFIER"]),
                display_name=text(row["ZDISPLAYNAME"]),
                person_id=text(person) if person is None or isinstance(person, (str, bytes)) else str(person),
                created=from_cocoa(row["ZCREATIONDATE"]),
                first_incoming=from_cocoa(row["ZFIRSTINCOMINGSENDERDATE"]),
                last_incoming=from_cocoa(row["ZLASTINCOMINGSENDERDATE"]),
                last_outgoing=from_cocoa(row["ZLASTOUTGOINGRECIPIENTDATE"]),
            )
