"""Time the larger iOS artifacts on big built backups: python3 benchmarks/bench_ios_artifacts.py [N]."""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "src"), str(Path(__file__).resolve().parents[1])]

from tests.builders import check, feed  # noqa: E402
from tests.builders.ios_apps import WHATSAPP_GROUP, WaMessage, fill_whatsapp_chats  # noqa: E402
from tests.builders.ios_browsers import CHROME_BUNDLE, CHROME_DIR, Visit, fill_chrome_history  # noqa: E402
from tests.builders.ios_personal import Event, fill_calendar  # noqa: E402

from preuve.builders.ios_backup import BackupBuilder  # noqa: E402


def main(n: int) -> None:
    start = datetime(2023, 1, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        builder = BackupBuilder(Path(tmp) / "b")
        visits = [Visit(f"https://site{i % 5000}.example.com/p{i}", start + timedelta(seconds=i),
                        from_visit=i if i % 3 == 0 and i else None) for i in range(n)]
        builder.add_sqlite(f"AppDomain-{CHROME_BUNDLE}", f"{CHROME_DIR}/History", lambda c: fill_chrome_history(c, visits))
        messages = [WaMessage(f"msg {i} https://l{i % 700}.example.org/x", date=start,
                              media_url=f"https://mmg.whatsapp.net/{i}" if i % 10 == 0 else None) for i in range(n)]
        builder.add_sqlite(f"AppDomainGroup-{WHATSAPP_GROUP}", "ChatStorage.sqlite",
                           lambda c: fill_whatsapp_chats(c, messages))
        events = [Event(f"E{i}", start, start, start + timedelta(days=1), organizer=f"o{i}@example.org",
                        attendees=["owner@example.org", f"a{i}@example.org"]) for i in range(n // 10)]
        builder.add_sqlite("HomeDomain", "Library/Calendar/Calendar.sqlitedb", lambda c: fill_calendar(c, events))
        root = builder.finish()
        stix = feed(Path(tmp) / "i" / "f.stix2", ("[domain-name:value='l7.example.org']", "Test"))
        for name in ("chrome_history", "whatsapp_messages", "calendar"):
            began = time.perf_counter()
            result = check(root, stix, only=(name,))
            report = next(a for a in result.artifacts if a.name == name)
            print(f"{name}: {report.records} records, {len(result.findings)} findings, "
                  f"{time.perf_counter() - began:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
