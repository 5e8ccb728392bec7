"""Firefox history on iOS, in both of the stores Firefox has used.

Firefox for iOS kept history in ``browser.db`` (tables ``history`` and
``visits``, the file MVT reads) and moved it to the Mozilla "places" store
(``places.db``/``places.sqlite``: ``moz_places`` and ``moz_historyvisits``,
the same tables as desktop and Android Firefox). The schema tells which one
a file is. Visit times are microseconds since 1970 in both.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.rows import container_of, integer, pick, text
from preuve.artifacts.timeconv import from_unix
from preuve.artifacts.web import VisitMethods
from preuve.evidence.sqlite import iter_rows, table_columns
from preuve.model import Locator, Record

FIREFOX_PROFILES = (
    "/private/var/mobile/Containers/Shared/AppGroup/*/profile.profile",
    "/private/var/mobile/Containers/Data/Application/*/profile.profile",
    "/private/var/mobile/profile.profile",
)


@dataclass(kw_only=True)
class FirefoxVisit(VisitMethods, Record):
    """A page Firefox visited."""

    record_type: ClassVar[str] = "ios:firefox:visit"
    browser: ClassVar[str] = "Firefox"
    app: str | None
    store: str  # "places" or "browser.db"
    visit_id: int | None
    url: str | None
    title: str | None
    visit_time: datetime | None
    from_url: str | None
    visit_type: int | None


class FirefoxHistory(SqliteArtifact):
    name = "firefox_history"
    platform = "ios"
    title = "Firefox history"
    paths = tuple(f"{p}/{f}" for p in FIREFOX_PROFILES for f in ("browser.db", "places.db", "places.sqlite"))

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        app = container_of(path)
        places = table_columns(conn, "moz_places")
        visits = table_columns(conn, "moz_historyvisits")
        if {"id", "url"} <= places and {"id", "place_id"} <= visits:
            has_from = "from_visit" in visits
            sql = (
                f"SELECT v.id AS vid, {pick(visits, 'v', ('visit_date', 'visit_type'))}, "  # noqa: S608
                f"{pick(places, 'p', ('url', 'title'))}, {'fp.url' if has_from else 'NULL'} AS from_url "
                "FROM moz_historyvisits v LEFT JOIN moz_places p ON p.id = v.place_id "
                + ("LEFT JOIN moz_historyvisits fv ON fv.id = v.from_visit "
                   "LEFT JOIN moz_places fp ON fp.id = fv.place_id " if has_from else "")
                + "ORDER BY v.id"
            )
            for row in iter_rows(conn, sql):
                yield FirefoxVisit(
                    locator=Locator(path, sha256, "moz_historyvisits", integer(row["vid"])),
                    app=app, store="places", visit_id=integer(row["vid"]), url=text(row["url"]),
                    title=text(row["title"]), visit_time=from_unix(row["visit_date"]),
                    from_url=text(row["from_url"]), visit_type=integer(row["visit_type"]),
                )
            return
        history = table_columns(conn, "history")
        legacy = table_columns(conn, "visits")
        if {"id", "url"} <= history and {"id", "siteID"} <= legacy:
            sql = (
                f"SELECT v.id AS vid, {pick(legacy, 'v', ('date', 'type'))}, "  # noqa: S608 - names from schema
                f"{pick(history, 'h', ('url', 'title'))} FROM visits v LEFT JOIN history h ON h.id = v.siteID "
                "ORDER BY v.id"
            )
            for row in iter_rows(conn, sql):
                yield FirefoxVisit(
                    locator=Locator(path, sha256, "visits", integer(row["vid"])),
                    app=app, store="browser.db", visit_id=integer(row["vid"]), url=text(row["url"]),
                    title=text(row["title"]), visit_time=from_unix(row["date"]), from_url=None,
                    visit_type=integer(row["type"]),
                )
            return
        if path.endswith("/browser.db") and table_columns(conn, "favicons"):
            return  # a browser.db whose history moved to the places store: its favicons are read elsewhere
        ctx.error(path, "neither moz_places/moz_historyvisits nor history/visits tables")
