"""Chrome history (``History``: ``urls`` and ``visits``), with the visit each one came from.

Chrome on iOS keeps the Chromium history database in its app container. A
visit's ``from_visit`` names the visit that led to it, so a redirect through
an exploit server shows as the previous hop of the page finally seen.
Times are microseconds since 1601 (the WebKit/Chromium epoch). Rows of
``urls`` that no visit refers to are reported too (they remain when visits
are expired or deleted).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import SqliteArtifact
from preuve.artifacts.rows import container_of
from preuve.artifacts.tables import Absent, Database, Join, Query, Table
from preuve.artifacts.timeconv import from_webkit
from preuve.artifacts.values import as_int, as_text
from preuve.artifacts.web import VisitMethods
from preuve.model import Record

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

    tables = (
        Table("urls", required=("id", "url"), optional=("title", "last_visit_time"), key=("id",)),
        Table("visits", required=("id", "url"), optional=("visit_time", "from_visit", "transition"), key=("id",)),
    )

    def read(self, db: Database) -> Iterator[Record]:
        urls, visits = self.tables
        if db.report_missing(urls):
            return
        app = container_of(db.path)
        orphans: tuple[Absent, ...] = ()
        if db.has(visits):
            query = Query(visits, "v", joins=(
                Join(urls, "u", on="id", to="v.url"),
                Join(Table("visits", required=("id", "url")), "fv", on="id", to="v.from_visit"),
                Join(Table("urls", required=("id", "url")), "fu", on="id", to="fv.url"),
            ))
            for row in db.rows(query):
                from_visit = as_int(row["from_visit"])
                yield ChromeVisit(
                    locator=db.locator("visits", row["_key"]),
                    app=app,
                    visit_id=as_int(row["id"]),
                    url_id=as_int(row["u.id"]),
                    url=as_text(row["u.url"]),
                    title=as_text(row["u.title"]),
                    visit_time=from_webkit(row["visit_time"]),
                    from_visit=from_visit or None,
                    from_url=as_text(row["fu.url"]),
                    transition=as_int(row["transition"]),
                )
            orphans = (Absent("u.id", "visits", "url"),)
        # Rows of urls no visit refers to (all of them when there is no visits table).
        for row in db.rows(Query(urls, "u", where=orphans)):
            yield ChromeVisit(
                locator=db.locator("urls", row["_key"]),
                app=app,
                visit_id=None,
                url_id=as_int(row["id"]),
                url=as_text(row["url"]),
                title=as_text(row["title"]),
                visit_time=from_webkit(row["last_visit_time"]),
                from_visit=None,
                from_url=None,
                transition=None,
            )
