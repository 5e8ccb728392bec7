"""Safari databases (History.db, BrowserState.db) with the schema iOS 13-17 uses."""

from __future__ import annotations

import plistlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from preuve.builders.ios_dbs import cocoa_seconds

HISTORY_SCHEMA = (
    "CREATE TABLE history_items (id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL UNIQUE, "
    "domain_expansion TEXT NULL, visit_count INTEGER NOT NULL, daily_visit_counts BLOB NOT NULL, "
    "weekly_visit_counts BLOB NULL, autocomplete_triggers BLOB NULL, "
    "should_recompute_derived_visit_counts INTEGER NOT NULL, visit_count_score INTEGER NOT NULL, "
    "status_code INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE history_visits (id INTEGER PRIMARY KEY AUTOINCREMENT, history_item INTEGER NOT NULL "
    "REFERENCES history_items(id) ON DELETE CASCADE, visit_time REAL NOT NULL, title TEXT NULL, "
    "load_successful BOOLEAN NOT NULL DEFAULT 1, http_non_get BOOLEAN NOT NULL DEFAULT 0, "
    "synthesized BOOLEAN NOT NULL DEFAULT 0, redirect_source INTEGER NULL UNIQUE REFERENCES history_visits(id) "
    "ON DELETE CASCADE, redirect_destination INTEGER NULL UNIQUE REFERENCES history_visits(id) ON DELETE CASCADE, "
    "origin INTEGER NOT NULL DEFAULT 0, generation INTEGER NOT NULL DEFAULT 0, attributes INTEGER NOT NULL "
    "DEFAULT 0, score INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE history_tombstones (id INTEGER PRIMARY KEY AUTOINCREMENT, start_time REAL NOT NULL, "
    "end_time REAL NOT NULL, url TEXT, generation INTEGER NOT NULL DEFAULT 0)",
)


@dataclass
class Visit:
    url: str
    when: datetime
    title: str | None = None
    load_successful: bool = True
    redirects_to: int | None = None  # index (in the visit list) of the visit this one redirected to


@dataclass
class Deletion:
    start: datetime
    end: datetime
    url: str | None = None


def fill_history(
    conn: sqlite3.Connection, visits: Sequence[Visit], old_schema: bool = False, deletions: Sequence[Deletion] = ()
) -> None:
    """History.db; with `old_schema`, history_visits lacks load_successful and the redirect columns
    (as very old Safari databases, or ones a tool has trimmed)."""
    for statement in HISTORY_SCHEMA:
        if old_schema and statement.startswith("CREATE TABLE history_visits"):
            statement = (
                "CREATE TABLE history_visits (id INTEGER PRIMARY KEY AUTOINCREMENT, history_item INTEGER NOT NULL, "
                "visit_time REAL NOT NULL, title TEXT NULL)"
            )
        conn.execute(statement)
    items: dict[str, int] = {}
    for visit in visits:
        if visit.url not in items:
            cur = conn.execute(
                "INSERT INTO history_items (url, visit_count, daily_visit_counts, "
                "should_recompute_derived_visit_counts, visit_count_score) VALUES (?, 0, x'', 0, 0)",
                (visit.url,),
            )
            items[visit.url] = int(cur.lastrowid or 0)
        conn.execute("UPDATE history_items SET visit_count = visit_count + 1 WHERE id = ?", (items[visit.url],))
    for number, visit in enumerate(visits, start=1):
        if old_schema:
            conn.execute(
                "INSERT INTO history_visits (id, history_item, visit_time, title) VALUES (?, ?, ?, ?)",
                (number, items[visit.url], cocoa_seconds(visit.when), visit.title),
            )
        else:
            conn.execute(
                "INSERT INTO history_visits (id, history_item, visit_time, title, load_successful) "
                "VALUES (?, ?, ?, ?, ?)",
                (number, items[visit.url], cocoa_seconds(visit.when), visit.title, int(visit.load_successful)),
            )
    for deletion in deletions:
        conn.execute(
            "INSERT INTO history_tombstones (start_time, end_time, url) VALUES (?, ?, ?)",
            (cocoa_seconds(deletion.start), cocoa_seconds(deletion.end), deletion.url),
        )
    if not old_schema:
        for number, visit in enumerate(visits, start=1):
            if visit.redirects_to is not None:
                target = visit.redirects_to + 1
                conn.execute("UPDATE history_visits SET redirect_destination = ? WHERE id = ?", (target, number))
                conn.execute("UPDATE history_visits SET redirect_source = ? WHERE id = ?", (number, target))


# -- BrowserState.db ---------------------------------------------------------------------------

BROWSER_STATE_SCHEMA = (
    "CREATE TABLE tabs (id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT UNIQUE, title TEXT, url TEXT, "
    "user_visible_url TEXT, last_viewed_time REAL, opened_from_link INTEGER, order_index INTEGER, "
    "browser_window_uuid TEXT, browser_window_id INTEGER, private_browsing INTEGER, displaying_standalone_image "
    "INTEGER, show_reader INTEGER, reader_view_top_scroll_offset INTEGER, read_later INTEGER)",
    "CREATE TABLE tab_sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, tab_uuid TEXT UNIQUE, session_data BLOB)",
)


@dataclass
class Tab:
    url: str
    title: str | None = None
    last_viewed: datetime = field(default_factory=lambda: datetime(2023, 5, 2, 8, 0, tzinfo=UTC))
    back_forward: Sequence[str] = ()  # URLs of the tab's session history
    session_blob: bytes | None = None  # a raw session_data value (overrides back_forward)
    private: bool = False


def session_data(urls: Sequence[str]) -> bytes:
    """A tab's session_data as Safari writes it: a 4-byte version header, then a binary plist."""
    entries = [
        {
            "SessionHistoryEntryURL": url,
            "SessionHistoryEntryOriginalURL": url,
            "SessionHistoryEntryTitle": f"page {index}",
            "SessionHistoryEntryData": b"\x00\x00\x00\x02",
        }
        for index, url in enumerate(urls)
    ]
    value = {
        "IsAppearingInTabBar": True,
        "SessionHistory": {"SessionHistoryCurrentIndex": max(len(urls) - 1, 0), "SessionHistoryEntries": entries,
                           "SessionHistoryVersion": 1},
    }
    return b"\x00\x00\x00\x02" + plistlib.dumps(value, fmt=plistlib.FMT_BINARY)


def fill_browser_state(conn: sqlite3.Connection, tabs: Sequence[Tab], with_sessions: bool = True) -> None:
    for statement in BROWSER_STATE_SCHEMA:
        if with_sessions or "tab_sessions" not in statement:
            conn.execute(statement)
    for number, tab in enumerate(tabs, start=1):
        uuid = f"5B0E0000-0000-4000-8000-{number:012d}"
        conn.execute(
            "INSERT INTO tabs (uuid, title, url, user_visible_url, last_viewed_time, opened_from_link, order_index, "
            "private_browsing) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
            (uuid, tab.title, tab.url, tab.url, cocoa_seconds(tab.last_viewed), number, int(tab.private)),
        )
        if with_sessions:
            blob = tab.session_blob if tab.session_blob is not None else session_data(tab.back_forward or [tab.url])
            conn.execute("INSERT INTO tab_sessions (tab_uuid, session_data) VALUES (?, ?)", (uuid, blob))
