from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.ios.safari_browser_state import SafariTab
from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.safari import Tab, fill_browser_state
from preuve.model import Kind, Observable, Severity
from tests.builders import check, feed, records, snapshot

T = datetime(2023, 5, 2, 8, 0, tzinfo=UTC)
TABS = [
    Tab("https://news.example.org/", "News", T, back_forward=["https://lure.example.net/a", "https://news.example.org/"]),
    Tab("https://mail.example.com/", "Mail", T, session_blob=b"\x00\x00\x00\x02garbage"),
    Tab("https://private.example.org/", None, T, private=True, session_blob=b"\x00\x00\x00\x02bplist00\x01\x02"),
]
PATH = "/private/var/mobile/Library/Safari/BrowserState.db"


def _backup(tmp_path: Path, with_sessions: bool = True) -> Path:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/Safari/BrowserState.db",
                       lambda c: fill_browser_state(c, TABS, with_sessions=with_sessions))
    return builder.finish()


def test_tabs_and_sessions(tmp_path: Path) -> None:
    root = _backup(tmp_path)
    before = snapshot(root)
    result = check(root, only=("safari_browser_state",))
    got = records(root, "safari_browser_state")
    assert snapshot(root) == before
    assert [type(r) for r in got] == [SafariTab] * 3
    first = got[0]
    assert (first.tab_id, first.url, first.title, first.last_viewed_time, first.private_browsing) == (
        1, "https://news.example.org/", "News", T, False,
    )
    assert first.uuid == "5B0E0000-0000-4000-8000-000000000001"
    assert first.session_urls == ("https://lure.example.net/a", "https://news.example.org/")
    assert first.session_titles == ("page 0", "page 1")
    assert list(first.observables()) == [
        Observable(Kind.URL, "https://news.example.org/"),
        Observable(Kind.URL, "https://lure.example.net/a"),
    ]
    assert got[1].session_urls == () and got[2].session_urls == ()
    assert got[2].private_browsing is True
    assert got[0].locator.device_path == PATH and got[0].locator.table == "tabs"
    [report] = result.artifacts
    assert report.status == "ok"
    assert len(report.warnings) == 2
    assert report.warnings[0] == f"{PATH}: tab 2: session history not decoded (session_data holds no property list)"
    assert report.warnings[1].startswith(f"{PATH}: tab 3: session history not decoded (not a valid plist")


def test_schema_drift_without_sessions(tmp_path: Path) -> None:
    got = records(_backup(tmp_path, with_sessions=False), "safari_browser_state")
    assert [(r.tab_id, r.url, r.session_urls) for r in got] == [
        (1, "https://news.example.org/", ()),
        (2, "https://mail.example.com/", ()),
        (3, "https://private.example.org/", ()),
    ]


def test_findings(tmp_path: Path) -> None:
    stix = feed(tmp_path / "i" / "p.stix2", ("[domain-name:value='lure.example.net']", "Predator"))
    result = check(_backup(tmp_path), stix)
    assert [(f.artifact, f.severity, f.locator.rowid, f.observable.value if f.observable else None)
            for f in result.findings] == [
        ("safari_browser_state", Severity.HIGH, 1, "https://lure.example.net/a"),
    ]
    assert result.findings[0].timestamp == T


def test_tabs_of_safari_profiles(tmp_path: Path) -> None:
    # iOS 17 profiles keep their own BrowserState.db under Library/Safari/Profiles/<UUID>/ (MVT reads them).
    profile = "Library/Safari/Profiles/0F3C7E1A-1111-4222-8333-444455556666/BrowserState.db"
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/Safari/BrowserState.db", lambda c: fill_browser_state(c, TABS[:1]))
    builder.add_sqlite("HomeDomain", profile, lambda c: fill_browser_state(c, [
        Tab("https://x.evil.example.net/", "Work", T)]))
    root = builder.finish()
    stix = feed(tmp_path / "i.stix2", ("[domain-name:value='evil.example.net']", "Spy"))
    result = check(root, stix, only=("safari_browser_state",))
    assert sorted({r.locator.device_path for r in records(root, "safari_browser_state")}) == [
        PATH, "/private/var/mobile/" + profile,
    ]
    assert [(f.locator.device_path, f.observable.value) for f in result.findings] == [  # type: ignore[union-attr]
        ("/private/var/mobile/" + profile, "https://x.evil.example.net/"),
    ]
