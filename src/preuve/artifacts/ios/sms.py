"""Messages (SMS, MMS, iMessage): every link a message carries, however it is stored.

Pegasus, Predator and others were delivered by links in SMS and iMessages, and
zero-click exploits by iMessages from attacker accounts. Depending on the iOS
version a message keeps its text in ``message.text`` (iOS 12-15),
only in ``attributedBody`` (often from iOS 16), its link preview in
``payload_data``, and earlier versions of an edited message in
``message_summary_info``. All of them are read; the schema is read first so a
column missing on one iOS version is simply absent from the query.
"""

from __future__ import annotations

import plistlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.timeconv import from_cocoa
from preuve.artifacts.typedstream import printable_runs, typedstream_text
from preuve.evidence.formats.plists import bplist_strings
from preuve.evidence.sqlite import iter_rows, table_columns, tables
from preuve.indicators.normalize import extract_urls
from preuve.model import Kind, Locator, Observable, Record, Timestamp

SMS_PATHS = ("/private/var/mobile/Library/SMS/sms.db",)
# Only the columns the record is made of (handle_id is read through the join): a column selected and not
# used can only cost, and a hostile view can make any column enormous.
_OPTIONAL = (
    "guid", "text", "service", "is_from_me", "date", "date_read", "attributedBody", "payload_data",
    "message_summary_info", "balloon_bundle_id", "account",
)
_MAX_BLOB_SCAN = 1024 * 1024
_MAX_PLIST_ITEMS = 20_000  # objects of a blob's plist looked at for links
# Bound once: an enum member looked up as Kind.URL costs an attribute lookup per message.
_URL, _EMAIL = Kind.URL, Kind.EMAIL


@dataclass(kw_only=True)
class SmsMessage(Record):
    """An SMS, MMS or iMessage, with the links found anywhere in it."""

    record_type: ClassVar[str] = "ios:sms:message"
    guid: str | None
    service: str | None
    handle: str | None
    is_from_me: bool
    date: datetime | None
    date_read: datetime | None
    text: str | None
    text_source: str | None
    links: tuple[str, ...]
    account: str | None
    balloon_bundle_id: str | None

    def observables(self) -> Iterator[Observable]:
        for link in self.links:
            yield Observable(_URL, link)
        if self.handle and "@" in self.handle:  # iMessages from an Apple ID (zero-click senders)
            yield Observable(_EMAIL, self.handle.removeprefix("mailto:").removeprefix("e:"))

    def timestamps(self) -> Iterator[Timestamp]:
        if self.date is not None:
            yield Timestamp(self.date, "Message sent" if self.is_from_me else "Message received")
        if self.date_read is not None:
            yield Timestamp(self.date_read, "Message read")

    def first_moment(self) -> datetime | None:
        return self.date if self.date is not None else self.date_read

    def summary(self) -> str:
        who = ("to " if self.is_from_me else "from ") + (self.handle or "unknown")
        text = (self.text or "").replace("\n", " ")
        if len(text) > 160:
            text = text[:157] + "..."
        return f"{self.service or 'Message'} {who}: {text}"


def _blob(value: object) -> bytes | None:
    if value is None or type(value) is bytes:  # the usual cases, without the isinstance checks
        return value
    return bytes(value) if isinstance(value, (bytearray, memoryview)) else None


def _links_from_plist_blob(blob: bytes) -> list[str]:
    """Links in a plist blob (link previews, edit history), in every string it holds (and in the
    attributed strings archived in its data)."""
    blob = blob[:_MAX_BLOB_SCAN]
    found: list[str] = []
    strings = bplist_strings(blob, _MAX_PLIST_ITEMS)
    if strings is not None:
        for value in strings:
            if isinstance(value, str):
                found.extend(extract_urls(value))
            elif text := typedstream_text(value):
                found.extend(extract_urls(text))
        return found
    # Not a binary plist read directly (XML, or odd): the decoded values, walked.
    try:
        value = plistlib.loads(blob)
    except Exception:  # noqa: BLE001 - damaged blob: fall back to a byte scan
        return [u for run in printable_runs(blob) for u in extract_urls(run)]
    stack: list[object] = [value]
    budget = _MAX_PLIST_ITEMS
    while stack and budget > 0:
        budget -= 1
        item = stack.pop()
        if isinstance(item, str):
            found.extend(extract_urls(item))
        elif isinstance(item, bytes):
            text = typedstream_text(item)
            if text:
                found.extend(extract_urls(text))
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _dedupe(links: list[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for link in links:
        seen.setdefault(link, None)
    return tuple(seen)


class Sms(SqliteArtifact):
    name = "sms"
    platform = "ios"
    title = "Messages (SMS, MMS, iMessage)"
    paths = SMS_PATHS
    record_table = "message"  # one message per row, in ROWID order

    def parse_db(
        self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str
    ) -> Iterator[SmsMessage]:
        columns = table_columns(conn, "message")
        if not columns:
            ctx.error(path, "no 'message' table")
            return
        has_handle = "handle" in tables(conn) and {"ROWID", "id"} <= table_columns(conn, "handle")
        select = ["m.ROWID AS rowid"]
        for column in _OPTIONAL:
            select.append(f"m.{column} AS {column}" if column in columns else f"NULL AS {column}")
        if has_handle and "handle_id" in columns:
            select.append("h.id AS handle")
            join = "LEFT JOIN handle h ON h.ROWID = m.handle_id"
        else:
            select.append("NULL AS handle")
            join = ""
        sql = f"SELECT {', '.join(select)} FROM message m {join} ORDER BY m.ROWID"  # noqa: S608 - names from schema
        # Rows are read as plain tuples by position (the SELECT order above): cheaper than
        # sqlite3.Row lookups by name on every column of every message.
        at = {name: i + 1 for i, name in enumerate(_OPTIONAL)}
        rowid_at, handle_at = 0, len(select) - 1
        guid_at, text_at, service_at, from_me_at = at["guid"], at["text"], at["service"], at["is_from_me"]
        date_at, read_at, body_at, payload_at = at["date"], at["date_read"], at["attributedBody"], at["payload_data"]
        summary_at, balloon_at, account_at = at["message_summary_info"], at["balloon_bundle_id"], at["account"]
        for row in iter_rows(conn, sql, named=False):
            text = row[text_at]
            text_source = "text" if text else None
            body = _blob(row[body_at])
            links: list[str] = []
            if body:
                decoded = typedstream_text(body)
                if decoded is not None:
                    if not text:
                        text, text_source = decoded, "attributedBody"
                    elif decoded != text:
                        links.extend(extract_urls(decoded))
                else:
                    links.extend(u for run in printable_runs(body[:_MAX_BLOB_SCAN]) for u in extract_urls(run))
            if isinstance(text, str):
                links[:0] = extract_urls(text)
            else:
                text = None
            payload, summary = row[payload_at], row[summary_at]
            if payload or summary:  # most messages have neither
                for value in (payload, summary):
                    blob = _blob(value)
                    if blob:
                        links.extend(_links_from_plist_blob(blob))
            yield SmsMessage(
                locator=Locator(path, sha256, "message", row[rowid_at]),
                guid=row[guid_at],
                service=row[service_at],
                handle=row[handle_at],
                is_from_me=bool(row[from_me_at]),
                date=from_cocoa(row[date_at]),
                date_read=from_cocoa(row[read_at]),
                text=text,
                text_source=text_source,
                links=_dedupe(links) if len(links) > 1 else tuple(links),
                account=row[account_at],
                balloon_bundle_id=row[balloon_at],
            )
