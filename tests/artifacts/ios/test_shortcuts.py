from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.ios.shortcuts import Shortcut
from preuve.builders.ios_backup import BackupBuilder
from preuve.model import Severity
from tests.builders import check, feed, records, snapshot
from tests.builders.ios_apps import ShortcutRow, fill_shortcuts

WHEN = datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)


def _backup(tmp_path: Path) -> Path:
    rows = [
        ShortcutRow("Sync", WHEN, [
            ("is.workflow.actions.url", {"WFURLActionURL": "https://drop.evil.example.net/p.js"}),
            ("is.workflow.actions.downloadurl", {"WFHTTPMethod": "POST", "Advanced": True}),
        ]),
        ShortcutRow("Broken", WHEN, [], raw_data=b"bplist00garbage"),
    ]
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/Shortcuts/Shortcuts.sqlite", lambda c: fill_shortcuts(c, rows))
    return builder.finish()


def test_shortcuts(tmp_path: Path) -> None:
    root = _backup(tmp_path)
    before = snapshot(root)
    got = records(root, "shortcuts")
    assert snapshot(root) == before
    assert got == [
        Shortcut(locator=got[0].locator, shortcut_name="Sync", created=WHEN, modified=WHEN, description=None,
                 actions=("is.workflow.actions.url", "is.workflow.actions.downloadurl"),
                 urls=("https://drop.evil.example.net/p.js",)),
        Shortcut(locator=got[1].locator, shortcut_name="Broken", created=WHEN, modified=WHEN, description=None,
                 actions=(), urls=()),
    ]
    assert (got[1].locator.table, got[1].locator.rowid) == ("ZSHORTCUT", 2)


def test_shortcut_findings_and_warning(tmp_path: Path) -> None:
    stix = feed(tmp_path / "i" / "s.stix2", ("[domain-name:value='evil.example.net']", "Predator"))
    result = check(_backup(tmp_path), stix, only=("shortcuts",))
    assert [(f.severity, f.locator.rowid, f.observable.value) for f in result.findings] == [  # type: ignore[union-attr]
        (Severity.HIGH, 1, "https://drop.evil.example.net/p.js"),
    ]
    report = next(a for a in result.artifacts if a.name == "shortcuts")
    assert (report.status.value, report.records, len(report.warnings), report.errors) == ("ok", 2, 1, [])
