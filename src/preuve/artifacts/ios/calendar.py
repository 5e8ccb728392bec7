"""Calendar (``Calendar.sqlitedb``): events, their organiser and attendees, invitations.

QuaDream's ENDOFDAYS exploit arrived as iCloud calendar invitations that the
victim never saw (Citizen Lab and Microsoft, April 2023): they remain as
events whose organiser is an outside account. Each event carries its
organiser (``Participant`` → ``Identity``: address and display name), the
addresses of its other participants as e-mail observables, and whether it
was created after it had already taken place (a backdated invitation).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import SqliteArtifact
from preuve.artifacts.rows import links_in, unique
from preuve.artifacts.tables import Aggregate, Database, Grouped, Join, Query, Table
from preuve.artifacts.timeconv import from_cocoa
from preuve.artifacts.values import as_bool_int, as_int, as_text
from preuve.model import Kind, Observable, Record, Timestamp

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

    tables = (
        Table("CalendarItem", optional=_ITEM, key=("ROWID",)),
        Table("Participant", optional=("email", "is_self", "identity_id", "owner_id")),
        Table("Identity", required=("ROWID", "address"), optional=("display_name",)),
        Table("Calendar", required=("ROWID", "title")),
    )

    def read(self, db: Database) -> Iterator[Record]:
        items, _, identities, calendars = self.tables
        attendees = Grouped(
            Table("Participant", required=("owner_id",), optional=("email", "identity_id")), "a", by="owner_id",
            to="c.ROWID", joins=(Join(identities, "ai", on="ROWID", to="a.identity_id"),),
            aggregates=(Aggregate("addresses", "group_concat", ("a.email", "ai.address"), " "),),
        )
        # Grouped once and joined (SQLite indexes the grouped rows itself): a correlated subquery per
        # event is quadratic when, as in a hostile or rebuilt file, Participant has no owner_id index.
        query = Query(items, "c", joins=(
            Join(Table("Participant", optional=("email", "is_self", "identity_id")), "p", on="ROWID",
                 to="c.organizer_id"),
            Join(identities, "oi", on="ROWID", to="p.identity_id"),
            Join(calendars, "cal", on="ROWID", to="c.calendar_id"),
            attendees,
        ))
        for row in db.rows(query):
            email = row["p.email"]
            organizer_address = _address(as_text(email if email is not None else row["oi.address"]))
            organizer_id = as_int(row["organizer_id"])
            self_id = as_int(row["self_attendee_id"])
            attendee_list = unique(
                a for a in (_address(x) for x in (as_text(row["a.addresses"]) or "").split(" "))
                if a and a != organizer_address
            )
            description = as_text(row["description"])
            yield CalendarEvent(
                locator=db.locator("CalendarItem", row["_key"]),
                uuid=as_text(row["UUID"]),
                summary_text=as_text(row["summary"]),
                description=description,
                start=from_cocoa(row["start_date"]),
                end=from_cocoa(row["end_date"]),
                created=from_cocoa(row["creation_date"]),
                modified=from_cocoa(row["last_modified"]),
                organizer=organizer_address,
                organizer_name=as_text(row["oi.display_name"]),
                organizer_is_self=bool(organizer_id and self_id and organizer_id == self_id)
                or as_bool_int(row["p.is_self"]) is True,
                calendar=as_text(row["cal.title"]),
                attendees=attendee_list,
                invitation_status=as_int(row["invitation_status"]),
                hidden=as_bool_int(row["hidden"]),
                url=as_text(row["url"]),
                links=links_in(description),
            )
