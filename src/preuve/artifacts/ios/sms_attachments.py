"""Attachments of messages (sms.db ``attachment``), with the message that carried each.

Where a file was stored matters: Pegasus (FORCEDENTRY, 2021) left attachments
under ``/private/var/tmp`` instead of ``~/Library/SMS/Attachments``. Each
record keeps the stored path (``~`` expanded to the mobile user's home for
matching), the name the sender gave, the type and size, and whether it was
received, from whom and when.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import SqliteArtifact
from preuve.artifacts.ios.sms import SMS_PATHS
from preuve.artifacts.tables import Aggregate, Database, Grouped, Join, Query, Table
from preuve.artifacts.timeconv import from_cocoa
from preuve.artifacts.values import as_int_strict, as_str
from preuve.model import Kind, Observable, Record, Timestamp

MOBILE_HOME = "/private/var/mobile"
_ATTACHMENT_COLUMNS = ("guid", "filename", "transfer_name", "mime_type", "uti", "total_bytes", "created_date",
                       "is_outgoing")


@dataclass(kw_only=True)
class SmsAttachment(Record):
    """A file sent or received in a message."""

    record_type: ClassVar[str] = "ios:sms_attachments:attachment"
    attachment_id: int
    guid: str | None
    filename: str | None  # as stored, often starting with ~/
    device_path: str | None  # filename with ~ expanded, for matching
    transfer_name: str | None
    mime_type: str | None
    uti: str | None
    total_bytes: int | None
    created_date: datetime | None
    message_id: int | None
    is_from_me: bool | None
    message_date: datetime | None
    handle: str | None

    def observables(self) -> Iterator[Observable]:
        if self.device_path:
            yield Observable(Kind.FILE_PATH, self.device_path)
        name = self.transfer_name
        if name and (not self.device_path or posixpath.basename(self.device_path) != name):
            yield Observable(Kind.FILE_NAME, name)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.created_date is not None:
            yield Timestamp(self.created_date, "Attachment created")
        if self.message_date is not None:
            yield Timestamp(self.message_date, "Attachment sent" if self.is_from_me else "Attachment received")

    def summary(self) -> str:
        who = "" if self.handle is None else (" to " if self.is_from_me else " from ") + self.handle
        return f"Attachment {self.transfer_name or self.filename or '?'} ({self.mime_type or '?'}){who}"


def expand_home(filename: str | None) -> str | None:
    """The device path of an attachment's stored name (``~/`` is the mobile user's home)."""
    if not filename:
        return None
    if filename.startswith("~/"):
        return MOBILE_HOME + filename[1:]
    if filename == "~":
        return MOBILE_HOME
    return filename if filename.startswith("/") else None


class SmsAttachments(SqliteArtifact):
    name = "sms_attachments"
    platform = "ios"
    title = "Message attachments"
    paths = SMS_PATHS

    tables = (
        Table("attachment", optional=_ATTACHMENT_COLUMNS, key=("ROWID",)),
        Table("message_attachment_join", required=("message_id", "attachment_id")),
        Table("message", required=("ROWID",), optional=("is_from_me", "date", "handle_id")),
        Table("handle", required=("ROWID", "id")),
    )

    def read(self, db: Database) -> Iterator[Record]:
        attachments, joined, messages, handles = self.tables
        if not db.columns("attachment"):
            # A Messages database without attachments (or a stripped copy): nothing lost, nothing to read.
            db.ctx.warn(f"{db.path}: no 'attachment' table")
            return
        if not db.has(joined):
            db.ctx.warn(f"{db.path}: no message_attachment_join table: attachments are listed without their message")
        query = Query(attachments, "a", joins=(
            # The first message of each attachment: one row per attachment even if it was forwarded.
            Grouped(joined, "j", by="attachment_id", to="a.ROWID",
                    aggregates=(Aggregate("message_id", "min", ("j.message_id",)),)),
            Join(messages, "m", on="ROWID", to="j.message_id"),
            Join(handles, "h", on="ROWID", to="m.handle_id"),
        ))
        for row in db.rows(query):
            rowid, message_id = row["_key"], row["j.message_id"]
            if not isinstance(rowid, int):
                continue
            from_me_value = as_int_strict(row["m.is_from_me"]) if message_id is not None else None
            if from_me_value is None:
                from_me_value = as_int_strict(row["is_outgoing"])
            filename_text = as_str(row["filename"])
            yield SmsAttachment(
                locator=db.locator("attachment", rowid),
                attachment_id=rowid,
                guid=as_str(row["guid"]),
                filename=filename_text,
                device_path=expand_home(filename_text),
                transfer_name=as_str(row["transfer_name"]),
                mime_type=as_str(row["mime_type"]),
                uti=as_str(row["uti"]),
                total_bytes=as_int_strict(row["total_bytes"]),
                created_date=from_cocoa(row["created_date"]),
                message_id=as_int_strict(message_id),
                is_from_me=None if from_me_value is None else bool(from_me_value),
                message_date=from_cocoa(row["m.date"]),
                handle=as_str(row["h.id"]),
            )
