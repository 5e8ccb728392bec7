"""Databases of iOS artifacts, written with the schema each iOS version uses."""

from __future__ import annotations

import plistlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from preuve.builders.typedstream import attributed_body

COCOA = datetime(2001, 1, 1, tzinfo=UTC)


def cocoa_seconds(when: datetime) -> float:
    return (when - COCOA).total_seconds()


def cocoa_nanos(when: datetime) -> int:
    return int(round(cocoa_seconds(when))) * 1_000_000_000


# -- Messages ----------------------------------------------------------------------------------


@dataclass
class Attachment:
    filename: str
    mime_type: str = "image/jpeg"
    transfer_name: str | None = None
    total_bytes: int = 0
    created: datetime | None = None


@dataclass
class Message:
    text: str | None
    handle: str = "+41790000001"
    service: str = "iMessage"
    is_from_me: bool = False
    date: datetime = field(default_factory=lambda: datetime(2023, 5, 1, 9, 30, tzinfo=UTC))
    date_read: datetime | None = None
    text_only_in_body: bool = False  # iOS 16+: text NULL, content in attributedBody
    preview_url: str | None = None  # a link preview in payload_data
    edited_from: str | None = None  # an earlier version kept in message_summary_info
    attachments: Sequence[Attachment] = ()


_SMS_BASE_COLUMNS = (
    "ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, text TEXT, replace INTEGER DEFAULT 0, "
    "service_center TEXT, handle_id INTEGER DEFAULT 0, subject TEXT, country TEXT, attributedBody BLOB, "
    "version INTEGER DEFAULT 0, type INTEGER DEFAULT 0, service TEXT, account TEXT, account_guid TEXT, "
    "error INTEGER DEFAULT 0, date INTEGER, date_read INTEGER, date_delivered INTEGER, "
    "is_delivered INTEGER DEFAULT 0, is_finished INTEGER DEFAULT 0, is_from_me INTEGER DEFAULT 0, "
    "is_read INTEGER DEFAULT 0, cache_has_attachments INTEGER DEFAULT 0"
)


def sms_schema(ios_major: int) -> list[str]:
    columns = _SMS_BASE_COLUMNS
    if ios_major >= 10:
        columns += ", payload_data BLOB, balloon_bundle_id TEXT, associated_message_guid TEXT"
    if ios_major >= 14:
        columns += ", thread_originator_guid TEXT, destination_caller_id TEXT"
    if ios_major >= 16:
        columns += ", message_summary_info BLOB, date_edited INTEGER DEFAULT 0, date_retracted INTEGER DEFAULT 0"
    # Stickers came with iOS 10: from then on every attachment row says whether it is one.
    attachment_columns = (", is_sticker INTEGER DEFAULT 0, sticker_user_info BLOB, attribution_info BLOB, "
                          "hide_attachment INTEGER DEFAULT 0") if ios_major >= 10 else ""
    return [
        "CREATE TABLE _SqliteDatabaseProperties (key TEXT, value TEXT, UNIQUE(key))",
        "CREATE TABLE handle (ROWID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, id TEXT NOT NULL, country TEXT, "
        "service TEXT NOT NULL, uncanonicalized_id TEXT, UNIQUE (id, service))",
        f"CREATE TABLE message ({columns})",
        "CREATE TABLE attachment (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, "
        "created_date INTEGER DEFAULT 0, start_date INTEGER DEFAULT 0, filename TEXT, uti TEXT, mime_type TEXT, "
        "transfer_state INTEGER DEFAULT 0, is_outgoing INTEGER DEFAULT 0, user_info BLOB, transfer_name TEXT, "
        f"total_bytes INTEGER DEFAULT 0{attachment_columns})",
        "CREATE TABLE message_attachment_join (message_id INTEGER, attachment_id INTEGER, "
        "UNIQUE(message_id, attachment_id))",
        "CREATE TABLE chat (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, style INTEGER, "
        "state INTEGER, account_id TEXT, chat_identifier TEXT, service_name TEXT)",
        "CREATE TABLE chat_message_join (chat_id INTEGER, message_id INTEGER, message_date INTEGER DEFAULT 0, "
        "PRIMARY KEY (chat_id, message_id))",
    ]


def _keyed_archive(root: dict[str, object], strings: list[str]) -> bytes:
    uid = plistlib.UID
    objects: list[object] = ["$null"]
    top = dict(root)
    objects.append(top)
    for text in strings:
        objects.append(text)
    archive = {"$version": 100000, "$archiver": "NSKeyedArchiver", "$top": {"root": uid(1)}, "$objects": objects}
    return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY)


def link_preview(url: str) -> bytes:
    """payload_data of a rich link (LPLinkMetadata), as an NSKeyedArchiver plist holding the URL."""
    uid = plistlib.UID
    return _keyed_archive({"richLinkMetadata": uid(2), "URL": uid(3)}, ["LPLinkMetadata", url])


