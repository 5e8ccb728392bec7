from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from preuve.artifacts.timeconv import from_cocoa, from_unix
from preuve.model.jsonio import to_iso


def test_to_iso_is_utc_with_z_and_microseconds_only_when_present() -> None:
    assert to_iso(None) is None
    assert to_iso(datetime(2023, 5, 1, 9, 30, tzinfo=UTC)) == "2023-05-01T09:30:00Z"
    assert to_iso(datetime(2023, 5, 1, 9, 30, 0, 120, tzinfo=UTC)) == "2023-05-01T09:30:00.000120Z"
    plus2 = timezone(timedelta(hours=2))
    assert to_iso(datetime(2023, 5, 1, 11, 30, tzinfo=plus2)) == "2023-05-01T09:30:00Z"


def test_to_iso_matches_the_strftime_form_it_replaced() -> None:
    for when in (datetime(1990, 1, 1, tzinfo=UTC), datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)):
        assert to_iso(when) == when.strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


def test_to_iso_is_isoformat_for_every_year_and_microsecond_form() -> None:
    """to_iso goes through orjson: it must give isoformat's text (years 1-9999, with and without
    microseconds, naive taken through astimezone as before)."""
    for year in range(1, 10000, 7):
        for micro in (0, 1, 999999):
            when = datetime(year, 12 if year % 2 else 1, 28, 23, 59, 58, micro, tzinfo=UTC)
            assert to_iso(when) == when.isoformat()[:-6] + "Z"
    naive = datetime(2023, 5, 1, 9, 30)
    assert to_iso(naive) == naive.astimezone(UTC).isoformat()[:-6] + "Z"


def test_from_cocoa_fast_path_types() -> None:
    assert from_cocoa(0) is None
    assert from_cocoa(0.0) is None
    assert from_cocoa(float("nan")) is None
    assert from_cocoa(True) is None
    for unset in (None, False, "", b"", -0.0):
        assert from_cocoa(unset) is None
    assert from_cocoa(" 704714400 ") == datetime(2023, 5, 2, 10, 0, tzinfo=UTC)
    assert from_cocoa(704_714_400) == datetime(2023, 5, 2, 10, 0, tzinfo=UTC)
    assert from_cocoa(704_714_400_000_000_000) == datetime(2023, 5, 2, 10, 0, tzinfo=UTC)
    assert from_cocoa(704_714_400.5) == datetime(2023, 5, 2, 10, 0, 0, 500000, tzinfo=UTC)
    assert from_cocoa("704714400") == datetime(2023, 5, 2, 10, 0, tzinfo=UTC)
    assert from_cocoa(10**30) is None


def test_from_cocoa_bounds_are_unchanged_by_the_fast_path() -> None:
    cocoa = datetime(2001, 1, 1, tzinfo=UTC)
    low = (datetime(1990, 1, 1, tzinfo=UTC) - cocoa).total_seconds()
    high = (datetime(2100, 1, 1, tzinfo=UTC) - cocoa).total_seconds()
    assert from_cocoa(low) == datetime(1990, 1, 1, tzinfo=UTC)
    assert from_cocoa(low - 0.5) is None
    assert from_cocoa(high - 0.5) == datetime(2099, 12, 31, 23, 59, 59, 500000, tzinfo=UTC)
    assert from_cocoa(high) is None
    assert from_cocoa(high - 1e-7) is None  # rounds to the first microsecond of 2100


def _cocoa_general(value: int) -> datetime | None:
    """from_cocoa's general path for an int, written out: what the nanosecond fast path must give."""
    number = float(value)
    if number == 0:
        return None
    if abs(number) > 1e11:
        number /= 1e9
    try:
        when = datetime(2001, 1, 1, tzinfo=UTC) + timedelta(seconds=number)
    except OverflowError:
        return None
    return when if datetime(1990, 1, 1, tzinfo=UTC) <= when < datetime(2100, 1, 1, tzinfo=UTC) else None


@given(st.one_of(
    st.integers(min_value=-(10**19), max_value=10**19),
    st.integers(min_value=10**11 - 10**10, max_value=2 * 10**11),  # around the seconds/nanoseconds cut
    st.integers(min_value=3_124_137_590 * 10**9, max_value=3_124_137_610 * 10**9),  # around 2100
    st.integers(min_value=690_000_000 * 10**9, max_value=900_000_000 * 10**9),  # iOS 11 to 18 messages
))
@settings(max_examples=3000, deadline=None)
def test_nanosecond_fast_path_is_the_general_conversion(value: int) -> None:
    assert from_cocoa(value) == _cocoa_general(value)


def _unix_general(value: float) -> datetime | None:
    """from_unix for a number, written out (seconds, or milliseconds or microseconds by magnitude):
    what its fast path for seconds must give, to the microsecond."""
    number = float(value)
    if not math.isfinite(number) or number == 0:
        return None
    if abs(number) > 1e14:
        number /= 1e6
    elif abs(number) > 1e11:
        number /= 1e3
    try:
        when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=number)
    except OverflowError:
        return None
    return when if datetime(1990, 1, 1, tzinfo=UTC) <= when < datetime(2100, 1, 1, tzinfo=UTC) else None


_UNIX_1990, _UNIX_2100 = 631_152_000, 4_102_444_800


@given(st.one_of(
    st.integers(min_value=-(10**17), max_value=10**17),
    st.integers(min_value=_UNIX_1990 - 5, max_value=_UNIX_1990 + 5),  # around the bounds, to the second
    st.integers(min_value=_UNIX_2100 - 5, max_value=_UNIX_2100 + 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=_UNIX_1990 - 5, max_value=_UNIX_1990 + 5),  # and to the microsecond
    st.floats(min_value=_UNIX_2100 - 5, max_value=_UNIX_2100 + 5),
    st.floats(min_value=1e9, max_value=2e9),  # a file's time in a dump, 2001-2033
))
@settings(max_examples=3000, deadline=None)
def test_from_unix_fast_path_is_the_general_conversion(value: float) -> None:
    assert from_unix(value) == _unix_general(value)


def test_from_unix_of_a_file_time() -> None:
    assert from_unix(1_700_000_000.25) == datetime(2023, 11, 14, 22, 13, 20, 250000, tzinfo=UTC)
    assert from_unix(1_700_000_000) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert from_unix(_UNIX_1990) == datetime(1990, 1, 1, tzinfo=UTC)
    assert from_unix(_UNIX_1990 - 0.5) is None
    assert from_unix(_UNIX_2100 - 0.5) == datetime(2099, 12, 31, 23, 59, 59, 500000, tzinfo=UTC)
    assert from_unix(_UNIX_2100 - 1e-7) is None  # rounds to the first microsecond of 2100
    assert from_unix(True) is None and from_unix(0) is None and from_unix(0.0) is None
    assert from_unix(1_700_000_000_250) == datetime(2023, 11, 14, 22, 13, 20, 250000, tzinfo=UTC)  # ms
