from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import orjson

from preuve.artifacts.ios.sms import SmsMessage
from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.ios_dbs import Message, fill_sms
from preuve.model import Locator
from preuve.report.outdir import OutputFolder, locator_text, record_line
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from tests.builders import snapshot


def _message(locator: Locator) -> SmsMessage:
    return SmsMessage(
        locator=locator, guid="g", service="SMS", handle="+41", is_from_me=False, date=None, date_read=None,
        text="hi", text_source="text", links=("https://a.example/",), account=None, balloon_bundle_id=None,
    )


def test_locator_text_names_every_set_field_in_order() -> None:
    full = Locator("/p", "ab", table="message", rowid=7, key_path="k", line=3, offset=9)
    assert locator_text(_message(full)) == "table=message;rowid=7;key_path=k;line=3;offset=9"
    assert locator_text(_message(Locator("/p", "ab", line=0))) == "line=0"
    assert locator_text(_message(Locator("/p", "ab"))) == ""


def test_record_line_with_a_cached_prefix_is_the_same_line() -> None:
    record = _message(Locator("/p", "ab", table="message", rowid=1))
    line = record_line(record)
    assert line == record_line(record, b'{"record_type":"ios:sms:message",')
    assert line.endswith(b"\n")
    decoded = orjson.loads(line)
    assert decoded["record_type"] == "ios:sms:message"
    assert decoded["links"] == ["https://a.example/"]
    assert decoded["locator"] == {
        "device_path": "/p", "sha256": "ab", "table": "message", "rowid": 1, "key_path": None, "line": None,
        "offset": None,
    }


def test_timeline_rows_are_what_csv_writer_writes(tmp_path: Path) -> None:
    """Plain rows take the fast path, rows with commas, quotes or line breaks go through csv.writer:
    the file must be byte for byte what csv.writer alone would have written."""
    when = datetime(2023, 5, 1, 9, 30, tzinfo=UTC)
    messages = [
        Message(text="plain text", handle="+41790000001", date=when),
        Message(text="a, comma", handle="+41790000002", date=when, date_read=when),
        Message(text='a "quote"', handle="+41790000003", date=when),
        Message(text="two\nlines\r\nhere", handle="+41790000004", date=when),
        Message(text="=1+1 formula", handle="+41790000005", date=when),
    ]
    builder = BackupBuilder(tmp_path / "backup")
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, messages, ios_major=16))
    root = builder.finish()
    before = snapshot(root)
    out = tmp_path / "out"
    sink = OutputFolder(out, root)
    try:
        run_check(root, CheckOptions(only_artifacts=("sms",)), sinks=[sink])
    finally:
        sink.close()
    assert snapshot(root) == before
    written = (out / "timeline.csv").read_bytes().decode("utf-8")
    rows = list(csv.reader(io.StringIO(written, newline="")))
    assert len(rows) == 1 + 6  # header, one row per message, and one more for the message read
    assert [r[2] for r in rows[1:]] == [
        "iMessage from +41790000001: plain text",
        "iMessage from +41790000002: a, comma",
        "iMessage from +41790000002: a, comma",
        'iMessage from +41790000003: a "quote"',
        "iMessage from +41790000004: two lines\r here",
        "iMessage from +41790000005: =1+1 formula",
    ]
    reference = io.StringIO(newline="")
    csv.writer(reference).writerows(rows)
    assert written == reference.getvalue()


def test_timeline_jsonl_lines_are_timesketch_line(tmp_path: Path) -> None:
    """OutputFolder builds each Timesketch line from per-record pieces: the bytes must be those of
    timesketch_line, whatever the text holds (quotes, escapes, non-ASCII, control characters)."""
    from preuve.model import Finding, Severity, Timestamp
    from preuve.report.outdir import timesketch_line

    class _Art:
        name = "sms"

    texts = ['plain', 'a "quote" \\ back', "é 漢字 😀", "ctl \x00\x1f\x7f \u2028", "two\nlines"]
    folder = OutputFolder(tmp_path / "out", tmp_path / "evidence")
    folder.artifact_started(_Art())  # type: ignore[arg-type]
    expected = b""
    stamps = [datetime(2023, 5, 1, 9, 30, tzinfo=UTC), datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)]
    for number, text in enumerate(texts, 1):
        record = SmsMessage(
            locator=Locator(f"/p/{text}", "ab", table="message", rowid=number), guid="g", service=text,
            handle=text, is_from_me=bool(number % 2), date=stamps[0], date_read=stamps[1], text=text,
            text_source="text", links=(), account=None, balloon_bundle_id=None,
        )
        findings = [Finding(Severity.HIGH, "sms", "x", record.locator)] if number == 2 else []
        folder.record(_Art(), record, findings, tuple(record.timestamps()))  # type: ignore[arg-type]
        severity = "high" if number == 2 else ""
        for stamp in record.timestamps():
            assert isinstance(stamp, Timestamp)
            expected += timesketch_line(record, stamp, "sms", severity, locator_text(record))
    folder.artifact_finished(_Art(), None)  # type: ignore[arg-type]
    folder.close()
    assert (tmp_path / "out" / "timeline.jsonl").read_bytes() == expected


