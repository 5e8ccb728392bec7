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
from preuve.artifacts.tables import Database
from preuve.artifacts.web import CHROMIUM_URLS, CHROMIUM_VISITS, VisitMethods, chromium_history
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

    tables = (CHROMIUM_URLS, CHROMIUM_VISITS)

    def read(self, db: Database) -> Iterator[Record]:
        app = container_of(db.path)
        for row in chromium_history(db):
            yield ChromeVisit(
                locator=db.locator(row.table, row.key), app=app, visit_id=row.visit_id, url_id=row.url_id,
                url=row.url, title=row.title, visit_time=row.visit_time, from_visit=row.from_visit,
                from_url=row.from_url, transition=row.transition,
            )
