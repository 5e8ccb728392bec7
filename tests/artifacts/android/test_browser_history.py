"""AndroidQF's browser_history/: the databases its manifest names, read as Chromium's History, matched
against indicators; an entry that is incomplete, outside the folder or absent is said and skipped."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.android.browser_history import AndroidBrowserVisit
from preuve.model import Locator
from tests.builders import feed, snapshot
from tests.builders.android import AndroidQFBuilder
from tests.builders.ios_browsers import Visit, fill_chrome_history
from tests.helpers import check, records

AQF = "/.acquisition/androidqf"
CHROME = "browser_history/com.android.chrome/Default/History"


def _history(folder: Path, visits: list[Visit], unvisited: tuple[str, ...] = ()) -> bytes:
    folder.mkdir()
    path = folder / "History"
    conn = sqlite3.connect(path)
    fill_chrome_history(conn, visits, unvisited)
    conn.commit()
    conn.close()
    return path.read_bytes()


def _acquisition(tmp_path: Path, databases: list[dict[str, str]], files: dict[str, bytes]) -> Path:
    builder = AndroidQFBuilder()
    builder.extra.update(files)
    builder.extra["browser_history/manifest.json"] = json.dumps({"schema_version": 1, "databases": databases}).encode()
    return builder.folder(tmp_path / "aqf")


def _entry(archive_path: str, **changes: str) -> dict[str, str]:
    entry = {"browser": "Chrome", "package": "com.android.chrome", "profile": "Default",
             "device_path": "/data/data/com.android.chrome/app_chrome/Default/History", "archive_path": archive_path}
    return entry | changes


def test_the_manifests_databases_are_read_and_matched(tmp_path: Path) -> None:
    first = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    second = datetime(2024, 3, 1, 10, 0, 2, tzinfo=UTC)
    history = _history(tmp_path / "made", [Visit("https://news.example/a", first, "News"),
                        Visit("https://exploit.example/x?id=1", second, "", from_visit=1)],
                       unvisited=("https://old.example/",))
    root = _acquisition(tmp_path, [
        _entry(CHROME),
        _entry("browser_history/../getprop.txt"),  # outside the folder
        _entry("browser_history/org.mozilla/History", browser=""),  # not described whole
        _entry("browser_history/com.brave.browser/Default/History", browser="Brave"),  # absent
    ], {CHROME: history})
    before = snapshot(root)
    found = records(root, "android_browser_history")
    sha = found[0].locator.sha256
    common = {"browser": "Chrome", "package": "com.android.chrome", "profile": "Default",
              "database": "/data/data/com.android.chrome/app_chrome/Default/History"}
    assert found == [
        AndroidBrowserVisit(locator=Locator(f"{AQF}/{CHROME}", sha, "visits", 1), **common, visit_id=1, url_id=1,
                            url="https://news.example/a", title="News", visit_time=first, from_visit=None,
                            from_url=None, transition=805306368),
        AndroidBrowserVisit(locator=Locator(f"{AQF}/{CHROME}", sha, "visits", 2), **common, visit_id=2, url_id=2,
                            url="https://exploit.example/x?id=1", title=None, visit_time=second, from_visit=1,
                            from_url="https://news.example/a", transition=805306368),
        AndroidBrowserVisit(locator=Locator(f"{AQF}/{CHROME}", sha, "urls", 3), **common, visit_id=None, url_id=3,
                            url="https://old.example/", title=None, visit_time=None, from_visit=None, from_url=None,
                            transition=None),
    ]
    iocs = feed(tmp_path / "iocs" / "spy.stix2", ("[domain-name:value='exploit.example']", "Spy"))
    result = check(root, iocs)
    [report] = [a for a in result.artifacts if a.name == "android_browser_history"]
    assert report.warnings == [
        f"{AQF}/browser_history/manifest.json: database 1 lies outside browser_history/ "
        "('browser_history/../getprop.txt'); not read",
        f"{AQF}/browser_history/manifest.json: database 2 is not described whole (browser, package, profile, "
        "device_path, archive_path); not read",
    ]
    assert report.errors == [
        f"{AQF}/browser_history/com.brave.browser/Default/History: named by {AQF}/browser_history/manifest.json "
        "but absent"]
    assert [(f.locator.rowid, f.observable.value, f.severity.label) for f in result.findings
            if f.artifact == "android_browser_history"] == [(2, "https://exploit.example/x?id=1", "high")]
    assert snapshot(root) == before


def test_a_manifest_of_another_schema_fails_the_artifact(tmp_path: Path) -> None:
    builder = AndroidQFBuilder()
    builder.extra["browser_history/manifest.json"] = b'{"schema_version": 2, "databases": []}'
    result = check(builder.folder(tmp_path / "aqf"))
    [report] = [a for a in result.artifacts if a.name == "android_browser_history"]
    assert report.errors == [
        f"{AQF}/browser_history/manifest.json: not a browser history manifest of schema version 1"]
