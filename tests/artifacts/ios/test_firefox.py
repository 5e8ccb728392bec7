from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.ios.firefox_favicons import FirefoxFavicon
from preuve.artifacts.ios.firefox_history import FirefoxVisit
from preuve.builders.ios_backup import BackupBuilder
from preuve.model import Severity
from tests.builders import check, feed, records, snapshot
from tests.builders.ios_browsers import (
    FIREFOX_GROUP,
    Favicon,
    Visit,
    fill_firefox_browser_db,
    fill_firefox_favicons,
    fill_firefox_places,
)

T1 = datetime(2023, 3, 1, 10, 0, tzinfo=UTC)
T2 = datetime(2023, 3, 1, 10, 0, 3, tzinfo=UTC)
PROFILE = f"/private/var/mobile/Containers/Shared/AppGroup/{FIREFOX_GROUP}/profile.profile"


def _backup(tmp_path: Path) -> Path:
    builder = BackupBuilder(tmp_path / "b")
    domain = f"AppDomainGroup-{FIREFOX_GROUP}"
    places = [Visit("https://start.example.org/", T1, "Start"), Visit("https://x.evil.example.net/a", T2, from_visit=1)]
    builder.add_sqlite(domain, "profile.profile/places.db", lambda c: fill_firefox_places(c, places))
    legacy = [Visit("http://old.example.com/", T1, "Old")]
    icons = [Favicon("https://y.evil.example.net/", "https://y.evil.example.net/favicon.ico", T2)]
    builder.add_sqlite(domain, "profile.profile/browser.db", lambda c: fill_firefox_browser_db(c, legacy, icons))
    builder.add_sqlite(domain, "profile.profile/favicons.sqlite",
                       lambda c: fill_firefox_favicons(c, [Favicon("https://start.example.org/", "https://start.example.org/i.png", T1)]))
    return builder.finish()


def test_firefox_history_both_stores(tmp_path: Path) -> None:
    root = _backup(tmp_path)
    before = snapshot(root)
    got = records(root, "firefox_history")
    assert snapshot(root) == before
    assert all(isinstance(r, FirefoxVisit) for r in got)
    assert [(r.locator.device_path.rsplit("/", 1)[1], r.locator.table, r.locator.rowid, r.store, r.url,
             r.visit_time, r.from_url) for r in got] == [
        ("browser.db", "visits", 1, "browser.db", "http://old.example.com/", T1, None),
        ("places.db", "moz_historyvisits", 1, "places", "https://start.example.org/", T1, None),
        ("places.db", "moz_historyvisits", 2, "places", "https://x.evil.example.net/a", T2, "https://start.example.org/"),
    ]
    assert got[0].title == "Old"
    assert got[1].app == FIREFOX_GROUP


def test_firefox_favicons_both_stores(tmp_path: Path) -> None:
    got = records(_backup(tmp_path), "firefox_favicons")
    assert [(r.locator.device_path, r.locator.table, r.locator.rowid, r.locator.key_path) for r in got] == [
        (f"{PROFILE}/browser.db", "favicon_sites", 1, None),
        (f"{PROFILE}/favicons.sqlite", "moz_pages_w_icons", 1, "icon_id=1"),
    ]
    assert got[0] == FirefoxFavicon(locator=got[0].locator, app=FIREFOX_GROUP, page_url="https://y.evil.example.net/",
                                    icon_url="https://y.evil.example.net/favicon.ico", when=T2)
    assert (got[1].page_url, got[1].icon_url, got[1].when) == (
        "https://start.example.org/", "https://start.example.org/i.png", None,
    )


def test_firefox_findings(tmp_path: Path) -> None:
    stix = feed(tmp_path / "i" / "f.stix2", ("[domain-name:value='evil.example.net']", "Pegasus"))
    result = check(_backup(tmp_path), stix, only=("firefox_history", "firefox_favicons"))
    got = [(f.artifact, f.severity, f.locator.table, f.locator.rowid, f.observable.value)  # type: ignore[union-attr]
           for f in result.findings]
    assert got == [
        ("firefox_favicons", Severity.HIGH, "favicon_sites", 1, "https://y.evil.example.net/"),
        ("firefox_favicons", Severity.HIGH, "favicon_sites", 1, "https://y.evil.example.net/favicon.ico"),
        ("firefox_history", Severity.HIGH, "moz_historyvisits", 2, "https://x.evil.example.net/a"),
    ]
