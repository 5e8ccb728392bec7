"""The HTML report: verdict in plain words, coverage gaps, escaped evidence, timeline bins."""

from __future__ import annotations

import html
import re
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

from click.testing import CliRunner

from preuve.builders.demo import build_demo_backup
from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.ios_dbs import Message, fill_sms
from preuve.cli import build_cli
from preuve.model import HEADLINE_NOTHING as VERDICT_NOTHING
from preuve.model import HEADLINE_SPYWARE as VERDICT_SPYWARE
from preuve.model import HEADLINE_SUSPICIOUS as VERDICT_SUSPICIOUS
from preuve.model import Finding, Locator, Severity
from preuve.report.html import content_security_policy, timeline_bins
from tests.builders import feed, snapshot
from tests.builders.demo_expected import DEMO_SEVERITIES


def _check(*args: str) -> int:
    return CliRunner().invoke(build_cli(), ["check", *args, "-q"]).exit_code


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr class="finding" id="f-[0-9a-f]+" data-severity="(\w+)"', page)


def test_infected_demo_report(tmp_path: Path, pegasus_feed: Path) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    before = snapshot(backup)
    assert _check(str(backup), "--iocs", str(pegasus_feed), "-o", str(tmp_path / "out")) == 2
    assert snapshot(backup) == before
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert f'<h1 id="verdict-text">{VERDICT_SPYWARE}</h1>' in page
    assert "8 trace(s) match published indicators of Pegasus" in page
    assert Counter(_rows(page)) == DEMO_SEVERITIES
    gaps = re.search(r"Missing \(not in this acquisition\): ([^<]*)", page)
    assert gaps is not None and "Chrome history (chrome_history)" in gaps.group(1)
    # netusage.sqlite is never in a backup: named apart, not as a gap.
    assert "netusage" not in gaps.group(1)
    assert re.search(r"Not collected by this kind of acquisition \(not a gap\): [^<]*netusage", page)
    # every dated finding links to the timeline (2 are undated; the 5 unbundled processes are one finding)
    assert page.count('<a href="#t-') == 13
    assert 'id="t-2023-04-14"' in page
    assert page.count(", published 2024-01-26") == 8  # the feed's valid_from, shown for each match
    # self-contained: nothing is loaded from anywhere
    assert "<link" not in page and " src=" not in page and "@import" not in page
    assert f'content="{content_security_policy().replace(chr(39), "&#x27;")}"' in page
    assert content_security_policy().startswith("default-src 'none'; script-src 'sha256-")


def test_suspicious_without_indicators(tmp_path: Path) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    assert _check(str(backup), "-o", str(tmp_path / "out")) == 2
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    # A run without indicators says so in its headline, not only further down.
    headline = VERDICT_SUSPICIOUS + " (heuristics only: no indicator loaded)"
    assert f'<h1 id="verdict-text">{html.escape(headline)}</h1>' in page
    assert "No indicator was loaded: known spyware could not be recognised" in page


def test_nothing_found_says_what_was_not_checked(tmp_path: Path, pegasus_feed: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, [Message(text="hi")]))
    assert _check(str(builder.finish()), "--iocs", str(pegasus_feed), "-o", str(tmp_path / "out")) == 0
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert f'<h1 id="verdict-text">{VERDICT_NOTHING}</h1>' in page
    assert "does not prove the phone is clean" in page
    gaps = re.search(r"Missing \(not in this acquisition\): ([^<]*)", page)
    assert gaps is not None and "Network data usage (DataUsage.sqlite) (datausage)" in gaps.group(1)
    assert "clean</h1>" not in page and _rows(page) == []


def test_failed_artifact_listed(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_file("HomeDomain", "Library/SMS/sms.db", b"not a database" * 50)
    assert _check(str(builder.finish()), "-o", str(tmp_path / "out")) == 3
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "The analysis is incomplete" in page
    assert re.search(r"<li>Messages \(SMS, MMS, iMessage\) \(sms\) could not be read: [^<]*sms\.db", page)


def test_evidence_is_escaped(tmp_path: Path) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)> https://evil.example/"><b>'
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, [Message(text=hostile)]))
    iocs = feed(tmp_path / "f.stix2", ("[domain-name:value='evil.example']", "Spy<i>ware</i>"))
    assert _check(str(builder.finish()), "--iocs", str(iocs), "-o", str(tmp_path / "out")) == 2
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert len(_rows(page)) == 1
    assert page.count("<script>") == 1  # only ours
    assert "<img" not in page and "<i>ware" not in page and '"><b>' not in page
    assert "Spy&lt;i&gt;ware&lt;/i&gt;" in page


def _finding(when: datetime | None) -> Finding:
    return Finding(Severity.HIGH, "sms", "x", Locator("/a", "0" * 64), rule="r", timestamp=when)


def test_timeline_bins_by_day_week_month() -> None:
    unit, bins = timeline_bins(Counter({date(2023, 1, 1): 3, date(2023, 1, 3): 2}),
                               [_finding(datetime(2023, 1, 2, 23, tzinfo=UTC)), _finding(None)])
    assert unit == "day"
    assert [(b.key, b.records, len(b.findings)) for b in bins] == [
        ("2023-01-01", 3, 0), ("2023-01-02", 0, 1), ("2023-01-03", 2, 0),
    ]
    unit, bins = timeline_bins(Counter({date(2023, 1, 4): 1, date(2023, 12, 31): 1}), [])
    assert unit == "week" and bins[0].key == "2023-01-02" and bins[-1].key == "2023-12-25" and len(bins) == 52
    unit, bins = timeline_bins(Counter({date(2015, 3, 9): 1, date(2023, 2, 2): 4}), [])
    assert unit == "month" and len(bins) == 96 and bins[-1].key == "2023-02-01" and bins[-1].records == 4
    assert timeline_bins(Counter(), [_finding(None)]) == ("day", [])


def test_device_facts_from_backup_info_records(tmp_path: Path, pegasus_feed: Path) -> None:
    from dataclasses import dataclass
    from typing import ClassVar

    from preuve.check import CheckOptions, run_check
    from preuve.model import Record
    from preuve.report.html import HtmlReport

    @dataclass(slots=True, kw_only=True)
    class Info(Record):
        record_type: ClassVar[str] = "ios:backup_info:device"
        product_type: str
        product_version: str
        last_backup: datetime
        blob: bytes

    class BackupInfo:
        name = "backup_info"

    backup = build_demo_backup(tmp_path / "backup")
    report = HtmlReport(tmp_path / "report.html")
    record = Info(locator=Locator("/.acquisition/backup/Info.plist", "a" * 64), product_type="iPhone14,2",
                  product_version="<b>16.5</b>", last_backup=datetime(2023, 6, 1, 12, tzinfo=UTC), blob=b"x")
    report.record(BackupInfo(), record, [], tuple(record.timestamps()))  # type: ignore[arg-type]
    run_check(backup, CheckOptions(iocs=(pegasus_feed,)), sinks=[report])
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Device facts from the device's own records." in page
    assert "<tr><th>product type</th><td class=\"wrap\">iPhone14,2</td></tr>" in page
    assert "<tr><th>product version</th><td class=\"wrap\">&lt;b&gt;16.5&lt;/b&gt;</td></tr>" in page
    assert "<tr><th>last backup</th><td class=\"wrap\">2023-06-01T12:00:00Z</td></tr>" in page
    assert "blob" not in page
    # the demo's day count: one dated bar per day of the run of records, 2023-03-01 .. 2023-05-24
    assert page.count('<g id="t-') == 138
