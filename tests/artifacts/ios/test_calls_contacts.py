from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.ios.calls import Call
from preuve.artifacts.ios.contacts import Contact
from preuve.builders.ios_backup import BackupBuilder
from preuve.model import Kind, Observable, Severity
from tests.builders import check, feed, records, snapshot
from tests.builders.ios_personal import CallRow, Person, fill_address_book, fill_call_history

WHEN = datetime(2022, 6, 1, 12, 0, tzinfo=UTC)


def _backup(tmp_path: Path) -> Path:
    builder = BackupBuilder(tmp_path / "b")
    calls = [
        CallRow("+41790000001", WHEN, 65.0, outgoing=True),
        CallRow("spy@example.org", WHEN, 0.0, provider="com.apple.FaceTime", address_as_blob=True),
    ]
    builder.add_sqlite("HomeDomain", "Library/CallHistoryDB/CallHistory.storedata", lambda c: fill_call_history(c, calls))
    people = [
        Person("Ana", "Lopes", phones=["+41 79 000 00 01"], emails=["ana@example.org"]),
        Person("Op", emails=["bogaardlisa803@gmail.com"], urls=["https://evil.example.net/card"], created=WHEN),
        Person("Empty"),
    ]
    builder.add_sqlite("HomeDomain", "Library/AddressBook/AddressBook.sqlitedb", lambda c: fill_address_book(c, people))
    return builder.finish()


def test_calls(tmp_path: Path) -> None:
    root = _backup(tmp_path)
    before = snapshot(root)
    got = records(root, "calls")
    assert snapshot(root) == before
    assert all(isinstance(r, Call) for r in got)
    assert [(r.locator.rowid, r.address, r.date, r.duration, r.outgoing, r.service_provider) for r in got] == [
        (1, "+41790000001", WHEN, 65.0, True, "com.apple.Telephony"),
        (2, "spy@example.org", WHEN, 0.0, False, "com.apple.FaceTime"),
    ]
    assert list(got[1].observables()) == [
        Observable(Kind.EMAIL, "spy@example.org"), Observable(Kind.APP_ID, "com.apple.FaceTime"),
    ]
    assert got[0].locator.device_path == "/private/var/mobile/Library/CallHistoryDB/CallHistory.storedata"


def test_contacts(tmp_path: Path) -> None:
    got = records(_backup(tmp_path), "contacts")
    assert [(r.locator.table, r.locator.rowid, r.name, r.phones, r.emails, r.urls) for r in got] == [
        ("ABPerson", 1, "Ana Lopes", ("+41 79 000 00 01",), ("ana@example.org",), ()),
        ("ABPerson", 2, "Op", (), ("bogaardlisa803@gmail.com",), ("https://evil.example.net/card",)),
        ("ABPerson", 3, "Empty", (), (), ()),
    ]
    assert all(isinstance(r, Contact) for r in got)
    assert got[1].created == WHEN


def test_calls_and_contacts_findings(tmp_path: Path) -> None:
    stix = feed(tmp_path / "i" / "p.stix2", ("[email-addr:value='bogaardlisa803@gmail.com']", "Pegasus"),
                ("[email-addr:value='spy@example.org']", "Pegasus"))
    result = check(_backup(tmp_path), stix, only=("calls", "contacts"))
    got = [(f.artifact, f.severity, f.locator.table, f.locator.rowid, f.observable.value)  # type: ignore[union-attr]
           for f in result.findings]
    assert got == [
        ("calls", Severity.HIGH, "ZCALLRECORD", 2, "spy@example.org"),
        ("contacts", Severity.HIGH, "ABPerson", 2, "bogaardlisa803@gmail.com"),
    ]
