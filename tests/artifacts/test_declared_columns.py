"""Every SQLite artifact survives the loss of each column it declares, the same way.

Each artifact's database is written by the fixture builders (which do not
import preuve's parsers), then one column at a time is removed (SQLite's
``ALTER TABLE … DROP COLUMN``, or a rebuilt table when SQLite refuses, as for
a key or an indexed column). An optional column (and any column of a table
that is only joined) must cost nothing but the field it fills: the same
records, that field None or empty, no error and the exact warnings. A required
column of the table the records follow must give exactly one error naming the
file, the table and the column, and no crash.
"""

from __future__ import annotations

import dataclasses
import plistlib
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from preuve.artifacts.base import ArtifactContext, SqliteArtifact, discover_artifacts
from preuve.builders import ios_dbs, ios_plists, safari
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits
from preuve.evidence.sources.folder import folder_fs
from preuve.evidence.sqlite import only_rows
from preuve.model import Record
from tests.builders import ios_apps, ios_browsers, ios_personal

T1 = datetime(2023, 3, 1, 10, 0, tzinfo=UTC)
T2 = datetime(2023, 3, 1, 10, 0, 2, tzinfo=UTC)
APP = "/private/var/mobile/Containers/Data/Application/0A1B2C3D-0000-4000-8000-000000000001"
GROUP = "/private/var/mobile/Containers/Shared/AppGroup/0A1B2C3D-0000-4000-8000-000000000002"


def _analytics(conn: sqlite3.Connection) -> None:
    """Keychains/Analytics: events with a Cocoa time and a binary plist of strings."""
    for table in ("hard_failures", "soft_failures", "all_events"):
        conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, timestamp REAL, data BLOB)")
        data = plistlib.dumps({"process": "/usr/libexec/bh", "domain": "evil.example.net"}, fmt=plistlib.FMT_BINARY)
        conn.execute(f"INSERT INTO {table} (timestamp, data) VALUES (?, ?)", (700_000_000.0, data))  # noqa: S608


def _datausage(conn: sqlite3.Connection) -> None:
    ios_dbs.fill_datausage(conn, [ios_dbs.Process(1, "bh", None, wifi_in=5.0), ios_dbs.Process(4, "Safari/x",
                                                                                                 "com.apple.mobilesafari")],
                           [ios_dbs.LiveUsage(1, 1, T1, wifi_in=5.0, wwan_in=1.0),
                            ios_dbs.LiveUsage(2, 9, T2, wifi_in=3.0, wwan_in=2.0)])


def _sms(conn: sqlite3.Connection) -> None:
    ios_dbs.fill_sms(conn, [
        ios_dbs.Message(text="photo", date=T1, attachments=[
            ios_dbs.Attachment("~/Library/SMS/Attachments/ab/01/IMG_1.jpeg", "image/jpeg", "IMG_1.jpeg", 12, T1)]),
        ios_dbs.Message(text="x", handle="attacker@example.org", is_from_me=True, date=T2, attachments=[
            ios_dbs.Attachment("/private/var/tmp/x.gif", "image/gif", "x.gif", 99, T2)]),
    ])


@dataclass(frozen=True)
class Case:
    artifact: str
    device_path: str
    fill: Callable[[sqlite3.Connection], object]


