"""Databases of apps and system services on iOS (WhatsApp, CoreDuet interactions, Shortcuts)."""

from __future__ import annotations

import plistlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

COCOA = datetime(2001, 1, 1, tzinfo=UTC)
WHATSAPP_GROUP = "group.net.whatsapp.WhatsApp.shared"


def cocoa_seconds(when: datetime) -> float:
    return (when - COCOA).total_seconds()


# -- WhatsApp ----------------------------------------------------------------------------------


@dataclass
class WaMessage:
    text: str | None
    chat: str = "41790000001@s.whatsapp.net"
    is_from_me: bool = False
    date: datetime = field(default_factory=lambda: datetime(2023, 5, 1, 9, 30, tzinfo=UTC))
    media_url: str | None = None
    preview: str | None = None  # a link preview's matched text
    member: str | None = None  # in a group chat (chat ends in @g.us), the member who wrote


def fill_whatsapp_chats(conn: sqlite3.Connection, messages: Sequence[WaMessage]) -> None:
    conn.executescript(
        """
        CREATE TABLE ZWACHATSESSION (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZCONTACTJID VARCHAR,
            ZPARTNERNAME VARCHAR, ZLASTMESSAGEDATE TIMESTAMP);
        CREATE TABLE ZWAMESSAGE (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZISFROMME INTEGER,
            ZMESSAGESTATUS INTEGER, ZMESSAGETYPE INTEGER, ZCHATSESSION INTEGER, ZGROUPMEMBER INTEGER, ZMEDIAITEM INTEGER,
            ZMESSAGEDATE TIMESTAMP, ZSENTDATE TIMESTAMP, ZFROMJID VARCHAR, ZTOJID VARCHAR, ZPUSHNAME VARCHAR,
            ZSTANZAID VARCHAR, ZTEXT VARCHAR);
        CREATE TABLE ZWAMEDIAITEM (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZMESSAGE INTEGER,
            ZMEDIALOCALPATH VARCHAR, ZMEDIAURL VARCHAR, ZTITLE VARCHAR, ZAUTHORNAME VARCHAR);
        CREATE TABLE ZWAMESSAGEDATAITEM (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZMESSAGE INTEGER,
            ZCONTENT1 VARCHAR, ZCONTENT2 VARCHAR, ZMATCHEDTEXT VARCHAR, ZSUMMARY VARCHAR, ZTITLE VARCHAR);
        CREATE TABLE ZWAGROUPMEMBER (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZCHATSESSION INTEGER,
            ZMEMBERJID VARCHAR, ZCONTACTNAME VARCHAR);
        CREATE INDEX ZWAMEDIAITEM_ZMESSAGE_INDEX ON ZWAMEDIAITEM (ZMESSAGE);
        CREATE INDEX ZWAMESSAGEDATAITEM_ZMESSAGE_INDEX ON ZWAMESSAGEDATAITEM (ZMESSAGE);
        """
    )
    sessions: dict[str, int] = {}
    for n, msg in enumerate(messages, 1):
        if msg.chat not in sessions:
            sessions[msg.chat] = int(conn.execute(
                "INSERT INTO ZWACHATSESSION (Z_ENT, Z_OPT, ZCONTACTJID) VALUES (4, 1, ?)", (msg.chat,)
            ).lastrowid or 0)
        me = "41790009999@s.whatsapp.net"
        member_pk = None
        if msg.member:
            member_pk = conn.execute("INSERT INTO ZWAGROUPMEMBER (Z_ENT, Z_OPT, ZCHATSESSION, ZMEMBERJID)"
                                     " VALUES (5, 1, ?, ?)", (sessions[msg.chat], msg.member)).lastrowid
        conn.execute(
            "INSERT INTO ZWAMESSAGE (Z_ENT, Z_OPT, ZISFROMME, ZMESSAGETYPE, ZCHATSESSION, ZGROUPMEMBER, ZMESSAGEDATE,"
            " ZSENTDATE, ZFROMJID, ZTOJID, ZSTANZAID, ZTEXT) VALUES (9, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (int(msg.is_from_me), 1 if msg.media_url else 0, sessions[msg.chat], member_pk, cocoa_seconds(msg.date),
             cocoa_seconds(msg.date), None if msg.is_from_me else msg.chat, msg.chat if msg.is_from_me else me,
             f"3EB0{n:016X}", msg.text),
        )
        if msg.media_url:
            conn.execute("INSERT INTO ZWAMEDIAITEM (Z_ENT, Z_OPT, ZMESSAGE, ZMEDIAURL) VALUES (7, 1, ?, ?)",
                         (n, msg.media_url))
        if msg.preview:
            conn.execute("INSERT INTO ZWAMESSAGEDATAITEM (Z_ENT, Z_OPT, ZMESSAGE, ZMATCHEDTEXT, ZTITLE)"
                         " VALUES (8, 1, ?, ?, 'Preview')", (n, msg.preview))


