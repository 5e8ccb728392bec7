"""Installed feeds: update from the public index over HTTP (a local server), import, list, use in check."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from preuve.builders.demo import build_demo_backup
from preuve.cli import build_cli
from preuve.commands.settings import data_dir
from preuve.indicators.feeds import (
    feeds_dir,
    import_feeds,
    installed_index,
    list_feeds,
    parse_index,
    update_feeds,
)
from preuve.indicators.stix import FeedError
from tests.builders import snapshot

PEGASUS = "AmnestyTech__investigations__2021-07-18_nso__pegasus.stix2"


@dataclass
class Server:
    root: Path
    url: str
    log: list[tuple[str, str | None]] = field(default_factory=list)  # (path, If-None-Match)

    @property
    def index_url(self) -> str:
        return self.url + "/index/indicators.yaml"


@pytest.fixture
def server(shared_iocs: Path, tmp_path: Path) -> Iterator[Server]:
    """The public index and feeds, as raw.githubusercontent.com lays them out, on 127.0.0.1."""
    root = tmp_path / "www"
    (root / "index").mkdir(parents=True)
    shutil.copy(shared_iocs / "mvt-indicators" / "indicators.yaml", root / "index" / "indicators.yaml")
    shutil.copytree(shared_iocs / "amnesty-investigations", root / "AmnestyTech" / "investigations" / "master")
    shutil.copytree(shared_iocs / "mvt-indicators", root / "mvt-project" / "mvt-indicators" / "main")
    log: list[tuple[str, str | None]] = []

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self) -> None:  # noqa: N802 - an ETag per content, 304 when it still matches
            log.append((self.path, self.headers.get("If-None-Match")))
            target = root / self.path.lstrip("/")
            if target.is_file():
                etag = '"' + hashlib.sha256(target.read_bytes()).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                data = target.read_bytes()
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            self.send_error(404)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(root, f"http://127.0.0.1:{httpd.server_address[1]}", log)
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_update_fetches_every_feed_of_the_index(server: Server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    report = update_feeds(data, index_url=server.index_url, base_url=server.url)
    assert len(report.updated) == 14
    assert [name for name, _ in report.failed] == ["Stalkerware Indicators of Compromise"]
    assert "HTTP 404" in report.failed[0][1]
    feeds = {f.file: f for f in list_feeds(data)}
    assert len(feeds) == 14
    pegasus = feeds[PEGASUS]
    assert pegasus.indicators == 1549
    assert pegasus.source == server.url + "/AmnestyTech/investigations/master/2021-07-18_nso/pegasus.stix2"
    assert pegasus.name == "NSO Group Pegasus Indicators of Compromise"
    assert pegasus.etag is not None and pegasus.fetched.endswith("Z")
    served = server.root / "AmnestyTech" / "investigations" / "master" / "2021-07-18_nso" / "pegasus.stix2"
    assert pegasus.sha256 == hashlib.sha256(served.read_bytes()).hexdigest()
    assert (feeds_dir(data) / PEGASUS).read_bytes() == served.read_bytes()
    meta = json.loads((feeds_dir(data) / "feeds.json").read_text())
    assert len(meta["feeds"]) == 14 and set(meta["feeds"][0]) == {
        "file", "name", "source", "sha256", "indicators", "fetched", "etag", "last_error",
    }

    warnings: list[str] = []
    index = installed_index(warnings.append, data)
    assert index is not None and warnings == []
    assert len(index.feeds) == 14
    assert {f.source for f in index.feeds} == {f.source for f in feeds.values()}


def test_second_update_is_conditional(server: Server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    update_feeds(data, index_url=server.index_url, base_url=server.url)
    server.log.clear()
    report = update_feeds(data, index_url=server.index_url, base_url=server.url)
    assert report.updated == [] and len(report.unchanged) == 14
    conditional = [path for path, etag in server.log if etag]
    assert len(conditional) == 14


def test_broken_feed_keeps_previous_copy(server: Server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    update_feeds(data, index_url=server.index_url, base_url=server.url)
    good = (feeds_dir(data) / PEGASUS).read_bytes()
    (server.root / "AmnestyTech" / "investigations" / "master" / "2021-07-18_nso" / "pegasus.stix2").write_text("{")
    report = update_feeds(data, index_url=server.index_url, base_url=server.url)
    failed = dict(report.failed)
    assert "not valid JSON" in failed["NSO Group Pegasus Indicators of Compromise"]
    assert (feeds_dir(data) / PEGASUS).read_bytes() == good
    pegasus = {f.file: f for f in list_feeds(data)}[PEGASUS]
    assert pegasus.indicators == 1549 and pegasus.last_error is not None and "not valid JSON" in pegasus.last_error


def test_cli_update_with_env_and_list(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREUVE_IOCS_INDEX_URL", server.index_url)
    monkeypatch.setenv("PREUVE_IOCS_BASE_URL", server.url)
    result = CliRunner().invoke(build_cli(), ["iocs", "update"])
    assert result.exit_code == 1  # the stalkerware feed is not served
    assert result.output.count("updated") == 14 and "failed Stalkerware" in " ".join(result.output.split())
    listing = CliRunner().invoke(build_cli(), ["iocs", "list"])
    assert listing.exit_code == 0
    assert "1549" in listing.output and "NSO Group Pegasus" in " ".join(listing.output.split())


def test_import_then_check_uses_installed(tmp_path: Path, pegasus_feed: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(build_cli(), ["iocs", "import", str(pegasus_feed)]).exit_code == 0
    feeds = list_feeds(data_dir())
    assert len(feeds) == 1 and feeds[0].indicators == 1549
    assert feeds[0].source == f"import:{pegasus_feed.resolve()}"
    # importing again is idempotent
    assert runner.invoke(build_cli(), ["iocs", "import", str(pegasus_feed)]).exit_code == 0
    assert len(list_feeds(data_dir())) == 1

    backup = build_demo_backup(tmp_path / "backup")
    before = snapshot(backup)
    result = runner.invoke(build_cli(), ["check", str(backup), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "Using 1 installed indicator feed(s) (1549 indicators)" in " ".join(result.output.split())
    assert snapshot(backup) == before
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert [(f["source"], f["indicators"]) for f in run["feeds"]] == [(f"import:{pegasus_feed.resolve()}", 1549)]


def test_import_rejects_non_stix(tmp_path: Path) -> None:
    bad = tmp_path / "bad.stix2"
    bad.write_text('{"type": "bundle", "objects": []}')
    report = import_feeds([bad], data_dir())
    assert report.updated == [] and "no usable indicator" in report.failed[0][1]
    assert list_feeds(data_dir()) == []


def test_parse_index_is_defensive() -> None:
    text = b"""
