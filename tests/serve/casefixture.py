"""A case of three devices for the console tests: one with a known trace, one whose message only a
later feed reveals, one whose evidence holds hostile text (markup, script, bidi controls, a 10 MB
message)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from preuve.builders.ios_backup import BackupBuilder, DeviceFacts
from preuve.builders.ios_dbs import Message, fill_sms
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from preuve.store.case import CaseStore
from tests.builders import feed
from tests.builders.fleet import KNOWN_DOMAIN, LATER_DOMAIN, build_device

HOSTILE_NAME = 'Evil <script>alert("x")</script> \u202eenohp'
HOSTILE_TEXT = "<img src=x onerror=alert(1)> https://a.known-bad.example/\u202egnp.exe " + "A" * 10_000_000


def build_hostile(root: Path) -> Path:
    when = datetime(2023, 3, 1, tzinfo=UTC)
    builder = BackupBuilder(root, DeviceFacts(device_name=HOSTILE_NAME, udid="0000-0666"))
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, [Message(text=HOSTILE_TEXT, date=when)]))
    return builder.finish()


def known_feed(folder: Path) -> Path:
    return feed(folder / "known.stix2", (f"[domain-name:value='{KNOWN_DOMAIN}']", "Known Spy"))


def later_feed(folder: Path) -> Path:
    return feed(folder / "later.stix2", (f"[domain-name:value='{LATER_DOMAIN}']", "Later Spy"))


def build_case(tmp: Path, hostile: bool = False) -> Path:
    """case.db with devices d0 (known trace) and d1 (a link only the later feed knows)."""
    known = known_feed(tmp / "iocs")
    devices = [build_device(tmp / "d0", 0), build_device(tmp / "d1", 1)]
    if hostile:
        devices.append(build_hostile(tmp / "hostile"))
    case = tmp / "case.db"
    for device in devices:
        with CaseStore(case, write=True) as store:
            sink = store.sink(device)
            run_check(device, CheckOptions(iocs=(known,), only_artifacts=("sms", "backup_info")), sinks=[sink])
    return case
