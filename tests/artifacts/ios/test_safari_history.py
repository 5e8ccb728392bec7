from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from preuve.artifacts.ios.safari_history import (
    SafariHistoryDeletion,
    SafariRedirect,
    SafariVisit,
    different_sites,
)
from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.safari import Deletion, Visit, fill_history
from preuve.model import Kind, Observable, Severity
from tests.builders import check, feed, records, snapshot

T = datetime(2023, 5, 3, 10, 0, tzinfo=UTC)
VISITS = [
    Visit("https://news.example.org/", T, "News"),
    Visit("http://plain.example.com/page", T + timedelta(minutes=1), "Plain", redirects_to=2),
    Visit("https://exploit.example.net/x?id=1", T + timedelta(minutes=1, milliseconds=250), None, False),
    Visit("https://t.example.org/abc", T + timedelta(minutes=2), redirects_to=4),
    Visit("https://landing.example.com/", T + timedelta(minutes=2, seconds=2)),
    Visit("https://a.example.org/", T + timedelta(minutes=3), redirects_to=6),
    Visit("https://www.example.org/home", T + timedelta(minutes=3, milliseconds=10)),  # same site
    Visit("https://slow.example.org/", T + timedelta(minutes=4), redirects_to=8),
    Visit("https://other.example.com/", T + timedelta(minutes=5)),  # a minute later: a person
]
DELETIONS = [
    Deletion(T - timedelta(hours=1), T - timedelta(minutes=30)),
    Deletion(T - timedelta(days=1), T - timedelta(days=1), "https://gone.example.net/x"),
]
SAFARI = "/private/var/mobile/Containers/Data/Application/com.apple.mobilesafari/Library/Safari/History.db"
PROFILE = "/private/var/mobile/Library/Safari/Profiles/0F3C7E1A-1111-4222-8333-444455556666/History.db"


def _backup(tmp_path: Path, old_schema: bool = False) -> Path:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("AppDomain-com.apple.mobilesafari", "Library/Safari/History.db",
                       lambda c: fill_history(c, VISITS, old_schema=old_schema, deletions=DELETIONS))
    builder.add_sqlite("HomeDomain", "Library/Safari/Profiles/0F3C7E1A-1111-4222-8333-444455556666/History.db",
                       lambda c: fill_history(c, [Visit("https://work.example.org/", T)]))
    return builder.finish()


def test_visits_and_redirects(tmp_path: Path) -> None:
    root = _backup(tmp_path)
    before = snapshot(root)
    got = records(root, "safari_history")
    assert snapshot(root) == before
    visits = [r for r in got if isinstance(r, SafariVisit)]
    redirects = [r for r in got if isinstance(r, SafariRedirect)]
    deletions = [r for r in got if isinstance(r, SafariHistoryDeletion)]
    assert len(got) == 14
    assert [(d.locator.rowid, d.start_time, d.end_time, d.url) for d in deletions] == [
        (1, T - timedelta(hours=1), T - timedelta(minutes=30), None),
        (2, T - timedelta(days=1), T - timedelta(days=1), "https://gone.example.net/x"),
    ]
    assert list(deletions[1].observables()) == [Observable(Kind.URL, "https://gone.example.net/x")]
    assert [v.locator.device_path for v in visits] == [SAFARI] * 9 + [PROFILE]
    assert [v.visit_id for v in visits] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 1]
    second = visits[1]
    assert (second.url, second.title, second.visit_time, second.load_successful) == (
        "http://plain.example.com/page", "Plain", T + timedelta(minutes=1), True,
    )
    assert (second.redirect_source, second.redirect_destination, second.origin) == (None, 3, 0)
    assert (visits[2].redirect_source, visits[2].load_successful, visits[2].title) == (2, False, None)
    assert visits[2].visit_time_raw == (T + timedelta(minutes=1, milliseconds=250) - datetime(2001, 1, 1, tzinfo=UTC)
                                        ).total_seconds()
    assert list(visits[2].observables()) == [Observable(Kind.URL, "https://exploit.example.net/x?id=1")]
    assert visits[9].url == "https://work.example.org/"
    assert [(r.source_visit_id, r.destination_visit_id, r.elapsed_seconds, r.destination_url) for r in redirects] == [
        (2, 3, 0.25, "https://exploit.example.net/x?id=1"),
        (4, 5, 2.0, "https://landing.example.com/"),
    ]
    assert redirects[0].locator.key_path == "redirect_destination=3"
    assert redirects[0].source_time == T + timedelta(minutes=1)


def test_schema_drift_without_redirect_columns(tmp_path: Path) -> None:
    root = _backup(tmp_path, old_schema=True)
    got = [r for r in records(root, "safari_history") if not isinstance(r, SafariHistoryDeletion)]
    assert len(got) == 10
    assert all(isinstance(r, SafariVisit) for r in got)
    assert (got[1].url, got[1].load_successful, got[1].redirect_destination, got[1].origin) == (
        "http://plain.example.com/page", None, None, None,
    )


def test_missing_table_is_named(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/Safari/History.db", lambda c: c.execute("CREATE TABLE x (a)"))
    result = check(builder.finish())
    [report] = [a for a in result.artifacts if a.name == "safari_history"]
    assert report.status == "failed"
    assert report.errors == ["/private/var/mobile/Library/Safari/History.db: no table 'history_visits'"]


def test_different_sites() -> None:
    assert different_sites("https://a.example.org/", "https://www.example.org/") is False
    assert different_sites("http://example.org/", "https://example.org:8443/") is False
    assert different_sites("https://example.org/", "https://example.com/") is True
    assert different_sites("", "https://example.com/") is False


def test_findings(tmp_path: Path) -> None:
    stix = feed(tmp_path / "i" / "p.stix2", ("[domain-name:value='exploit.example.net']", "Pegasus"),
                ("[domain-name:value='gone.example.net']", "Pegasus"))
    result = check(_backup(tmp_path), stix)
    got = [(f.rule or f.indicator.malware, f.severity, f.locator.rowid, f.locator.key_path)  # type: ignore[union-attr]
           for f in result.findings]
    assert got == [
        ("Pegasus", Severity.HIGH, 2, None),  # history_tombstones row 2 (tables sort before history_visits)
        ("Pegasus", Severity.HIGH, 3, None),
        ("safari_fast_redirect", Severity.MEDIUM, 2, "redirect_destination=3"),
        ("safari_fast_redirect", Severity.LOW, 4, "redirect_destination=5"),
    ]
    assert [f.locator.table for f in result.findings[:2]] == ["history_tombstones", "history_visits"]
    assert result.findings[1].timestamp == T + timedelta(minutes=1, milliseconds=250)
    assert result.findings[2].explanation.startswith(
        "Safari was sent from a plain http:// page, as in network injection (http://plain.example.com/page)"
    )