@dataclass
class WaContact:
    whatsapp_id: str
    full_name: str
    about: str | None = None
    updated: datetime | None = None


def fill_whatsapp_contacts(conn: sqlite3.Connection, contacts: Sequence[WaContact]) -> None:
    conn.execute(
        "CREATE TABLE ZWAADDRESSBOOKCONTACT (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,"
        " ZLASTUPDATED TIMESTAMP, ZABOUTTEXT VARCHAR, ZFULLNAME VARCHAR, ZGIVENNAME VARCHAR, ZPHONENUMBER VARCHAR,"
        " ZWHATSAPPID VARCHAR)"
    )
    for c in contacts:
        conn.execute(
            "INSERT INTO ZWAADDRESSBOOKCONTACT (Z_ENT, Z_OPT, ZLASTUPDATED, ZABOUTTEXT, ZFULLNAME, ZPHONENUMBER,"
            " ZWHATSAPPID) VALUES (1, 1, ?, ?, ?, ?, ?)",
            (cocoa_seconds(c.updated) if c.updated else None, c.about, c.full_name,
             "+" + c.whatsapp_id.split("@")[0], c.whatsapp_id),
        )


# -- CoreDuet interactionC ---------------------------------------------------------------------


@dataclass
class InteractionRow:
    bundle_id: str
    start: datetime
    account: str | None = None
    sender: str | None = None  # identifier of a ZCONTACTS row (created as needed)
    sender_name: str | None = None
    target_bundle_id: str | None = None
    content_url: str | None = None
    recipients: Sequence[str] = ()  # identifiers of ZCONTACTS rows the interaction went to


