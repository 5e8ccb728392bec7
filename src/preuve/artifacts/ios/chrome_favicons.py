"""Chrome favicons (``Favicons``: ``icon_mapping`` page to ``favicons`` icon).

The favicon database outlives cleared history: a page whose visit was
deleted often still has its icon mapping, with the icon's last update time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.ios.chrome_history import CHROME_PROFILE
from preuve.artifacts.rows import container_of, integer, text
from preuve.artifacts.timeconv import from_webkit
from preuve.artifacts.web import url_observables
from preuve.evidence.sqlite import iter_rows, table_columns
from preuve.model import Locator, Observable, Record, Timestamp


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

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        mapping = table_columns(conn, "icon_mapping")
        if not {"page_url", "icon_id"} <= mapping:
            ctx.error(path, "no 'icon_mapping' table with page_url and icon_id")
            return
        rowid = "m.id" if "id" in mapping else "m.rowid"
        icons = table_columns(conn, "favicons")
        icon_url = "f.url" if {"id", "url"} <= icons else "NULL"
        icon_join = "LEFT JOIN favicons f ON f.id = m.icon_id " if icon_url != "NULL" else ""
        bitmaps = table_columns(conn, "favicon_bitmaps")
        if "icon_id" in bitmaps:
            # One row per icon (an icon has a bitmap per size): the latest times.
            updated = "MAX(last_updated)" if "last_updated" in bitmaps else "NULL"
            requested = "MAX(last_requested)" if "last_requested" in bitmaps else "NULL"
            times = "b.updated, b.requested"
            bitmap_join = (
                f"LEFT JOIN (SELECT icon_id, {updated} AS updated, {requested} AS requested "  # noqa: S608
                "FROM favicon_bitmaps GROUP BY icon_id) b ON b.icon_id = m.icon_id "
            )
        else:
            times, bitmap_join = "NULL, NULL", ""
        sql = (
            f"SELECT {rowid} AS rid, m.page_url, {icon_url} AS icon_url, {times} "  # noqa: S608 - names from schema
            f"FROM icon_mapping m {icon_join}{bitmap_join}ORDER BY rid"
        )
        app = container_of(path)
        for rid, page_url, icon, updated, requested in iter_rows(conn, sql):
            yield ChromeFavicon(
                locator=Locator(path, sha256, "icon_mapping", integer(rid)),
                app=app,
                page_url=text(page_url),
                icon_url=text(icon),
                last_updated=from_webkit(updated),
                last_requested=from_webkit(requested),
            )
