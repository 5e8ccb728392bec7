from __future__ import annotations

import plistlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from preuve.artifacts.ios.manifest import (
    _BARE_LOCALSTORAGE,
    _HOST,
    _ORIGIN_NAME,
    BackupFile,
    _unix_time,
    web_domains,
)
from preuve.artifacts.timeconv import from_unix
from preuve.builders.ios_backup import BackupBuilder
from preuve.model import Kind, Observable, Severity
from tests.builders import check, feed, records, snapshot

WHEN = datetime(2023, 6, 1, 12, 0, tzinfo=UTC)
SAFARI = "AppDomain-com.apple.mobilesafari"
LOCAL = "Library/WebKit/WebsiteData/LocalStorage/https_evil.example.net_0.localstorage"
IDB = "Library/WebKit/WebsiteData/IndexedDB/v1/https_cdn.example.org_0/IndexedDB.sqlite3"


def _backup(tmp_path: Path) -> Path:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_file("HomeDomain", "Library/Preferences/com.apple.x.plist", b"abc")
    builder.add_file(SAFARI, LOCAL, b"0123456789")
    builder.add_file(SAFARI, IDB, b"idb")
    builder.add_file("RootDomain", "Library/Preferences/roleaccountd.plist", b"x")
    builder.add_link("HomeDomain", "Library/Caches/link", "/private/var/tmp/target")
    builder.add_file("HomeDomain", "Library/damaged.bin", b"zz")
    builder.set_mbfile("HomeDomain", "Library/damaged.bin", b"not a plist")
    return builder.finish()


def test_rows(tmp_path: Path) -> None:
    root = _backup(tmp_path)
    before = snapshot(root)
    result = check(root, only=("manifest",))
    got = records(root, "manifest")
    assert snapshot(root) == before
    assert all(isinstance(r, BackupFile) for r in got)
    by_path = {r.relative_path: r for r in got}
    assert len(got) == 18  # 6 entries and 12 parent folders
    local = by_path[LOCAL]
    assert (local.domain, local.kind, local.flags, local.size, local.mode, local.modified, local.birth) == (
        SAFARI, "file", 1, 10, "100644", WHEN, WHEN,
    )
    assert local.device_path == f"/private/var/mobile/Containers/Data/Application/com.apple.mobilesafari/{LOCAL}"
    assert local.web_domains == ("evil.example.net",)
    assert local.file_id is not None and len(local.file_id) == 40
    assert list(local.observables()) == [
        Observable(Kind.FILE_PATH, local.device_path),
        Observable(Kind.DOMAIN, "evil.example.net"),
    ]
    assert by_path[IDB].web_domains == ("cdn.example.org",)
    assert by_path["Library/WebKit/WebsiteData/IndexedDB/v1/https_cdn.example.org_0"].kind == "directory"
    link = by_path["Library/Caches/link"]
    assert (link.kind, link.link_target, link.mode) == ("symlink", "/private/var/tmp/target", "120755")
    damaged = by_path["Library/damaged.bin"]
    assert (damaged.kind, damaged.size, damaged.modified) == ("file", None, None)
    assert damaged.locator.table == "Files" and isinstance(damaged.locator.rowid, int)
    [report] = result.artifacts
    assert report.status == "ok"
    assert len(report.warnings) == 1
    assert "MBFile not decoded" in report.warnings[0]


