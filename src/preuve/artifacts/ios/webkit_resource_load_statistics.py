"""WebKit's Intelligent Tracking Prevention store (``observations.db``): every site a web view met.

Safari, SafariViewService and every app with a WKWebView keep, per
registrable domain, when it was last seen and whether the user interacted
with it; and which domains redirected to which at the top frame. A zero-click
or one-click exploit chain that bounced through attacker domains leaves them
here even when history was cleared, which is why MVT reads it. The tables are
read through their schema: the redirect tables are optional.
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
from preuve.artifacts.values import as_bool_int, as_text
from preuve.model import Kind, Observable, Record, Timestamp

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
_OBSERVED = Table("ObservedDomains", required=("domainID", "registrableDomain"),
                  optional=("lastSeen", "hadUserInteraction", "mostRecentUserInteractionTime", "isPrevalent"),
                  key=("domainID",))


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

    tables = (
        _OBSERVED,
        *(Table(table, required=(first, second)) for table, first, second, _kind in _REDIRECT_TABLES),
    )

    def read(self, db: Database) -> Iterator[Record]:
        if db.report_missing(_OBSERVED):
            return
        app = container_of(db.path)
        for row in db.rows(Query(_OBSERVED, "o")):
            yield ObservedDomain(
                locator=db.locator("ObservedDomains", row["_key"]),
                app=app,
                domain=as_text(row["registrableDomain"]),
                last_seen=from_unix(row["lastSeen"]),
                had_user_interaction=as_bool_int(row["hadUserInteraction"]),
                most_recent_interaction=from_unix(row["mostRecentUserInteractionTime"]),
                is_prevalent=as_bool_int(row["isPrevalent"]),
            )
        domain = Table("ObservedDomains", required=("domainID", "registrableDomain"))
        for table, (name, first, second, kind) in zip(self.tables[1:], _REDIRECT_TABLES, strict=True):
            if not db.has(table):
                continue  # the redirect tables are optional
            query = Query(table, "r", joins=(Join(domain, "a", on="domainID", to=f"r.{first}"),
                                             Join(domain, "b", on="domainID", to=f"r.{second}")))
            for row in db.rows(query):
                yield DomainRedirect(
                    locator=db.locator(name, row["_key"]),
                    app=app, kind=kind, source=as_text(row["a.registrableDomain"]),
                    destination=as_text(row["b.registrableDomain"]),
                )
