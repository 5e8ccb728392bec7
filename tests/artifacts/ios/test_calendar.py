from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.ios.calendar import CalendarEvent
from preuve.builders.ios_backup import BackupBuilder
from preuve.model import Kind, Observable, Severity
from tests.builders import check, feed
from tests.builders.ios_personal import Event, fill_calendar
from tests.helpers import run_artifact, sqlite_bytes

PAST = datetime(2021, 3, 1, 9, 0, tzinfo=UTC)
PAST_END = datetime(2021, 3, 1, 10, 0, tzinfo=UTC)
RECEIVED = datetime(2022, 8, 10, 3, 0, tzinfo=UTC)
FUTURE = datetime(2022, 9, 1, 9, 0, tzinfo=UTC)

EVENTS = [
    Event("Dentist", FUTURE, FUTURE, RECEIVED, description="see https://dentist.example.org/a"),
    Event("Meeting", PAST, PAST_END, RECEIVED, description="Notes", organizer="op1@icloud.example",
          attendees=["owner@example.org"]),
    Event("Lunch", PAST, PAST_END, RECEIVED, organizer="op2@icloud.example", attendees=["owner@example.org"]),
    Event("Review", FUTURE, FUTURE, RECEIVED, organizer="boss@example.org", organizer_name="Boss",
          attendees=["owner@example.org", "colleague@example.org"]),
    Event("Meeting", PAST, PAST_END, RECEIVED, description="Notes", organizer="owner@example.org",
          organizer_is_self=True),
]


def _backup(tmp_path: Path) -> Path:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/Calendar/Calendar.sqlitedb", lambda c: fill_calendar(c, EVENTS))
    return builder.finish()


def test_calendar_records(tmp_path: Path) -> None:
    run = run_artifact("calendar", {
        "/private/var/mobile/Library/Calendar/Calendar.sqlitedb": sqlite_bytes(tmp_path / "db", lambda c: fill_calendar(c, EVENTS)),
    }, tmp_path)
    assert (run.warnings, run.errors) == ([], [])
    got = run.records
    assert all(isinstance(r, CalendarEvent) for r in got)
    assert [(r.locator.rowid, r.summary_text, r.organizer, r.organizer_name, r.attendees, r.is_invitation,
             r.backdated) for r in got] == [
        (1, "Dentist", None, None, (), False, False),
        (2, "Meeting", "op1@icloud.example", None, ("owner@example.org",), True, True),
        (3, "Lunch", "op2@icloud.example", None, ("owner@example.org",), True, True),
        (4, "Review", "boss@example.org", "Boss", ("owner@example.org", "colleague@example.org"), True, False),
        (5, "Meeting", "owner@example.org", None, (), False, True),  # organised by the owner: not an invitation
    ]
    assert {r.calendar for r in got} == {"Home"}
    assert (got[1].start, got[1].end, got[1].created, got[1].uuid) == (PAST, PAST_END, RECEIVED, "EVENT-0002")
    assert list(got[0].observables()) == [Observable(Kind.URL, "https://dentist.example.org/a")]
    assert list(got[1].observables()) == [
        Observable(Kind.EMAIL, "op1@icloud.example"), Observable(Kind.EMAIL, "owner@example.org"),
    ]


def test_calendar_quadream_rule_and_indicator(tmp_path: Path) -> None:
    stix = feed(tmp_path / "i" / "q.stix2", ("[email-addr:value='op2@icloud.example']", "KingSpawn"))
    result = check(_backup(tmp_path), stix, only=("calendar",))
    got = [(f.severity, f.rule or f.indicator.malware, f.locator.rowid)  # type: ignore[union-attr]
           for f in result.findings]
    # MVT flags 'Meeting'/'Notes' whoever is recorded as the organiser (row 5 is recorded as the owner's own
    # event): the organiser field is not what the trace rests on.
    assert got == [
        (Severity.HIGH, "calendar_quadream_invitation", 2),
        (Severity.HIGH, "KingSpawn", 3),
        (Severity.HIGH, "calendar_quadream_invitation", 5),
        (Severity.MEDIUM, "calendar_quadream_invitation", 3),
    ]
    assert result.findings[2].explanation == (
        "A calendar event is titled 'Meeting' with the notes 'Notes', the form of the invitations QuaDream's "
        "ENDOFDAYS exploit sent. Keep the phone's data and seek expert help."
    )
