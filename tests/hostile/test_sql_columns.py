"""An artifact reads only the columns it uses: a table exposed as a view whose other columns return
enormous values (beyond the per-value bound, so SQLite stops the query) costs nothing, and the record
held in the columns the artifact needs is still read (through `preuve check`'s library path)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_one_record

# Built by the query itself (printf and || only: functions a hardened connection allows), 80 MB: above
# the 64 MB bound on any value, so selecting the column stops the query with "string or blob too big".
HUGE = "printf('%.*c', 40000000, 'x') || printf('%.*c', 40000000, 'x')"


def _view(table: str, key: str, columns: dict[str, str], huge: str) -> str:
    """The table renamed, then a view under its name: its own columns, and `huge` enormous."""
    ddl = ", ".join(f"{name} {kind}" for name, kind in {key: "INTEGER PRIMARY KEY", **columns}.items())
    plain = ", ".join(f"{name} AS {name}" for name in (key, *columns))
    return (f"CREATE TABLE {table}_real ({ddl}); "  # noqa: S608 - fixture DDL
            f"CREATE VIEW {table} AS SELECT {plain}, {HUGE} AS {huge} FROM {table}_real")


# artifact, backup domain, relative path, schema (a view whose unneeded column is enormous), rows
CASES = [
    ("contacts", "HomeDomain", "Library/AddressBook/AddressBook.sqlitedb",
     _view("ABPerson", "ROWID", {"First": "TEXT", "Last": "TEXT"}, "Note"),
     "INSERT INTO ABPerson_real (First, Last) VALUES ('Ana', 'Spy')"),
    ("calendar", "HomeDomain", "Library/Calendar/Calendar.sqlitedb",
     _view("CalendarItem", "ROWID", {"summary": "TEXT", "url": "TEXT"}, "status"),
     "INSERT INTO CalendarItem_real (summary, url) VALUES ('meet', 'https://a.example/')"),
    ("interactionc", "HomeDomain", "Library/CoreDuet/People/interactionC.db",
     _view("ZINTERACTIONS", "Z_PK", {"ZBUNDLEID": "TEXT", "ZSTARTDATE": "REAL"}, "ZDERIVEDINTENTIDENTIFIER"),
     "INSERT INTO ZINTERACTIONS_real (ZBUNDLEID, ZSTARTDATE) VALUES ('com.example.app', 700000000)"),
    ("shortcuts", "HomeDomain", "Library/Shortcuts/Shortcuts.sqlite",
     _view("ZSHORTCUT", "Z_PK", {"ZNAME": "TEXT"}, "ZACTIONCOUNT"),
     "INSERT INTO ZSHORTCUT_real (ZNAME) VALUES ('Open a link')"),
    ("firefox_favicons", "AppDomainGroup-group.org.mozilla.ios.Firefox", "profile.profile/favicons.sqlite",
     "CREATE TABLE moz_pages_w_icons (id INTEGER PRIMARY KEY, page_url TEXT); "  # noqa: S608 - fixture DDL
     "CREATE TABLE moz_icons (id INTEGER PRIMARY KEY, icon_url TEXT); "
     "CREATE TABLE moz_icons_to_pages_real (page_id INTEGER, icon_id INTEGER); "
     f"CREATE VIEW moz_icons_to_pages AS SELECT page_id, icon_id, {HUGE} AS expire_at "
     "FROM moz_icons_to_pages_real",
     "INSERT INTO moz_pages_w_icons (page_url) VALUES ('https://a.example/'); "
     "INSERT INTO moz_icons (icon_url) VALUES ('https://a.example/i.ico'); "
     "INSERT INTO moz_icons_to_pages_real VALUES (1, 1)"),
    ("sms", "HomeDomain", "Library/SMS/sms.db",
     _view("message", "ROWID", {"guid": "TEXT", "text": "TEXT", "handle_id": "INTEGER"}, "destination_caller_id"),
     "INSERT INTO message_real (guid, text, handle_id) VALUES ('g1', 'see https://a.example/x', 0)"),
    ("whatsapp_messages", "AppDomainGroup-group.net.whatsapp.WhatsApp.shared", "ChatStorage.sqlite",
     _view("ZWAMESSAGE", "Z_PK", {"ZTEXT": "TEXT", "ZGROUPMEMBER": "INTEGER"}, "ZCHATSESSION"),
     "INSERT INTO ZWAMESSAGE_real (ZTEXT) VALUES ('see https://a.example/x')"),
    ("whatsapp_messages", "AppDomainGroup-group.net.whatsapp.WhatsApp.shared", "ChatStorage.sqlite",
     _view("ZWAMESSAGE", "Z_PK", {"ZTEXT": "TEXT", "ZCHATSESSION": "INTEGER"}, "ZGROUPMEMBER"),
     "INSERT INTO ZWAMESSAGE_real (ZTEXT) VALUES ('see https://a.example/x')"),
    ("calls", "HomeDomain", "Library/CallHistoryDB/CallHistory.storedata",
     _view("ZCALLRECORD", "Z_PK", {"ZADDRESS": "TEXT", "ZDATE": "REAL"}, "ZFACE_TIME_DATA"),
     "INSERT INTO ZCALLRECORD_real (ZADDRESS, ZDATE) VALUES ('+41790000001', 700000000)"),
    ("datausage", "WirelessDomain", "Library/Databases/DataUsage.sqlite",
     _view("ZPROCESS", "Z_PK", {"ZPROCNAME": "TEXT", "ZBUNDLENAME": "TEXT"}, "ZIDENTIFIER"),
     "INSERT INTO ZPROCESS_real (ZPROCNAME) VALUES ('bh')"),
    ("whatsapp_contacts", "AppDomainGroup-group.net.whatsapp.WhatsApp.shared", "ContactsV2.sqlite",
     _view("ZWAADDRESSBOOKCONTACT", "Z_PK", {"ZFULLNAME": "TEXT"}, "ZPICTUREPATH"),
     "INSERT INTO ZWAADDRESSBOOKCONTACT_real (ZFULLNAME) VALUES ('Ana')"),
    ("safari_browser_state", "HomeDomain", "Library/Safari/BrowserState.db",
     _view("tabs", "id", {"url": "TEXT", "title": "TEXT"}, "display_mode"),
     "INSERT INTO tabs_real (url, title) VALUES ('https://a.example/', 'A')"),
]


@pytest.mark.parametrize(("name", "domain", "relative", "ddl", "insert"), CASES,
                         ids=[f"{c[0]}-{n}" for n, c in enumerate(CASES)])
def test_enormous_unneeded_column_costs_nothing(tmp_path: Path, name: str, domain: str, relative: str, ddl: str,
                                                insert: str) -> None:
    assert_one_record(tmp_path / "b", name, domain, relative, ddl, insert)