def edit_history(previous: str, when: datetime) -> bytes:
    """message_summary_info keeping an earlier version of an edited message (iOS 16+)."""
    return plistlib.dumps(
        {"ec": {"0": [{"d": cocoa_nanos(when), "t": attributed_body(previous)}]}, "otr": {}},
        fmt=plistlib.FMT_BINARY,
    )


def fill_sms(conn: sqlite3.Connection, messages: Sequence[Message], ios_major: int = 16) -> None:
    for statement in sms_schema(ios_major):
        conn.execute(statement)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(message)")}
    handles: dict[tuple[str, str], int] = {}
    for number, message in enumerate(messages, start=1):
        key = (message.handle, message.service)
        if key not in handles:
            cur = conn.execute("INSERT INTO handle (id, service) VALUES (?, ?)", key)
            handles[key] = int(cur.lastrowid or 0)
        stamp = cocoa_nanos(message.date) if ios_major >= 11 else int(cocoa_seconds(message.date))
        read = 0
        if message.date_read is not None:
            read = cocoa_nanos(message.date_read) if ios_major >= 11 else int(cocoa_seconds(message.date_read))
        values: dict[str, object] = {
            "guid": f"00000000-0000-4000-8000-{number:012d}",
            "text": None if message.text_only_in_body else message.text,
            "handle_id": handles[key],
            "attributedBody": attributed_body(message.text) if message.text is not None else None,
            "service": message.service,
            "account": "e:owner@example.org" if message.service == "iMessage" else None,
            "date": stamp,
            "date_read": read,
            "is_from_me": int(message.is_from_me),
            "cache_has_attachments": int(bool(message.attachments)),
        }
        if message.preview_url and "payload_data" in columns:
            values["payload_data"] = link_preview(message.preview_url)
            values["balloon_bundle_id"] = "com.apple.messages.URLBalloonProvider"
        if message.edited_from and "message_summary_info" in columns:
            values["message_summary_info"] = edit_history(message.edited_from, message.date)
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cur = conn.execute(f"INSERT INTO message ({names}) VALUES ({marks})", tuple(values.values()))  # noqa: S608
        message_id = cur.lastrowid
        for index, attachment in enumerate(message.attachments):
            created = attachment.created or message.date
            cur = conn.execute(
                "INSERT INTO attachment (guid, created_date, filename, mime_type, transfer_name, total_bytes, "
                "is_outgoing) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    f"at_{number}_{index}",
                    int(cocoa_seconds(created)),
                    attachment.filename,
                    attachment.mime_type,
                    attachment.transfer_name,
                    attachment.total_bytes,
                    int(message.is_from_me),
                ),
            )
            conn.execute("INSERT INTO message_attachment_join VALUES (?, ?)", (message_id, cur.lastrowid))


# -- DataUsage / netusage -----------------------------------------------------------------------


@dataclass
class Process:
    pk: int
    name: str
    bundle: str | None = None
    first: datetime = field(default_factory=lambda: datetime(2023, 4, 1, tzinfo=UTC))
    last: datetime = field(default_factory=lambda: datetime(2023, 5, 1, tzinfo=UTC))
    wifi_in: float = 0.0
    wifi_out: float = 0.0
    wwan_in: float = 0.0
    wwan_out: float = 0.0


@dataclass
class LiveUsage:
    pk: int
    process_pk: int  # may point to a deleted process
    when: datetime
    wifi_in: float = 0.0
    wwan_in: float = 0.0


DATAUSAGE_SCHEMA = (
    "CREATE TABLE ZPROCESS (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZFIRSTTIMESTAMP TIMESTAMP, "
    "ZTIMESTAMP TIMESTAMP, ZBUNDLENAME VARCHAR, ZPROCNAME VARCHAR)",
    "CREATE TABLE ZLIVEUSAGE (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZKIND INTEGER, "
    "ZMETADATA INTEGER, ZTAG INTEGER, ZHASPROCESS INTEGER, ZBILLCYCLEEND TIMESTAMP, ZTIMESTAMP TIMESTAMP, "
    "ZWIFIIN FLOAT, ZWIFIOUT FLOAT, ZWWANIN FLOAT, ZWWANOUT FLOAT)",
)


def fill_datausage(
    conn: sqlite3.Connection, processes: Sequence[Process], live: Sequence[LiveUsage] | None = None
) -> None:
    for statement in DATAUSAGE_SCHEMA:
        conn.execute(statement)
    conn.executemany(
        "INSERT INTO ZPROCESS VALUES (?, 10, 1, ?, ?, ?, ?)",
        [(p.pk, cocoa_seconds(p.first), cocoa_seconds(p.last), p.bundle, p.name) for p in processes],
    )
    if live is None:
        live = [
            LiveUsage(p.pk, p.pk, p.last, p.wifi_in, p.wwan_in) for p in processes
        ]
    conn.executemany(
        "INSERT INTO ZLIVEUSAGE VALUES (?, 9, 1, 0, 0, 0, ?, NULL, ?, ?, 0, ?, 0)",
        [(u.pk, u.process_pk, cocoa_seconds(u.when), u.wifi_in, u.wwan_in) for u in live],
    )