CASES = [
    Case("analytics", "/private/var/Keychains/Analytics/security.db", _analytics),
    Case("cache_db", "/private/var/mobile/Library/Caches/com.apple.example/Cache.db",
         lambda c: ios_browsers.fill_cache_db(c, [("https://a.example/x", T1), ("https://b.example/", T2)])),
    Case("calendar", "/private/var/mobile/Library/Calendar/Calendar.sqlitedb", lambda c: ios_personal.fill_calendar(c, [
        ios_personal.Event("Invite", T1, T2, T2, "see https://evil.example.net/i", "spy@example.net", "Spy",
                           attendees=["victim@example.org", "other@example.org"]),
        ios_personal.Event("Mine", T1, T2, T1, organizer="me@example.org", organizer_is_self=True),
    ])),
    Case("calls", "/private/var/mobile/Library/CallHistoryDB/CallHistory.storedata",
         lambda c: ios_personal.fill_call_history(c, [ios_personal.CallRow("+41790000001", T1, 12.0, True),
                                                      ios_personal.CallRow("a@example.org", T2, 3.0)])),
    Case("chrome_favicons", f"{APP}/{ios_browsers.CHROME_DIR}/Favicons", lambda c: ios_browsers.fill_chrome_favicons(
        c, [ios_browsers.Favicon("https://a.example/", "https://a.example/i.ico", T1)])),
    Case("chrome_history", f"{APP}/{ios_browsers.CHROME_DIR}/History", lambda c: ios_browsers.fill_chrome_history(
        c, [ios_browsers.Visit("https://a.example/", T1, "A"), ios_browsers.Visit("https://b.example/", T2, "B", 1)],
        unvisited=["https://left.example.org/"])),
    Case("contacts", "/private/var/mobile/Library/AddressBook/AddressBook.sqlitedb",
         lambda c: ios_personal.fill_address_book(c, [
             ios_personal.Person("Ana", "Spy", ["+41790000001"], ["ana@example.org"], ["https://a.example/"]),
             ios_personal.Person("Bo")])),
    Case("datausage", "/private/var/wireless/Library/Databases/DataUsage.sqlite", _datausage),
    Case("netusage", "/private/var/networkd/netusage.sqlite", _datausage),
    Case("firefox_favicons", f"{GROUP}/profile.profile/favicons.sqlite", lambda c: ios_browsers.fill_firefox_favicons(
        c, [ios_browsers.Favicon("https://a.example/", "https://a.example/i.ico", T1)])),
    Case("firefox_favicons", f"{GROUP}/profile.profile/browser.db", lambda c: ios_browsers.fill_firefox_browser_db(
        c, [ios_browsers.Visit("https://a.example/", T1, "A")],
        [ios_browsers.Favicon("https://a.example/", "https://a.example/i.ico", T1)])),
    Case("firefox_history", f"{GROUP}/profile.profile/places.db", lambda c: ios_browsers.fill_firefox_places(
        c, [ios_browsers.Visit("https://a.example/", T1, "A"), ios_browsers.Visit("https://b.example/", T2, "B", 1)])),
    Case("firefox_history", f"{GROUP}/profile.profile/browser.db", lambda c: ios_browsers.fill_firefox_browser_db(
        c, [ios_browsers.Visit("https://a.example/", T1, "A"), ios_browsers.Visit("https://b.example/", T2, "B")])),
    Case("interactionc", "/private/var/mobile/Library/CoreDuet/People/interactionC.db",
         lambda c: ios_apps.fill_interactionc(c, [ios_apps.InteractionRow(
             "com.apple.MobileSMS", T1, "e:me@example.org", "spy@example.net", "Spy", "com.apple.x",
             "https://a.example/", ["r1@example.org", "r2@example.org"])])),
    Case("safari_browser_state", "/private/var/mobile/Library/Safari/BrowserState.db",
         lambda c: safari.fill_browser_state(c, [safari.Tab("https://a.example/", "A", T1, ["https://b.example/"]),
                                                 safari.Tab("https://c.example/", private=True)])),
    Case("safari_favicons", "/private/var/mobile/Library/Image Cache/Favicons/Favicons.db",
         lambda c: ios_browsers.fill_safari_favicons(
             c, [ios_browsers.Favicon("https://a.example/", "https://a.example/i.ico", T1)],
             [ios_browsers.Favicon("https://r.example/", "https://r.example/i.ico", T2)])),
    Case("safari_history", "/private/var/mobile/Library/Safari/History.db", lambda c: safari.fill_history(c, [
        safari.Visit("http://a.example.com/", T1, "A", redirects_to=2), safari.Visit("https://evil.example.net/", T2),
    ], deletions=[safari.Deletion(T1, T2, "https://gone.example/")])),
    Case("shortcuts", "/private/var/mobile/Library/Shortcuts/Shortcuts.sqlite", lambda c: ios_apps.fill_shortcuts(c, [
        ios_apps.ShortcutRow("Open", T1, [("is.workflow.actions.openurl", {"WFInput": "https://a.example/"})])])),
    Case("sms_attachments", "/private/var/mobile/Library/SMS/sms.db", _sms),
    Case("tcc", "/private/var/mobile/Library/TCC/TCC.db", lambda c: ios_plists.fill_tcc(c, [
        ios_plists.TccEntry("kTCCServiceMicrophone", "com.example.app"),
        ios_plists.TccEntry("kTCCServiceCamera", "/private/var/tmp/x", client_type=1, allowed=False)], 16)),
    Case("tcc", "/private/var/mobile/Library/TCC/TCC.db", lambda c: ios_plists.fill_tcc(c, [
        ios_plists.TccEntry("kTCCServiceMicrophone", "com.example.app")], 13)),
    Case("webkit_resource_load_statistics", f"{APP}/Library/WebKit/WebsiteData/ResourceLoadStatistics/observations.db",
         lambda c: ios_browsers.fill_observations(c, [ios_browsers.Observed("a.example", T1, T2),
                                                      ios_browsers.Observed("evil.example.net", T2)],
                                                  [("a.example", "evil.example.net")])),
    Case("whatsapp_contacts", f"{GROUP}/ContactsV2.sqlite", lambda c: ios_apps.fill_whatsapp_contacts(
        c, [ios_apps.WaContact("41790000001@s.whatsapp.net", "Ana", "see https://a.example/", T1)])),
    Case("whatsapp_messages", f"{GROUP}/ChatStorage.sqlite", lambda c: ios_apps.fill_whatsapp_chats(c, [
        ios_apps.WaMessage("see https://a.example/", media_url="https://m.example/x.jpg", preview="https://p.example/"),
        ios_apps.WaMessage("hi", chat="123-456@g.us", member="41790000002@s.whatsapp.net", is_from_me=True),
    ])),
]
ARTIFACTS = {a.name: a for a in discover_artifacts("ios") if isinstance(a, SqliteArtifact)}

