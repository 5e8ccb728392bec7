from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.ios.interactionc import Interaction, InteractionContact
from preuve.builders.ios_backup import BackupBuilder
from preuve.model import Kind, Observable, Severity
from tests.builders import check, feed, records, snapshot
from tests.builders.ios_apps import InteractionRow, fill_interactionc

WHEN = datetime(2021, 2, 3, 4, 5, 6, tzinfo=UTC)


def _backup(tmp_path: Path) -> Path:
    builder = BackupBuilder(tmp_path / "b")
    rows = [
        InteractionRow("com.apple.MobileSMS", WHEN, account="e:owner@icloud.com", sender="mailto:bogaardlisa803@gmail.com",
                       sender_name=""),
        InteractionRow("com.apple.mobilesafari", WHEN, target_bundle_id="com.apple.UIKit.activity.CopyToPasteboard",
                       content_url="https://share.example.org/p", recipients=["+41790000002", "friend@example.org"]),
    ]
    builder.add_sqlite("HomeDomain", "Library/CoreDuet/People/interactionC.db", lambda c: fill_interactionc(c, rows))
    return builder.finish()


def test_interactions_and_contacts(tmp_path: Path) -> None:
    root = _backup(tmp_path)
    before = snapshot(root)
    got = records(root, "interactionc")
    assert snapshot(root) == before
    assert [type(r) for r in got] == [Interaction, Interaction, InteractionContact, InteractionContact,
                                      InteractionContact]
    first, second, contact = got[:3]
    assert isinstance(first, Interaction) and isinstance(second, Interaction)
    assert isinstance(contact, InteractionContact)
    assert (first.start, first.bundle_id, first.account, first.sender, first.sender_name) == (
        WHEN, "com.apple.MobileSMS", "e:owner@icloud.com", "mailto:bogaardlisa803@gmail.com", None,
    )
    assert list(first.observables()) == [
        Observable(Kind.APP_ID, "com.apple.MobileSMS"),
        Observable(Kind.EMAIL, "owner@icloud.com"),
        Observable(Kind.EMAIL, "bogaardlisa803@gmail.com"),
    ]
    assert list(second.observables()) == [
        Observable(Kind.APP_ID, "com.apple.mobilesafari"),
        Observable(Kind.APP_ID, "com.apple.UIKit.activity.CopyToPasteboard"),
        Observable(Kind.EMAIL, "friend@example.org"),
        Observable(Kind.URL, "https://share.example.org/p"),
    ]
    assert (first.recipients, second.recipients) == ((), ("+41790000002", "friend@example.org"))
    assert (contact.identifier, contact.created, contact.first_incoming, contact.locator.table,
            contact.locator.rowid) == ("mailto:bogaardlisa803@gmail.com", WHEN, WHEN, "ZCONTACTS", 1)
    assert first.locator.device_path == "/private/var/mobile/Library/CoreDuet/People/interactionC.db"


def test_interactionc_findings(tmp_path: Path) -> None:
    stix = feed(tmp_path / "i" / "p.stix2", ("[email-addr:value='bogaardlisa803@gmail.com']", "Pegasus"))
    result = check(_backup(tmp_path), stix, only=("interactionc",))
    got = [(f.severity, f.locator.table, f.locator.rowid, f.observable.value, f.indicator.malware)  # type: ignore[union-attr]
           for f in result.findings]
    assert got == [
        (Severity.HIGH, "ZCONTACTS", 1, "bogaardlisa803@gmail.com", "Pegasus"),
        (Severity.HIGH, "ZINTERACTIONS", 1, "bogaardlisa803@gmail.com", "Pegasus"),
    ]
