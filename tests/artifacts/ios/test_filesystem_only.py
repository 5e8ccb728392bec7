"""Artifacts that only filesystem dumps hold, run on a folder laid out at device paths."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.artifacts.ios.cache_db import CacheDb, CachedUrl
from preuve.artifacts.ios.safari_favicons import SafariFavicon, SafariFavicons
from preuve.artifacts.ios.version_history import IosVersion, VersionHistory
from preuve.artifacts.ios.webkit_origins import WebkitOrigins, WebOrigin, parse_origin
from preuve.detect.match import Matcher
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.evidence.sources.folder import folder_fs
from preuve.indicators.index import load_index
from preuve.model import Record, Severity
from tests.builders import feed, snapshot
from tests.builders.ios_browsers import Favicon, fill_cache_db, fill_safari_favicons

T1 = datetime(2023, 2, 1, 8, 0, tzinfo=UTC)
APP = "/private/var/mobile/Containers/Data/Application/0F1E2D3C-AAAA-4BBB-8CCC-000000000001"
SVS = f"{APP}/SystemData/com.apple.SafariViewService/Library/WebKit/WebsiteData"


def _db(root: Path, device_path: str, fill: Callable[[sqlite3.Connection], None]) -> None:
    target = root / device_path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(target)
    fill(conn)
    conn.commit()
    conn.close()


def _dump(tmp_path: Path) -> Path:
    root = tmp_path / "dump"
    _db(root, f"{APP}/Library/Caches/com.example.app/Cache.db",
        lambda c: fill_cache_db(c, [("https://api.example.com/v1", T1), ("https://c2.evil.example.net/beacon", T1)]))
    _db(root, "/private/var/mobile/Library/Image Cache/Favicons/Favicons.db",
        lambda c: fill_safari_favicons(c, [Favicon("https://news.example.com/", "https://news.example.com/f.ico", T1)],
                                       [Favicon("https://x.evil.example.net/", "https://x.evil.example.net/f.ico", T1)]))
    for folder in (f"{APP}/Library/WebKit/WebsiteData/IndexedDB/https_stage.evil.example.net_0",
                   f"{SVS}/https_www.example.org_0", f"{SVS}/ResourceLoadStatistics"):
        (root / folder.lstrip("/")).mkdir(parents=True)
    storage = root / f"{APP}/Library/WebKit/WebsiteData/LocalStorage/http_localhost_8080.localstorage".lstrip("/")
    storage.parent.mkdir(parents=True)
    storage.write_bytes(b"SQLite format 3\x00")
    modern = root / f"{APP}/Library/WebKit/WebsiteData/Default/AbC123/dEf456".lstrip("/")
    modern.mkdir(parents=True)
    (modern / "origin").write_bytes(persistence_origin(("https", "news.example.com"), ("https", "frame.evil.example.net")))
    journals = root / "private/var/db/analyticsd"
    journals.mkdir(parents=True)
    header = {"timestamp": "2022-03-05 10:11:12.00 +0100", "os_version": "iPhone OS 15.3.1 (19D52)"}
    (journals / "Analytics-Journal-1.ips").write_text(json.dumps(header) + "\n{\"name\": \"x\"}\n")
    (journals / "Analytics-Journal-2.ips").write_text("not json\n")
    os.utime(root / SVS.lstrip("/") / "https_www.example.org_0", (T1.timestamp(), T1.timestamp()))
    return root


def persistence_origin(top: tuple[str, str], frame: tuple[str, str]) -> bytes:
    """An ``origin`` file as WebKit writes it: each string as u32 length, u8 is-8-bit, bytes; u16 ports."""
    out = b""
    for scheme, host in (top, frame):
        for text in (scheme, host):
            out += len(text).to_bytes(4, "little") + b"\x01" + text.encode()
        out += b"\x00\x00\x00"  # no port
    return out


def _run(root: Path, tmp_path: Path, artifact: Artifact) -> tuple[list[Record], ArtifactContext]:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    fs = folder_fs(root, HashLedger(), DEFAULT_LIMITS, work)
    ctx = ArtifactContext(fs=fs, limits=DEFAULT_LIMITS)
    out: list[Record] = []
    for path in artifact.locate(fs):
        out.extend(artifact.parse(ctx, path))
    return out, ctx


def test_cache_db(tmp_path: Path) -> None:
    root = _dump(tmp_path)
    before = snapshot(root)
    got, ctx = _run(root, tmp_path, CacheDb())
    assert snapshot(root) == before
    assert [(r.locator.rowid, r.owner, r.url, r.when) for r in got if isinstance(r, CachedUrl)] == [
        (1, "0F1E2D3C-AAAA-4BBB-8CCC-000000000001", "https://api.example.com/v1", T1),
        (2, "0F1E2D3C-AAAA-4BBB-8CCC-000000000001", "https://c2.evil.example.net/beacon", T1),
    ]
    assert (got[0].locator.table, ctx.errors) == ("cfurl_cache_response", [])


def test_cache_db_anywhere(tmp_path: Path) -> None:
    # MVT reads every file named Cache.db in a dump: app groups and extensions keep URL caches too.
    root = _dump(tmp_path)
    group = "/private/var/mobile/Containers/Shared/AppGroup/5A5A5A5A-0000-4000-8000-000000000001"
    _db(root, f"{group}/Library/Caches/com.example.widget/Cache.db",
        lambda c: fill_cache_db(c, [("https://w.evil.example.net/x", T1)]))
    _db(root, f"{APP}/Library/Caches/com.example.app/NotACache.db", lambda c: fill_cache_db(c, [("https://n/", T1)]))
    fs = folder_fs(root, HashLedger(), DEFAULT_LIMITS, tmp_path / "w")
    assert CacheDb().locate(fs) == [
        f"{APP}/Library/Caches/com.example.app/Cache.db",
        f"{group}/Library/Caches/com.example.widget/Cache.db",
    ]
    got, _ = _run(root, tmp_path, CacheDb())
    assert [r.url for r in got if isinstance(r, CachedUrl)] == [
        "https://api.example.com/v1", "https://c2.evil.example.net/beacon", "https://w.evil.example.net/x",
    ]


def test_safari_favicons(tmp_path: Path) -> None:
    got, _ = _run(_dump(tmp_path), tmp_path, SafariFavicons())
    assert [(r.locator.table, r.locator.rowid, r.page_url, r.icon_url, r.when, r.rejected)
            for r in got if isinstance(r, SafariFavicon)] == [
        ("page_url", 1, "https://news.example.com/", "https://news.example.com/f.ico", T1, False),
        ("rejected_resources", 1, "https://x.evil.example.net/", "https://x.evil.example.net/f.ico", T1, True),
    ]


def test_webkit_origins(tmp_path: Path) -> None:
    root = _dump(tmp_path)
    before = snapshot(root)
    got, ctx = _run(root, tmp_path, WebkitOrigins())
    assert snapshot(root) == before
    rows = [(r.store, r.scheme, r.host, r.port, r.locator.sha256 == "") for r in got if isinstance(r, WebOrigin)]
    assert rows == [
        ("Default", "https", "news.example.com", 0, False),
        ("Default", "https", "frame.evil.example.net", 0, False),
        ("IndexedDB", "https", "stage.evil.example.net", 0, True),
        ("LocalStorage", "http", "localhost", 8080, False),
        ("SafariViewService", "https", "www.example.org", 0, True),
    ]
    assert [r.locator.key_path for r in got[:2]] == ["string[1]", "string[3]"]
    assert got[4].modified == T1  # type: ignore[attr-defined]
    assert len(got[3].locator.sha256) == 64
    assert parse_origin("https_example.com_0") == ("https", "example.com", 0)
    assert parse_origin("ResourceLoadStatistics") is None
    assert ctx.errors == []


def test_version_history(tmp_path: Path) -> None:
    got, ctx = _run(_dump(tmp_path), tmp_path, VersionHistory())
    assert got == [
        IosVersion(locator=got[0].locator, os_version="iPhone OS 15.3.1 (19D52)",
                   when=datetime(2022, 3, 5, 9, 11, 12, tzinfo=UTC)),
    ]
    assert got[0].locator.line == 1
    assert ctx.errors == ["/private/var/db/analyticsd/Analytics-Journal-2.ips: first line is not JSON"]


def test_filesystem_only_findings(tmp_path: Path) -> None:
    root = _dump(tmp_path)
    stix = feed(tmp_path / "i" / "f.stix2", ("[domain-name:value='evil.example.net']", "Predator"))
    matcher = Matcher(load_index([stix], lambda _m: None))
    found = []
    for artifact in (CacheDb(), SafariFavicons(), WebkitOrigins()):
        records, _ = _run(root, tmp_path, artifact)
        for record in records:
            found.extend(matcher.match(record, artifact.name, artifact.title))
    assert [(f.artifact, f.severity, f.locator.table, f.locator.rowid, f.observable.value)  # type: ignore[union-attr]
            for f in found] == [
        ("cache_db", Severity.HIGH, "cfurl_cache_response", 2, "https://c2.evil.example.net/beacon"),
        ("safari_favicons", Severity.HIGH, "rejected_resources", 1, "https://x.evil.example.net/"),
        ("safari_favicons", Severity.HIGH, "rejected_resources", 1, "https://x.evil.example.net/f.ico"),
        ("webkit_origins", Severity.HIGH, None, None, "frame.evil.example.net"),
        ("webkit_origins", Severity.HIGH, None, None, "stage.evil.example.net"),
    ]


def test_analytics(tmp_path: Path) -> None:
    import plistlib

    from preuve.artifacts.ios.analytics import Analytics, AnalyticsEvent
    from preuve.model import Kind, Observable

    root = tmp_path / "dump"

    def fill(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE hard_failures (id INTEGER PRIMARY KEY, timestamp REAL, data BLOB)")
        conn.execute("CREATE TABLE soft_failures (id INTEGER PRIMARY KEY, timestamp REAL, data BLOB)")
        event = {"process": "bh", "domain": "c2.evil.example.net", "count": 3, "note": "two words",
                 "path": "/private/var/db/com.apple.xpc.roleaccountd.staging/roleaboutd",
                 "url": "https://x.evil.example.org/p?q=1"}
        conn.execute("INSERT INTO hard_failures (timestamp, data) VALUES (?, ?)",
                     ((T1 - datetime(2001, 1, 1, tzinfo=UTC)).total_seconds(), plistlib.dumps(event)))
        conn.execute("INSERT INTO soft_failures (timestamp, data) VALUES (0, ?)", (b"not a plist",))

    _db(root, "/private/var/Keychains/Analytics/trust_analytics.db", fill)
    got, ctx = _run(root, tmp_path, Analytics())
    assert [(r.locator.table, r.locator.rowid, r.when, r.strings) for r in got if isinstance(r, AnalyticsEvent)] == [
        ("hard_failures", 1, T1, (("domain", "c2.evil.example.net"), ("note", "two words"),
                                  ("path", "/private/var/db/com.apple.xpc.roleaccountd.staging/roleaboutd"),
                                  ("process", "bh"), ("url", "https://x.evil.example.org/p?q=1"))),
        ("soft_failures", 1, None, ()),
    ]
    # MVT compares each string with process names by its last path component, and with domains.
    assert list(got[0].observables()) == [
        Observable(Kind.PROCESS, "c2.evil.example.net"), Observable(Kind.DOMAIN, "c2.evil.example.net"),
        Observable(Kind.PROCESS, "roleaboutd"), Observable(Kind.PROCESS, "bh"),
        Observable(Kind.URL, "https://x.evil.example.org/p?q=1"),
    ]
    assert len(ctx.warnings) == 1 and ctx.errors == []
    stix = feed(tmp_path / "i" / "a.stix2", ("[process:name='bh']", "Pegasus"), ("[process:name='roleaboutd']", "Pegasus"),
                ("[domain-name:value='evil.example.org']", "Pegasus"))
    matcher = Matcher(load_index([stix], lambda _m: None))
    assert [(f.severity, f.locator.table, f.observable.value) for f in matcher.match(got[0], "analytics", "A")] == [  # type: ignore[union-attr]
        (Severity.CRITICAL, "hard_failures", "roleaboutd"),
        (Severity.CRITICAL, "hard_failures", "bh"),
        (Severity.HIGH, "hard_failures", "https://x.evil.example.org/p?q=1"),
    ]
    assert matcher.match(got[1], "analytics", "A") == []


def test_persistence_strings_on_hostile_bytes() -> None:
    from preuve.artifacts.ios.webkit_origins import persistence_strings

    assert persistence_strings(b"\xff" * 100) == []
    assert persistence_strings(b"\x10\x00\x00\x00\x01abc") == []  # length beyond the end
    assert persistence_strings(b"\x03\x00\x00\x00\x01a\x00c") == []  # not printable
    assert persistence_strings(b"\x00" * 3 + b"\x02\x00\x00\x00\x00h\x00i\x00") == ["hi"]  # UTF-16
    assert len(persistence_strings(b"\x01\x00\x00\x00\x01a" * 500)) == 64  # bounded
