"""Record.first_moment is the moment of the record's first timestamp: the report counts records by
day from it. Record classes that give it from their fields (without their `timestamps` generator)
are held to `timestamps` here, on records of every field value their types allow."""

from __future__ import annotations

import dataclasses
import typing
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from preuve.artifacts.records import record_classes
from preuve.model import Locator, Record

_LOCATOR = Locator("/private/var/mobile/x.db", "ab" * 32, "t", 1)
_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-11, minutes=-30))])
# Moments that compare: aware in several zones, or naive (as some records keep local times), and
# often equal (a Manifest file's three times are often one).
_MOMENTS = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=_ZONES),
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)),
    st.just(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
)


def _overriding() -> list[type[Record]]:
    return sorted(
        (cls for cls in record_classes().values() if cls.first_moment is not Record.first_moment),
        key=lambda cls: cls.record_type,
    )


def _values(hint: object) -> st.SearchStrategy[object]:
    """Any value a field of this type may hold (datetimes from _MOMENTS)."""
    args = typing.get_args(hint)
    if hint is datetime or datetime in args:
        return _MOMENTS
    if type(None) in args:
        return st.one_of(st.none(), *(_values(arg) for arg in args if arg is not type(None)))
    if typing.get_origin(hint) is tuple:
        return st.lists(_values(args[0]), max_size=3).map(tuple)
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers(-(2**63), 2**63 - 1)
    if hint is float:
        return st.floats(allow_nan=False)
    if hint is str:
        return st.text(max_size=20)
    raise AssertionError(f"no values for a field of type {hint!r}")


def _records(cls: type[Record]) -> st.SearchStrategy[Record]:
    hints = typing.get_type_hints(cls)
    fields = {field.name: _values(hints[field.name]) for field in dataclasses.fields(cls) if field.name != "locator"}
    return st.fixed_dictionaries(fields).map(lambda values: cls(locator=_LOCATOR, **values))


def test_the_classes_that_give_it_directly() -> None:
    assert [cls.record_type for cls in _overriding()] == [
        "ios:datausage:process", "ios:manifest:file", "ios:safari_history:visit", "ios:sms:message",
    ]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_it_is_the_first_timestamps_moment(data: st.DataObject) -> None:
    for cls in _overriding():
        record = data.draw(_records(cls))
        first = next(record.timestamps(), None)
        assert record.first_moment() is (None if first is None else first.when)


def test_the_default_reads_the_timestamps() -> None:
    from preuve.artifacts.ios.safari_history import SafariHistoryDeletion

    when = datetime(2024, 5, 6, 7, 8, tzinfo=UTC)
    deleted = SafariHistoryDeletion(locator=_LOCATOR, url=None, start_time=None, end_time=when)
    assert deleted.first_moment() is when
    assert SafariHistoryDeletion(locator=_LOCATOR, url=None, start_time=None, end_time=None).first_moment() is None
