"""Firefox favicons on iOS: pages and the icons fetched for them.

Two stores, told apart by their schema: ``favicons.sqlite`` of the Mozilla
places store (``moz_pages_w_icons`` ↔ ``moz_icons_to_pages`` ↔ ``moz_icons``)
and the older ``browser.db`` (``favicons`` ↔ ``favicon_sites`` ↔ ``history``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import SqliteArtifact
from preuve.artifacts.ios.firefox_history import FIREFOX_PROFILES
from preuve.artifacts.rows import container_of
from preuve.artifacts.tables import Database, Join, Query, Table
from preuve.artifacts.timeconv import from_unix
from preuve.artifacts.values import as_int, as_text
from preuve.artifacts.web import url_observables
from preuve.model import Observable, Record, Timestamp


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

    tables = (
        Table("moz_pages_w_icons", required=("id", "page_url"), key=("id",)),
        Table("moz_icons_to_pages", required=("page_id", "icon_id"), key=("icon_id",)),
        Table("moz_icons", required=("id", "icon_url")),
        Table("favicon_sites", required=("id", "siteID", "faviconID"), key=("id",)),
        Table("favicons", required=("id", "url"), optional=("date",)),
        Table("history", required=("id", "url")),
    )

    def read(self, db: Database) -> Iterator[Record]:
        app = container_of(db.path)
        pages, links, icons, sites, favicons, history = self.tables
        if db.has(pages) and db.has(links) and db.has(icons):
            # moz_icons_to_pages is a WITHOUT ROWID table: the page row locates the record, the icon id completes it.
            query = Query(pages, "p", joins=(Join(links, "l", on="page_id", to="p.id", inner=True),
                                             Join(icons, "i", on="id", to="l.icon_id")), then_by=("l",))
            for row in db.rows(query):
                yield FirefoxFavicon(
                    locator=db.locator("moz_pages_w_icons", row["_key"],
                                       key_path=f"icon_id={as_int(row['l.icon_id'])}"),
                    app=app, page_url=as_text(row["page_url"]), icon_url=as_text(row["i.icon_url"]), when=None,
                )
            return
        if db.has(sites) and db.has(favicons):
            query = Query(sites, "s", joins=(Join(favicons, "f", on="id", to="s.faviconID"),
                                             Join(history, "h", on="id", to="s.siteID")))
            for row in db.rows(query):
                yield FirefoxFavicon(
                    locator=db.locator("favicon_sites", row["_key"]),
                    app=app, page_url=as_text(row["h.url"]), icon_url=as_text(row["f.url"]),
                    when=from_unix(row["f.date"]),
                )
            return
        if db.path.endswith("/browser.db") and db.columns("history"):
            return  # a browser.db with history but no icons
        db.report_none_of(pages, links, icons, sites, favicons)
