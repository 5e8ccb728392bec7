"""The HTML report: verdict in plain words, coverage gaps, escaped evidence, timeline bins."""

from __future__ import annotations

import html
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
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
from preuve.report.formats.html import content_security_policy
from preuve.report.formats.timeline import timeline_bins
from tests.builders import feed, snapshot
from tests.builders.demo_expected import DEMO_SEVERITIES


def _check(*args: str) -> int:
    return CliRunner().invoke(build_cli(), ["check", *args, "-q"]).exit_code


def _rows(page: str) -> list[str]:
    return re.findall(r'<article class="card sev-border-\w+" id="f-[0-9a-f]+" data-severity="(\w+)"', page)


def _absent(page: str) -> str:
    """The artifacts simply not in this acquisition (collapsed: not a gap)."""
    found = re.search(r'<details class="cov cov-not_present"><summary>[^<]*</summary><ul>(.*?)</ul>', page)
    assert found is not None
    return html.unescape(re.sub(r"<[^>]+>", "|", found.group(1)))


def test_infected_demo_report(tmp_path: Path, pegasus_feed: Path) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    before = snapshot(backup)
    assert _check(str(backup), "--iocs", str(pegasus_feed), "-o", str(tmp_path / "out")) == 2
    assert snapshot(backup) == before
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert f'<h1 id="verdict-text">{VERDICT_SPYWARE}</h1>' in page
    assert "How sure: strong. The evidence shows published indicators of Pegasus." in page
    assert Counter(_rows(page)) == DEMO_SEVERITIES
    assert "|Chrome history|" in _absent(page)
    # netusage.sqlite is never in a backup: named apart, collapsed, not as a gap.
    assert "netusage" not in _absent(page)
    assert re.search(r'<details class="cov cov-not_collected"><summary>Not collected by this kind of acquisition '
                     r'\(\d+\)</summary><ul>.*?Network usage by process \(netusage\.sqlite\)', page)
    # every dated finding links to the timeline (2 are undated; the 5 unbundled processes are one finding)
    assert page.count('<a href="#t-') == 13
    assert 'id="t-2023-04-14"' in page
    assert page.count(" (2024-01-26)") == 8  # the feed's valid_from, shown for each match
    # grouped by malware, then by rule; the Pegasus group first
    groups = re.findall(r'<span class="gtitle">([^<]*)</span> <span class="muted">(\d+) finding', page)
    assert groups[0] == ("Pegasus", "8")
    assert sum(int(n) for _, n in groups) == sum(DEMO_SEVERITIES.values())
    assert "What to do next" in page and "do not reset, update or wipe it" in page
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
    assert "|Network data usage (DataUsage.sqlite)|" in _absent(page)
    assert "clean</h1>" not in page and _rows(page) == []


