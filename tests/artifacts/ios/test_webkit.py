from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.ios.webkit_resource_load_statistics import DomainRedirect, ObservedDomain
from preuve.artifacts.ios.webkit_session_resource_log import SessionResource
from preuve.builders.ios_backup import BackupBuilder
from preuve.model import Kind, Observable, Severity
from tests.builders import check, records, snapshot
from tests.builders.ios_browsers import Observed, SessionEntry, fill_observations, session_resource_log

T1 = datetime(2021, 7, 1, 8, 0, tzinfo=UTC)
T2 = datetime(2021, 7, 1, 8, 5, tzinfo=UTC)
SAFARI = "com.apple.mobilesafari"
RLS = "Library/WebKit/WebsiteData/ResourceLoadStatistics"


def _backup(tmp_path: Path) -> Path:
    builder = BackupBuilder(tmp_path / "b")
    domains = [Observed("news.example.com", T1, interacted=T1), Observed("free247downloads.com", T2)]
    builder.add_sqlite(f"AppDomain-{SAFARI}", f"{RLS}/observations.db",
                       lambda c: fill_observations(c, domains, [("news.example.com", "free247downloads.com")]))
    builder.add_sqlite("AppDomain-com.example.reader", f"{RLS}/observations.db",
                       lambda c: fill_observations(c, [Observed("reader.example.org", T2)]))
    log = session_resource_log([
        SessionEntry("free247downloads.com", T2, redirected_from=["news.example.com"],
                     redirected_to=["landing.example.net"], subresources=["cdn.example.net"]),
    ])
    builder.add_plist(f"AppDomain-{SAFARI}", f"{RLS}/full_browsing_session_resourceLog.plist", log)
    return builder.finish()


def test_observed_domains_and_redirects(tmp_path: Path) -> None:
    root = _backup(tmp_path)
    before = snapshot(root)
    got = records(root, "webkit_resource_load_statistics")
    assert snapshot(root) == before
    assert [type(r) for r in got] == [ObservedDomain, ObservedDomain, DomainRedirect, ObservedDomain]
    first = got[0]
    assert isinstance(first, ObservedDomain)
    assert (first.app, first.domain, first.last_seen, first.had_user_interaction, first.most_recent_interaction) == (
        "com.apple.mobilesafari", "news.example.com", T1, True, T1,
    )
    assert first.locator.device_path == (
        f"/private/var/mobile/Containers/Data/Application/{SAFARI}/{RLS}/observations.db"
    )
    assert got[1].domain == "free247downloads.com"  # type: ignore[attr-defined]
    redirect = got[2]
    assert isinstance(redirect, DomainRedirect)
    assert (redirect.source, redirect.destination, redirect.locator.table, redirect.locator.rowid) == (
        "news.example.com", "free247downloads.com", "TopFrameUniqueRedirectsTo", 1,
    )
    assert (got[3].app, got[3].domain, got[3].had_user_interaction, got[3].most_recent_interaction) == (  # type: ignore[attr-defined]
        "com.example.reader", "reader.example.org", False, None,
    )


def test_session_resource_log(tmp_path: Path) -> None:
    got = records(_backup(tmp_path), "webkit_session_resource_log")
    assert got == [
        SessionResource(
            locator=got[0].locator, app=SAFARI, origin="free247downloads.com",
            redirected_from=("news.example.com",), redirected_to=("landing.example.net",), subframe_under=(),
            subresource_under=("cdn.example.net",), had_user_interaction=False, most_recent_interaction=None,
            last_seen=T2,
        )
    ]
    assert got[0].locator.key_path == "browsingStatistics[0]"
    assert [o.value for o in got[0].observables()] == [
        "free247downloads.com", "news.example.com", "landing.example.net", "cdn.example.net",
    ]
    assert got[0].summary() == "Redirect chain: news.example.com -> free247downloads.com -> landing.example.net"
    assert next(got[0].observables()) == Observable(Kind.DOMAIN, "free247downloads.com")


