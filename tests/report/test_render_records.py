"""A sink's `render_records` (a batch rendered at once, as the engine renders) gives exactly the values
its `render_record` gives one record at a time: the output folder with every timeline choice, the
report and the bundle, on records of several types, with and without findings and timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from preuve.artifacts.ios.manifest import BackupFile
from preuve.artifacts.ios.sms import SmsMessage
from preuve.model import DeviceFacts, Finding, Locator, Record, Severity, Timestamp
from preuve.report.formats.bundle import BundleSink
from preuve.report.formats.html import HtmlReport
from preuve.report.outdir import OutputFolder

_WHEN = datetime(2023, 5, 1, 23, 30, tzinfo=UTC)


class _Artifact:
    name = "mixed"
    title = "Mixed"


def _records() -> list[Record]:
    out: list[Record] = []
    for n in range(12):
        where = Locator("/private/var/x.db", "ab" * 32, "t", n)
        if n % 3 == 0:
            out.append(BackupFile(
                locator=where, file_id="f" * 40, domain="HomeDomain", relative_path=f"Library/a_{n}.example.com/x",
                device_path=f"/private/var/mobile/Library/a_{n}", flags=1, kind="file", size=n, mode="100644",
                modified=_WHEN + timedelta(days=n), changed=None, birth=None if n % 2 else _WHEN,
                link_target=None, web_domains=("example.com",) if n == 3 else (),
            ))
        elif n % 3 == 1:
            out.append(SmsMessage(
                locator=where, guid=f"g{n}", service="SMS", handle="+41", is_from_me=False,
                date=_WHEN.astimezone(timezone(timedelta(hours=2))) if n == 4 else _WHEN.replace(tzinfo=None),
                date_read=None, text='a, "quoted"\nline' if n == 7 else "hi", text_source="text",
                links=(), account=None, balloon_bundle_id=None,
            ))
        else:
            out.append(DeviceFacts(locator=where, platform="ios", name=f"Phone {n}", timezone="Europe/Paris"))
    return out


def _findings(records: list[Record]) -> list[list[Finding]]:
    return [
        [Finding(Severity(n % 5), "mixed", f"seen {n}", record.locator)] * (n % 2) if n % 4 else []
        for n, record in enumerate(records)
    ]


def _stamps(records: list[Record], read: int | None) -> list[tuple[Timestamp, ...]]:
    every = [tuple(record.timestamps()) for record in records]
    return every if read is None else [stamps[:read] for stamps in every]


def _same(sink: Any, read: int | None) -> None:
    records = _records()
    found, stamps = _findings(records), _stamps(records, read)
    batch = sink.render_records(_Artifact(), records, found, stamps)
    one_by_one = [sink.render_record(_Artifact(), r, f, s) for r, f, s in zip(records, found, stamps, strict=True)]
    assert batch == one_by_one
    assert len(batch) == len(records)


@pytest.mark.parametrize("timeline", [(), ("csv",), ("jsonl",), ("csv", "jsonl")])
def test_the_output_folder_renders_a_batch_as_one_by_one(tmp_path: Path, timeline: tuple[str, ...]) -> None:
    (tmp_path / "evidence").mkdir()
    folder = OutputFolder(tmp_path / "out", tmp_path / "evidence", timeline)
    try:
        _same(folder, folder.timestamps_read)
    finally:
        folder.close()


def test_the_report_and_the_bundle_render_a_batch_as_one_by_one(tmp_path: Path) -> None:
    report = HtmlReport(tmp_path / "report.html")
    _same(report, report.timestamps_read)
    _same(BundleSink(tmp_path), 0)


def test_the_report_reads_each_records_day_itself(tmp_path: Path) -> None:
    """The report asks the run for no timestamp: it reads each record's first moment itself, by its
    UTC day (the local time of a message two hours ahead of UTC is the day before)."""
    report = HtmlReport(tmp_path / "report.html")
    assert report.timestamps_read == 0
    records = _records()
    days = report.render_records(_Artifact(), records, _findings(records), [()] * len(records))
    day = _WHEN.date().toordinal()
    facts = [record for record in records if isinstance(record, DeviceFacts)]
    assert days == [
        day, day, (None, facts[0]),  # (a file born at _WHEN; a message)
        day + 3, day, (None, facts[1]),  # (a file without birth, modified three days on; a message at +02:00)
        day, day, (None, facts[2]),
        day + 9, day, (None, facts[3]),
    ]