def test_failed_artifact_listed(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_file("HomeDomain", "Library/SMS/sms.db", b"not a database" * 50)
    assert _check(str(builder.finish()), "-o", str(tmp_path / "out")) == 3
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Part of the acquisition could not be read" in page
    assert re.search(r'<details class="cov cov-failed" open><summary>Could not be read \(2\)</summary><ul><li>'
                     r'<span class="aname">Messages \(SMS, MMS, iMessage\)</span> <span class="muted">— [^<]*sms\.db',
                     page)


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


def test_device_facts_from_any_artifact(tmp_path: Path, pegasus_feed: Path) -> None:
    """The report reads the device from the DeviceFacts record type, whichever artifact gives it, and
    shows the times in the device's zone when the facts name it."""
    from preuve.model import DeviceFacts
    from preuve.report.formats.html import HtmlReport
    from preuve.run.engine import run_check
    from preuve.run.results import CheckOptions

    class Elsewhere:
        name = "some_other_artifact"

    backup = build_demo_backup(tmp_path / "backup")
    report = HtmlReport(tmp_path / "report.html")
    facts = DeviceFacts(locator=Locator("/props", "a" * 64), platform="android", model="<b>Pixel</b>",
                        timezone="Europe/Zurich", security_patch="2023-09-01")
    report.record(Elsewhere(), facts, [], ())  # type: ignore[arg-type]
    run_check(backup, CheckOptions(iocs=(pegasus_feed,)), sinks=[report])
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    # the first DeviceFacts seen is the device (the demo backup's own comes after this one)
    assert '<dl class="device" id="facts"><dt>model</dt><dd>&lt;b&gt;Pixel&lt;/b&gt;</dd><dt>time zone</dt>' \
           "<dd>Europe/Zurich</dd><dt>security patch</dt><dd>2023-09-01</dd>" in page
    assert "2023-04-14 21:12:05 UTC <span class=\"muted\">(2023-04-14 23:12:05 CEST, device time)</span>" in page
    # one bar per day from the first dated record to the last
    assert page.count('<rect id="t-') == 138


def test_report_in_french(tmp_path: Path, pegasus_feed: Path) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    code = CliRunner().invoke(build_cli(), ["check", str(backup), "--iocs", str(pegasus_feed), "-o",
                                            str(tmp_path / "out"), "-q", "--lang", "fr"]).exit_code
    assert code == 2
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in page
    assert '<h1 id="verdict-text">Traces de logiciels espions connus trouvées</h1>' in page
    assert "Que faire maintenant" in page and "What to do next" not in page


def test_every_language_has_every_message() -> None:
    from preuve.report.formats.catalog import LANGUAGES, Messages, missing_translations

    assert missing_translations() == []
    assert {Messages(lang)("verdict.nothing") for lang in LANGUAGES} == {
        "Nothing found in what could be checked", "Rien trouvé dans ce qui a pu être vérifié",
        "Nada encontrado en lo que se pudo revisar",
    }


def test_timeline_labels_and_marks_do_not_collide() -> None:
    from preuve.report.formats.catalog import Messages
    from preuve.report.formats.timeline import timeline_svg

    per_day = Counter({date(2023, 1, 1) + timedelta(days=n): n % 7 for n in range(170)})
    findings = [_finding(datetime(2023, 3, 1, tzinfo=UTC) + timedelta(days=n)) for n in range(0, 20, 3)]
    unit, bins = timeline_bins(per_day, findings)
    svg = timeline_svg(unit, bins, Messages("en"))
    labels = re.findall(r'<text x="([\d.]+)" y="\d+" text-anchor="(\w+)" class="tick">(\d{4}-\d\d-\d\d)</text>', svg)
    xs = [float(x) for x, _, _ in labels]
    assert labels[0][1] == "start" and labels[-1][1] == "end"  # nothing cut at either edge
    assert labels[-1][2] == bins[-1].key
    assert all(b - a >= 100 for a, b in zip(xs, xs[1:], strict=False))
    marks = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', svg)]
    assert all(b - a >= 18 for a, b in zip(marks, marks[1:], strict=False))
    # marks closer than a mark's width are one mark counting both
    counts = [int(n) for n in re.findall(r'class="markcount">(\d+)<', svg)]
    assert sum(counts) == len(findings)


def test_english_headlines_are_the_verdicts() -> None:
    """report.html says the verdict in the model's words (the terminal, JSON and store say the same)."""
    from preuve import model
    from preuve.report.formats.catalog import Messages

    t = Messages("en")
    assert [t(key) for key in (
        "verdict.spyware", "verdict.suspicious", "verdict.nothing", "verdict.heuristics_only", "verdict.incomplete",
        "verdict.selected", "verdict.no_heuristics", "verdict.suspicious_heuristics_only", "verdict.nothing_checked",
    )] == [
        model.HEADLINE_SPYWARE, model.HEADLINE_SUSPICIOUS, model.HEADLINE_NOTHING, model.HEADLINE_HEURISTICS_ONLY,
        model.HEADLINE_INCOMPLETE, model.HEADLINE_SELECTED, model.HEADLINE_NO_HEURISTICS,
        model.HEADLINE_SUSPICIOUS + " (heuristics only: no indicator loaded)", model.HEADLINE_NOTHING_CHECKED,
    ]


def test_next_steps_ask_for_androidqf_only_when_it_was_not_used(tmp_path: Path) -> None:
    """An Android report advises acquiring the phone with AndroidQF; the report of an AndroidQF
    acquisition did so too (the kind's name was compared with a name no kind has)."""
    from tests.builders.android import AndroidQFBuilder, bugreport_members, write_zip

    advice = "For more, acquire the phone with AndroidQF"
    builder = AndroidQFBuilder()
    evidence = {
        "androidqf": builder.zip(tmp_path / "aqf.zip"),
        "bugreport": write_zip(tmp_path / "bugreport.zip", bugreport_members(builder.props, "")),
    }
    for name, path in evidence.items():
        out = tmp_path / f"out-{name}"
        _check(str(path), "-o", str(out))
        page = (out / "report.html").read_text(encoding="utf-8")
        assert (advice in page) == (name == "bugreport"), name
