"""Schema drift and damaged files for the iOS artifacts of browsers, apps and personal databases.

Each artifact gets (1) a database with only its main table and its key column (older or newer schemas drop
columns): it must yield one record with empty fields and no error; (2) a database without its table: the
artifact fails with an error naming the file; (3) bytes that are not a database: the same. The run goes on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from preuve.builders.ios_backup import BackupBuilder
from tests.builders import check
from tests.helpers import assert_one_record

# artifact, backup domain, relative path, minimal table statement, row insert
CASES = [
    ("chrome_history", "AppDomain-com.google.chrome.ios", "Library/Application Support/Google/Chrome/Default/History",
     "CREATE TABLE urls (id INTEGER PRIMARY KEY, url TEXT)", "INSERT INTO urls (url) VALUES ('https://a.example/')"),
    ("chrome_favicons", "AppDomain-com.google.chrome.ios",
     "Library/Application Support/Google/Chrome/Default/Favicons",
     "CREATE TABLE icon_mapping (page_url TEXT, icon_id INTEGER)",
     "INSERT INTO icon_mapping VALUES ('https://a.example/', 7)"),
    ("firefox_history", "AppDomainGroup-group.org.mozilla.ios.Firefox", "profile.profile/places.sqlite",
     "CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT); "
     "CREATE TABLE moz_historyvisits (id INTEGER PRIMARY KEY, place_id INTEGER)",
     "INSERT INTO moz_historyvisits (place_id) VALUES (3)"),
    ("webkit_resource_load_statistics", "AppDomain-com.apple.mobilesafari",
     "Library/WebKit/WebsiteData/ResourceLoadStatistics/observations.db",
     "CREATE TABLE ObservedDomains (domainID INTEGER PRIMARY KEY, registrableDomain TEXT)",
     "INSERT INTO ObservedDomains (registrableDomain) VALUES ('a.example')"),
    ("whatsapp_messages", "AppDomainGroup-group.net.whatsapp.WhatsApp.shared", "ChatStorage.sqlite",
     "CREATE TABLE ZWAMESSAGE (Z_PK INTEGER PRIMARY KEY)", "INSERT INTO ZWAMESSAGE DEFAULT VALUES"),
    ("whatsapp_contacts", "AppDomainGroup-group.net.whatsapp.WhatsApp.shared", "ContactsV2.sqlite",
     "CREATE TABLE ZWAADDRESSBOOKCONTACT (Z_PK INTEGER PRIMARY KEY)",
     "INSERT INTO ZWAADDRESSBOOKCONTACT DEFAULT VALUES"),
    ("interactionc", "HomeDomain", "Library/CoreDuet/People/interactionC.db",
     "CREATE TABLE ZINTERACTIONS (Z_PK INTEGER PRIMARY KEY)", "INSERT INTO ZINTERACTIONS DEFAULT VALUES"),
    ("calls", "HomeDomain", "Library/CallHistoryDB/CallHistory.storedata",
     "CREATE TABLE ZCALLRECORD (Z_PK INTEGER PRIMARY KEY)", "INSERT INTO ZCALLRECORD DEFAULT VALUES"),
    ("contacts", "HomeDomain", "Library/AddressBook/AddressBook.sqlitedb",
     "CREATE TABLE ABPerson (ROWID INTEGER PRIMARY KEY)", "INSERT INTO ABPerson DEFAULT VALUES"),
    ("calendar", "HomeDomain", "Library/Calendar/Calendar.sqlitedb",
     "CREATE TABLE CalendarItem (ROWID INTEGER PRIMARY KEY)", "INSERT INTO CalendarItem DEFAULT VALUES"),
    ("shortcuts", "HomeDomain", "Library/Shortcuts/Shortcuts.sqlite",
     "CREATE TABLE ZSHORTCUT (Z_PK INTEGER PRIMARY KEY)", "INSERT INTO ZSHORTCUT DEFAULT VALUES"),
    ("firefox_favicons", "AppDomainGroup-group.org.mozilla.ios.Firefox", "profile.profile/favicons.sqlite",
     "CREATE TABLE moz_pages_w_icons (id INTEGER PRIMARY KEY, page_url TEXT); "
     "CREATE TABLE moz_icons_to_pages (page_id INTEGER, icon_id INTEGER); "
     "CREATE TABLE moz_icons (id INTEGER PRIMARY KEY, icon_url TEXT)",
     "INSERT INTO moz_pages_w_icons (page_url) VALUES ('https://a.example/'); "
     "INSERT INTO moz_icons_to_pages VALUES (1, 1)"),
    ("safari_favicons", "HomeDomain", "Library/Image Cache/Favicons/Favicons.db",
     "CREATE TABLE page_url (uuid TEXT, url TEXT)", "INSERT INTO page_url VALUES ('u', 'https://a.example/')"),
    ("cache_db", "HomeDomain", "Library/Caches/com.apple.example/Cache.db",
     "CREATE TABLE cfurl_cache_response (request_key TEXT)",
     "INSERT INTO cfurl_cache_response VALUES ('https://a.example/')"),
]


@pytest.mark.parametrize(("name", "domain", "relative", "ddl", "insert"), CASES, ids=[c[0] for c in CASES])
def test_minimal_schema_gives_a_record(tmp_path: Path, name: str, domain: str, relative: str, ddl: str,
                                       insert: str) -> None:
    assert_one_record(tmp_path / "b", name, domain, relative, ddl, insert)


@pytest.mark.parametrize(("name", "domain", "relative", "ddl", "insert"), CASES, ids=[c[0] for c in CASES])
def test_missing_table_and_garbage_fail_the_artifact_only(tmp_path: Path, name: str, domain: str, relative: str,
                                                          ddl: str, insert: str) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite(domain, relative, lambda c: c.execute("CREATE TABLE unrelated (x)"))
    builder.add_sqlite("HomeDomain", "Library/Calendar/Calendar.sqlitedb" if name != "calendar"
                       else "Library/Shortcuts/Shortcuts.sqlite",
                       lambda c: (c.executescript("CREATE TABLE CalendarItem (ROWID INTEGER PRIMARY KEY);"
                                                  "CREATE TABLE ZSHORTCUT (Z_PK INTEGER PRIMARY KEY)"),
                                  c.execute("INSERT INTO CalendarItem DEFAULT VALUES"),
                                  c.execute("INSERT INTO ZSHORTCUT DEFAULT VALUES")))
    other = "calendar" if name != "calendar" else "shortcuts"
    result = check(builder.finish(), only=(name, other))
    reports = {a.name: a for a in result.artifacts}
    assert reports[name].status.value == "failed"
    assert len(reports[name].errors) == 1 and relative in reports[name].errors[0]
    assert (reports[other].status.value, reports[other].records) == ("ok", 1)
    assert result.incomplete

    garbage = BackupBuilder(tmp_path / "g")
    garbage.add_file(domain, relative, b"SQLite format 3\x00" + b"\xff" * 200)
    result = check(garbage.finish(), only=(name,))
    report = next(a for a in result.artifacts if a.name == name)
    assert report.status.value == "failed" and relative in report.errors[0]