# The table whose rows the records follow, per artifact (a missing required column of it is an error).
MAIN = {
    "analytics": None, "cache_db": "cfurl_cache_response", "calendar": "CalendarItem", "calls": "ZCALLRECORD",
    "chrome_favicons": "icon_mapping", "chrome_history": "urls", "contacts": "ABPerson", "datausage": "ZPROCESS",
    "firefox_favicons": None, "firefox_history": None, "interactionc": "ZINTERACTIONS",
    "safari_browser_state": "tabs", "safari_favicons": None, "safari_history": "history_visits",
    "netusage": "ZPROCESS", "shortcuts": "ZSHORTCUT", "sms_attachments": None, "tcc": "access",
    "webkit_resource_load_statistics": "ObservedDomains", "whatsapp_contacts": "ZWAADDRESSBOOKCONTACT",
    "whatsapp_messages": "ZWAMESSAGE",
}


def _build(folder: Path, case: Case) -> Path:
    file = folder / case.device_path.lstrip("/")
    file.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(file)
    case.fill(conn)
    conn.commit()
    conn.close()
    return file


def _drop(file: Path, table: str, column: str) -> None:
    """Remove one column: ALTER TABLE DROP COLUMN, or the table rebuilt without it (rowids kept)."""
    conn = sqlite3.connect(file)
    try:
        conn.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    except sqlite3.OperationalError:
        (ddl,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()
        rowid = "WITHOUT ROWID" not in ddl.upper()  # such a table keeps no rowid to carry over
        info = [r for r in conn.execute("SELECT name, type, pk FROM pragma_table_info(?)", (table,)) if r[0] != column]
        defs = ", ".join(f'"{n}" {t}' + (" PRIMARY KEY" if pk == 1 and t.upper() == "INTEGER" else "")
                         for n, t, pk in info)
        names = ", ".join(f'"{n}"' for n, _t, _pk in info)
        keep = ("rowid, " if rowid else "") + names
        conn.executescript(f'CREATE TABLE "rebuilt" ({defs}); '  # noqa: S608 - fixture DDL
                           f'INSERT INTO "rebuilt" ({keep}) SELECT {keep} FROM "{table}"; '
                           f'DROP TABLE "{table}"; ALTER TABLE "rebuilt" RENAME TO "{table}";')
    conn.commit()
    conn.close()


def _run(folder: Path, case: Case) -> tuple[list[Record], list[str], list[str]]:
    ctx = ArtifactContext(fs=folder_fs(folder, HashLedger(), Limits(), folder), limits=Limits())
    got = list(ARTIFACTS[case.artifact].parse(ctx, case.device_path))
    return got, ctx.errors, ctx.warnings


DERIVED = ("SafariRedirect", "ProcessIdGap", "DomainRedirect", "OrphanedUsage")


def _where(record: Record) -> tuple[object, ...]:
    """A record's place in its file (the file's hash differs once a column is gone)."""
    return record.locator.device_path, record.locator.table, record.locator.rowid, record.locator.key_path


def _fields(record: Record) -> dict[str, object]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record) if f.name != "locator"}