indicators:
  - type: github
    name: good
    github: {owner: a, repo: b, branch: main, path: x/y.stix2}
  - type: github
    name: escape
    github: {owner: a, repo: b, branch: main, path: ../../etc/passwd}
  - type: download
    name: other
  - just a string
"""
    entries, problems = parse_index(text)
    assert [(e.name, e.file_name) for e in entries] == [("good", "a__b__x__y.stix2")]
    assert entries[0].url("http://h/") == "http://h/a/b/main/x/y.stix2"
    assert len(problems) == 3 and "escape" in problems[0]
    with pytest.raises(FeedError):
        parse_index(b"indicators: {")
    with pytest.raises(FeedError):
        parse_index(b"- a list")


def test_update_refuses_other_schemes_and_unreachable_index(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="only http and https"):
        update_feeds(tmp_path / "d", index_url=(tmp_path / "x.yaml").as_uri(), base_url="http://127.0.0.1:9")
    result = CliRunner().invoke(build_cli(), ["iocs", "update", "--index-url", "http://127.0.0.1:9/indicators.yaml"])
    assert result.exit_code == 1
    assert "cannot be fetched" in result.output and "Traceback" not in result.output
    assert list_feeds(data_dir()) == []


def test_list_when_nothing_installed() -> None:
    result = CliRunner().invoke(build_cli(), ["iocs", "list"])
    assert result.exit_code == 0 and "No feed installed" in result.output
