"""Firefox favicons on iOS: pages and the icons fetched for them.

Two stores, told apart by their schema: ``favicons.sqlite`` of the Mozilla
places store (``moz_pages_w_icons`` ↔ ``moz_icons_to_pages`` ↔ ``moz_icons``)
and the older ``browser.db`` (``favicons`` ↔ ``favicon_sites`` ↔ ``history``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.ios.firefox_history import FIREFOX_PROFILES
from preuve.artifacts.rows import container_of, integer, pick, text
from preuve.artifacts.timeconv import from_unix
from preuve.artifacts.web import url_observables
from preuve.evidence.sqlite import iter_rows, table_columns
from preuve.model import Locator, Observable, Record, Timestamp


@dataclass(kw_only=True)
class FirefoxFavicon(Record):
    """A page and an icon Firefox fetched for it."""

    record_type: ClassVar[str] = "ios:firefox:favicon"
    app: str | None
    page_url: str | None
    icon_url: str | None
    when: datetime | None

    def observables(self) -> Iterator[Observable]:
        return url_observables(self.page_url, self.icon_url)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.when is not None:
            yield Timestamp(self.when, "Firefox favicon")

    def summary(self) -> str:
        return f"Firefox favicon {self.icon_url or '?'} for {self.page_url or '?'}"


class FirefoxFavicons(SqliteArtifact):
    name = "firefox_favicons"
    platform = "ios"
    title = "Firefox favicons"
    paths = tuple(f"{p}/{f}" for p in FIREFOX_PROFILES for f in ("browser.db", "favicons.db", "favicons.sqlite"))

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        app = container_of(path)
        pages = table_columns(conn, "moz_pages_w_icons")
        links = table_columns(conn, "moz_icons_to_pages")
        icons = table_columns(conn, "moz_icons")
        if {"id", "page_url"} <= pages and {"page_id", "icon_id"} <= links and {"id", "icon_url"} <= icons:
            # moz_icons_to_pages is a WITHOUT ROWID table: the page row locates the record, the icon id completes it.
            sql = (
                "SELECT p.id AS pid, p.page_url, l.icon_id, i.icon_url "
                "FROM moz_pages_w_icons p JOIN moz_icons_to_pages l ON l.page_id = p.id "
                "LEFT JOIN moz_icons i ON i.id = l.icon_id ORDER BY p.id, l.icon_id"
            )
            for row in iter_rows(conn, sql):
                yield FirefoxFavicon(
                    locator=Locator(path, sha256, "moz_pages_w_icons", integer(row["pid"]),
                                    key_path=f"icon_id={integer(row['icon_id'])}"),
                    app=app, page_url=text(row["page_url"]), icon_url=text(row["icon_url"]), when=None,
                )
            return
        sites = table_columns(conn, "favicon_sites")
        favicons = table_columns(conn, "favicons")
        history = table_columns(conn, "history")
        if {"id", "siteID", "faviconID"} <= sites and {"id", "url"} <= favicons:
            page = "h.url" if {"id", "url"} <= history else "NULL"
            join = "LEFT JOIN history h ON h.id = s.siteID " if page != "NULL" else ""
            sql = (
                f"SELECT s.id AS sid, {page} AS page_url, f.url AS icon_url, {pick(favicons, 'f', ('date',))} "  # noqa: S608
                f"FROM favicon_sites s LEFT JOIN favicons f ON f.id = s.faviconID {join}ORDER BY s.id"
            )
            for row in iter_rows(conn, sql):
                yield FirefoxFavicon(
                    locator=Locator(path, sha256, "favicon_sites", integer(row["sid"])),
                    app=app, page_url=text(row["page_url"]), icon_url=text(row["icon_url"]),
                    when=from_unix(row["date"]),
                )
            return
        if path.endswith("/browser.db") and table_columns(conn, "history"):
            return  # a browser.db with history but no icons
        ctx.error(path, "no Firefox favicon tables")