def _columns(case: Case) -> Iterator[tuple[str, str, bool]]:
    """(table, column, whether its loss is an error) of every declared column the fixture holds."""
    seen: set[tuple[str, str]] = set()
    conn = sqlite3.connect(":memory:")
    case.fill(conn)
    for table in ARTIFACTS[case.artifact].tables:
        present = {r[0] for r in conn.execute("SELECT name FROM pragma_table_info(?)", (table.name,))}
        for column in table.columns:
            if column in present and (table.name, column) not in seen:
                seen.add((table.name, column))
                yield table.name, column, _fatal(case, table.name, column) is not None
    conn.close()


def _id(item: tuple[Case, str, str, bool]) -> str:
    case, table, column, _ = item
    return f"{case.artifact}:{case.device_path.rsplit('/', 1)[-1]}:{table}.{column}"


# Fields that take another value when a column goes, because another column stands in for it: a
# fallback time, or the organiser listed among the attendees once the organiser cannot be resolved.
OTHER_FIELD_CHANGES = {
    ("whatsapp_messages", "ZWAMESSAGE", "ZMESSAGEDATE"): {"date"},
    ("calendar", "CalendarItem", "organizer_id"): {"attendees"},
    ("calendar", "Identity", "ROWID"): {"attendees"},
    ("calendar", "Identity", "address"): {"attendees"},
    ("calendar", "Participant", "identity_id"): {"attendees"},
}
# Exact warnings when a table the artifact says it needs for part of a record loses a column.
_NO_ITEMS = "/private/var/mobile/Library/Safari/History.db: no 'history_items' table: visits are listed without their URL"
_NO_JOIN = ("/private/var/mobile/Library/SMS/sms.db: no message_attachment_join table: attachments are listed without "
            "their message")
WARNINGS = {
    ("safari_history", "history_items", "id"): [_NO_ITEMS],
    ("safari_history", "history_items", "url"): [_NO_ITEMS],
    ("sms_attachments", "message_attachment_join", "message_id"): [_NO_JOIN],
    ("sms_attachments", "message_attachment_join", "attachment_id"): [_NO_JOIN],
}
# Without its visits table, every row of Chrome's urls table is a URL no visit refers to.
ADDED = {("chrome_history", "visits"): "urls"}
# A Firefox browser.db whose history (or icons) moved to the places store: nothing to read, nothing lost.
SILENT = {("firefox_history", "browser.db", "history"), ("firefox_history", "browser.db", "visits"),
          ("firefox_favicons", "browser.db", "favicons"), ("firefox_favicons", "browser.db", "favicon_sites")}
# The schemas a Firefox database may follow: losing one that the file follows is one error naming them all.
_PLACES = "'moz_historyvisits' (id, place_id); 'moz_places' (id, url); 'visits' (id, siteID); 'history' (id, url)"
_ICONS = ("'moz_pages_w_icons' (id, page_url); 'moz_icons_to_pages' (page_id, icon_id); 'moz_icons' (id, icon_url); "
          "'favicon_sites' (id, siteID, faviconID); 'favicons' (id, url)")
LAYOUTS = {
    ("firefox_history", "places.db"): ({"moz_historyvisits", "moz_places"}, f"none of the tables {_PLACES}"),
    ("firefox_favicons", "favicons.sqlite"): ({"moz_pages_w_icons", "moz_icons_to_pages", "moz_icons"},
                                              f"none of the tables {_ICONS}"),
    ("safari_favicons", "Favicons.db"): (set(), ""),
}


def _fatal(case: Case, table: str, column: str) -> str | None:
    """The one error losing this column gives, or None when it must cost only its field."""
    declared = next(t for t in ARTIFACTS[case.artifact].tables if t.name == table)
    if column not in declared.required:
        return None
    if table == MAIN[case.artifact]:
        return f"{case.device_path}: table {table!r} has no column {column!r}"
    layout, message = LAYOUTS.get((case.artifact, case.device_path.rsplit("/", 1)[-1]), (set(), ""))
    return f"{case.device_path}: {message}" if table in layout else None