def fill_interactionc(conn: sqlite3.Connection, rows: Sequence[InteractionRow]) -> None:
    conn.executescript(
        """
        CREATE TABLE ZCONTACTS (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZINCOMINGRECIPIENTCOUNT
            INTEGER, ZINCOMINGSENDERCOUNT INTEGER, ZOUTGOINGRECIPIENTCOUNT INTEGER, ZPERSONIDTYPE INTEGER,
            ZTYPE INTEGER, ZCREATIONDATE TIMESTAMP, ZFIRSTINCOMINGRECIPIENTDATE TIMESTAMP,
            ZFIRSTINCOMINGSENDERDATE TIMESTAMP, ZFIRSTOUTGOINGRECIPIENTDATE TIMESTAMP,
            ZLASTINCOMINGSENDERDATE TIMESTAMP, ZLASTINCOMINGRECIPIENTDATE TIMESTAMP,
            ZLASTOUTGOINGRECIPIENTDATE TIMESTAMP, ZCUSTOMIDENTIFIER VARCHAR, ZDISPLAYNAME VARCHAR,
            ZIDENTIFIER VARCHAR, ZPERSONID VARCHAR);
        CREATE TABLE ZINTERACTIONS (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZDIRECTION INTEGER,
            ZISRESPONSE INTEGER, ZMECHANISM INTEGER, ZRECIPIENTCOUNT INTEGER, ZSENDER INTEGER,
            ZCREATIONDATE TIMESTAMP, ZENDDATE TIMESTAMP, ZSTARTDATE TIMESTAMP, ZACCOUNT VARCHAR, ZBUNDLEID VARCHAR,
            ZCONTENTURL VARCHAR, ZDERIVEDINTENTIDENTIFIER VARCHAR, ZDOMAINIDENTIFIER VARCHAR, ZGROUPNAME VARCHAR,
            ZTARGETBUNDLEID VARCHAR, ZUUID BLOB);
        CREATE TABLE Z_2INTERACTIONRECIPIENT (Z_2RECIPIENTS INTEGER, Z_3INTERACTIONRECIPIENT INTEGER,
            PRIMARY KEY (Z_2RECIPIENTS, Z_3INTERACTIONRECIPIENT));
        """
    )
    contacts: dict[str, int] = {}

    def contact(identifier: str, name: str | None, when: datetime) -> int:
        if identifier not in contacts:
            contacts[identifier] = int(conn.execute(
                "INSERT INTO ZCONTACTS (Z_ENT, Z_OPT, ZCREATIONDATE, ZFIRSTINCOMINGSENDERDATE,"
                " ZLASTINCOMINGSENDERDATE, ZDISPLAYNAME, ZIDENTIFIER) VALUES (2, 1, ?, ?, ?, ?, ?)",
                (cocoa_seconds(when), cocoa_seconds(when), cocoa_seconds(when), name, identifier),
            ).lastrowid or 0)
        return contacts[identifier]

    for row in rows:
        sender_pk = contact(row.sender, row.sender_name, row.start) if row.sender else None
        pk = conn.execute(
            "INSERT INTO ZINTERACTIONS (Z_ENT, Z_OPT, ZDIRECTION, ZMECHANISM, ZRECIPIENTCOUNT, ZSENDER, ZCREATIONDATE,"
            " ZENDDATE, ZSTARTDATE, ZACCOUNT, ZBUNDLEID, ZCONTENTURL, ZTARGETBUNDLEID)"
            " VALUES (1, 1, 1, 4, 1, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sender_pk, cocoa_seconds(row.start), cocoa_seconds(row.start), cocoa_seconds(row.start), row.account,
             row.bundle_id, row.content_url, row.target_bundle_id),
        ).lastrowid
        for recipient in row.recipients:
            conn.execute("INSERT INTO Z_2INTERACTIONRECIPIENT VALUES (?, ?)", (contact(recipient, None, row.start), pk))


# -- Shortcuts ---------------------------------------------------------------------------------


@dataclass
class ShortcutRow:
    name: str
    created: datetime
    actions: Sequence[tuple[str, dict[str, object]]]  # (identifier, parameters)
    raw_data: bytes | None = None  # ZDATA as given (to write a damaged blob)


def fill_shortcuts(conn: sqlite3.Connection, shortcuts: Sequence[ShortcutRow]) -> None:
    conn.executescript(
        """
        CREATE TABLE ZSHORTCUT (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZACTIONCOUNT INTEGER,
            ZHIDDEN INTEGER, ZCREATIONDATE TIMESTAMP, ZMODIFICATIONDATE TIMESTAMP, ZACTIONSDESCRIPTION VARCHAR,
            ZNAME VARCHAR, ZWORKFLOWID VARCHAR);
        CREATE TABLE ZSHORTCUTACTIONS (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZSHORTCUT INTEGER,
            ZDATA BLOB);
        """
    )
    for n, shortcut in enumerate(shortcuts, 1):
        conn.execute(
            "INSERT INTO ZSHORTCUT (Z_ENT, Z_OPT, ZACTIONCOUNT, ZHIDDEN, ZCREATIONDATE, ZMODIFICATIONDATE, ZNAME,"
            " ZWORKFLOWID) VALUES (1, 1, ?, 0, ?, ?, ?, ?)",
            (len(shortcut.actions), cocoa_seconds(shortcut.created), cocoa_seconds(shortcut.created), shortcut.name,
             f"WF-{n:04d}"),
        )
        data = shortcut.raw_data
        if data is None:
            data = plistlib.dumps(
                [{"WFWorkflowActionIdentifier": ident, "WFWorkflowActionParameters": params}
                 for ident, params in shortcut.actions],
                fmt=plistlib.FMT_BINARY,
            )
        conn.execute("INSERT INTO ZSHORTCUTACTIONS (Z_ENT, Z_OPT, ZSHORTCUT, ZDATA) VALUES (2, 1, ?, ?)", (n, data))
