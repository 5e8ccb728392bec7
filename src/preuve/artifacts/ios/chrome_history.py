"""Chrome history (``History``: ``urls`` and ``visits``), with the visit each one came from.

Chrome on iOS keeps the Chromium history database in its app container. A
visit's ``from_visit`` names the visit that led to it, so a redirect through
an exploit server shows as the previous hop of the page finally seen.
Times are microseconds since 1601 (the WebKit/Chromium epoch). Rows of
``urls`` that no visit refers to are reported too (they remain when visits
are expired or deleted).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.rows import container_of, integer, pick, text
from preuve.artifacts.timeconv import from_webkit
from preuve.artifacts.web import VisitMethods
from preuve.evidence.sqlite import iter_rows, table_columns
from preuve.model import Locator, Record

CHROME_PROFILE = "/private/var/mobile/Containers/Data/Application/*/Library/Application Support/Google/Chrome/*"


@dataclass(kw_only=True)
class ChromeVisit(VisitMethods, Record):
    """A page Chrome visited (or a URL it kept with no visit left)."""

    record_type: ClassVar[str] = "ios:chrome:visit"
    browser: ClassVar[str] = "Chrome"
    app: str | None
    visit_id: int | None
    url_id: int | None
    url: str | None
    title: str | None
    visit_time: datetime | None
    from_visit: int | None
    from_url: str | None
    transition: int | None


class ChromeHistory(SqliteArtifact):
    name = "chrome_history"
    platform = "ios"
    title = "Chrome history"
    paths = (f"{CHROME_PROFILE}/History",)

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        url_cols = table_columns(conn, "urls")
        visit_cols = table_columns(conn, "visits")
        if "id" not in url_cols or "url" not in url_cols:
            ctx.error(path, "no 'urls' table with id and url")
            return
        app = container_of(path)
        url_select = pick(url_cols, "u", ("id", "url", "title"))
        if {"id", "url"} <= visit_cols:
            has_from = "from_visit" in visit_cols
            sql = (
                f"SELECT v.id AS visit_id, {pick(visit_cols, 'v', ('visit_time', 'from_visit', 'transition'))}, "  # noqa: S608
                f"{url_select}, {'fu.url' if has_from else 'NULL'} AS from_url "
                "FROM visits v LEFT JOIN urls u ON u.id = v.url "
                + ("LEFT JOIN visits fv ON fv.id = v.from_visit LEFT JOIN urls fu ON fu.id = fv.url " if has_from else "")
                + "ORDER BY v.id"
            )
            for row in iter_rows(conn, sql):
                from_visit = integer(row["from_visit"])
                yield ChromeVisit(
                    locator=Locator(path, sha256, "visits", integer(row["visit_id"])),
                    app=app,
                    visit_id=integer(row["visit_id"]),
                    url_id=integer(row["id"]),
                    url=text(row["url"]),
                    title=text(row["title"]),
                    visit_time=from_webkit(row["visit_time"]),
                    from_visit=from_visit or None,
                    from_url=text(row["from_url"]),
                    transition=integer(row["transition"]),
                )
            orphans = "WHERE u.id NOT IN (SELECT url FROM visits WHERE url IS NOT NULL) "
        else:
            orphans = ""
        extra = pick(url_cols, "u", ("last_visit_time",))
        sql = f"SELECT {url_select}, {extra} FROM urls u {orphans}ORDER BY u.id"  # noqa: S608 - names from the schema
        for row in iter_rows(conn, sql):
            yield ChromeVisit(
                locator=Locator(path, sha256, "urls", integer(row["id"])),
                app=app,
                visit_id=None,
                url_id=integer(row["id"]),
                url=text(row["url"]),
                title=text(row["title"]),
                visit_time=from_webkit(row["last_visit_time"]),
                from_visit=None,
                from_url=None,
                transition=None,
            )
