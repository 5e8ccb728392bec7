"""Safari favicons (``Favicons.db``): pages whose icon Safari fetched, kept after history is cleared.

``page_url`` and ``icon_info`` share a ``uuid``; ``rejected_resources``
keeps pages whose icon failed to load. Usually only in a filesystem dump.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import SqliteArtifact
from preuve.artifacts.tables import Database, Join, Query, Table
from preuve.artifacts.timeconv import from_cocoa
from preuve.artifacts.values import as_text
from preuve.model import Kind, Observable, Record, Timestamp


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

    tables = (
        Table("page_url", required=("uuid", "url")),
        Table("icon_info", required=("uuid", "url"), optional=("timestamp",)),
        Table("rejected_resources", required=("page_url", "icon_url"), optional=("timestamp",)),
    )

    def read(self, db: Database) -> Iterator[Record]:
        pages, icons, rejected = self.tables
        if not db.has(pages) and not db.has(rejected):
            db.report_none_of(pages, rejected)
            return
        if db.has(pages):
            query = Query(pages, "p", joins=(Join(icons, "i", on="uuid", to="p.uuid"),))
            for row in db.rows(query):
                yield SafariFavicon(locator=db.locator("page_url", row["_key"]), page_url=as_text(row["url"]),
                                    icon_url=as_text(row["i.url"]), when=from_cocoa(row["i.timestamp"]), rejected=False)
        if db.has(rejected):
            for row in db.rows(Query(rejected)):
                yield SafariFavicon(locator=db.locator("rejected_resources", row["_key"]),
                                    page_url=as_text(row["page_url"]), icon_url=as_text(row["icon_url"]),
                                    when=from_cocoa(row["timestamp"]), rejected=True)
