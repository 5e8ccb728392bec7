"""Security analytics databases (``/private/var/Keychains/Analytics/*.db``).

Each event (tables ``hard_failures``, ``soft_failures``, ``all_events``) has
a Cocoa ``timestamp`` and a ``data`` plist whose top-level strings name
processes and domains; Amnesty found implant process names in them. Strings
are offered as process names (a path by its last component), those shaped
like host names as domains, and the links in them as URLs.
Only in filesystem dumps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import SqliteArtifact
from preuve.artifacts.tables import Database, Query, Table
from preuve.artifacts.timeconv import from_cocoa
from preuve.evidence.errors import EvidenceError
from preuve.evidence.formats.plists import load_plist
from preuve.indicators.normalize import extract_urls
from preuve.model import Kind, Observable, Record, Timestamp

_TABLES = ("hard_failures", "soft_failures", "all_events")
_HOST = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$", re.IGNORECASE)
_MAX_STRINGS = 200
_MAX_STRING = 512


@dataclass(kw_only=True)
class AnalyticsEvent(Record):
    record_type: ClassVar[str] = "ios:analytics:event"
    database: str
    when: datetime | None
    strings: tuple[tuple[str, str], ...]  # (key, value) of the top-level strings of the event

    def observables(self) -> Iterator[Observable]:
        # MVT compares every string with process names (by its last path component) and with domains.
        for _key, value in self.strings:
            if "/" in value:
                for url in extract_urls(value, limit=20):
                    if "://" in url:
                        yield Observable(Kind.URL, url)
                if "://" in value:
                    continue
            name = value.rstrip("/").rsplit("/", 1)[-1]
            if not name or " " in name:
                continue
            yield Observable(Kind.PROCESS, name)
            if _HOST.match(name):
                yield Observable(Kind.DOMAIN, name)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.when is not None:
            yield Timestamp(self.when, f"Analytics event in {self.database}")

    def summary(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.strings[:4])
        return f"Analytics event ({self.database}): {shown}"


class Analytics(SqliteArtifact):
    name = "analytics"
    platform = "ios"
    title = "Security analytics events (Keychains/Analytics)"
    paths = ("/private/var/Keychains/Analytics/*.db",)

    tables = tuple(Table(name, required=("data",), optional=("timestamp",)) for name in _TABLES)

    def read(self, db: Database) -> Iterator[Record]:
        path = db.path
        database = path.rsplit("/", 1)[-1]
        found = False
        for table in self.tables:
            if not db.has(table):
                continue  # each of the tables is optional
            found = True
            for row in db.rows(Query(table)):
                rid, data = row["_key"], row["data"]
                strings: list[tuple[str, str]] = []
                if isinstance(data, bytes) and data:
                    try:
                        value = load_plist(data, f"{path} {table.name} {rid}", db.ctx.limits)
                    except EvidenceError as exc:
                        db.ctx.warn(f"{path}: {table.name} row {rid} not decoded ({exc.reason})")
                        value = None
                    if isinstance(value, dict):
                        for key, item in list(value.items())[:_MAX_STRINGS]:
                            if isinstance(item, str) and item and len(item) <= _MAX_STRING:
                                strings.append((str(key), item))
                yield AnalyticsEvent(
                    locator=db.locator(table.name, rid),
                    database=database,
                    when=from_cocoa(row["timestamp"]),
                    strings=tuple(strings),
                )
        if not found:
            db.ctx.warn(f"{path}: none of the analytics tables ({', '.join(_TABLES)})")