def test_webkit_findings_with_the_pegasus_feed(tmp_path: Path) -> None:
    pegasus = Path(__file__).parents[3] / "src/preuve/data/2021-07-18_nso/pegasus.stix2"
    result = check(_backup(tmp_path), pegasus, only=("webkit_resource_load_statistics", "webkit_session_resource_log"))
    got = [(f.artifact, f.severity, f.locator.table, f.locator.rowid, f.locator.key_path, f.observable.value,  # type: ignore[union-attr]
            f.indicator.malware) for f in result.findings]  # type: ignore[union-attr]
    assert got == [
        ("webkit_resource_load_statistics", Severity.HIGH, "ObservedDomains", 2, None, "free247downloads.com", "Pegasus"),
        ("webkit_resource_load_statistics", Severity.HIGH, "TopFrameUniqueRedirectsTo", 1, None,
         "free247downloads.com", "Pegasus"),
        ("webkit_session_resource_log", Severity.HIGH, None, None, "browsingStatistics[0]", "free247downloads.com",
         "Pegasus"),
        ("webkit_session_resource_log", Severity.HIGH, None, None, "browsingStatistics[0]", "free247downloads.com",
         "Pegasus"),
    ]
    # MVT: beside the match, a high alert naming the redirect chain through the indicator domain.
    assert [(f.rule, f.explanation) for f in result.findings[2:]] == [
        (None, result.findings[2].explanation),
        ("webkit_redirect_indicator_domain",
         "The browser was redirected through free247downloads.com, a published indicator domain: news.example.com "
         "-> free247downloads.com -> landing.example.net. Exploit chains reach the victim through such redirects; "
         "the domains around it deserve a look too."),
    ]


def test_no_redirect_follow_up_without_a_redirect_or_a_match(tmp_path: Path) -> None:
    from tests.builders import feed

    builder = BackupBuilder(tmp_path / "b")
    builder.add_plist(f"AppDomain-{SAFARI}", f"{RLS}/full_browsing_session_resourceLog.plist", session_resource_log([
        SessionEntry("evil.example.org", T2, subresources=["cdn.example.net"]),  # a match, no redirect
        SessionEntry("news.example.com", T2, redirected_to=["landing.example.net"]),  # a redirect, no match
        SessionEntry("shop.example.com", T2, redirected_from=["ads.evil.example.org"]),  # both
    ]))
    stix = feed(tmp_path / "i.stix2", ("[domain-name:value='evil.example.org']", "Spy"))
    result = check(builder.finish(), stix, only=("webkit_session_resource_log",))
    assert [(f.rule, f.locator.key_path, f.observable.value) for f in result.findings] == [  # type: ignore[union-attr]
        (None, "browsingStatistics[0]", "evil.example.org"),
        (None, "browsingStatistics[2]", "ads.evil.example.org"),
        ("webkit_redirect_indicator_domain", "browsingStatistics[2]", "ads.evil.example.org"),
    ]


def test_damaged_log_is_reported_and_the_run_goes_on(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_file(f"AppDomain-{SAFARI}", f"{RLS}/full_browsing_session_resourceLog.plist", b"bplist00\xff\xff")
    builder.add_sqlite(f"AppDomain-{SAFARI}", f"{RLS}/observations.db",
                       lambda c: fill_observations(c, [Observed("news.example.com", T1)]))
    result = check(builder.finish(), only=("webkit_resource_load_statistics", "webkit_session_resource_log"))
    status = {a.name: (a.status.value, a.records, len(a.errors)) for a in result.artifacts if a.files}
    assert status == {"webkit_resource_load_statistics": ("ok", 1, 0), "webkit_session_resource_log": ("failed", 0, 1)}
    assert result.incomplete


def test_redirect_follow_up_is_verified_from_the_evidence(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from preuve.cli import build_cli
    from preuve.proof.verify import Status, verify
    from tests.builders import feed

    backup = _backup(tmp_path)
    stix = feed(tmp_path / "i" / "p.stix2", ("[domain-name:value='free247downloads.com']", "Pegasus"))
    out = tmp_path / "out"
    CliRunner().invoke(build_cli(), ["check", str(backup), "--iocs", str(stix), "-o", str(out), "-q"])
    checks = verify(out / "bundle.json", backup, [stix]).checks
    follow_up = [c for c in checks if c.finding.rule == "webkit_redirect_indicator_domain"]
    assert len(follow_up) == 1
    assert [c.status for c in checks] == [Status.CONFIRMED] * len(checks)


def test_redirect_follow_up_of_an_expired_indicator_is_lowered(tmp_path: Path) -> None:
    import json

    from tests.builders import feed

    stix = feed(tmp_path / "i.stix2", ("[domain-name:value='free247downloads.com']", "Pegasus"))
    doc = json.loads(stix.read_text())
    for obj in doc["objects"]:
        if obj["type"] == "indicator":
            obj["valid_until"] = "2020-01-01T00:00:00Z"  # before the trace (2021)
    stix.write_text(json.dumps(doc))
    result = check(_backup(tmp_path), stix, only=("webkit_session_resource_log",))
    assert [(f.rule, f.severity) for f in result.findings] == [
        (None, Severity.MEDIUM), ("webkit_redirect_indicator_domain", Severity.MEDIUM),
    ]
    assert result.findings[1].explanation.endswith("reported one level lower.")
