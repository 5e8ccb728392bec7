"""A dozen small backups for fleet and case tests: some carry a 'known' trace, some a trace only
a later feed reveals, some are clean, one is broken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from preuve.builders.ios_backup import BackupBuilder, DeviceFacts
from preuve.builders.ios_dbs import Message, Process, fill_datausage, fill_sms

KNOWN_DOMAIN = "known-bad.example"
LATER_DOMAIN = "published-later.example"
LATER_PROCESS = "latespyd"


def build_device(root: Path, number: int) -> Path:
    when = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(days=number)
    builder = BackupBuilder(root, DeviceFacts(device_name=f"Phone {number}", udid=f"0000-{number:04d}"))
    messages = [Message(text=f"hello {number}", date=when)]
    if number % 3 == 0:
        messages.append(Message(text=f"https://x{number}.{KNOWN_DOMAIN}/a", date=when))
    if number % 4 == 1:
        messages.append(Message(text=f"see {LATER_DOMAIN}/p{number}", date=when, text_only_in_body=True))
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, messages))
    processes = [Process(1, "apsd", None, when, when)]
    if number == 5:
        processes.append(Process(2, LATER_PROCESS, None, when, when))
    builder.add_sqlite("WirelessDomain", "Library/Databases/DataUsage.sqlite",
                       lambda c: fill_datausage(c, processes))
    return builder.finish()


def build_fleet(folder: Path, count: int = 12) -> list[Path]:
    paths = [build_device(folder / f"device{n:02d}", n) for n in range(count)]
    broken = folder / "device99"
    BackupBuilder(broken).finish()
    (broken / "Manifest.db").rename(broken / "Manifest.mbdb")  # (iOS 9's format: the run fails, the others go on)
    paths.append(broken)
    return paths
