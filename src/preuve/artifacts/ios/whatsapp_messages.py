"""WhatsApp messages (``ChatStorage.sqlite`` in WhatsApp's shared group container).

Spyware operators have sent infection links over WhatsApp as well as SMS.
Links are taken from the text (``ZWAMESSAGE.ZTEXT``), from the media item's
``ZMEDIAURL``, and from link previews (``ZWAMESSAGEDATAITEM``: matched text,
content and summary), so a link still shows when its text was edited away.
Media and preview rows are grouped once per table and joined to their
message (no correlated subquery, which is quadratic on a file without indexes).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.rows import flag, integer, links_in, pick, text, unique
from preuve.artifacts.timeconv import from_cocoa
from preuve.evidence.sqlite import iter_rows, table_columns
from preuve.model import Kind, Locator, Observable, Record, Timestamp

WHATSAPP_GROUPS = "/private/var/mobile/Containers/Shared/AppGroup/*"
_MESSAGE_COLUMNS = ("ZSTANZAID", "ZISFROMME", "ZMESSAGEDATE", "ZSENTDATE", "ZFROMJID", "ZTOJID", "ZPUSHNAME",
                    "ZTEXT", "ZMESSAGETYPE")  # only what the record holds (chat and member come through joins)
_SEP = "\n"


@dataclass(kw_only=True)
class WhatsAppMessage(Record):
    """A WhatsApp message, with every link it carries."""

    record_type: ClassVar[str] = "ios:whatsapp:message"
    stanza_id: str | None
    chat: str | None
    from_jid: str | None
    group_member: str | None  # in a group chat, the member who wrote (from_jid is then the group)
    to_jid: str | None
    push_name: str | None
    is_from_me: bool | None
    date: datetime | None
    message_type: int | None
    text: str | None
    media_urls: tuple[str, ...]
    links: tuple[str, ...]

    def observables(self) -> Iterator[Observable]:
        for link in unique((*self.links, *self.media_urls)):
            yield Observable(Kind.URL, link)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.date is not None:
            yield Timestamp(self.date, "WhatsApp message sent" if self.is_from_me else "WhatsApp message received")

    def summary(self) -> str:
        sender = self.group_member or self.from_jid or "?"
        who = ("to " + (self.to_jid or self.chat or "?")) if self.is_from_me else ("from " + sender)
        body = (self.text or "").replace("\n", " ")
        return f"WhatsApp {who}: {body[:157] + '...' if len(body) > 160 else body}"


def _split(value: object) -> list[str]:
    joined = text(value)
    return [part for part in joined.split(_SEP) if part] if joined else []


class WhatsAppMessages(SqliteArtifact):
    name = "whatsapp_messages"
    platform = "ios"
    title = "WhatsApp messages"
    paths = (f"{WHATSAPP_GROUPS}/ChatStorage.sqlite",)

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        columns = table_columns(conn, "ZWAMESSAGE")
        if "Z_PK" not in columns:
            ctx.error(path, "no ZWAMESSAGE table")
            return
        media = table_columns(conn, "ZWAMEDIAITEM")
        if {"ZMESSAGE", "ZMEDIAURL"} <= media:
            media_sql = "mi.urls"
            media_join = (f"LEFT JOIN (SELECT i.ZMESSAGE AS mid, group_concat(i.ZMEDIAURL, '{_SEP}') AS urls "  # noqa: S608
                          "FROM ZWAMEDIAITEM i WHERE i.ZMEDIAURL IS NOT NULL GROUP BY i.ZMESSAGE) mi ON mi.mid = m.Z_PK ")
        else:
            media_sql, media_join = "NULL", ""
        data = table_columns(conn, "ZWAMESSAGEDATAITEM")
        preview_cols = [c for c in ("ZMATCHEDTEXT", "ZCONTENT1", "ZCONTENT2", "ZSUMMARY") if c in data]
        if "ZMESSAGE" in data and preview_cols:
            parts = " || '\n' || ".join(f"coalesce(d.{c}, '')" for c in preview_cols)
            preview_sql = "di.texts"
            preview_join = (f"LEFT JOIN (SELECT d.ZMESSAGE AS mid, group_concat({parts}, '{_SEP}') AS texts "  # noqa: S608
                            "FROM ZWAMESSAGEDATAITEM d GROUP BY d.ZMESSAGE) di ON di.mid = m.Z_PK ")
        else:
            preview_sql, preview_join = "NULL", ""
        sessions = table_columns(conn, "ZWACHATSESSION")
        if {"Z_PK", "ZCONTACTJID"} <= sessions and "ZCHATSESSION" in columns:
            chat_sql, chat_join = "s.ZCONTACTJID", "LEFT JOIN ZWACHATSESSION s ON s.Z_PK = m.ZCHATSESSION "
        else:
            chat_sql, chat_join = "NULL", ""
        members = table_columns(conn, "ZWAGROUPMEMBER")
        if {"Z_PK", "ZMEMBERJID"} <= members and "ZGROUPMEMBER" in columns:
            member_sql = "gm.ZMEMBERJID"
            chat_join += "LEFT JOIN ZWAGROUPMEMBER gm ON gm.Z_PK = m.ZGROUPMEMBER "
        else:
            member_sql = "NULL"
        sql = (
            f"SELECT m.Z_PK AS pk, {pick(columns, 'm', _MESSAGE_COLUMNS)}, {chat_sql} AS chat, "  # noqa: S608
            f"{member_sql} AS member, "
            f"{media_sql} AS media, {preview_sql} AS previews FROM ZWAMESSAGE m {chat_join}{media_join}{preview_join}"
            "ORDER BY m.Z_PK"
        )
        for row in iter_rows(conn, sql):
            body = text(row["ZTEXT"])
            media_urls = unique(_split(row["media"]))
            previews = text(row["previews"])
            yield WhatsAppMessage(
                locator=Locator(path, sha256, "ZWAMESSAGE", integer(row["pk"])),
                stanza_id=text(row["ZSTANZAID"]),
                chat=text(row["chat"]),
                from_jid=text(row["ZFROMJID"]),
                group_member=text(row["member"]),
                to_jid=text(row["ZTOJID"]),
                push_name=text(row["ZPUSHNAME"]),
                is_from_me=flag(row["ZISFROMME"]),
                date=from_cocoa(row["ZMESSAGEDATE"]) or from_cocoa(row["ZSENTDATE"]),
                message_type=integer(row["ZMESSAGETYPE"]),
                text=body,
                media_urls=media_urls,
                links=links_in(body, previews),
            )
