"""Calendar (``Calendar.sqlitedb``): events, their organiser and attendees, invitations.

QuaDream's ENDOFDAYS exploit arrived as iCloud calendar invitations that the
victim never saw (Citizen Lab and Microsoft, April 2023): they remain as
events whose organiser is an outside account. Each event carries its
organiser (``Participant`` → ``Identity``: address and display name), the
addresses of its other participants as e-mail observables, and whether it
was created after it had already taken place (a backdated invitation).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.rows import flag, integer, links_in, pick, text, unique
from preuve.artifacts.timeconv import from_cocoa
from preuve.evidence.sqlite import iter_rows, table_columns
from preuve.model import Kind, Locator, Observable, Record, Timestamp

_ITEM = ("UUID", "summary", "description", "start_date", "end_date", "creation_date", "last_modified", "url",
         "hidden", "invitation_status", "organizer_id", "self_attendee_id")  # only what the record holds


def _address(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    return value[7:] if value.lower().startswith("mailto:") else value


@dataclass(kw_only=True)
class CalendarEvent(Record):
    record_type: ClassVar[str] = "ios:calendar:event"
    uuid: str | None
    summary_text: str | None
    description: str | None
    start: datetime | None
    end: datetime | None
    created: datetime | None
    modified: datetime | None
    organizer: str | None
    organizer_name: str | None
    organizer_is_self: bool
    calendar: str | None
    attendees: tuple[str, ...]
    invitation_status: int | None
    hidden: bool | None
    url: str | None
    links: tuple[str, ...]

    @property
    def is_invitation(self) -> bool:
        """Organised by someone else's account: it came in as an invitation."""
        return bool(self.organizer) and not self.organizer_is_self

    @property
    def backdated(self) -> bool:
        """Written to the phone after it had already ended (so never shown as upcoming)."""
        last = self.end or self.start
        return self.created is not None and last is not None and last < self.created

    def observables(self) -> Iterator[Observable]:
        for address in unique((self.organizer or "", *self.attendees)):
            if "@" in address:
                yield Observable(Kind.EMAIL, address)
        for link in unique(((self.url or ""), *self.links)):
            if "://" in link or "/" in link:
                yield Observable(Kind.URL, link)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.created is not None:
            yield Timestamp(self.created, "Calendar event created")
        if self.start is not None:
            yield Timestamp(self.start, "Calendar event starts")
        if self.modified is not None:
            yield Timestamp(self.modified, "Calendar event modified")

    def summary(self) -> str:
        by = f" (invitation from {self.organizer})" if self.is_invitation else ""
        return f"Calendar event {self.summary_text or '?'}{by}"


class Calendar(SqliteArtifact):
    name = "calendar"
    platform = "ios"
    title = "Calendar events and invitations"
    paths = ("/private/var/mobile/Library/Calendar/Calendar.sqlitedb",)

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        items = table_columns(conn, "CalendarItem")
        if not items:
            ctx.error(path, "no CalendarItem table")
            return
        participants = table_columns(conn, "Participant")
        identities = table_columns(conn, "Identity")
        has_identity = "identity_id" in participants and {"ROWID", "address"} <= identities
        p_email = "p.email" if "email" in participants else "NULL"
        if has_identity:
            organizer = f"coalesce({p_email}, oi.address) AS organizer, " + (
                "oi.display_name AS organizer_name" if "display_name" in identities else "NULL AS organizer_name")
            org_join = "LEFT JOIN Identity oi ON oi.ROWID = p.identity_id "
        else:
            organizer, org_join = f"{p_email} AS organizer, NULL AS organizer_name", ""
        if "organizer_id" in items and participants:
            join = f"LEFT JOIN Participant p ON p.ROWID = c.organizer_id {org_join}"
            organizer += ", p.is_self AS organizer_self" if "is_self" in participants else ", NULL AS organizer_self"
        else:
            organizer, join = "NULL AS organizer, NULL AS organizer_name, NULL AS organizer_self", ""
        if "calendar_id" in items and {"ROWID", "title"} <= table_columns(conn, "Calendar"):
            organizer += ", cal.title AS calendar_title"
            join += "LEFT JOIN Calendar cal ON cal.ROWID = c.calendar_id "
        else:
            organizer += ", NULL AS calendar_title"
        if "owner_id" in participants and ("email" in participants or has_identity):
            a_email = "a.email" if "email" in participants else "NULL"
            a_addr = f"coalesce({a_email}, ai.address)" if has_identity else a_email
            a_join = "LEFT JOIN Identity ai ON ai.ROWID = a.identity_id " if has_identity else ""
            # Grouped once and joined (SQLite indexes the grouped rows itself): a correlated subquery per
            # event is quadratic when, as in a hostile or rebuilt file, Participant has no owner_id index.
            attendees = "att.addresses"
            join += (f"LEFT JOIN (SELECT a.owner_id AS oid, group_concat({a_addr}, ' ') AS addresses "  # noqa: S608
                     f"FROM Participant a {a_join}GROUP BY a.owner_id) att ON att.oid = c.ROWID ")
        else:
            attendees = "NULL"
        sql = (f"SELECT c.ROWID AS rid, {pick(items, 'c', _ITEM)}, {organizer}, {attendees} AS attendees "  # noqa: S608
               f"FROM CalendarItem c {join}ORDER BY c.ROWID")
        for row in iter_rows(conn, sql):
            organizer_address = _address(text(row["organizer"]))
            organizer_id = integer(row["organizer_id"])
            self_id = integer(row["self_attendee_id"])
            attendee_list = unique(
                a for a in (_address(x) for x in (text(row["attendees"]) or "").split(" "))
                if a and a != organizer_address
            )
            description = text(row["description"])
            yield CalendarEvent(
                locator=Locator(path, sha256, "CalendarItem", integer(row["rid"])),
                uuid=text(row["UUID"]),
                summary_text=text(row["summary"]),
                description=description,
                start=from_cocoa(row["start_date"]),
                end=from_cocoa(row["end_date"]),
                created=from_cocoa(row["creation_date"]),
                modified=from_cocoa(row["last_modified"]),
                organizer=organizer_address,
                organizer_name=text(row["organizer_name"]),
                organizer_is_self=bool(organizer_id and self_id and organizer_id == self_id)
                or flag(row["organizer_self"]) is True,
                calendar=text(row["calendar_title"]),
                attendees=attendee_list,
                invitation_status=integer(row["invitation_status"]),
                hidden=flag(row["hidden"]),
                url=text(row["url"]),
                links=links_in(description),
            )
