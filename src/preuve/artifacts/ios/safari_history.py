"""Safari History.db: every visit, in every place and profile Safari keeps one.

A visit (``history_visits``) points to its URL (``history_items``) and, when a
page redirected, to the visit it came from and the one it went to
(``redirect_source`` / ``redirect_destination``). Amnesty's Pegasus
methodology found network-injection attacks as a visit redirected within a
second to an exploit domain; this artifact yields, besides the visits, a
derived record for each redirect to another domain made within a few seconds,
for the rule ``safari_fast_redirect`` to judge, and the tombstones Safari keeps
of deleted history (when, and which page if one was removed alone).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import SqliteArtifact
from preuve.artifacts.tables import Database, Join, Query, Table
from preuve.artifacts.timeconv import from_cocoa
from preuve.artifacts.values import as_int_strict, as_str
from preuve.indicators.normalize import split_url, strip_www
from preuve.model import Kind, Observable, Record, Timestamp

SAFARI_ROOTS = (
    "/private/var/mobile/Library/Safari",
    "/private/var/mobile/Library/Safari/Profiles/*",
    "/private/var/mobile/Containers/Data/Application/*/Library/Safari",
    "/private/var/mobile/Containers/Data/Application/*/Library/Safari/Profiles/*",
)
REDIRECT_WINDOW_SECONDS = 5.0  # a redirect followed this fast was not a person clicking
_OPTIONAL_VISIT = ("title", "load_successful", "redirect_source", "redirect_destination", "origin")


@dataclass(kw_only=True)
class SafariVisit(Record):
    """One visit to a page, as Safari's history recorded it."""

    record_type: ClassVar[str] = "ios:safari_history:visit"
    visit_id: int
    url: str | None
    title: str | None
    visit_time: datetime | None
    visit_time_raw: float | None
    load_successful: bool | None
    redirect_source: int | None
    redirect_destination: int | None
    origin: int | None  # as stored; 0 on visits made on the device itself (other values: reportedly synced visits)

    def observables(self) -> Iterator[Observable]:
        if self.url:
            yield Observable(Kind.URL, self.url)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.visit_time is not None:
            yield Timestamp(self.visit_time, "Safari visit")

    def first_moment(self) -> datetime | None:
        return self.visit_time

    def summary(self) -> str:
        extra = " (redirected)" if self.redirect_destination is not None else ""
        return f"Safari visit to {self.url or '?'}{extra}"


@dataclass(kw_only=True)
class SafariRedirect(Record):
    """A visit that Safari redirected to another domain within a few seconds (derived from two visits)."""

    record_type: ClassVar[str] = "ios:safari_history:fast_redirect"
    source_visit_id: int
    source_url: str
    source_time: datetime | None
    destination_visit_id: int
    destination_url: str
    destination_time: datetime | None
    elapsed_seconds: float

    def timestamps(self) -> Iterator[Timestamp]:
        if self.source_time is not None:
            yield Timestamp(self.source_time, "Safari redirect")

    def summary(self) -> str:
        return f"Safari redirected {self.source_url} to {self.destination_url} after {self.elapsed_seconds:.3f} s"


@dataclass(kw_only=True)
class SafariHistoryDeletion(Record):
    """History the user (or something) deleted: a time range, and the URL when one page was removed."""

    record_type: ClassVar[str] = "ios:safari_history:deletion"
    start_time: datetime | None
    end_time: datetime | None
    url: str | None

    def observables(self) -> Iterator[Observable]:
        if self.url:
            yield Observable(Kind.URL, self.url)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.start_time is not None:
            yield Timestamp(self.start_time, "Start of deleted Safari history")
        if self.end_time is not None:
            yield Timestamp(self.end_time, "End of deleted Safari history")

    def summary(self) -> str:
        what = self.url or "all pages"
        return f"Safari history deleted ({what}) between {self.start_time} and {self.end_time}"


def _host(url: str) -> str | None:
    parts = split_url(url)
    return strip_www(parts[0]) if parts else None


def different_sites(first: str, second: str) -> bool:
    """True when neither host is the other or a parent of it (a.example.net and example.net are one site).

    Without a public-suffix list this errs towards "different" for sibling
    subdomains (a.example.net, b.example.net), which only adds review items.
    """
    one, two = _host(first), _host(second)
    if not one or not two:
        return False
    return not (one == two or one.endswith("." + two) or two.endswith("." + one))


