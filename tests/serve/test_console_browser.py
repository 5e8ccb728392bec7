"""The console in a real browser (headless Chromium through Playwright), served by uvicorn on
127.0.0.1: two devices, open one, re-hunt with a newly installed feed, see the new finding.

Skipped, saying why, when Chromium or Playwright are not installed here; CI (.ci/run) installs both.
Screenshots go to the test's folder, and also to $PREUVE_SCREENSHOTS when it is set (docs/ keeps
the ones the README shows).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette")
uvicorn = pytest.importorskip("uvicorn")

from preuve.commands.settings import data_dir  # noqa: E402
from preuve.indicators.feeds import import_feeds  # noqa: E402
from preuve.model import HEADLINE_SELECTED, HEADLINE_SPYWARE  # noqa: E402
from preuve.serve.app import ConsoleSettings, create_app  # noqa: E402
from tests.browser import chromium  # noqa: E402
from tests.serve.casefixture import build_case, later_feed  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    case = build_case(tmp_path)
    import_feeds([later_feed(tmp_path / "later")], data_dir())
    settings = ConsoleSettings(case=case, feeds_root=data_dir())
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}/?token={settings.token}", tmp_path
    finally:
        server.should_exit = True
        thread.join(10)


def _shots(page, folder: Path, name: str) -> None:  # noqa: ANN001 - a Playwright page
    target = folder / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    extra = os.environ.get("PREUVE_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(target, Path(extra) / target.name)


def test_console_in_browser(console: tuple[str, Path]) -> None:
    url, folder = console
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        outside: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(url.split("/?")[0]) else None)
        page.goto(url)
        rows = page.locator("tr.device")
        assert rows.count() == 2
        assert page.locator("tr.device .verdict").all_inner_texts() == [HEADLINE_SPYWARE, HEADLINE_SELECTED]
        assert page.locator(".notice").is_visible()  # the newer feed
        _shots(page, folder, "console-devices-1400")

        page.get_by_role("link", name="Phone 0 (Apple iPhone14,2, iOS 16.5 20F66)").click()
        page.wait_for_load_state()  # (a click starts the next page; its rows are there once loaded)
        assert page.locator("article.card").count() == 1
        card = page.locator("article.card").first
        assert "Known Spy" in card.inner_text()
        assert not page.locator("dl.proof").is_visible()
        card.locator("summary").click()
        assert page.locator("dl.proof").is_visible()
        _shots(page, folder, "console-device-1400")
        page.locator("#full-report").click()
        page.wait_for_load_state()  # (a click starts the next page; its rows are there once loaded)
        assert page.locator("#verdict-text").inner_text() == HEADLINE_SPYWARE
        assert page.locator("article.card").count() >= 1  # its script and style run under its own policy
        assert page.locator("#shown-count").inner_text() == str(page.locator("article.card").count())
        page.go_back()

        page.get_by_role("link", name="Devices", exact=True).click()
        page.locator("#rehunt").click()
        page.wait_for_load_state()
        assert page.locator("#job").count() == 1, page.content()[:3000]
        page.wait_for_selector("#job[data-state='done'], #job[data-state='failed']", timeout=60_000)
        assert page.locator("#job").get_attribute("data-state") == "done", page.locator("#job").inner_text()
        assert "1 new finding(s)" in page.locator(".outcome").inner_text()

        page.goto(url.split("?")[0] + "search")
        page.get_by_role("searchbox").fill("published-later.example")
        page.get_by_role("button", name="Search the case").click()
        page.wait_for_load_state()  # (a click starts the next page; its rows are there once loaded)
        assert page.locator("ul.hits li").all_inner_texts() == ["Phone 1 (Apple iPhone14,2, iOS 16.5 20F66)"]
        assert "Later Spy" in page.locator("ol.timeline").inner_text()
        _shots(page, folder, "console-across-1400")
        page.locator("ol.timeline a").first.click()
        page.wait_for_load_state()  # (a click starts the next page; its rows are there once loaded)
        assert page.locator("article.card").count() == 1
        assert "Later Spy" in page.locator("article.card").first.inner_text()
        assert "re-hunt" in page.locator("article.card").first.inner_text()
        assert not page.locator(".notice").count()

        # The device list filters, on a phone's width too.
        page.set_viewport_size({"width": 390, "height": 844})
        page.get_by_role("link", name="Devices", exact=True).click()
        page.locator("select[name=verdict]").select_option(HEADLINE_SPYWARE)
        page.get_by_role("button", name="Apply").click()
        page.wait_for_load_state()  # (a click starts the next page; its rows are there once loaded)
        assert page.locator("tr.device").count() == 2  # Phone 1 is now a known trace too
        page.locator("input[name=q]").fill("Phone 1")
        page.get_by_role("button", name="Apply").click()
        page.wait_for_load_state()  # (a click starts the next page; its rows are there once loaded)
        assert page.locator("tr.device").count() == 1
        _shots(page, folder, "console-devices-390")
        assert errors == []
        assert outside == []
