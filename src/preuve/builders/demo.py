"""The demo: a synthetic backup of an iPhone carrying Pegasus traces, built from a seed.

Every trace planted here uses a real indicator from the Pegasus feed of
Amnesty International's Forensic Methodology Report (shipped as
``preuve/data/pegasus.stix2``, CC-BY), so the demo exercises the same code
paths as a real case. The phone, its owner and every message are invented.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from preuve.builders.ios_backup import BackupBuilder, DeviceFacts
from preuve.builders.ios_dbs import Attachment, LiveUsage, Message, Process, fill_datausage, fill_sms
from preuve.builders.ios_plists import (
    Baseline,
    IdLookup,
    global_preferences,
    idstatuscache,
    osanalytics_addaily,
)
from preuve.builders.safari import Visit, fill_history

DEMO_FEED = "2021-07-18_nso/pegasus.stix2"

BENIGN_LINKS = (
    "https://www.wikipedia.org/wiki/Geneva",
    "https://www.openstreetmap.org/#map=14/46.2/6.1",
    "https://www.rts.ch/info/",
    "https://github.com/mvt-project/mvt",
    "https://www.meteoswiss.admin.ch/",
)
BENIGN_TEXTS = (
    "See you at 7?",
    "Running late, sorry",
    "Did you read this: {link}",
    "Thanks!",
    "Call me when you can",
    "The document is here {link}",
)
BENIGN_PROCESSES = (
    ("com.apple.mobilesafari", "MobileSafari"),
    ("com.apple.MobileSMS", "MobileSMS"),
    ("net.whatsapp.WhatsApp", "WhatsApp"),
    (None, "mDNSResponder"),
    (None, "nsurlsessiond"),
    (None, "apsd"),
    ("com.apple.Maps", "Maps"),
)


def demo_facts() -> DeviceFacts:
    return DeviceFacts(device_name="Demo iPhone", product_version="16.5", build_version="20F66")


def build_demo_backup(root: Path, seed: int = 2021) -> Path:
    """Write the demo backup into `root` (created) and return it."""
    rng = random.Random(seed)
    builder = BackupBuilder(root, demo_facts())
    start = datetime(2023, 3, 1, 8, 0, tzinfo=UTC)

    messages: list[Message] = []
    for number in range(60):
        when = start + timedelta(hours=rng.randint(0, 24 * 80), minutes=rng.randint(0, 59))
        template = rng.choice(BENIGN_TEXTS)
        messages.append(
            Message(
                text=template.format(link=rng.choice(BENIGN_LINKS)),
                handle=f"+4179{rng.randint(1000000, 9999999)}",
                service=rng.choice(("iMessage", "SMS")),
                is_from_me=bool(number % 3 == 0),
                date=when,
                text_only_in_body=rng.random() < 0.5,
            )
        )
    attack = datetime(2023, 4, 14, 21, 12, 5, tzinfo=UTC)
    messages.append(
        Message(
            text="Your parcel could not be delivered. Reschedule: https://tookcheckout.com/r/8a1f2c",
            handle="+447700900123",
            service="SMS",
            date=attack,
        )
    )
    messages.append(
        Message(
            text="Important update on your case newenvelope.net/d/77c0 please read",
            handle="+447700900123",
            service="iMessage",
            date=attack + timedelta(days=3),
            text_only_in_body=True,
        )
    )
    messages.append(Message(text="", handle="bogaardlisa803@gmail.com", service="iMessage", date=attack + timedelta(days=9)))
    messages.append(
        Message(
            text="ALERT: Apple detected a targeted mercenary spyware attack against your iPhone. "
            "Apple detected that you are being targeted by a mercenary spyware attack.",
            handle="threatnotifications@apple.com",
            service="iMessage",
            date=attack + timedelta(days=40),
        )
    )
    messages.append(
        Message(
            text="",
            handle="+447700900123",
            service="iMessage",
            date=attack + timedelta(days=9, minutes=2),
            attachments=[Attachment("/private/var/tmp/com.apple.messages/3Q9F.gif", "image/gif", "3Q9F.gif", 0)],
        )
    )
    messages.sort(key=lambda m: m.date)
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda conn: fill_sms(conn, messages, ios_major=16))

    processes = [
        Process(pk=index + 1, name=name, bundle=bundle, first=start, last=start + timedelta(days=rng.randint(1, 80)))
        for index, (bundle, name) in enumerate(BENIGN_PROCESSES)
    ]
    processes.append(Process(pk=len(processes) + 1, name="fservernetd", first=attack, last=attack + timedelta(minutes=4)))
    # Rows 10-11 deleted: a gap, and usage rows still pointing at process 11.
    processes.append(Process(pk=12, name="locationd", first=start, last=attack))
    live = [LiveUsage(p.pk, p.pk, p.last, 1000.0, 0.0) for p in processes]
    live.append(LiveUsage(100, 11, attack + timedelta(minutes=1), 52_000.0, 0.0))
    builder.add_sqlite(
        "WirelessDomain", "Library/Databases/DataUsage.sqlite", lambda conn: fill_datausage(conn, processes, live)
    )

    # Safari: ordinary browsing, then a plain-http page redirected within a second to a Pegasus
    # domain (the network-injection pattern of Amnesty's methodology).
    visits = [
        Visit(url=rng.choice(BENIGN_LINKS), when=start + timedelta(days=day, hours=rng.randint(7, 22)), title="page")
        for day in range(0, 80, 3)
    ]
    visits.append(Visit(url="http://news-portal.example/article", when=attack + timedelta(days=1), title="News",
                        redirects_to=len(visits) + 1))
    visits.append(Visit(url="https://free247downloads.com/8v2q/", when=attack + timedelta(days=1, seconds=1)))
    builder.add_sqlite("AppDomain-com.apple.mobilesafari", "Library/Safari/History.db",
                       lambda conn: fill_history(conn, visits))

    # The attacker's iCloud account looked up by iMessage; implant processes in daily analytics.
    builder.add_plist("HomeDomain", "Library/Preferences/com.apple.identityservices.idstatuscache.plist",
                      idstatuscache([IdLookup("mailto:bogaardlisa803@gmail.com", when=attack + timedelta(days=9)),
                                     IdLookup("tel:+41790000001", when=start)]))
    builder.add_plist("HomeDomain", "Library/Preferences/com.apple.osanalytics.addaily.plist",
                      osanalytics_addaily([Baseline("MobileSafari", attack, 10e6, 1e6),
                                           Baseline("accountpfd", attack + timedelta(days=2), 2e5, 9e5)]))
    builder.add_plist("HomeDomain", "Library/Preferences/.GlobalPreferences.plist", global_preferences(False))
    # A file named as the Pegasus persistence plist, kept in the backup's file list.
    builder.add_file("HomeDomain", "Library/Preferences/roleaccountd.plist", b"bplist00")
    return builder.finish(manifest_wal=True)