def test_mbfile_of_another_shape_goes_through_the_general_resolver(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_file("HomeDomain", "odd", b"1234567")
    uid = plistlib.UID
    archive = {"$archiver": "NSKeyedArchiver", "$top": {}, "$objects": [
        "$null", {"$class": uid(2), "Size": 7, "Mode": 0o100600, "Target": uid(3)},
        {"$classname": "MBFile"}, "/somewhere",
    ]}
    builder.set_mbfile("HomeDomain", "odd", plistlib.dumps(archive, fmt=plistlib.FMT_BINARY))
    [row] = [r for r in records(builder.finish(), "manifest") if r.relative_path == "odd"]
    assert (row.size, row.mode, row.link_target, row.modified) == (7, "100600", "/somewhere", None)


def test_web_domains() -> None:
    assert web_domains("a/https_www.Example.com_0.localstorage") == ("www.example.com",)
    assert web_domains("a/http_example.com_8080/x") == ("example.com",)
    assert web_domains("LocalStorage/news.example.org.localstorage") == ("news.example.org",)
    assert web_domains("a/StorageTracker.db") == ()
    assert web_domains("a/my_file_1") == ()
    assert web_domains("https_evil.example.net_0/https_evil.example.net_0") == ("evil.example.net",)
    # Every scheme WebKit names storage after, and a bare name, found whatever else the path holds.
    assert web_domains("IndexedDB/v1/wss_chat.example.com_443") == ("chat.example.com",)
    assert web_domains("IndexedDB/v1/ws_chat.example.com_80/x.sqlite3") == ("chat.example.com",)
    assert web_domains("LocalStorage/file__0.localstorage") == ()
    assert web_domains("LocalStorage/file_host.example.com_0.localstorage-wal") == ("host.example.com",)
    assert web_domains("a_b/news.example.org.localstorage") == ("news.example.org",)
    assert web_domains("a/HTTPS_evil.example.net_0") == ()  # WebKit writes the scheme in lower case
    assert web_domains("") == ()


def _web_domains_part_by_part(relative_path: str) -> tuple[str, ...]:
    """web_domains without its pre-check on the whole path: every part through the expressions."""
    found: dict[str, None] = {}
    for part in relative_path.split("/"):
        match = _ORIGIN_NAME.match(part) or _BARE_LOCALSTORAGE.match(part)
        if match:
            host = match.group(1).lower().strip("[]")
            if _HOST.match(host) or ":" in host:
                found.setdefault(host, None)
    return tuple(found)


_SCHEMES = st.sampled_from(["http", "https", "ws", "wss", "file", "HTTPS", "ftp", ""])
_HOSTS = st.sampled_from(["example.com", "a.b-c.example.org", "[::1]", "localhost", "x", "", "Host.Example.NET"])
_ENDS = st.sampled_from(["", ".localstorage", ".localstorage-wal", ".localstorage-shm", ".db", "x"])
_NOISE = st.text(alphabet="abwsfilehtp_.-:/0123456789", max_size=12)
_PARTS = st.one_of(
    st.tuples(_SCHEMES, _HOSTS, st.sampled_from(["0", "443", "x", ""]), _ENDS).map(lambda t: f"{t[0]}_{t[1]}_{t[2]}{t[3]}"),
    st.tuples(_HOSTS, _ENDS).map("".join),
    _NOISE,
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PARTS, max_size=5).map("/".join))
def test_web_domains_pre_check_never_drops_a_match(relative_path: str) -> None:
    assert web_domains(relative_path) == _web_domains_part_by_part(relative_path)


def test_schema_drift_without_file_column(tmp_path: Path) -> None:
    root = tmp_path / "b"
    BackupBuilder(root).finish()
    conn = sqlite3.connect(root / "Manifest.db")
    conn.execute("DROP TABLE Files")
    conn.execute("CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER)")
    conn.execute("INSERT INTO Files VALUES ('" + "a" * 40 + "', 'HomeDomain', 'Library/x', 1)")
    conn.commit()
    conn.close()
    [row] = records(root, "manifest")
    assert (row.device_path, row.kind, row.size, row.mode) == ("/private/var/mobile/Library/x", "file", None, None)


def test_findings(tmp_path: Path) -> None:
    stix = feed(
        tmp_path / "i" / "p.stix2",
        ("[domain-name:value='evil.example.net']", "Pegasus"),
        ("[file:name='roleaccountd.plist']", "Pegasus"),
    )
    result = check(_backup(tmp_path), stix, only=("manifest",))
    got = [(f.severity, f.observable.value if f.observable else None) for f in result.findings]
    assert got == [
        (Severity.CRITICAL, "/private/var/root/Library/Preferences/roleaccountd.plist"),
        (Severity.HIGH, "evil.example.net"),
    ]
    assert all(f.locator.device_path == "/.acquisition/backup/Manifest.db" for f in result.findings)


CORUNA = "2026-03-03_coruna_cryptowaters/coruna.stix2"
PEGASUS = "2021-07-18_nso/pegasus.stix2"


