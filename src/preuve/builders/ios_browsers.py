"""Databases and files of browsers on iOS (Chrome, Firefox, WebKit, Safari), as the apps write them."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

UNIX = datetime(1970, 1, 1, tzinfo=UTC)
WEBKIT = datetime(1601, 1, 1, tzinfo=UTC)
COCOA = datetime(2001, 1, 1, tzinfo=UTC)

CHROME_BUNDLE = "com.google.chrome.ios"
CHROME_DIR = "Library/Application Support/Google/Chrome/Default"


def webkit_micros(when: datetime) -> int:
    return int((when - WEBKIT).total_seconds()) * 1_000_000


def unix_micros(when: datetime) -> int:
    return int((when - UNIX).total_seconds()) * 1_000_000


def unix_seconds(when: datetime) -> float:
    return (when - UNIX).total_seconds()


def cocoa_seconds(when: datetime) -> float:
    return (when - COCOA).total_seconds()


@dataclass
class Visit:
    url: str
    when: datetime
    title: str = ""
    from_visit: int | None = None  # 1-based index of the earlier visit in the list


# -- Chrome ------------------------------------------------------------------------------------


def fill_chrome_history(conn: sqlite3.Connection, visits: Sequence[Visit], unvisited: Sequence[str] = ()) -> None:
    conn.executescript(
        """
        CREATE TABLE meta(key LONGVARCHAR NOT NULL UNIQUE PRIMARY KEY, value LONGVARCHAR);
        CREATE TABLE urls(id INTEGER PRIMARY KEY AUTOINCREMENT, url LONGVARCHAR, title LONGVARCHAR,
            visit_count INTEGER DEFAULT 0 NOT NULL, typed_count INTEGER DEFAULT 0 NOT NULL,
            last_visit_time INTEGER NOT NULL, hidden INTEGER DEFAULT 0 NOT NULL);
        CREATE TABLE visits(id INTEGER PRIMARY KEY AUTOINCREMENT, url INTEGER NOT NULL, visit_time INTEGER NOT NULL,
            from_visit INTEGER, transition INTEGER DEFAULT 0 NOT NULL, segment_id INTEGER,
            visit_duration INTEGER DEFAULT 0 NOT NULL, incremented_omnibox_typed_score BOOLEAN DEFAULT FALSE NOT NULL);
        """
    )
    url_ids: dict[str, int] = {}
    for visit in visits:
        if visit.url not in url_ids:
            cur = conn.execute(
                "INSERT INTO urls(url, title, visit_count, last_visit_time) VALUES (?, ?, 1, ?)",
                (visit.url, visit.title, webkit_micros(visit.when)),
            )
            url_ids[visit.url] = int(cur.lastrowid or 0)
        conn.execute(
            "INSERT INTO visits(url, visit_time, from_visit, transition) VALUES (?, ?, ?, ?)",
            (url_ids[visit.url], webkit_micros(visit.when), visit.from_visit or 0, 805306368),
        )
    for url in unvisited:
        conn.execute("INSERT INTO urls(url, title, last_visit_time) VALUES (?, '', 0)", (url,))


@dataclass
class Favicon:
    page_url: str
    icon_url: str
    updated: datetime


def fill_chrome_favicons(conn: sqlite3.Connection, icons: Sequence[Favicon]) -> None:
    conn.executescript(
        """
        CREATE TABLE icon_mapping(id INTEGER PRIMARY KEY, page_url LONGVARCHAR NOT NULL, icon_id INTEGER);
        CREATE TABLE favicons(id INTEGER PRIMARY KEY, url LONGVARCHAR NOT NULL, icon_type INTEGER DEFAULT 1);
        CREATE TABLE favicon_bitmaps(id INTEGER PRIMARY KEY, icon_id INTEGER NOT NULL, last_updated INTEGER DEFAULT 0,
            image_data BLOB, width INTEGER DEFAULT 0, height INTEGER DEFAULT 0, last_requested INTEGER NOT NULL DEFAULT 0);
        """
    )
    for icon in icons:
        icon_id = conn.execute("INSERT INTO favicons(url) VALUES (?)", (icon.icon_url,)).lastrowid
        for size in (16, 32):  # two bitmaps of one icon: one record still
            conn.execute(
                "INSERT INTO favicon_bitmaps(icon_id, last_updated, width, height, last_requested) VALUES (?, ?, ?, ?, 0)",
                (icon_id, webkit_micros(icon.updated), size, size),
            )
        conn.execute("INSERT INTO icon_mapping(page_url, icon_id) VALUES (?, ?)", (icon.page_url, icon_id))
