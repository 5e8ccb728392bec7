"""The HTML report in a real browser (headless Chromium through Playwright).

Skipped, saying why, when Chromium or Playwright are not installed here; CI
(.ci/run) installs both so it always runs there.
"""

from __future__ import annotations

from pathlib import Path

from preuve.builders.demo import build_demo_backup
from preuve.model import HEADLINE_SPYWARE as VERDICT_SPYWARE
from preuve.report.formats.html import HtmlReport
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from tests.browser import chromium
from tests.builders.demo_expected import DEMO_FINDINGS, DEMO_SEVERITIES, DEMO_SMS_FINDINGS

ARTIFACTS = Path(__file__).resolve().parents[2] / "benchmarks" / "out"


def test_report_in_browser(tmp_path: Path, pegasus_feed: Path) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    report = tmp_path / "report.html"
    run_check(backup, CheckOptions(iocs=(pegasus_feed,)), sinks=[HtmlReport(report)])

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        console: list[str] = []
        requests: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(report.as_uri())

        assert page.locator("#verdict-text").inner_text() == VERDICT_SPYWARE
        rows = page.locator("article.card")
        assert rows.count() == DEMO_FINDINGS
        assert page.locator("article.card:visible").count() == DEMO_FINDINGS
        assert page.locator("#shown-count").inner_text() == str(DEMO_FINDINGS)

        page.locator('input.sev-filter[value="info"]').uncheck()
        page.locator('input.sev-filter[value="low"]').uncheck()
        without_info_low = DEMO_FINDINGS - DEMO_SEVERITIES["info"] - DEMO_SEVERITIES["low"]
        assert page.locator("article.card:visible").count() == without_info_low
        assert page.locator('article.card[data-severity="info"]:visible').count() == 0
        assert page.locator("#shown-count").inner_text() == str(without_info_low)

        page.locator("#artifact-filter").select_option("sms")
        assert page.locator("article.card:visible").count() == DEMO_SMS_FINDINGS
        page.locator('input.sev-filter[value="high"]').uncheck()
        assert page.locator("article.card:visible").count() == 0
        page.locator('input.sev-filter[value="high"]').check()
        page.locator("#artifact-filter").select_option("")
        page.locator('input.sev-filter[value="info"]').check()
        page.locator('input.sev-filter[value="low"]').check()
        assert page.locator("article.card:visible").count() == DEMO_FINDINGS

        # a finding's timeline link leads to its day, and the day's mark back to a finding
        first = page.locator('article.card a[href^="#t-"]').first
        target = first.get_attribute("href")
        assert target is not None and page.locator(target).count() == 1
        # days that hold a finding (8), adjacent days drawn as one mark counting both: every dated finding
        assert page.locator("svg.timeline a").count() == 6
        counts = page.locator("svg.timeline .markcount").all_text_contents()
        assert sum(int(c) for c in counts) == 13
        # each mark leads to a card
        mark = page.locator("svg.timeline a").first.get_attribute("href")
        assert mark is not None and page.locator(f"article.card{mark}").count() == 1
        # a message's card shows its sender and its text, not only the link
        parcel = page.locator("article.card", has_text="tookcheckout.com")
        assert parcel.count() == 1
        context = parcel.locator("dl.context").inner_text()
        assert "+447700900123" in context
        assert "Your parcel could not be delivered. Reschedule: https://tookcheckout.com/r/8a1f2c" in context
        assert "received" in context
        # the free-text filter
        page.locator("#text-filter").fill("tookcheckout")
        assert page.locator("article.card:visible").count() == 1
        page.locator("#text-filter").fill("")
        assert page.locator("article.card:visible").count() == DEMO_FINDINGS
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(ARTIFACTS / "report-390.png"), full_page=True)
        page.set_viewport_size({"width": 1400, "height": 900})

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        assert (ARTIFACTS / "report.png").stat().st_size > 10_000
        assert requests == [report.as_uri()]  # nothing else was fetched
        assert not [m for m in console if "Content Security Policy" in m], console
