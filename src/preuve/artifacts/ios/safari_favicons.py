"""Safari favicons (``Favicons.db``): pages whose icon Safari fetched, kept after history is cleared.

``page_url`` and ``icon_info`` share a ``uuid``; ``rejected_resources``
keeps pages whose icon failed to load. Usually only in a filesystem dump.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.rows import integer, text
from preuve.artifacts.timeconv import from_cocoa
from preuve.evidence.sqlite import iter_rows, table_columns
from preuve.model import Kind, Locator, Observable, Record, Timestamp


@dataclass(kw_only=True)
class SafariFavicon(Record):
    record_type: ClassVar[str] = "ios:safari:favicon"
    page_url: str | None
    icon_url: str | None
    when: datetime | None
    rejected: bool

    def observables(self) -> Iterator[Observable]:
        for url in (self.page_url, self.icon_url):
            if url:
                yield Observable(Kind.URL, url)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.when is not None:
            yield Timestamp(self.when, "Safari favicon fetched" if not self.rejected else "Safari favicon rejected")

    def summary(self) -> str:
        return f"Safari favicon {self.icon_url or '?'} for {self.page_url or '?'}"


class SafariFavicons(SqliteArtifact):
    name = "safari_favicons"
    platform = "ios"
    title = "Safari favicons"
    paths = (
        "/private/var/mobile/Library/Image Cache/Favicons/Favicons.db",
        "/private/var/mobile/Containers/Data/Application/*/Library/Image Cache/Favicons/Favicons.db",
    )

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        pages = table_columns(conn, "page_url")
        icons = table_columns(conn, "icon_info")
        rejected = table_columns(conn, "rejected_resources")
        if not {"uuid", "url"} <= pages and not rejected:
            ctx.error(path, "no page_url or rejected_resources table")
            return
        if {"uuid", "url"} <= pages:
            if {"uuid", "url"} <= icons:
                stamp = "i.timestamp" if "timestamp" in icons else "NULL"
                sql = (f"SELECT p.rowid, p.url, i.url, {stamp} FROM page_url p "  # noqa: S608
                       "LEFT JOIN icon_info i ON i.uuid = p.uuid ORDER BY p.rowid")
            else:
                sql = "SELECT p.rowid, p.url, NULL, NULL FROM page_url p ORDER BY p.rowid"
            for rid, page, icon, when in iter_rows(conn, sql):
                yield SafariFavicon(locator=Locator(path, sha256, "page_url", integer(rid)), page_url=text(page),
                                    icon_url=text(icon), when=from_cocoa(when), rejected=False)
        if {"page_url", "icon_url"} <= rejected:
            stamp = "timestamp" if "timestamp" in rejected else "NULL"
            sql = f"SELECT rowid, page_url, icon_url, {stamp} FROM rejected_resources ORDER BY rowid"  # noqa: S608
            for rid, page, icon, when in iter_rows(conn, sql):
                yield SafariFavicon(locator=Locator(path, sha256, "rejected_resources", integer(rid)),
                                    page_url=text(page), icon_url=text(icon), when=from_cocoa(when), rejected=True)
