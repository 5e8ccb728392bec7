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


# -- Firefox -----------------------------------------------------------------------------------

FIREFOX_GROUP = "group.org.mozilla.ios.Firefox"


def fill_firefox_places(conn: sqlite3.Connection, visits: Sequence[Visit]) -> None:
    """The Mozilla places store (places.db / places.sqlite)."""
    conn.executescript(
        """
        CREATE TABLE moz_places(id INTEGER PRIMARY KEY, url LONGVARCHAR NOT NULL, title LONGVARCHAR,
            visit_count INTEGER DEFAULT 0, hidden INTEGER DEFAULT 0 NOT NULL, typed INTEGER DEFAULT 0 NOT NULL,
            frecency INTEGER DEFAULT -1 NOT NULL, last_visit_date INTEGER, guid TEXT NOT NULL UNIQUE);
        CREATE TABLE moz_historyvisits(id INTEGER PRIMARY KEY, from_visit INTEGER, place_id INTEGER NOT NULL,
            visit_date INTEGER NOT NULL, visit_type INTEGER NOT NULL, is_local INTEGER NOT NULL DEFAULT 0);
        """
    )
    ids: dict[str, int] = {}
    for n, visit in enumerate(visits, 1):
        if visit.url not in ids:
            ids[visit.url] = int(conn.execute(
                "INSERT INTO moz_places(url, title, visit_count, last_visit_date, guid) VALUES (?, ?, 1, ?, ?)",
                (visit.url, visit.title, unix_micros(visit.when), f"guid{n:08d}"),
            ).lastrowid or 0)
        conn.execute(
            "INSERT INTO moz_historyvisits(from_visit, place_id, visit_date, visit_type, is_local) VALUES (?, ?, ?, 1, 1)",
            (visit.from_visit or 0, ids[visit.url], unix_micros(visit.when)),
        )


def fill_firefox_browser_db(conn: sqlite3.Connection, visits: Sequence[Visit], icons: Sequence[Favicon] = ()) -> None:
    """Firefox for iOS's older browser.db: history, visits, favicons, favicon_sites."""
    conn.executescript(
        """
        CREATE TABLE history(id INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT NOT NULL UNIQUE, url TEXT UNIQUE,
            title TEXT NOT NULL, server_modified INTEGER, local_modified INTEGER, is_deleted TINYINT NOT NULL,
            should_upload TINYINT NOT NULL, domain_id INTEGER);
        CREATE TABLE visits(id INTEGER PRIMARY KEY AUTOINCREMENT, siteID INTEGER NOT NULL, date REAL NOT NULL,
            type INTEGER NOT NULL, is_local TINYINT NOT NULL);
        CREATE TABLE favicons(id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL UNIQUE, width INTEGER,
            height INTEGER, type INTEGER NOT NULL, date REAL NOT NULL);
        CREATE TABLE favicon_sites(id INTEGER PRIMARY KEY AUTOINCREMENT, siteID INTEGER NOT NULL,
            faviconID INTEGER NOT NULL);
        """
    )
    ids: dict[str, int] = {}

    def site(url: str, title: str) -> int:
        if url not in ids:
            ids[url] = int(conn.execute(
                "INSERT INTO history(guid, url, title, is_deleted, should_upload) VALUES (?, ?, ?, 0, 0)",
                (f"g{len(ids):07d}", url, title),
            ).lastrowid or 0)
        return ids[url]

    for visit in visits:
        conn.execute("INSERT INTO visits(siteID, date, type, is_local) VALUES (?, ?, 1, 1)",
                     (site(visit.url, visit.title), unix_micros(visit.when)))
    for icon in icons:
        fid = conn.execute("INSERT INTO favicons(url, width, height, type, date) VALUES (?, 32, 32, 1, ?)",
                           (icon.icon_url, unix_seconds(icon.updated))).lastrowid
        conn.execute("INSERT INTO favicon_sites(siteID, faviconID) VALUES (?, ?)", (site(icon.page_url, ""), fid))


