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

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.timeconv import from_cocoa
from preuve.evidence.sqlite import iter_rows, table_columns
from preuve.indicators.normalize import split_url, strip_www
from preuve.model import Kind, Locator, Observable, Record, Timestamp

SAFARI_ROOTS = (
    "/private/var/mobile/Library/Safari",
    "/private/var/mobile/Library/Safari/Profiles/*",
    "/private/var/mobile/Containers/Data/Application/*/Library/Safari",
    "/private/var/mobile/Containers/Data/Application/*/Library/Safari/Profiles/*",
)
REDIRECT_WINDOW_SECONDS = 5.0  # a redirect followed this fast was not a person clicking
_OPTIONAL_VISIT = ("title", "load_successful", "redirect_source", "redirect_destination", "origin")


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


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

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        visit_cols = table_columns(conn, "history_visits")
        item_cols = table_columns(conn, "history_items")
        if not {"id", "history_item", "visit_time"} <= visit_cols:
            ctx.error(path, "no usable 'history_visits' table")
            return
        has_items = {"id", "url"} <= item_cols
        if not has_items:
            ctx.warn(f"{path}: no 'history_items' table: visits are listed without their URL")
        select = ["v.id", "v.visit_time"]
        select += [f"v.{c}" if c in visit_cols else "NULL" for c in _OPTIONAL_VISIT]
        select.append("i.url" if has_items else "NULL")
        join = " LEFT JOIN history_items i ON i.id = v.history_item" if has_items else ""
        sql = f"SELECT {', '.join(select)} FROM history_visits v{join} ORDER BY v.id"  # noqa: S608 - names from schema
        for vid, when, title, loaded, source, destination, origin, url in iter_rows(conn, sql):
            visit_id = _int(vid)
            if visit_id is None:
                ctx.warn(f"{path}: history_visits row with id {vid!r} skipped")
                continue
            raw = float(when) if isinstance(when, (int, float)) and not isinstance(when, bool) else None
            yield SafariVisit(
                locator=Locator(path, sha256, "history_visits", visit_id),
                visit_id=visit_id,
                url=_text(url),
                title=_text(title),
                visit_time=from_cocoa(when),
                visit_time_raw=raw,
                load_successful=None if _int(loaded) is None else bool(loaded),
                redirect_source=_int(source),
                redirect_destination=_int(destination),
                origin=_int(origin),
            )
        if has_items and "redirect_destination" in visit_cols:
            yield from self._redirects(conn, path, sha256)
        yield from self._tombstones(conn, path, sha256)

    def _tombstones(self, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[SafariHistoryDeletion]:
        # Safari keeps a tombstone for each deletion (to sync it): it survives the visits it removed.
        columns = table_columns(conn, "history_tombstones")
        if "id" not in columns:
            return
        select = ", ".join(c if c in columns else "NULL" for c in ("id", "start_time", "end_time", "url"))
        sql = f"SELECT {select} FROM history_tombstones ORDER BY id"  # noqa: S608 - names from schema
        for tid, start, end, url in iter_rows(conn, sql):
            if _int(tid) is None:
                continue
            yield SafariHistoryDeletion(
                locator=Locator(path, sha256, "history_tombstones", tid),
                start_time=from_cocoa(start),
                end_time=from_cocoa(end),
                url=_text(url),
            )

    def _redirects(self, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[SafariRedirect]:
        # One self-join in SQLite: each redirecting visit with the visit it led to, streamed.
        sql = (
            "SELECT a.id, ia.url, a.visit_time, b.id, ib.url, b.visit_time FROM history_visits a "
            "JOIN history_visits b ON b.id = a.redirect_destination "
            "JOIN history_items ia ON ia.id = a.history_item JOIN history_items ib ON ib.id = b.history_item "
            "WHERE a.redirect_destination IS NOT NULL ORDER BY a.id"
        )
        for aid, aurl, atime, bid, burl, btime in iter_rows(conn, sql):
            if not (isinstance(aurl, str) and isinstance(burl, str) and _int(aid) is not None and _int(bid) is not None):
                continue
            if not all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in (atime, btime)):
                continue
            elapsed = float(btime) - float(atime)
            if not 0 <= elapsed <= REDIRECT_WINDOW_SECONDS or not different_sites(aurl, burl):
                continue
            yield SafariRedirect(
                locator=Locator(path, sha256, "history_visits", aid, key_path=f"redirect_destination={bid}"),
                source_visit_id=aid,
                source_url=aurl,
                source_time=from_cocoa(atime),
                destination_visit_id=bid,
                destination_url=burl,
                destination_time=from_cocoa(btime),
                elapsed_seconds=round(elapsed, 6),
            )
