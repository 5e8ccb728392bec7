"""Chrome favicons (``Favicons``: ``icon_mapping`` page to ``favicons`` icon).

The favicon database outlives cleared history: a page whose visit was
deleted often still has its icon mapping, with the icon's last update time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import SqliteArtifact
from preuve.artifacts.ios.chrome_history import CHROME_PROFILE
from preuve.artifacts.rows import container_of
from preuve.artifacts.tables import Aggregate, Database, Grouped, Join, Query, Table
from preuve.artifacts.timeconv import from_webkit
from preuve.artifacts.values import as_text
from preuve.artifacts.web import url_observables
from preuve.model import Observable, Record, Timestamp


@dataclass(kw_only=True)
class ChromeFavicon(Record):
    """A page and the icon Chrome fetched for it."""

    record_type: ClassVar[str] = "ios:chrome:favicon"
    app: str | None
    page_url: str | None
    icon_url: str | None
    last_updated: datetime | None
    last_requested: datetime | None

    def observables(self) -> Iterator[Observable]:
        return url_observables(self.page_url, self.icon_url)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.last_updated is not None:
            yield Timestamp(self.last_updated, "Chrome favicon fetched")
        if self.last_requested is not None:
            yield Timestamp(self.last_requested, "Chrome favicon requested")

    def summary(self) -> str:
        return f"Chrome favicon {self.icon_url or '?'} for {self.page_url or '?'}"


class ChromeFavicons(SqliteArtifact):
    name = "chrome_favicons"
    platform = "ios"
    title = "Chrome favicons"
    paths = (f"{CHROME_PROFILE}/Favicons",)

    tables = (
        Table("icon_mapping", required=("page_url", "icon_id"), key=("id",)),
        Table("favicons", required=("id", "url")),
        Table("favicon_bitmaps", required=("icon_id",), optional=("last_updated", "last_requested")),
    )

    def read(self, db: Database) -> Iterator[Record]:
        mapping, icons, bitmaps = self.tables
        # One row per icon (an icon has a bitmap per size): the latest times.
        times = Grouped(bitmaps, "b", by="icon_id", to="m.icon_id", aggregates=(
            Aggregate("updated", "max", ("b.last_updated",)), Aggregate("requested", "max", ("b.last_requested",))))
        query = Query(mapping, "m", joins=(Join(icons, "f", on="id", to="m.icon_id"), times))
        app = container_of(db.path)
        for row in db.rows(query):
            yield ChromeFavicon(
                locator=db.locator("icon_mapping", row["_key"]),
                app=app,
                page_url=as_text(row["page_url"]),
                icon_url=as_text(row["f.url"]),
                last_updated=from_webkit(row["b.updated"]),
                last_requested=from_webkit(row["b.requested"]),
            )