def test_public_feeds_match_file_names_and_paths(tmp_path: Path, shared_iocs: Path, pegasus_feed: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_file("HomeDomain", "Library/Preferences/com.apple.photolibraryd.plist", b"x")  # Coruna: path + name
    builder.add_file("RootDomain", "Library/Preferences/roleaccountd.plist", b"x")  # Pegasus: name
    builder.add_file(SAFARI, "Library/WebKit/WebsiteData/LocalStorage/https_weather4free.com_0.localstorage", b"x")
    root = builder.finish()
    coruna = shared_iocs / "mvt-indicators" / "2026-03-03_coruna_cryptowaters" / "coruna.stix2"
    result = check(root, coruna, pegasus_feed, only=("manifest",))
    got = [(f.severity, f.indicator.kind.value, f.indicator.value, f.indicator.feed)  # type: ignore[union-attr]
           for f in result.findings]
    assert sorted(got) == sorted([
        (Severity.CRITICAL, "file_path", "/private/var/mobile/Library/Preferences/com.apple.photolibraryd.plist", CORUNA),
        (Severity.CRITICAL, "file_name", "com.apple.photolibraryd.plist", CORUNA),
        (Severity.CRITICAL, "file_name", "roleaccountd.plist", PEGASUS),
        (Severity.HIGH, "domain", "weather4free.com", PEGASUS),
    ])


def test_domains_between_underscores_as_mvt_reads_them(tmp_path: Path) -> None:
    # MVT splits a relative path at underscores and matches each part that begins with a host name
    # against domain indicators (high); WebKit's names are one case of it, apps' own caches another.
    builder = BackupBuilder(tmp_path / "b")
    app = "AppDomain-com.example.reader"
    builder.add_file(app, "Library/Caches/offline_news.evil.example.net/page.html", b"x")
    builder.add_file(app, "Library/Caches/img_cdn.example.org:8443/a.png", b"x")  # no indicator
    builder.add_file(app, "Library/Preferences/com.example.reader_evil.example.net.plist", b"x")  # a file name
    builder.add_file(app, "Library/Caches/evil.example.net/x", b"x")  # not after an underscore (nor for MVT)
    root = builder.finish()
    before = snapshot(root)
    stix = feed(tmp_path / "i" / "d.stix2", ("[domain-name:value='evil.example.net']", "Spy"))
    result = check(root, stix, only=("manifest",))
    assert snapshot(root) == before
    rows = {r.locator.rowid: r for r in records(root, "manifest")}
    got = sorted((f.severity.label, rows[f.locator.rowid].relative_path, f.observable.value)  # type: ignore[union-attr]
                 for f in result.findings)
    assert got == [
        ("high", "Library/Caches/offline_news.evil.example.net", "news.evil.example.net"),
        ("high", "Library/Caches/offline_news.evil.example.net/page.html", "news.evil.example.net"),
    ]
    [row] = [r for r in rows.values() if r.relative_path == "Library/Caches/img_cdn.example.org:8443/a.png"]
    assert row.web_domains == ()
    assert list(row.observables())[1:] == [Observable(Kind.DOMAIN, "cdn.example.org")]


def test_mbfile_times_convert_as_from_unix_does() -> None:
    # The plain-seconds path of the Manifest's time conversion stops where from_unix's bounds are.
    low, high = 631_152_000, 4_102_444_800  # 1990-01-01 and 2100-01-01, in seconds since 1970
    values = [None, 0, 1, -1, low - 1, low, low + 1, 1_700_000_000, high - 1, high, high + 1, 10**11, 10**11 + 1,
              1_700_000_000_000, 1_700_000_000_000_000, 2**63 - 1, -(2**63)]
    assert [_unix_time(v) for v in values] == [from_unix(v) for v in values]
    assert _unix_time(low) == datetime(1990, 1, 1, tzinfo=UTC) and _unix_time(low - 1) is None
    assert _unix_time(high - 1) == datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC) and _unix_time(high) is None


@settings(max_examples=500, deadline=None)
@given(st.integers(631_152_000, 4_102_444_799))
def test_mbfile_times_in_plain_seconds_are_from_unix_s(seconds: int) -> None:
    # The one call that makes the plain seconds' datetime makes from_unix's, its zone the same object
    # (what the report's count by day tells UTC by).
    made = _unix_time(seconds)
    assert made == from_unix(seconds) == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    assert made is not None and made.tzinfo is UTC and made.isoformat() == from_unix(seconds).isoformat()  # type: ignore[union-attr]


def test_mbfiles_of_every_integer_width_and_shape(tmp_path: Path) -> None:
    # Numbers of 1, 2, 4 and 8 bytes, times out of bounds or in milliseconds, one number shared by
    # three fields, a UTF-16 link target, a "$null" one, a wrapped key; the same shapes over many
    # rows (read through the decoder's layouts from the second one on) give the same records.
    uid = plistlib.UID

    def mbfile(size: int, when: int, target: str | None) -> bytes:
        root: dict[str, object] = {"$class": uid(2), "Size": size, "Mode": 0o100600, "LastModified": when,
                                   "LastStatusChange": when + 1, "Birth": when, "RelativePath": uid(3)}
        objects: list[object] = ["$null", root, {"$classname": "MBFile", "$classes": ["MBFile", "NSObject"]}, "x"]
        if target is not None:
            root["Target"] = uid(4)
            objects.append(target)
        archive = {"$version": 100000, "$archiver": "NSKeyedArchiver", "$top": {"root": uid(1)}, "$objects": objects}
        return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY)

    shapes = [(7, 1_700_000_000, None), (70_000, 12, "/var/tmp/é"), (2**33, 1_700_000_000_000, "$null"),
              (-3, -(2**40), "../t")]
    builder = BackupBuilder(tmp_path / "b")
    for i in range(12):
        builder.add_file("HomeDomain", f"f{i}", b"")
        builder.set_mbfile("HomeDomain", f"f{i}", mbfile(*shapes[i % 4]))
    rows = {r.relative_path: r for r in records(builder.finish(), "manifest")}
    second = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    expected = [
        (7, "100600", second, second.replace(second=21), second, None),
        (70_000, "100600", None, None, None, "/var/tmp/é"),
        (2**33, "100600", second, second.replace(microsecond=1000), second, None),
        (-3, "100600", None, None, None, "../t"),
    ]
    for i in range(12):
        row = rows[f"f{i}"]
        assert (row.size, row.mode, row.modified, row.changed, row.birth, row.link_target) == expected[i % 4]
