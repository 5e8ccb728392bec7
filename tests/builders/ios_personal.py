"""Personal databases of iOS (call history, address book, calendar), with the tables iOS uses."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

COCOA = datetime(2001, 1, 1, tzinfo=UTC)


def cocoa_seconds(when: datetime) -> float:
    return (when - COCOA).total_seconds()


@dataclass
class CallRow:
    address: str
    date: datetime
    duration: float = 0.0
    outgoing: bool = False
    provider: str = "com.apple.Telephony"
    address_as_blob: bool = False  # some iOS versions store ZADDRESS as a blob


def fill_call_history(conn: sqlite3.Connection, calls: Sequence[CallRow]) -> None:
    conn.execute(
        "CREATE TABLE ZCALLRECORD (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZANSWERED INTEGER,"
        " ZCALLTYPE INTEGER, ZDISCONNECTED_CAUSE INTEGER, ZFACE_TIME_DATA BLOB, ZNUMBER_AVAILABILITY INTEGER,"
        " ZORIGINATED INTEGER, ZREAD INTEGER, ZDATE TIMESTAMP, ZDURATION FLOAT, ZADDRESS VARCHAR, ZDEVICE_ID VARCHAR,"
        " ZISO_COUNTRY_CODE VARCHAR, ZLOCATION VARCHAR, ZNAME VARCHAR, ZSERVICE_PROVIDER VARCHAR, ZUNIQUE_ID VARCHAR)"
    )
    for n, call in enumerate(calls, 1):
        address: object = call.address.encode() if call.address_as_blob else call.address
        conn.execute(
            "INSERT INTO ZCALLRECORD (Z_ENT, Z_OPT, ZANSWERED, ZCALLTYPE, ZORIGINATED, ZDATE, ZDURATION, ZADDRESS,"
            " ZISO_COUNTRY_CODE, ZLOCATION, ZSERVICE_PROVIDER, ZUNIQUE_ID) VALUES (2, 1, 1, 1, ?, ?, ?, ?, 'ch', '', ?, ?)",
            (int(call.outgoing), cocoa_seconds(call.date), call.duration, address, call.provider,
             f"00000000-0000-4000-8000-{n:012d}"),
        )


@dataclass
class Person:
    first: str
    last: str = ""
    phones: Sequence[str] = ()
    emails: Sequence[str] = ()
    urls: Sequence[str] = ()
    created: datetime = field(default_factory=lambda: datetime(2022, 1, 1, tzinfo=UTC))


def fill_address_book(conn: sqlite3.Connection, people: Sequence[Person]) -> None:
    conn.executescript(
        """
        CREATE TABLE ABPerson (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, First TEXT, Last TEXT, Middle TEXT,
            FirstPhonetic TEXT, Organization TEXT, Department TEXT, Note TEXT, Kind INTEGER, Birthday TEXT,
            JobTitle TEXT, Nickname TEXT, CreationDate INTEGER, ModificationDate INTEGER);
        CREATE TABLE ABMultiValue (UID INTEGER PRIMARY KEY, record_id INTEGER, property INTEGER, identifier INTEGER,
            label INTEGER, value TEXT, guid TEXT);
        """
    )
    for person in people:
        pid = conn.execute(
            "INSERT INTO ABPerson (First, Last, Kind, CreationDate, ModificationDate) VALUES (?, ?, 0, ?, ?)",
            (person.first, person.last or None, int(cocoa_seconds(person.created)), int(cocoa_seconds(person.created))),
        ).lastrowid
        for prop, values in ((3, person.phones), (4, person.emails), (22, person.urls)):
            for index, value in enumerate(values):
                conn.execute("INSERT INTO ABMultiValue (record_id, property, identifier, value) VALUES (?, ?, ?, ?)",
                             (pid, prop, index, value))


@dataclass
class Event:
    summary: str
    start: datetime
    end: datetime
    created: datetime
    description: str | None = None
    organizer: str | None = None  # an address: the event is an invitation from it
    organizer_name: str | None = None
    organizer_is_self: bool = False  # the owner organised it (Participant.is_self)
    attendees: Sequence[str] = ()


def fill_calendar(conn: sqlite3.Connection, events: Sequence[Event]) -> None:
    conn.executescript(
        """
        CREATE TABLE Calendar (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, store_id INTEGER, title TEXT);
        CREATE TABLE CalendarItem (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, summary TEXT, location_id INTEGER,
            description TEXT, start_date REAL, start_tz TEXT, end_date REAL, all_day INTEGER, calendar_id INTEGER,
            orig_item_id INTEGER, orig_date REAL, organizer_id INTEGER, self_attendee_id INTEGER, status INTEGER,
            invitation_status INTEGER, availability INTEGER, privacy_level INTEGER, url TEXT, last_modified REAL,
            sequence_num INTEGER, birthday_id INTEGER, modified_properties INTEGER, external_tracking_status INTEGER,
            external_id TEXT, external_mod_tag TEXT, unique_identifier TEXT, external_schedule_id TEXT,
            external_rep BLOB, response_comment TEXT, hidden INTEGER, has_recurrences INTEGER, has_attendees INTEGER,
            UUID TEXT, entity_type INTEGER, creation_date REAL);
        CREATE TABLE Identity (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, display_name TEXT, address TEXT,
            first_name TEXT, last_name TEXT);
        CREATE TABLE Participant (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, entity_type INTEGER, type INTEGER,
            status INTEGER, pending_status INTEGER, role INTEGER, identity_id INTEGER, owner_id INTEGER,
            external_rep BLOB, UUID TEXT, email TEXT, phone_number TEXT, is_self INTEGER, comment TEXT,
            last_modified REAL);
        INSERT INTO Calendar (store_id, title) VALUES (1, 'Home');
        """
    )
    for n, event in enumerate(events, 1):
        item = int(conn.execute(
            "INSERT INTO CalendarItem (summary, description, start_date, end_date, all_day, calendar_id, status,"
            " invitation_status, hidden, has_attendees, UUID, entity_type, creation_date, last_modified)"
            " VALUES (?, ?, ?, ?, 0, 1, 0, ?, 0, ?, ?, 2, ?, ?)",
            (event.summary, event.description, cocoa_seconds(event.start), cocoa_seconds(event.end),
             1 if event.organizer else 0, int(bool(event.attendees or event.organizer)),
             f"EVENT-{n:04d}", cocoa_seconds(event.created), cocoa_seconds(event.created)),
        ).lastrowid or 0)

        def participant(address: str, name: str | None, role: int, is_self: int, item: int = item) -> int:
            identity = conn.execute("INSERT INTO Identity (display_name, address) VALUES (?, ?)",
                                    (name, f"mailto:{address}")).lastrowid
            return int(conn.execute(
                "INSERT INTO Participant (entity_type, type, status, role, identity_id, owner_id, email, is_self)"
                " VALUES (7, 1, 0, ?, ?, ?, ?, ?)", (role, identity, item, address, is_self),
            ).lastrowid or 0)

        organizer_id = (participant(event.organizer, event.organizer_name, 0, int(event.organizer_is_self))
                        if event.organizer else None)
        self_id = None
        for address in event.attendees:
            pid = participant(address, None, 1, int(address.startswith("owner@")))
            if address.startswith("owner@"):
                self_id = pid
        conn.execute("UPDATE CalendarItem SET organizer_id = ?, self_attendee_id = ? WHERE ROWID = ?",
                     (organizer_id, self_id, item))
