from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from preuve.artifacts.ios.sms import SmsMessage
from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.ios_dbs import Attachment, Message, fill_sms
from preuve.model import Kind, Observable, Severity
from tests.builders import check, feed, records, snapshot

WHEN = datetime(2023, 5, 1, 9, 30, tzinfo=UTC)


def _backup(tmp_path: Path, messages: list[Message], ios: int, wal: bool = False) -> Path:
    builder = BackupBuilder(tmp_path / f"ios{ios}")
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, messages, ios_major=ios), wal=wal)
    return builder.finish()


MESSAGES = [
    Message(text="hello https://Evil.Example.net/a?b=c, bye", handle="+41790000001", date=WHEN),
    Message(text="only in the body: evil.example.net/x", handle="spy@example.org", date=WHEN, text_only_in_body=True),
    Message(text="look", handle="+41790000002", date=WHEN, preview_url="https://preview.example.org/p"),
    Message(text="fixed text", handle="+41790000003", date=WHEN, edited_from="old www.edited.example/z"),
    Message(text="sent by me", handle="+41790000004", is_from_me=True, date=WHEN,
            attachments=[Attachment("/var/tmp/x.gif")]),
]


@pytest.mark.parametrize("ios", [12, 14, 16, 18])
def test_links_wherever_they_are_kept(tmp_path: Path, ios: int) -> None:
    root = _backup(tmp_path, MESSAGES, ios)
    before = snapshot(root)
    got = records(root, "sms")
    assert snapshot(root) == before
    assert all(isinstance(r, SmsMessage) for r in got)
    assert [r.locator.rowid for r in got] == [1, 2, 3, 4, 5]
    assert got[0].links == ("https://Evil.Example.net/a?b=c",)
    assert got[0].text == "hello https://Evil.Example.net/a?b=c, bye"
    assert got[0].text_source == "text"
    assert got[0].date == WHEN
    assert got[0].handle == "+41790000001"
    # iOS 16+ may keep the text only in attributedBody
    assert got[1].text == "only in the body: evil.example.net/x"
    assert got[1].text_source == "attributedBody"
    assert got[1].links == ("evil.example.net/x",)
    assert got[2].links == (("https://preview.example.org/p",) if ios >= 10 else ())
    assert got[3].links == (("www.edited.example/z",) if ios >= 16 else ())
    assert got[4].is_from_me is True
    assert got[4].locator.table == "message"
    assert got[4].locator.device_path == "/private/var/mobile/Library/SMS/sms.db"
    assert len(got[4].locator.sha256) == 64
    assert list(got[1].observables()) == [
        Observable(Kind.URL, "evil.example.net/x"),
        Observable(Kind.EMAIL, "spy@example.org"),
    ]


def test_old_ios_seconds_timestamps(tmp_path: Path) -> None:
    root = _backup(tmp_path, [Message(text="x", date=WHEN)], 9)
    [record] = records(root, "sms")
    assert record.date == WHEN


def test_rows_in_wal_are_read(tmp_path: Path) -> None:
    root = _backup(tmp_path, MESSAGES[:2], 16, wal=True)
    before = snapshot(root)
    assert len(records(root, "sms")) == 2
    assert snapshot(root) == before


def test_findings(tmp_path: Path) -> None:
    root = _backup(tmp_path, MESSAGES, 16)
    stix = feed(
        tmp_path / "iocs" / "spy.stix2",
        ("[domain-name:value='evil.example.net']", "Spyware X"),
        ("[email-addr:value='spy@example.org']", "Spyware X"),
    )
    result = check(root, stix)
    sms = [f for f in result.findings if f.artifact == "sms"]
    assert [(f.locator.rowid, f.observable.value if f.observable else None, f.severity) for f in sms] == [
        (1, "https://Evil.Example.net/a?b=c", Severity.HIGH),
        (2, "evil.example.net/x", Severity.HIGH),
        (2, "spy@example.org", Severity.HIGH),
    ]
    assert all(f.indicator is not None and f.indicator.malware == "Spyware X" for f in sms)
    assert sms[0].timestamp == WHEN
    assert sms[0].explanation.startswith("Messages (SMS, MMS, iMessage) contains a link to https://Evil.Example.net")


def test_threat_notification(tmp_path: Path) -> None:
    root = _backup(
        tmp_path,
        [
            Message(text="ALERT: Apple detected a targeted mercenary spyware attack against your iPhone.", date=WHEN),
            Message(text="I read about the mercenary spyware attack on the news", is_from_me=True, date=WHEN),
            # The 2021 wording, which names neither "targeted by" nor "mercenary" (MVT's first opening).
            Message(text="ALERT: State-sponsored attackers may be targeting your iPhone. Apple believes you are "
                         "being targeted", date=WHEN),
            # A notification forwarded by the owner (MVT checks sent messages too).
            Message(text="ALERT: Apple detected a targeted mercenary spyware attack against your iPhone.",
                    is_from_me=True, date=WHEN),
            Message(text="State sponsored hackers: fake alert, click here", date=WHEN),  # none of the phrases
        ],
        17,
    )
    result = check(root)
    assert [(f.rule, f.locator.rowid, f.severity) for f in result.findings] == [
        ("apple_threat_notification", 1, Severity.HIGH),
        ("apple_threat_notification", 3, Severity.HIGH),
        ("apple_threat_notification", 4, Severity.HIGH),
    ]
    assert result.findings[2].explanation.startswith("A message sent from this phone repeats Apple's threat")


def test_missing_table_is_a_named_failure(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: c.execute("CREATE TABLE other (a)"))
    root = builder.finish()
    result = check(root)
    [sms] = [a for a in result.artifacts if a.name == "sms"]
    assert sms.status == "failed"
    assert sms.errors == ["/private/var/mobile/Library/SMS/sms.db: no 'message' table"]
