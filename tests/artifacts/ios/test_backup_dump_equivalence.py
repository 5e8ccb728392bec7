"""The same files give the same records from a backup and from a filesystem dump (artifacts read device paths)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from preuve.artifacts.base import ArtifactContext, discover_artifacts
from preuve.builders.ios_backup import BackupBuilder
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.evidence.sources.folder import folder_fs
from tests.builders import records
from tests.builders.ios_apps import WHATSAPP_GROUP, WaMessage, fill_whatsapp_chats
from tests.builders.ios_browsers import CHROME_BUNDLE, CHROME_DIR, Visit, fill_chrome_history
from tests.builders.ios_personal import Event, fill_calendar

T = datetime(2022, 5, 1, tzinfo=UTC)
CASES: list[tuple[str, str, str, str, Callable[[sqlite3.Connection], None]]] = [
    ("chrome_history", f"AppDomain-{CHROME_BUNDLE}", f"{CHROME_DIR}/History",
     f"/private/var/mobile/Containers/Data/Application/{CHROME_BUNDLE}/{CHROME_DIR}/History",
     lambda c: fill_chrome_history(c, [Visit("https://a.example/", T), Visit("https://b.example/", T, from_visit=1)])),
    ("whatsapp_messages", f"AppDomainGroup-{WHATSAPP_GROUP}", "ChatStorage.sqlite",
     f"/private/var/mobile/Containers/Shared/AppGroup/{WHATSAPP_GROUP}/ChatStorage.sqlite",
     lambda c: fill_whatsapp_chats(c, [WaMessage("see https://a.example/x", date=T)])),
    ("calendar", "HomeDomain", "Library/Calendar/Calendar.sqlitedb",
     "/private/var/mobile/Library/Calendar/Calendar.sqlitedb",
     lambda c: fill_calendar(c, [Event("Meeting", T, T, T, organizer="o@example.org", attendees=["owner@x.org"])])),
]


@pytest.mark.parametrize(("name", "domain", "relative", "device", "fill"), CASES, ids=[c[0] for c in CASES])
def test_same_records_from_backup_and_dump(tmp_path: Path, name: str, domain: str, relative: str, device: str,
                                           fill: Callable[[sqlite3.Connection], None]) -> None:
    builder = BackupBuilder(tmp_path / "backup")
    stored = builder.add_sqlite(domain, relative, fill)
    from_backup = records(builder.finish(), name)

    dump = tmp_path / "dump"
    target = dump / device.lstrip("/")
    target.parent.mkdir(parents=True)
    target.write_bytes(stored.read_bytes())
    (tmp_path / "work").mkdir()
    fs = folder_fs(dump, HashLedger(), DEFAULT_LIMITS, tmp_path / "work")
    artifact = next(a for a in discover_artifacts("ios") if a.name == name)
    ctx = ArtifactContext(fs=fs, limits=DEFAULT_LIMITS)
    from_dump = [r for path in artifact.locate(fs) for r in artifact.parse(ctx, path)]

    assert from_backup and from_dump == from_backup
    assert ctx.errors == []
