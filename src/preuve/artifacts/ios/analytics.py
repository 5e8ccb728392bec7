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
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.rows import integer
from preuve.artifacts.timeconv import from_cocoa
from preuve.evidence.errors import EvidenceError
from preuve.evidence.formats.plists import load_plist
from preuve.evidence.sqlite import iter_rows, table_columns
from preuve.indicators.normalize import extract_urls
from preuve.model import Kind, Locator, Observable, Record, Timestamp

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

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        database = path.rsplit("/", 1)[-1]
        found = False
        for table in _TABLES:
            columns = table_columns(conn, table)
            if "data" not in columns:
                continue
            found = True
            stamp = "timestamp" if "timestamp" in columns else "NULL"
            sql = f"SELECT rowid, {stamp}, data FROM {table} ORDER BY rowid"  # noqa: S608 - fixed table names
            for rid, when, data in iter_rows(conn, sql):
                strings: list[tuple[str, str]] = []
                if isinstance(data, bytes) and data:
                    try:
                        value = load_plist(data, f"{path} {table} {rid}", ctx.limits)
                    except EvidenceError as exc:
                        ctx.warn(f"{path}: {table} row {rid} not decoded ({exc.reason})")
                        value = None
                    if isinstance(value, dict):
                        for key, item in list(value.items())[:_MAX_STRINGS]:
                            if isinstance(item, str) and item and len(item) <= _MAX_STRING:
                                strings.append((str(key), item))
                yield AnalyticsEvent(
                    locator=Locator(path, sha256, table, integer(rid)),
                    database=database,
                    when=from_cocoa(when),
                    strings=tuple(strings),
                )
        if not found:
            ctx.warn(f"{path}: none of the analytics tables ({', '.join(_TABLES)})")
