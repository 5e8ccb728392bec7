"""WhatsApp messages (``ChatStorage.sqlite`` in WhatsApp's shared group container).

Spyware operators have sent infection links over WhatsApp as well as SMS.
Links are taken from the text (``ZWAMESSAGE.ZTEXT``), from the media item's
``ZMEDIAURL``, and from link previews (``ZWAMESSAGEDATAITEM``: matched text,
content and summary), so a link still shows when its text was edited away.
Media and preview rows are grouped once per table and joined to their
message (no correlated subquery, which is quadratic on a file without indexes).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import SqliteArtifact
from preuve.artifacts.rows import links_in, unique
from preuve.artifacts.tables import Aggregate, Database, Grouped, Join, Query, Table
from preuve.artifacts.timeconv import from_cocoa
from preuve.artifacts.values import as_bool_int, as_int, as_text
from preuve.model import Kind, Observable, Record, Timestamp

WHATSAPP_GROUPS = "/private/var/mobile/Containers/Shared/AppGroup/*"
_MESSAGE_COLUMNS = ("ZSTANZAID", "ZISFROMME", "ZMESSAGEDATE", "ZSENTDATE", "ZFROMJID", "ZTOJID", "ZPUSHNAME",
                    "ZTEXT", "ZMESSAGETYPE")  # only what the record holds (chat and member come through joins)
_PREVIEWS = ("ZMATCHEDTEXT", "ZCONTENT1", "ZCONTENT2", "ZSUMMARY")  # link preview texts
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
    joined = as_text(value)
    return [part for part in joined.split(_SEP) if part] if joined else []


class WhatsAppMessages(SqliteArtifact):
    name = "whatsapp_messages"
    platform = "ios"
    title = "WhatsApp messages"
    paths = (f"{WHATSAPP_GROUPS}/ChatStorage.sqlite",)

    tables = (
        Table("ZWAMESSAGE", required=("Z_PK",), optional=(*_MESSAGE_COLUMNS, "ZCHATSESSION", "ZGROUPMEMBER"),
              key=("Z_PK",)),
        Table("ZWAMEDIAITEM", required=("ZMESSAGE", "ZMEDIAURL")),
        Table("ZWAMESSAGEDATAITEM", required=("ZMESSAGE",), optional=_PREVIEWS),
        Table("ZWACHATSESSION", required=("Z_PK", "ZCONTACTJID")),
        Table("ZWAGROUPMEMBER", required=("Z_PK", "ZMEMBERJID")),
    )

    def read(self, db: Database) -> Iterator[Record]:
        _, media, data, sessions, members = self.tables
        # The message table without ZCHATSESSION and ZGROUPMEMBER, which only the joins use (declared
        # above for the tests that drop each column).
        query = Query(Table("ZWAMESSAGE", required=("Z_PK",), optional=_MESSAGE_COLUMNS, key=("Z_PK",)), "m", joins=(
            Join(sessions, "s", on="Z_PK", to="m.ZCHATSESSION"),
            Join(members, "gm", on="Z_PK", to="m.ZGROUPMEMBER"),
            Grouped(media, "mi", by="ZMESSAGE", to="m.Z_PK",
                    aggregates=(Aggregate("urls", "group_concat", ("mi.ZMEDIAURL",), _SEP),)),
            Grouped(data, "di", by="ZMESSAGE", to="m.Z_PK", aggregates=(
                Aggregate("texts", "group_concat", tuple(f"di.{c}" for c in _PREVIEWS), _SEP, "lines"),)),
        ))
        for row in db.rows(query):
            body = as_text(row["ZTEXT"])
            media_urls = unique(_split(row["mi.urls"]))
            previews = as_text(row["di.texts"])
            yield WhatsAppMessage(
                locator=db.locator("ZWAMESSAGE", row["_key"]),
                stanza_id=as_text(row["ZSTANZAID"]),
                chat=as_text(row["s.ZCONTACTJID"]),
                from_jid=as_text(row["ZFROMJID"]),
                group_member=as_text(row["gm.ZMEMBERJID"]),
                to_jid=as_text(row["ZTOJID"]),
                push_name=as_text(row["ZPUSHNAME"]),
                is_from_me=as_bool_int(row["ZISFROMME"]),
                date=from_cocoa(row["ZMESSAGEDATE"]) or from_cocoa(row["ZSENTDATE"]),
                message_type=as_int(row["ZMESSAGETYPE"]),
                text=body,
                media_urls=media_urls,
                links=links_in(body, previews),
            )
