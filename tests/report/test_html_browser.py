"""The HTML report in a real browser (headless Chromium through Playwright).

Skipped, saying why, when Chromium or Playwright are not installed here; CI
(.ci/run) installs both so it always runs there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from preuve.builders.demo import build_demo_backup
from preuve.check import CheckOptions, run_check
from preuve.model import HEADLINE_SPYWARE as VERDICT_SPYWARE
from preuve.report.html import HtmlReport
from tests.builders.demo_expected import (  # noqa: F401
    DEMO_FINDINGS,
    DEMO_INDICATOR_FINDINGS,
    DEMO_RULE_FINDINGS,
    DEMO_SEVERITIES,
    DEMO_SMS_FINDINGS,
    DEMO_SMS_MESSAGES,
)

CHROMIUM = os.environ.get("PREUVE_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "benchmarks" / "out"


def _playwright():  # noqa: ANN202 - the sync_playwright factory, or a skip
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install '.[test]')")
    return sync_playwright


def test_report_in_browser(tmp_path: Path, pegasus_feed: Path) -> None:
    sync_playwright = _playwright()
    backup = build_demo_backup(tmp_path / "backup")
    report = tmp_path / "report.html"
    run_check(backup, CheckOptions(iocs=(pegasus_feed,)), sinks=[HtmlReport(report)])

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            console: list[str] = []
            requests: list[str] = []
            page.on("console", lambda message: console.append(message.text))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(report.as_uri())

            assert page.locator("#verdict-text").inner_text() == VERDICT_SPYWARE
            rows = page.locator("tr.finding")
            assert rows.count() == DEMO_FINDINGS
            assert page.locator("tr.finding:visible").count() == DEMO_FINDINGS
            assert page.locator("#shown-count").inner_text() == str(DEMO_FINDINGS)

            page.locator('input.sev-filter[value="info"]').uncheck()
            page.locator('input.sev-filter[value="low"]').uncheck()
            without_info_low = DEMO_FINDINGS - DEMO_SEVERITIES["info"] - DEMO_SEVERITIES["low"]
            assert page.locator("tr.finding:visible").count() == without_info_low
            assert page.locator('tr.finding[data-severity="info"]:visible').count() == 0
            assert page.locator("#shown-count").inner_text() == str(without_info_low)

            page.locator("#artifact-filter").select_option("sms")
            assert page.locator("tr.finding:visible").count() == DEMO_SMS_FINDINGS
            page.locator('input.sev-filter[value="high"]').uncheck()
            assert page.locator("tr.finding:visible").count() == 0
            page.locator('input.sev-filter[value="high"]').check()
            page.locator("#artifact-filter").select_option("")
            page.locator('input.sev-filter[value="info"]').check()
            page.locator('input.sev-filter[value="low"]').check()
            assert page.locator("tr.finding:visible").count() == DEMO_FINDINGS

            # a finding's timeline link leads to its day, and the day's mark back to a finding
            first = page.locator('tr.finding a[href^="#t-"]').first
            target = first.get_attribute("href")
            assert target is not None and page.locator(target).count() == 1
            assert page.locator("svg.timeline a").count() == 8  # days that hold a finding

            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
            assert (ARTIFACTS / "report.png").stat().st_size > 10_000
            assert requests == [report.as_uri()]  # nothing else was fetched
            assert not [m for m in console if "Content Security Policy" in m], console
        finally:
            browser.close()
