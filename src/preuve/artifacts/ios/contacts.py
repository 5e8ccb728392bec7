"""Contacts (``AddressBook.sqlitedb``: ``ABPerson`` with its ``ABMultiValue`` rows).

Each person is one record holding its phone numbers, e-mail addresses
(e-mail observables: attacker accounts are published as indicators) and
URLs. Multi-values are read in the same ordered pass as their person
(a join grouped by person) rather than one query per person.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import SqliteArtifact
from preuve.artifacts.rows import unique
from preuve.artifacts.tables import Database, Join, Query, Table
from preuve.artifacts.timeconv import from_cocoa
from preuve.artifacts.values import as_int, as_text
from preuve.model import Kind, Observable, Record, Timestamp

# ABMultiValue.property values (AddressBook framework property ids).
_PHONE, _EMAIL, _URL = 3, 4, 22
# Only the columns the record holds: Note (free text, possibly huge) is never read.
_PERSON = ("First", "Middle", "Last", "Organization", "CreationDate", "ModificationDate")
_MAX_VALUES = 10_000


@dataclass(kw_only=True)
class Contact(Record):
    record_type: ClassVar[str] = "ios:contacts:person"
    name: str | None
    organization: str | None
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    urls: tuple[str, ...]
    created: datetime | None
    modified: datetime | None

    def observables(self) -> Iterator[Observable]:
        for email in self.emails:
            yield Observable(Kind.EMAIL, email)
        for url in self.urls:
            yield Observable(Kind.URL, url)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.created is not None:
            yield Timestamp(self.created, "Contact created")
        if self.modified is not None:
            yield Timestamp(self.modified, "Contact modified")

    def summary(self) -> str:
        return f"Contact {self.name or self.organization or '?'} ({', '.join(self.phones + self.emails) or 'no address'})"


class Contacts(SqliteArtifact):
    name = "contacts"
    platform = "ios"
    title = "Contacts (address book)"
    paths = ("/private/var/mobile/Library/AddressBook/AddressBook.sqlitedb",)

    tables = (
        Table("ABPerson", optional=_PERSON, key=("ROWID",)),
        Table("ABMultiValue", required=("record_id", "property", "value"), key=("UID",)),
    )

    def read(self, db: Database) -> Iterator[Record]:
        people, values = self.tables
        query = Query(people, "p", joins=(Join(values, "mv", on="record_id", to="p.ROWID"),), then_by=("mv",))
        current: sqlite3.Row | None = None
        found: dict[int, list[str]] = {}

        def emit() -> Contact:
            assert current is not None
            name = " ".join(n for n in (as_text(current["First"]), as_text(current["Middle"]),
                                        as_text(current["Last"])) if n)
            return Contact(
                locator=db.locator("ABPerson", current["_key"]),
                name=name or None,
                organization=as_text(current["Organization"]),
                phones=unique(found.get(_PHONE, ())),
                emails=unique(found.get(_EMAIL, ())),
                urls=unique(found.get(_URL, ())),
                created=from_cocoa(current["CreationDate"]),
                modified=from_cocoa(current["ModificationDate"]),
            )

        for row in db.rows(query):
            if current is None or row["_key"] != current["_key"]:
                if current is not None:
                    yield emit()
                current, found = row, {}
            value = as_text(row["mv.value"])
            prop = as_int(row["mv.property"])
            if value is None or prop is None:
                continue
            if prop not in (_PHONE, _EMAIL, _URL):
                prop = _EMAIL if "@" in value and " " not in value.strip() else -1
            bucket = found.setdefault(prop, [])
            if prop != -1 and len(bucket) < _MAX_VALUES:
                bucket.append(value.strip())
        if current is not None:
            yield emit()
