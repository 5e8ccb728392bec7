"""The console's pages and its guards, through Starlette's test client (no browser)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("jinja2")

from starlette.testclient import TestClient  # noqa: E402

from preuve.commands.settings import data_dir
from preuve.indicators.feeds import import_feeds  # noqa: E402
from preuve.model import HEADLINE_SELECTED, HEADLINE_SPYWARE  # noqa: E402
from preuve.serve.app import ConsoleSettings, create_app, shown  # noqa: E402
from tests.builders import snapshot  # noqa: E402
from tests.serve.casefixture import HOSTILE_TEXT, build_case, later_feed  # noqa: E402

BASE = "http://127.0.0.1:8000"
P0, P1, P3 = (f"Phone {n} (Apple iPhone14,2, iOS 16.5 20F66)" for n in (0, 1, 3))


def _client(case: Path, token: str = "t0k3n") -> tuple[TestClient, ConsoleSettings]:
    settings = ConsoleSettings(case=case, feeds_root=data_dir(), token=token)
    client = TestClient(create_app(settings), base_url=BASE)
    response = client.get(f"/?token={token}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    return client, settings


@pytest.fixture
def case(tmp_path: Path) -> Path:
    return build_case(tmp_path)


def test_no_token_no_console(case: Path) -> None:
    client = TestClient(create_app(ConsoleSettings(case=case, feeds_root=data_dir(), token="right")), base_url=BASE)
    assert client.get("/").status_code == 403
    assert client.get("/?token=wrong").status_code == 403
    assert client.get("/static/console.css").status_code == 403
    # A page reached by another host name (DNS rebinding) is refused even with the token.
    other = TestClient(create_app(ConsoleSettings(case=case, feeds_root=data_dir(), token="right")), base_url="http://evil.example:8000")
    assert other.get("/?token=right").status_code == 421


def test_devices_list_filter_and_sort(case: Path) -> None:
    client, _ = _client(case)
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    names = re.findall(r'<a href="/device/\d+"><bdi>([^<]*)</bdi></a>', page.text)
    assert names == [P0, P1]
    assert HEADLINE_SPYWARE in page.text and HEADLINE_SELECTED in page.text
    filtered = client.get("/", params={"verdict": HEADLINE_SPYWARE})
    assert re.findall(r'<a href="/device/\d+"><bdi>([^<]*)</bdi></a>', filtered.text) == [P0]
    by_text = client.get("/", params={"q": "phone 1"})
    assert re.findall(r'<a href="/device/\d+"><bdi>([^<]*)</bdi></a>', by_text.text) == [P1]
    reverse = client.get("/", params={"sort": "device", "desc": "1"})
    assert re.findall(r'<a href="/device/\d+"><bdi>([^<]*)</bdi></a>', reverse.text) == [P1, P0]


def test_device_page_shows_the_finding_and_its_proof(case: Path) -> None:
    client, _ = _client(case)
    page = client.get("/")
    link = re.search(r'<a href="(/device/\d+)"><bdi>Phone 0 ', page.text)
    assert link is not None
    device = client.get(link.group(1)).text
    assert "Known Spy" in device
    assert "https://x0.known-bad.example/a" in device
    assert "/private/var/mobile/Library/SMS/sms.db" in device
    assert client.get("/device/999").status_code == 404
    # the full report, rendered from the store by check's own writer, under its own strict policy
    report = client.get(link.group(1) + "/report")
    assert report.status_code == 200
    assert report.headers["content-security-policy"].startswith("default-src 'none'; script-src 'sha256-")
    assert '<h1 id="verdict-text">Traces of known spyware found</h1>' in report.text
    assert "https://x0.known-bad.example/a" in report.text
    french = client.get(link.group(1) + "/report", params={"lang": "fr"})
    assert '<html lang="fr">' in french.text
    assert client.get("/device/999/report").status_code == 404


def test_across_devices(case: Path) -> None:
    client, _ = _client(case)
    page = client.get("/search", params={"q": "known-bad.example"}).text
    # The device whose message holds a subdomain of it is found, the other is not.
    assert re.findall(r'<li><a href="/device/\d+"><bdi>([^<]*)</bdi></a></li>', page) == [P0]
    assert "Timeline of its findings across the case" in page
    assert "published-later.example" in client.get("/search", params={"q": "published-later.example"}).text


def test_actions_need_the_csrf_token(case: Path, tmp_path: Path) -> None:
    client, settings = _client(case)
    assert client.post("/rehunt", data={}).status_code == 403
    assert client.post("/rehunt", data={"csrf": "nope"}).status_code == 403
    refused = client.post("/rehunt", data={"csrf": settings.csrf()}, headers={"origin": "http://evil.example"})
    assert refused.status_code == 403
    assert client.post("/devices", data={"path": str(tmp_path)}).status_code == 403


def test_rehunt_from_the_console(case: Path, tmp_path: Path) -> None:
    import_feeds([later_feed(tmp_path / "later")], data_dir())
    client, settings = _client(case)
    assert "newer feed" in client.get("/").text
    response = client.post("/rehunt", data={"csrf": settings.csrf()}, follow_redirects=False)
    assert response.status_code == 303
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    job = client.app.state.jobs.wait(job_id)  # type: ignore[attr-defined]
    assert job is not None and job.state == "done", job
    assert job.new_findings == 1
    assert client.get(f"/job/{job_id}.json").json()["state"] == "done"
    page = client.get("/search", params={"q": "published-later.example"}).text
    assert "Later Spy" in page


def test_add_a_device_from_the_console(case: Path, tmp_path: Path) -> None:
    from tests.builders.fleet import build_device

    evidence = build_device(tmp_path / "d3", 3)
    before = snapshot(evidence)
    client, settings = _client(case)
    response = client.post("/devices", data={"csrf": settings.csrf(), "path": str(evidence)}, follow_redirects=False)
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    job = client.app.state.jobs.wait(job_id, timeout=120)  # type: ignore[attr-defined]
    assert job is not None and job.state == "done", job
    assert snapshot(evidence) == before
    names = re.findall(r'<a href="/device/\d+"><bdi>([^<]*)</bdi></a>', client.get("/").text)
    assert names == [P0, P1, P3]
    missing = client.post("/devices", data={"csrf": settings.csrf(), "path": str(tmp_path / "nowhere")})
    assert missing.status_code == 400 and "no such file or folder" in missing.text


def test_hostile_values_are_inert(tmp_path: Path) -> None:
    case = build_case(tmp_path, hostile=True)
    client, _ = _client(case)
    listing = client.get("/").text
    assert "<script>alert" not in listing
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in listing
    assert '<span class="ctl">U+202E</span>' in listing
    link = re.search(r'<a href="(/device/\d+)"><bdi>Evil', listing)
    assert link is not None
    page = client.get(link.group(1)).text
    assert "<img src=x" not in page
    assert "\u202e" not in page
    assert len(page) < 200_000  # the 10 MB message is cut, saying how much was left out
    hits = client.get("/search", params={"q": "a.known-bad.example"}).text
    assert "\u202e" not in hits and len(hits) < 200_000
    assert "a.known-bad.example" in hits
    assert len(HOSTILE_TEXT) > 10_000_000


def test_shown() -> None:
    assert str(shown("<b>")) == "<bdi>&lt;b&gt;</bdi>"
    assert str(shown("a\u202eb")) == '<bdi>a<span class="ctl">U+202E</span>b</bdi>'
    assert str(shown("x" * 10, limit=4)) == '<bdi>xxxx<span class="cut">… (6 more characters)</span></bdi>'


def test_serve_command(case: Path, tmp_path: Path) -> None:
    """`preuve serve` listens on 127.0.0.1 only, prints a tokened address, and refuses what is not a case."""
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    def serve(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "preuve", "serve", *args], capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)

    missing = serve(str(tmp_path / "none.db"))
    assert missing.returncode == 1 and "no such case" in missing.stderr
    other = tmp_path / "other.db"
    import sqlite3

    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    refused = serve(str(other))
    assert refused.returncode == 1 and "not a preuve case" in refused.stderr
    assert "Traceback" not in refused.stderr + missing.stderr

    process = subprocess.Popen([sys.executable, "-m", "preuve", "serve", str(case)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=([\w-]+)", line)
        assert match, line
        port, token = match.groups()
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)  # noqa: S310 - loopback
        assert denied.value.code == 403
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with browser.open(f"http://127.0.0.1:{port}/?token={token}", timeout=10) as page:
            assert "Devices of this case" in page.read().decode()
    finally:
        process.terminate()
        process.wait(10)