class SafariHistory(SqliteArtifact):
    name = "safari_history"
    platform = "ios"
    title = "Safari history"
    paths: ClassVar[tuple[str, ...]] = tuple(f"{root}/History.db" for root in SAFARI_ROOTS)

    tables = (
        Table("history_visits", required=("id", "history_item", "visit_time"), optional=_OPTIONAL_VISIT, key=("id",)),
        Table("history_items", required=("id", "url")),
        Table("history_tombstones", required=("id",), optional=("start_time", "end_time", "url"), key=("id",)),
    )

    def read(self, db: Database) -> Iterator[Record]:
        visits, items, _ = self.tables
        if db.report_missing(visits):
            return
        has_items = db.has(items)
        if not has_items:
            db.ctx.warn(f"{db.path}: no 'history_items' table: visits are listed without their URL")
        for row in db.rows(Query(visits, "v", joins=(Join(items, "i", on="id", to="v.history_item"),))):
            vid, when, loaded = row["_key"], row["visit_time"], row["load_successful"]
            visit_id = as_int_strict(vid)
            if visit_id is None:
                db.ctx.warn(f"{db.path}: history_visits row with id {vid!r} skipped")
                continue
            raw = float(when) if isinstance(when, (int, float)) and not isinstance(when, bool) else None
            yield SafariVisit(
                locator=db.locator("history_visits", visit_id),
                visit_id=visit_id,
                url=as_str(row["i.url"]),
                title=as_str(row["title"]),
                visit_time=from_cocoa(when),
                visit_time_raw=raw,
                load_successful=None if as_int_strict(loaded) is None else bool(loaded),
                redirect_source=as_int_strict(row["redirect_source"]),
                redirect_destination=as_int_strict(row["redirect_destination"]),
                origin=as_int_strict(row["origin"]),
            )
        yield from self._redirects(db)
        yield from self._tombstones(db)

    def _tombstones(self, db: Database) -> Iterator[SafariHistoryDeletion]:
        # Safari keeps a tombstone for each deletion (to sync it): it survives the visits it removed.
        tombstones = self.tables[2]
        if not db.has(tombstones):
            return
        for row in db.rows(Query(tombstones)):
            tid = as_int_strict(row["_key"])
            if tid is None:
                continue
            yield SafariHistoryDeletion(
                locator=db.locator("history_tombstones", tid),
                start_time=from_cocoa(row["start_time"]),
                end_time=from_cocoa(row["end_time"]),
                url=as_str(row["url"]),
            )

    def _redirects(self, db: Database) -> Iterator[SafariRedirect]:
        # One self-join in SQLite: each redirecting visit with the visit it led to, streamed.
        visit = Table("history_visits", required=("id", "history_item", "visit_time"), key=("id",))
        items = Table("history_items", required=("id", "url"))
        query = Query(visit, "a", joins=(
            Join(visit, "b", on="id", to="a.redirect_destination", inner=True),
            Join(items, "ia", on="id", to="a.history_item", inner=True),
            Join(items, "ib", on="id", to="b.history_item", inner=True),
        ))
        for row in db.rows(query):
            aid, bid, aurl, burl = row["_key"], row["b.id"], row["ia.url"], row["ib.url"]
            atime, btime = row["visit_time"], row["b.visit_time"]
            if not (isinstance(aurl, str) and isinstance(burl, str) and as_int_strict(aid) is not None
                    and as_int_strict(bid) is not None):
                continue
            if not all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in (atime, btime)):
                continue
            elapsed = float(btime) - float(atime)
            if not 0 <= elapsed <= REDIRECT_WINDOW_SECONDS or not different_sites(aurl, burl):
                continue
            yield SafariRedirect(
                locator=db.locator("history_visits", aid, key_path=f"redirect_destination={bid}"),
                source_visit_id=aid,
                source_url=aurl,
                source_time=from_cocoa(atime),
                destination_visit_id=bid,
                destination_url=burl,
                destination_time=from_cocoa(btime),
                elapsed_seconds=round(elapsed, 6),
            )
