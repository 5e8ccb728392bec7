"""Firefox history on iOS, in both of the stores Firefox has used.

Firefox for iOS kept history in ``browser.db`` (tables ``history`` and
``visits``, the file MVT reads) and moved it to the Mozilla "places" store
(``places.db``/``places.sqlite``: ``moz_places`` and ``moz_historyvisits``,
the same tables as desktop and Android Firefox). The schema tells which one
a file is. Visit times are microseconds since 1970 in both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import SqliteArtifact
from preuve.artifacts.rows import container_of
from preuve.artifacts.tables import Database, Join, Query, Table
from preuve.artifacts.timeconv import from_unix
from preuve.artifacts.values import as_int, as_text
from preuve.artifacts.web import VisitMethods
from preuve.model import Record

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

    tables = (
        Table("moz_historyvisits", required=("id", "place_id"), optional=("visit_date", "visit_type", "from_visit"),
              key=("id",)),
        Table("moz_places", required=("id", "url"), optional=("title",)),
        Table("visits", required=("id", "siteID"), optional=("date", "type"), key=("id",)),
        Table("history", required=("id", "url"), optional=("title",)),
    )

    def read(self, db: Database) -> Iterator[Record]:
        app = container_of(db.path)
        visits, places, legacy, history = self.tables
        if db.has(visits) and db.has(places):
            query = Query(visits, "v", joins=(
                Join(places, "p", on="id", to="v.place_id"),
                Join(Table("moz_historyvisits", required=("id", "place_id")), "fv", on="id", to="v.from_visit"),
                Join(Table("moz_places", required=("id", "url")), "fp", on="id", to="fv.place_id"),
            ))
            for row in db.rows(query):
                yield FirefoxVisit(
                    locator=db.locator("moz_historyvisits", row["_key"]),
                    app=app, store="places", visit_id=as_int(row["id"]), url=as_text(row["p.url"]),
                    title=as_text(row["p.title"]), visit_time=from_unix(row["visit_date"]),
                    from_url=as_text(row["fp.url"]), visit_type=as_int(row["visit_type"]),
                )
            return
        if db.has(legacy) and db.has(history):
            for row in db.rows(Query(legacy, "v", joins=(Join(history, "h", on="id", to="v.siteID"),))):
                yield FirefoxVisit(
                    locator=db.locator("visits", row["_key"]),
                    app=app, store="browser.db", visit_id=as_int(row["id"]), url=as_text(row["h.url"]),
                    title=as_text(row["h.title"]), visit_time=from_unix(row["date"]), from_url=None,
                    visit_type=as_int(row["type"]),
                )
            return
        if db.path.endswith("/browser.db") and db.columns("favicons"):
            return  # a browser.db whose history moved to the places store: its favicons are read elsewhere
        db.report_none_of(visits, places, legacy, history)
