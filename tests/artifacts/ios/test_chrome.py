from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.ios.chrome_favicons import ChromeFavicon
from preuve.artifacts.ios.chrome_history import ChromeVisit
from preuve.builders.ios_backup import BackupBuilder
from preuve.model import Kind, Observable, Severity
from tests.builders import check, feed, records, snapshot
from tests.builders.ios_browsers import (
    CHROME_BUNDLE,
    CHROME_DIR,
    Favicon,
    Visit,
    fill_chrome_favicons,
    fill_chrome_history,
)

T1 = datetime(2023, 3, 1, 10, 0, tzinfo=UTC)
T2 = datetime(2023, 3, 1, 10, 0, 2, tzinfo=UTC)
DEVICE_DIR = (
    f"/private/var/mobile/Containers/Data/Application/{CHROME_BUNDLE}/Library/Application Support/Google/Chrome/Default"
)


def _backup(tmp_path: Path) -> Path:
    builder = BackupBuilder(tmp_path / "b")
    domain = f"AppDomain-{CHROME_BUNDLE}"
    visits = [
        Visit("https://news.example.com/story", T1, "Story"),
        Visit("https://redirect.evil.example.net/x?id=1", T2, from_visit=1),
    ]
    builder.add_sqlite(domain, f"{CHROME_DIR}/History",
                       lambda c: fill_chrome_history(c, visits, unvisited=["https://left.example.org/"]))
    icons = [Favicon("https://stage.evil.example.net/p", "https://cdn.example.com/favicon.ico", T1)]
    builder.add_sqlite(domain, f"{CHROME_DIR}/Favicons", lambda c: fill_chrome_favicons(c, icons))
    return builder.finish()


def test_chrome_history_records(tmp_path: Path) -> None:
    root = _backup(tmp_path)
    before = snapshot(root)
    got = records(root, "chrome_history")
    assert snapshot(root) == before
    assert all(isinstance(r, ChromeVisit) for r in got)
    assert [(r.locator.table, r.locator.rowid, r.url, r.visit_time, r.from_url) for r in got] == [
        ("visits", 1, "https://news.example.com/story", T1, None),
        ("visits", 2, "https://redirect.evil.example.net/x?id=1", T2, "https://news.example.com/story"),
        ("urls", 3, "https://left.example.org/", None, None),
    ]
    assert got[0].title == "Story"
    assert got[0].app == CHROME_BUNDLE
    assert got[1].from_visit == 1
    assert got[0].locator.device_path == f"{DEVICE_DIR}/History"
    assert list(got[1].observables()) == [
        Observable(Kind.URL, "https://redirect.evil.example.net/x?id=1"),
        Observable(Kind.URL, "https://news.example.com/story"),
    ]


def test_chrome_favicon_records(tmp_path: Path) -> None:
    got = records(_backup(tmp_path), "chrome_favicons")
    assert got == [
        ChromeFavicon(
            locator=got[0].locator,
            app=CHROME_BUNDLE,
            page_url="https://stage.evil.example.net/p",
            icon_url="https://cdn.example.com/favicon.ico",
            last_updated=T1,
            last_requested=None,
        )
    ]
    assert (got[0].locator.device_path, got[0].locator.table, got[0].locator.rowid) == (
        f"{DEVICE_DIR}/Favicons", "icon_mapping", 1,
    )


def test_chrome_findings(tmp_path: Path) -> None:
    stix = feed(tmp_path / "i" / "c.stix2", ("[domain-name:value='evil.example.net']", "Predator"))
    result = check(_backup(tmp_path), stix, only=("chrome_history", "chrome_favicons"))
    got = [(f.artifact, f.severity, f.locator.table, f.locator.rowid, f.observable.value)  # type: ignore[union-attr]
           for f in result.findings]
    assert got == [
        ("chrome_favicons", Severity.HIGH, "icon_mapping", 1, "https://stage.evil.example.net/p"),
        ("chrome_history", Severity.HIGH, "visits", 2, "https://redirect.evil.example.net/x?id=1"),
    ]
    assert not result.incomplete
