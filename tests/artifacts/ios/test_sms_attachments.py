from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.ios.sms_attachments import SmsAttachment, expand_home
from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.ios_dbs import Attachment, Message, fill_sms
from preuve.model import Kind, Observable, Severity
from tests.builders import check, feed, records, snapshot

WHEN = datetime(2023, 5, 1, 9, 30, tzinfo=UTC)
CREATED = datetime(2023, 5, 1, 9, 29, tzinfo=UTC)
PHOTO = "~/Library/SMS/Attachments/ab/01/at_1_0/IMG_0001.jpeg"
MESSAGES = [
    Message(text="photo", handle="+41790000001", date=WHEN,
            attachments=[Attachment(PHOTO, "image/jpeg", "IMG_0001.jpeg", 1234, CREATED)]),
    Message(text=None, handle="attacker@example.org", date=WHEN,
            attachments=[Attachment("/private/var/tmp/com.apple.messages/x.gif", "image/gif", "x.gif", 9999),
                         Attachment("", "application/octet-stream", None, 0)]),
    Message(text="report", handle="+41790000002", is_from_me=True, date=WHEN,
            attachments=[Attachment("~/Library/SMS/Attachments/cd/02/at_3_0/file.pdf", "application/pdf",
                                    "Annual report.pdf", 50)]),
]


def _backup(tmp_path: Path, drop: str | None = None) -> Path:
    def fill(conn: sqlite3.Connection) -> None:
        fill_sms(conn, MESSAGES, ios_major=16)
        if drop:
            conn.execute(f"DROP TABLE {drop}")

    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", fill)
    return builder.finish()


def test_attachments(tmp_path: Path) -> None:
    root = _backup(tmp_path)
    before = snapshot(root)
    got = records(root, "sms_attachments")
    assert snapshot(root) == before
    assert all(isinstance(r, SmsAttachment) for r in got)
    assert [(r.attachment_id, r.message_id, r.is_from_me, r.handle) for r in got] == [
        (1, 1, False, "+41790000001"),
        (2, 2, False, "attacker@example.org"),
        (3, 2, False, "attacker@example.org"),
        (4, 3, True, "+41790000002"),
    ]
    photo = got[0]
    assert (photo.filename, photo.device_path, photo.transfer_name, photo.mime_type, photo.total_bytes) == (
        PHOTO, "/private/var/mobile/Library/SMS/Attachments/ab/01/at_1_0/IMG_0001.jpeg", "IMG_0001.jpeg",
        "image/jpeg", 1234,
    )
    assert (photo.created_date, photo.message_date, photo.guid) == (CREATED, WHEN, "at_1_0")
    assert list(photo.observables()) == [Observable(Kind.FILE_PATH, photo.device_path)]
    assert (got[2].filename, got[2].device_path, list(got[2].observables())) == ("", None, [])
    assert list(got[3].observables()) == [
        Observable(Kind.FILE_PATH, "/private/var/mobile/Library/SMS/Attachments/cd/02/at_3_0/file.pdf"),
        Observable(Kind.FILE_NAME, "Annual report.pdf"),
    ]
    assert got[1].locator.table == "attachment" and got[1].locator.rowid == 2


def test_expand_home() -> None:
    assert expand_home("~/Library/x") == "/private/var/mobile/Library/x"
    assert expand_home("relative/x") is None
    assert expand_home(None) is None
    assert expand_home("/var/tmp/a") == "/var/tmp/a"


def test_schema_drift_without_join_table(tmp_path: Path) -> None:
    root = _backup(tmp_path, drop="message_attachment_join")
    result = check(root, only=("sms_attachments",))
    got = records(root, "sms_attachments")
    assert [(r.attachment_id, r.message_id, r.is_from_me, r.handle, r.message_date) for r in got] == [
        (1, None, False, None, None),
        (2, None, False, None, None),
        (3, None, False, None, None),
        (4, None, True, None, None),
    ]
    [report] = result.artifacts
    assert report.status == "ok"
    assert report.warnings == [
        "/private/var/mobile/Library/SMS/sms.db: no message_attachment_join table: "
        "attachments are listed without their message"
    ]


def test_findings(tmp_path: Path) -> None:
    stix = feed(tmp_path / "i" / "p.stix2", ("[file:name='Annual report.pdf']", "Spyware X"))
    result = check(_backup(tmp_path), stix, only=("sms_attachments",))
    got = [(f.rule or f.indicator.malware, f.severity, f.locator.rowid)  # type: ignore[union-attr]
           for f in result.findings]
    assert got == [
        ("Spyware X", Severity.CRITICAL, 4),
        ("sms_attachment_tmp", Severity.HIGH, 2),
        ("sms_attachment_unnamed", Severity.LOW, 3),
    ]
    assert result.findings[1].explanation.startswith(
        "A message attachment was stored at /private/var/tmp/com.apple.messages/x.gif"
    )
