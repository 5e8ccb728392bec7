"""Indicator lifecycle: valid_until and the publication date carried into findings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.ios_dbs import Message, fill_sms
from preuve.detect.match import lifecycle, parse_stix_time
from preuve.model import Severity
from tests.builders import check, snapshot
from tests.builders.stix import IndicatorSpec, write_bundle


def test_parse_stix_time() -> None:
    assert parse_stix_time("2023-05-01T00:00:00.000Z") == datetime(2023, 5, 1, tzinfo=UTC)
    assert parse_stix_time("2023-05-01T02:00:00+02:00") == datetime(2023, 5, 1, tzinfo=UTC)
    assert parse_stix_time("not a date") is None
    assert parse_stix_time(None) is None


def test_lifecycle_rules() -> None:
    until = "2023-05-01T00:00:00Z"
    before = datetime(2023, 4, 1, tzinfo=UTC)
    after = datetime(2023, 6, 1, tzinfo=UTC)
    assert lifecycle(Severity.HIGH, None, after) == (Severity.HIGH, "")
    severity, note = lifecycle(Severity.HIGH, until, before)
    assert severity == Severity.HIGH and "valid until 2023-05-01" in note
    severity, note = lifecycle(Severity.HIGH, until, after)
    assert severity == Severity.MEDIUM and "expired on 2023-05-01" in note and "2023-06-01" in note
    assert lifecycle(Severity.CRITICAL, until, None)[0] == Severity.HIGH
    assert lifecycle(Severity.LOW, until, None)[0] == Severity.LOW
    assert lifecycle(Severity.HIGH, "garbage", after) == (Severity.HIGH, "")


def test_expired_indicator_on_old_and_new_traces(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    messages = [
        Message(text="old https://gone.example/a", date=datetime(2023, 4, 1, 10, tzinfo=UTC)),
        Message(text="new https://gone.example/b", date=datetime(2023, 7, 1, 10, tzinfo=UTC)),
    ]
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, messages))
    root = builder.finish()
    before = snapshot(root)
    feed = write_bundle(
        tmp_path / "f.stix2",
        [IndicatorSpec("[domain-name:value='gone.example']", "Spy", valid_from="2023-01-02T00:00:00Z",
                       valid_until="2023-05-01T00:00:00Z")],
    )
    result = check(root, feed, heuristics=False)
    assert snapshot(root) == before
    found = sorted(result.findings, key=lambda f: f.locator.rowid or 0)
    assert [f.severity for f in found] == [Severity.HIGH, Severity.MEDIUM]
    assert all(f.indicator is not None and f.indicator.published == "2023-01-02T00:00:00Z" for f in found)
    assert all(f.indicator is not None and f.indicator.valid_until == "2023-05-01T00:00:00Z" for f in found)
    assert "dates from before" in found[0].explanation
    assert "expired on 2023-05-01" in found[1].explanation
