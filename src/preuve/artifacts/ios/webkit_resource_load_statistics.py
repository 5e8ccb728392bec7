"""WebKit's Intelligent Tracking Prevention store (``observations.db``): every site a web view met.

Safari, SafariViewService and every app with a WKWebView keep, per
registrable domain, when it was last seen and whether the user interacted
with it; and which domains redirected to which at the top frame. A zero-click
or one-click exploit chain that bounced through attacker domains leaves them
here even when history was cleared, which is why MVT reads it. The tables are
read through their schema: the redirect tables are optional.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.rows import container_of, flag, integer, pick, text
from preuve.artifacts.timeconv import from_unix
from preuve.evidence.sqlite import iter_rows, table_columns
from preuve.model import Kind, Locator, Observable, Record, Timestamp

_APPS = "/private/var/mobile/Containers/Data/Application/*"
WEBSITE_DATA_DIRS = (
    f"{_APPS}/Library/WebKit/WebsiteData",
    f"{_APPS}/SystemData/com.apple.SafariViewService/Library/WebKit/WebsiteData",
    "/private/var/mobile/Library/WebKit/WebsiteData",
    "/private/var/mobile/Library/WebClips/*/Storage",
)

# (table, column of the first domain, column of the second, what a row means)
_REDIRECT_TABLES = (
    ("TopFrameUniqueRedirectsTo", "sourceDomainID", "toDomainID", "top frame redirect"),
    ("TopFrameUniqueRedirectsFrom", "fromDomainID", "targetDomainID", "top frame redirect"),
    ("SubresourceUniqueRedirectsTo", "subresourceDomainID", "toDomainID", "subresource redirect"),
    ("SubresourceUniqueRedirectsFrom", "fromDomainID", "subresourceDomainID", "subresource redirect"),
)


@dataclass(kw_only=True)
class ObservedDomain(Record):
    """A registrable domain a web view loaded, with WebKit's counters for it."""

    record_type: ClassVar[str] = "ios:webkit:observed_domain"
    app: str | None
    domain: str | None
    last_seen: datetime | None
    had_user_interaction: bool | None
    most_recent_interaction: datetime | None
    is_prevalent: bool | None

    def observables(self) -> Iterator[Observable]:
        if self.domain:
            yield Observable(Kind.DOMAIN, self.domain)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.last_seen is not None:
            yield Timestamp(self.last_seen, "Web view last saw the domain")
        if self.most_recent_interaction is not None:
            yield Timestamp(self.most_recent_interaction, "User last interacted with the domain")

    def summary(self) -> str:
        who = f" in {self.app}" if self.app else ""
        touched = "with" if self.had_user_interaction else "without"
        return f"Web view{who} loaded {self.domain or '?'} ({touched} user interaction)"


@dataclass(kw_only=True)
class DomainRedirect(Record):
    """One domain redirected to another, as WebKit recorded it."""

    record_type: ClassVar[str] = "ios:webkit:redirect"
    app: str | None
    kind: str
    source: str | None
    destination: str | None

    def observables(self) -> Iterator[Observable]:
        for domain in (self.source, self.destination):
            if domain:
                yield Observable(Kind.DOMAIN, domain)

    def summary(self) -> str:
        return f"WebKit {self.kind}: {self.source or '?'} -> {self.destination or '?'}"


class WebkitResourceLoadStatistics(SqliteArtifact):
    name = "webkit_resource_load_statistics"
    platform = "ios"
    title = "Sites seen by web views (WebKit ResourceLoadStatistics)"
    paths = tuple(f"{d}/ResourceLoadStatistics/observations.db" for d in WEBSITE_DATA_DIRS) + tuple(
        f"{d}/observations.db" for d in WEBSITE_DATA_DIRS
    )

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        columns = table_columns(conn, "ObservedDomains")
        if not {"domainID", "registrableDomain"} <= columns:
            ctx.error(path, "no ObservedDomains table with domainID and registrableDomain")
            return
        app = container_of(path)
        wanted = ("registrableDomain", "lastSeen", "hadUserInteraction", "mostRecentUserInteractionTime", "isPrevalent")
        sql = f"SELECT o.domainID AS id, {pick(columns, 'o', wanted)} FROM ObservedDomains o ORDER BY o.domainID"  # noqa: S608
        for row in iter_rows(conn, sql):
            yield ObservedDomain(
                locator=Locator(path, sha256, "ObservedDomains", integer(row["id"])),
                app=app,
                domain=text(row["registrableDomain"]),
                last_seen=from_unix(row["lastSeen"]),
                had_user_interaction=flag(row["hadUserInteraction"]),
                most_recent_interaction=from_unix(row["mostRecentUserInteractionTime"]),
                is_prevalent=flag(row["isPrevalent"]),
            )
        for table, first, second, kind in _REDIRECT_TABLES:
            if not {first, second} <= table_columns(conn, table):
                continue
            sql = (
                f"SELECT r.rowid AS rid, a.registrableDomain AS src, b.registrableDomain AS dst FROM {table} r "  # noqa: S608
                f"LEFT JOIN ObservedDomains a ON a.domainID = r.{first} "
                f"LEFT JOIN ObservedDomains b ON b.domainID = r.{second} ORDER BY r.rowid"
            )
            for rid, src, dst in iter_rows(conn, sql):
                yield DomainRedirect(
                    locator=Locator(path, sha256, table, integer(rid)),
                    app=app, kind=kind, source=text(src), destination=text(dst),
                )
