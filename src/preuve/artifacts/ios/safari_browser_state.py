"""Safari BrowserState.db: the open tabs, and every page each tab's back/forward list remembers.

``tabs`` holds each tab's current page; ``tab_sessions.session_data`` holds its
session history as a binary plist behind a small version header. Pages an
exploit chain passed through can survive there after the history was cleared,
so every URL of the session is read. A session that cannot be decoded costs a
warning, never the tab.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import SqliteArtifact
from preuve.artifacts.ios.safari_history import SAFARI_ROOTS
from preuve.artifacts.tables import Database, Join, Query, Table
from preuve.artifacts.timeconv import from_cocoa
from preuve.artifacts.values import as_str
from preuve.evidence.errors import EvidenceError
from preuve.evidence.formats.plists import PlistValue, load_plist
from preuve.evidence.limits import Limits
from preuve.model import Kind, Observable, Record, Timestamp

_OPTIONAL_TAB = ("uuid", "title", "url", "user_visible_url", "last_viewed_time", "private_browsing")
_MAX_SESSION_URLS = 1000
_HEADER_SCAN = 64  # the plist starts after a short header (4 bytes in every version seen)


@dataclass(kw_only=True)
class SafariTab(Record):
    """A Safari tab, with the pages of its back/forward history."""

    record_type: ClassVar[str] = "ios:safari_browser_state:tab"
    tab_id: int
    uuid: str | None
    url: str | None
    user_visible_url: str | None
    title: str | None
    last_viewed_time: datetime | None
    private_browsing: bool | None
    session_urls: tuple[str, ...]
    session_titles: tuple[str, ...]

    def observables(self) -> Iterator[Observable]:
        seen: set[str] = set()
        for url in (self.url, self.user_visible_url, *self.session_urls):
            if url and url not in seen:
                seen.add(url)
                yield Observable(Kind.URL, url)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.last_viewed_time is not None:
            yield Timestamp(self.last_viewed_time, "Safari tab last viewed")

    def summary(self) -> str:
        more = f" (+{len(self.session_urls)} in its history)" if self.session_urls else ""
        return f"Safari tab {self.url or '?'}{more}"


def decode_session(blob: bytes, path: str, limits: Limits) -> PlistValue:
    """The plist inside a session_data blob (after its header), through the bounded loader."""
    start = blob.find(b"bplist00", 0, _HEADER_SCAN)
    if start < 0:
        start = blob.find(b"<?xml", 0, _HEADER_SCAN)
    if start < 0:
        raise EvidenceError(path, "session_data holds no property list")
    return load_plist(blob[start:], path, limits)


def session_entries(value: PlistValue) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """URLs (current and original, deduplicated) and titles of a decoded session."""
    history = value.get("SessionHistory") if isinstance(value, dict) else None
    entries = history.get("SessionHistoryEntries") if isinstance(history, dict) else None
    if not isinstance(entries, list):
        return (), ()
    urls: dict[str, None] = {}
    titles: list[str] = []
    for entry in entries[:_MAX_SESSION_URLS]:
        if not isinstance(entry, dict):
            continue
        for key in ("SessionHistoryEntryURL", "SessionHistoryEntryOriginalURL"):
            url = entry.get(key)
            if isinstance(url, str) and url:
                urls.setdefault(url, None)
        title = entry.get("SessionHistoryEntryTitle")
        if isinstance(title, str) and title:
            titles.append(title)
    return tuple(urls), tuple(titles)


class SafariBrowserState(SqliteArtifact):
    name = "safari_browser_state"
    platform = "ios"
    title = "Safari open tabs"
    paths: ClassVar[tuple[str, ...]] = tuple(f"{root}/BrowserState.db" for root in SAFARI_ROOTS)

    tables = (
        Table("tabs", required=("id",), optional=_OPTIONAL_TAB, key=("id",)),
        Table("tab_sessions", required=("tab_uuid", "session_data")),
    )

    def read(self, db: Database) -> Iterator[Record]:
        tabs, sessions = self.tables
        for row in db.rows(Query(tabs, "t", joins=(Join(sessions, "s", on="tab_uuid", to="t.uuid"),))):
            tab_id, blob, private = row["_key"], row["s.session_data"], row["private_browsing"]
            if not isinstance(tab_id, int):
                db.ctx.warn(f"{db.path}: tabs row with id {tab_id!r} skipped")
                continue
            urls: tuple[str, ...] = ()
            titles: tuple[str, ...] = ()
            if isinstance(blob, bytes) and blob:
                try:
                    urls, titles = session_entries(decode_session(blob, db.path, db.ctx.limits))
                except EvidenceError as exc:
                    db.ctx.warn(f"{db.path}: tab {tab_id}: session history not decoded ({exc.reason})")
            yield SafariTab(
                locator=db.locator("tabs", tab_id),
                tab_id=tab_id,
                uuid=as_str(row["uuid"]),
                url=as_str(row["url"]),
                user_visible_url=as_str(row["user_visible_url"]),
                title=as_str(row["title"]),
                last_viewed_time=from_cocoa(row["last_viewed_time"]),
                private_browsing=None if not isinstance(private, int) else bool(private),
                session_urls=urls,
                session_titles=titles,
            )
