"""Attachments of messages (sms.db ``attachment``), with the message that carried each.

Where a file was stored matters: Pegasus (FORCEDENTRY, 2021) left attachments
under ``/private/var/tmp`` instead of ``~/Library/SMS/Attachments``. Each
record keeps the stored path (``~`` expanded to the mobile user's home for
matching), the name the sender gave, the type and size, and whether it was
received, from whom and when.
"""

from __future__ import annotations

import posixpath
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.ios.sms import SMS_PATHS
from preuve.artifacts.timeconv import from_cocoa
from preuve.evidence.sqlite import iter_rows, table_columns
from preuve.model import Kind, Locator, Observable, Record, Timestamp

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


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


class SmsAttachments(SqliteArtifact):
    name = "sms_attachments"
    platform = "ios"
    title = "Message attachments"
    paths = SMS_PATHS

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        columns = table_columns(conn, "attachment")
        if "ROWID" not in columns:
            # A Messages database without attachments (or a stripped copy): nothing lost, nothing to read.
            ctx.warn(f"{path}: no 'attachment' table")
            return
        select = ["a.ROWID"] + [f"a.{c}" if c in columns else "NULL" for c in _ATTACHMENT_COLUMNS]
        joins = ""
        join_cols = table_columns(conn, "message_attachment_join")
        message_cols = table_columns(conn, "message")
        if {"message_id", "attachment_id"} <= join_cols:
            # The first message of each attachment: one row per attachment even if it was forwarded.
            joins += (" LEFT JOIN (SELECT attachment_id, MIN(message_id) AS message_id FROM message_attachment_join"
                      " GROUP BY attachment_id) j ON j.attachment_id = a.ROWID")
            select.append("j.message_id")
            if "ROWID" in message_cols:
                joins += " LEFT JOIN message m ON m.ROWID = j.message_id"
                select += [f"m.{c}" if c in message_cols else "NULL" for c in ("is_from_me", "date")]
                if "handle_id" in message_cols and {"ROWID", "id"} <= table_columns(conn, "handle"):
                    joins += " LEFT JOIN handle h ON h.ROWID = m.handle_id"
                    select.append("h.id")
                else:
                    select.append("NULL")
            else:
                select += ["NULL", "NULL", "NULL"]
        else:
            ctx.warn(f"{path}: no message_attachment_join table: attachments are listed without their message")
            select += ["NULL", "NULL", "NULL", "NULL"]
        sql = f"SELECT {', '.join(select)} FROM attachment a{joins} ORDER BY a.ROWID"  # noqa: S608 - names from schema
        for row in iter_rows(conn, sql):
            (rowid, guid, filename, transfer, mime, uti, size, created, outgoing,
             message_id, from_me, message_date, handle) = tuple(row)
            if not isinstance(rowid, int):
                continue
            from_me_value = _int(from_me) if message_id is not None else None
            if from_me_value is None:
                from_me_value = _int(outgoing)
            filename_text = _text(filename)
            yield SmsAttachment(
                locator=Locator(path, sha256, "attachment", rowid),
                attachment_id=rowid,
                guid=_text(guid),
                filename=filename_text,
                device_path=expand_home(filename_text),
                transfer_name=_text(transfer),
                mime_type=_text(mime),
                uti=_text(uti),
                total_bytes=_int(size),
                created_date=from_cocoa(created),
                message_id=_int(message_id),
                is_from_me=None if from_me_value is None else bool(from_me_value),
                message_date=from_cocoa(message_date),
                handle=_text(handle),
            )
