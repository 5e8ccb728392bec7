from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.ios.whatsapp_contacts import WhatsAppContact
from preuve.artifacts.ios.whatsapp_messages import WhatsAppMessage
from preuve.builders.ios_backup import BackupBuilder
from preuve.model import Kind, Observable, Severity
from tests.builders import check, feed, records, snapshot
from tests.builders.ios_apps import (
    WHATSAPP_GROUP,
    WaContact,
    WaMessage,
    fill_whatsapp_chats,
    fill_whatsapp_contacts,
)

WHEN = datetime(2023, 5, 1, 9, 30, tzinfo=UTC)
CHAT = "41790000001@s.whatsapp.net"
GROUP_DIR = f"/private/var/mobile/Containers/Shared/AppGroup/{WHATSAPP_GROUP}"
MEDIA = "https://mmg.whatsapp.net/v/t62.7118-24/123.enc"


def _backup(tmp_path: Path) -> Path:
    builder = BackupBuilder(tmp_path / "b")
    domain = f"AppDomainGroup-{WHATSAPP_GROUP}"
    messages = [
        WaMessage("Read this: https://news.evil.example.net/a?b=1.", date=WHEN),
        WaMessage(None, date=WHEN, media_url=MEDIA),
        WaMessage("ok", is_from_me=True, date=WHEN, preview="https://preview.example.org/x"),
        WaMessage("in the group", chat="1203630@g.us", member="41790000005@s.whatsapp.net", date=WHEN),
    ]
    builder.add_sqlite(domain, "ChatStorage.sqlite", lambda c: fill_whatsapp_chats(c, messages))
    contacts = [WaContact(CHAT, "Alice", about="see evil.example.net/profile", updated=WHEN), WaContact("1@s", "Bob")]
    builder.add_sqlite(domain, "ContactsV2.sqlite", lambda c: fill_whatsapp_contacts(c, contacts))
    return builder.finish()


def test_whatsapp_messages(tmp_path: Path) -> None:
    root = _backup(tmp_path)
    before = snapshot(root)
    got = records(root, "whatsapp_messages")
    assert snapshot(root) == before
    assert all(isinstance(r, WhatsAppMessage) for r in got)
    assert [(r.locator.rowid, r.chat, r.from_jid, r.is_from_me, r.date, r.text, r.media_urls, r.links) for r in got] == [
        (1, CHAT, CHAT, False, WHEN, "Read this: https://news.evil.example.net/a?b=1.", (),
         ("https://news.evil.example.net/a?b=1",)),
        (2, CHAT, CHAT, False, WHEN, None, (MEDIA,), ()),
        (3, CHAT, None, True, WHEN, "ok", (), ("https://preview.example.org/x",)),
        (4, "1203630@g.us", "1203630@g.us", False, WHEN, "in the group", (), ()),
    ]
    assert [r.group_member for r in got] == [None, None, None, "41790000005@s.whatsapp.net"]
    assert got[3].summary() == "WhatsApp from 41790000005@s.whatsapp.net: in the group"
    assert got[0].locator.device_path == f"{GROUP_DIR}/ChatStorage.sqlite"
    assert got[0].locator.table == "ZWAMESSAGE"
    assert got[0].stanza_id == "3EB00000000000000001"
    assert list(got[1].observables()) == [Observable(Kind.URL, MEDIA)]


def test_whatsapp_contacts(tmp_path: Path) -> None:
    got = records(_backup(tmp_path), "whatsapp_contacts")
    assert got == [
        WhatsAppContact(locator=got[0].locator, whatsapp_id=CHAT, lid=None, phone_number="+41790000001",
                        full_name="Alice", business_name=None, about="see evil.example.net/profile",
                        last_updated=WHEN, links=("evil.example.net/profile",)),
        WhatsAppContact(locator=got[1].locator, whatsapp_id="1@s", lid=None, phone_number="+1", full_name="Bob",
                        business_name=None, about=None, last_updated=None, links=()),
    ]
    assert (got[1].locator.table, got[1].locator.rowid) == ("ZWAADDRESSBOOKCONTACT", 2)


def test_whatsapp_findings(tmp_path: Path) -> None:
    stix = feed(tmp_path / "i" / "w.stix2", ("[domain-name:value='evil.example.net']", "Predator"))
    result = check(_backup(tmp_path), stix, only=("whatsapp_messages", "whatsapp_contacts"))
    got = [(f.artifact, f.severity, f.locator.table, f.locator.rowid, f.observable.value)  # type: ignore[union-attr]
           for f in result.findings]
    assert got == [
        ("whatsapp_contacts", Severity.HIGH, "ZWAADDRESSBOOKCONTACT", 1, "evil.example.net/profile"),
        ("whatsapp_messages", Severity.HIGH, "ZWAMESSAGE", 1, "https://news.evil.example.net/a?b=1"),
    ]