def test_timeline_cells_that_start_like_a_formula_are_escaped(tmp_path: Path) -> None:
    """A message (its service here) or a device path starting with = + - @ is written with a leading
    quote, with or without characters that also need CSV quoting; other cells are left as they are."""

    class _Art:
        name = "sms"

    when = datetime(2023, 5, 1, 9, 30, tzinfo=UTC)
    cases = [("=1+2", "/p"), ("@SUM(A1)", "/p"), ("-3, minus", "/p"), ("+x", '=p"q'), ("SMS", "@/p")]
    folder = OutputFolder(tmp_path / "out", tmp_path / "evidence")
    folder.artifact_started(_Art())  # type: ignore[arg-type]
    for number, (service, path) in enumerate(cases, 1):
        record = SmsMessage(
            locator=Locator(path, "ab", table="message", rowid=number), guid="g", service=service, handle="h",
            is_from_me=False, date=when, date_read=None, text="t", text_source="text", links=(), account=None,
            balloon_bundle_id=None,
        )
        folder.record(_Art(), record, [], tuple(record.timestamps()))  # type: ignore[arg-type]
    folder.artifact_finished(_Art(), None)  # type: ignore[arg-type]
    folder.close()
    rows = list(csv.reader(io.StringIO((tmp_path / "out" / "timeline.csv").read_text(encoding="utf-8"), newline="")))
    assert [(r[2], r[6], r[7]) for r in rows[1:]] == [
        ("'=1+2 from h: t", "/p", "table=message;rowid=1"),
        ("'@SUM(A1) from h: t", "/p", "table=message;rowid=2"),
        ("'-3, minus from h: t", "/p", "table=message;rowid=3"),
        ("'+x from h: t", "'=p\"q", "table=message;rowid=4"),
        ("SMS from h: t", "'@/p", "table=message;rowid=5"),
    ]


def test_a_batch_of_records_is_written_as_each_record_alone_would_be(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The output folder and the report write a batch of records at once (write_records): the files
    are byte for byte those of writing each record alone (write_record, the base's loop), with records
    that have timestamps and records that have none in the same batches, and both timelines."""
    from preuve.report.formats.html import HtmlReport
    from preuve.report.outdir import _RecordWriter
    from preuve.run.sinks import RenderingSink

    when = datetime(2023, 5, 1, 9, 30, tzinfo=UTC)
    unset = datetime(2001, 1, 1, tzinfo=UTC)  # Cocoa time 0: no timestamp
    messages = [
        Message(text=f"m{i}, text", handle=f"+4179000{i:04d}", date=when if i % 3 else unset,
                date_read=when if i % 5 == 0 else None)
        for i in range(1200)
    ]
    builder = BackupBuilder(tmp_path / "backup")
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, messages, ios_major=16))
    root = builder.finish()

    def run(out: Path) -> dict[str, bytes]:
        sink = OutputFolder(out, root, timeline=("csv", "jsonl"))
        report = HtmlReport(out / "report.html")
        try:
            run_check(root, CheckOptions(only_artifacts=("sms",), jobs=1), sinks=[sink, report])
        finally:
            sink.close()
        days = dict(report._days)  # noqa: SLF001 - what the report counted
        files = {p.name: p.read_bytes() for p in sorted(out.rglob("*.jsonl")) + sorted(out.rglob("*.csv"))}
        return {**files, "days": repr(sorted(days.items())).encode()}

    batched = run(tmp_path / "batched")
    monkeypatch.setattr(_RecordWriter, "write_records", RenderingSink.write_records)
    monkeypatch.setattr(HtmlReport, "write_records", RenderingSink.write_records)
    one_by_one = run(tmp_path / "one")
    assert set(batched) == {"sms.jsonl", "timeline.jsonl", "timeline.csv", "days"}
    assert batched == one_by_one
    assert batched["sms.jsonl"].count(b"\n") == 1200
    assert batched["timeline.csv"].count(b"\n") == 1 + 800 + 240
