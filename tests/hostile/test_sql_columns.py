"""An artifact reads only the columns it uses: a table with a column computed when read (a generated
column) whose values are enormous (beyond the per-value bound, so SQLite would stop the query, and a
hardened connection refuses to read such a column at all) costs nothing, and the record held in the
columns the artifact needs is still read (through `preuve check`'s library path)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_one_record

# Made by SQLite as the column is read, 80 MB: above the 64 MB bound on any value.
HUGE = "printf('%.*c', 40000000, 'x') || printf('%.*c', 40000000, 'x')"


def _computed(table: str, key: str, columns: dict[str, str], huge: str) -> str:
    """The table with its own columns, and `huge`, computed when read, enormous."""
    ddl = ", ".join(f"{name} {kind}" for name, kind in {key: "INTEGER PRIMARY KEY", **columns}.items())
    return f"CREATE TABLE {table} ({ddl}, {huge} GENERATED ALWAYS AS ({HUGE}) VIRTUAL)"


# artifact, backup domain, relative path, schema (a table whose unneeded column is enormous), rows
CASES = [
    ("contacts", "HomeDomain", "Library/AddressBook/AddressBook.sqlitedb",
     _computed("ABPerson", "ROWID", {"First": "TEXT", "Last": "TEXT"}, "Note"),
     "INSERT INTO ABPerson (First, Last) VALUES ('Ana', 'Spy')"),
    ("calendar", "HomeDomain", "Library/Calendar/Calendar.sqlitedb",
     _computed("CalendarItem", "ROWID", {"summary": "TEXT", "url": "TEXT"}, "status"),
     "INSERT INTO CalendarItem (summary, url) VALUES ('meet', 'https://a.example/')"),
    ("interactionc", "HomeDomain", "Library/CoreDuet/People/interactionC.db",
     _computed("ZINTERACTIONS", "Z_PK", {"ZBUNDLEID": "TEXT", "ZSTARTDATE": "REAL"}, "ZDERIVEDINTENTIDENTIFIER"),
     "INSERT INTO ZINTERACTIONS (ZBUNDLEID, ZSTARTDATE) VALUES ('com.example.app', 700000000)"),
    ("shortcuts", "HomeDomain", "Library/Shortcuts/Shortcuts.sqlite",
     _computed("ZSHORTCUT", "Z_PK", {"ZNAME": "TEXT"}, "ZACTIONCOUNT"),
     "INSERT INTO ZSHORTCUT (ZNAME) VALUES ('Open a link')"),
    ("firefox_favicons", "AppDomainGroup-group.org.mozilla.ios.Firefox", "profile.profile/favicons.sqlite",
     "CREATE TABLE moz_pages_w_icons (id INTEGER PRIMARY KEY, page_url TEXT); "  # noqa: S608 - fixture DDL
     "CREATE TABLE moz_icons (id INTEGER PRIMARY KEY, icon_url TEXT); "
     f"CREATE TABLE moz_icons_to_pages (page_id INTEGER, icon_id INTEGER, expire_at GENERATED ALWAYS AS ({HUGE}))",
     "INSERT INTO moz_pages_w_icons (page_url) VALUES ('https://a.example/'); "
     "INSERT INTO moz_icons (icon_url) VALUES ('https://a.example/i.ico'); "
     "INSERT INTO moz_icons_to_pages VALUES (1, 1)"),
    ("sms", "HomeDomain", "Library/SMS/sms.db",
     _computed("message", "ROWID", {"guid": "TEXT", "text": "TEXT", "handle_id": "INTEGER"}, "destination_caller_id"),
     "INSERT INTO message (guid, text, handle_id) VALUES ('g1', 'see https://a.example/x', 0)"),
    ("whatsapp_messages", "AppDomainGroup-group.net.whatsapp.WhatsApp.shared", "ChatStorage.sqlite",
     _computed("ZWAMESSAGE", "Z_PK", {"ZTEXT": "TEXT", "ZGROUPMEMBER": "INTEGER"}, "ZCHATSESSION"),
     "INSERT INTO ZWAMESSAGE (ZTEXT) VALUES ('see https://a.example/x')"),
    ("whatsapp_messages", "AppDomainGroup-group.net.whatsapp.WhatsApp.shared", "ChatStorage.sqlite",
     _computed("ZWAMESSAGE", "Z_PK", {"ZTEXT": "TEXT", "ZCHATSESSION": "INTEGER"}, "ZGROUPMEMBER"),
     "INSERT INTO ZWAMESSAGE (ZTEXT) VALUES ('see https://a.example/x')"),
    ("calls", "HomeDomain", "Library/CallHistoryDB/CallHistory.storedata",
     _computed("ZCALLRECORD", "Z_PK", {"ZADDRESS": "TEXT", "ZDATE": "REAL"}, "ZFACE_TIME_DATA"),
     "INSERT INTO ZCALLRECORD (ZADDRESS, ZDATE) VALUES ('+41790000001', 700000000)"),
    ("datausage", "WirelessDomain", "Library/Databases/DataUsage.sqlite",
     _computed("ZPROCESS", "Z_PK", {"ZPROCNAME": "TEXT", "ZBUNDLENAME": "TEXT"}, "ZIDENTIFIER"),
     "INSERT INTO ZPROCESS (ZPROCNAME) VALUES ('bh')"),
    ("whatsapp_contacts", "AppDomainGroup-group.net.whatsapp.WhatsApp.shared", "ContactsV2.sqlite",
     _computed("ZWAADDRESSBOOKCONTACT", "Z_PK", {"ZFULLNAME": "TEXT"}, "ZPICTUREPATH"),
     "INSERT INTO ZWAADDRESSBOOKCONTACT (ZFULLNAME) VALUES ('Ana')"),
    ("safari_browser_state", "HomeDomain", "Library/Safari/BrowserState.db",
     _computed("tabs", "id", {"url": "TEXT", "title": "TEXT"}, "display_mode"),
     "INSERT INTO tabs (url, title) VALUES ('https://a.example/', 'A')"),
]


@pytest.mark.parametrize(("name", "domain", "relative", "ddl", "insert"), CASES,
                         ids=[f"{c[0]}-{n}" for n, c in enumerate(CASES)])
def test_enormous_unneeded_column_costs_nothing(tmp_path: Path, name: str, domain: str, relative: str, ddl: str,
                                                insert: str) -> None:
    assert_one_record(tmp_path / "b", name, domain, relative, ddl, insert)