def fill_firefox_favicons(conn: sqlite3.Connection, icons: Sequence[Favicon]) -> None:
    """favicons.sqlite of the places store."""
    conn.executescript(
        """
        CREATE TABLE moz_icons(id INTEGER PRIMARY KEY, icon_url TEXT NOT NULL, fixed_icon_url_hash INTEGER NOT NULL,
            width INTEGER NOT NULL DEFAULT 0, root INTEGER NOT NULL DEFAULT 0, color INTEGER,
            expire_at INTEGER NOT NULL DEFAULT 0, data BLOB);
        CREATE TABLE moz_pages_w_icons(id INTEGER PRIMARY KEY, page_url TEXT NOT NULL, page_url_hash INTEGER NOT NULL);
        CREATE TABLE moz_icons_to_pages(page_id INTEGER NOT NULL, icon_id INTEGER NOT NULL, expire_at INTEGER NOT NULL
            DEFAULT 0, PRIMARY KEY (page_id, icon_id)) WITHOUT ROWID;
        """
    )
    for icon in icons:
        iid = conn.execute("INSERT INTO moz_icons(icon_url, fixed_icon_url_hash, width) VALUES (?, 0, 32)",
                           (icon.icon_url,)).lastrowid
        pid = conn.execute("INSERT INTO moz_pages_w_icons(page_url, page_url_hash) VALUES (?, 0)",
                           (icon.page_url,)).lastrowid
        conn.execute("INSERT INTO moz_icons_to_pages(page_id, icon_id, expire_at) VALUES (?, ?, ?)",
                     (pid, iid, unix_micros(icon.updated) // 1000))


# -- WebKit ------------------------------------------------------------------------------------


@dataclass
class Observed:
    domain: str
    last_seen: datetime
    interacted: datetime | None = None


def fill_observations(
    conn: sqlite3.Connection, domains: Sequence[Observed], redirects: Sequence[tuple[str, str]] = ()
) -> None:
    """WebKit's observations.db: ObservedDomains and the top-frame redirect table (source, destination)."""
    conn.executescript(
        """
        CREATE TABLE ObservedDomains (domainID INTEGER PRIMARY KEY, registrableDomain TEXT NOT NULL UNIQUE ON CONFLICT
            FAIL, lastSeen REAL NOT NULL, hadUserInteraction INTEGER NOT NULL, mostRecentUserInteractionTime REAL NOT
            NULL, grandfathered INTEGER NOT NULL, isPrevalent INTEGER NOT NULL, isVeryPrevalent INTEGER NOT NULL,
            dataRecordsRemoved INTEGER NOT NULL, timesAccessedAsFirstPartyDueToUserInteraction INTEGER NOT NULL,
            timesAccessedAsFirstPartyDueToStorageAccessAPI INTEGER NOT NULL);
        CREATE TABLE TopFrameUniqueRedirectsTo (sourceDomainID INTEGER NOT NULL, toDomainID INTEGER NOT NULL,
            FOREIGN KEY(sourceDomainID) REFERENCES ObservedDomains(domainID) ON DELETE CASCADE,
            FOREIGN KEY(toDomainID) REFERENCES ObservedDomains(domainID) ON DELETE CASCADE);
        """
    )
    ids: dict[str, int] = {}
    for item in domains:
        ids[item.domain] = int(conn.execute(
            "INSERT INTO ObservedDomains(registrableDomain, lastSeen, hadUserInteraction, mostRecentUserInteractionTime,"
            " grandfathered, isPrevalent, isVeryPrevalent, dataRecordsRemoved,"
            " timesAccessedAsFirstPartyDueToUserInteraction, timesAccessedAsFirstPartyDueToStorageAccessAPI)"
            " VALUES (?, ?, ?, ?, 0, 0, 0, 0, 0, 0)",
            (item.domain, unix_seconds(item.last_seen), int(item.interacted is not None),
             unix_seconds(item.interacted) if item.interacted else 0),
        ).lastrowid or 0)
    for source, destination in redirects:
        conn.execute("INSERT INTO TopFrameUniqueRedirectsTo VALUES (?, ?)", (ids[source], ids[destination]))


@dataclass
class SessionEntry:
    origin: str
    last_seen: datetime
    redirected_from: Sequence[str] = ()
    redirected_to: Sequence[str] = ()
    subresources: Sequence[str] = ()


def session_resource_log(entries: Sequence[SessionEntry]) -> dict[str, object]:
    """The plist of full_browsing_session_resourceLog.plist (redirect lists as {'origin': …} items)."""
    return {
        "browsingStatistics": [
            {
                "PrevalentResourceOrigin": e.origin,
                "topFrameUniqueRedirectsFrom": [{"origin": d} for d in e.redirected_from],
                "topFrameUniqueRedirectsTo": [{"origin": d} for d in e.redirected_to],
                "subframeUnderTopFrameOrigins": [],
                "subresourceUnderTopFrameOrigins": [{"domain": d} for d in e.subresources],
                "hadUserInteraction": False,
                "mostRecentUserInteraction": datetime(2001, 1, 1),  # noqa: DTZ001 - plists hold naive UTC dates
                "lastSeen": e.last_seen.astimezone(UTC).replace(tzinfo=None),
            }
            for e in entries
        ],
        "version": 1,
    }


# -- Filesystem-only caches ------------------------------------------------------------------


def fill_cache_db(conn: sqlite3.Connection, entries: Sequence[tuple[str, datetime]]) -> None:
    """CFNetwork's Cache.db with cfurl_cache_response rows (url, time)."""
    conn.execute(
        "CREATE TABLE cfurl_cache_response(entry_ID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, version INTEGER,"
        " hash_value INTEGER, storage_policy INTEGER, request_key TEXT UNIQUE, time_stamp NOT NULL DEFAULT"
        " CURRENT_TIMESTAMP, partition TEXT)"
    )
    for url, when in entries:
        conn.execute(
            "INSERT INTO cfurl_cache_response(version, hash_value, storage_policy, request_key, time_stamp)"
            " VALUES (0, 0, 0, ?, ?)", (url, when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")),
        )


def fill_safari_favicons(conn: sqlite3.Connection, icons: Sequence[Favicon], rejected: Sequence[Favicon] = ()) -> None:
    conn.executescript(
        """
        CREATE TABLE page_url (uuid TEXT NOT NULL, url TEXT NOT NULL UNIQUE);
        CREATE TABLE icon_info (uuid TEXT NOT NULL UNIQUE, url TEXT NOT NULL, timestamp REAL, width REAL,
            height REAL, has_generated_representations INTEGER);
        CREATE TABLE rejected_resources (page_url TEXT NOT NULL, icon_url TEXT NOT NULL, timestamp REAL);
        """
    )
    for n, icon in enumerate(icons):
        uuid = f"00000000-0000-4000-8000-{n:012d}"
        conn.execute("INSERT INTO page_url VALUES (?, ?)", (uuid, icon.page_url))
        conn.execute("INSERT INTO icon_info VALUES (?, ?, ?, 32, 32, 0)",
                     (uuid, icon.icon_url, cocoa_seconds(icon.updated)))
    for icon in rejected:
        conn.execute("INSERT INTO rejected_resources VALUES (?, ?, ?)",
                     (icon.page_url, icon.icon_url, cocoa_seconds(icon.updated)))