COLUMN_CASES = [(case, table, column, fatal) for case in CASES for table, column, fatal in _columns(case)]


@pytest.mark.parametrize("item", [c for c in COLUMN_CASES if not c[3]], ids=_id)
def test_losing_an_optional_column_costs_only_its_field(tmp_path: Path, item: tuple[Case, str, str, bool]) -> None:
    case, table, column, _ = item
    before = tmp_path / "before"
    after = tmp_path / "after"
    _build(before, case)
    _drop(_build(after, case), table, column)
    expected, errors, warnings = _run(before, case)
    assert (errors, warnings) == ([], [])
    got, errors, warnings = _run(after, case)
    assert errors == []
    assert warnings == WARNINGS.get((case.artifact, table, column), [])
    # The same records where they were; only those of a table read when present (its own required
    # column lost) or derived from the lost column (a redirect) may go.
    kept = {_where(r): r for r in got}
    added = {w for w in kept if w[1] == ADDED.get((case.artifact, table))}
    assert set(kept) - added <= {_where(r) for r in expected}
    lost = [r for r in expected if _where(r) not in kept]
    optional_table = any(t.name == table and column in t.required for t in ARTIFACTS[case.artifact].tables)
    silent = (case.artifact, case.device_path.rsplit("/", 1)[-1], table) in SILENT
    assert all(r.locator.table == table and optional_table or silent or type(r).__name__ in DERIVED
               for r in lost), lost
    allowed = OTHER_FIELD_CHANGES.get((case.artifact, table, column), set())
    for old in expected:
        if _where(old) not in kept:
            continue
        new = _fields(kept[_where(old)])
        for name, value in _fields(old).items():
            if new[name] == value or name in allowed or new[name] in (None, (), False):
                continue
            # What remains of a value made of several columns: a name without its first name, the
            # links of a message without those of its text.
            if isinstance(value, str) and isinstance(new[name], str):
                assert new[name] in value, (name, value, new[name])
            else:
                assert isinstance(value, tuple) and set(new[name]) < set(value), (name, value, new[name])


@pytest.mark.parametrize("item", [c for c in COLUMN_CASES if c[3]], ids=_id)
def test_losing_a_required_column_is_one_error_naming_it(tmp_path: Path, item: tuple[Case, str, str, bool]) -> None:
    case, table, column, _ = item
    _drop(_build(tmp_path, case), table, column)
    got, errors, warnings = _run(tmp_path, case)
    assert errors == [_fatal(case, table, column)]
    assert (got, warnings) == ([], [])


def test_every_declaring_artifact_has_a_case() -> None:
    declaring = {name for name, a in ARTIFACTS.items() if a.tables}
    assert declaring == {c.artifact for c in CASES} == set(MAIN)


@pytest.mark.parametrize(("artifact_name", "table"), [("calls", "ZCALLRECORD"), ("whatsapp_messages", "ZWAMESSAGE")])
def test_reading_in_row_ranges_gives_each_record_once(tmp_path: Path, artifact_name: str, table: str) -> None:
    """The engine's row range (evidence.sqlite.only_rows, never the artifact) over a declared artifact
    whose records are one row each of one table: the parts, in order, are the whole. (Not DataUsage: a
    gap in its process ids is seen across two rows; not Safari history: its deletions are another
    query. Neither states a `record_table`, so the run never reads them in parts.)"""
    case = next(c for c in CASES if c.artifact == artifact_name)
    _build(tmp_path, case)
    whole, errors, warnings = _run(tmp_path, case)
    parts: list[Record] = []
    for low, high in ((None, 2), (2, 3), (3, None)):
        fs = folder_fs(tmp_path, HashLedger(), Limits(), tmp_path)
        ctx = ArtifactContext(fs=fs, limits=Limits())
        artifact = ARTIFACTS[artifact_name]
        assert isinstance(artifact, SqliteArtifact)
        with fs.sqlite(case.device_path) as conn:
            only_rows(conn, table, low, high)  # as the run reads a part: the table shadowed by its range
            parts += artifact.parse_db(ctx, conn, case.device_path, fs.sha256(case.device_path))
        assert (ctx.errors, ctx.warnings) == ([], [])
    assert (errors, warnings) == ([], [])
    assert parts == whole and len(whole) > 1
