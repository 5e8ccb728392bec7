"""Converting the timestamps phones store into UTC datetimes, defensively.

Evidence holds NaN, negative and absurd values; each converter returns None
rather than raising or inventing a date. Defined here, in the model, so that
every layer's records convert times the same way (the artifacts through
:mod:`preuve.artifacts.timeconv`, the acquisition checks of the evidence
layer, such as the listing of a filesystem dump, directly).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

COCOA_EPOCH = datetime(2001, 1, 1, tzinfo=UTC)
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN = datetime(1990, 1, 1, tzinfo=UTC)
_MAX = datetime(2100, 1, 1, tzinfo=UTC)


def _number(value: object) -> float | None:
    # Hot path (two calls per message): the common exact types first, before the general checks.
    kind = type(value)
    if kind is int:
        return float(value)  # type: ignore[arg-type]
    if kind is float:
        return value if math.isfinite(value) else None  # type: ignore[arg-type,return-value]
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


# Seconds from the Cocoa epoch well inside [_MIN, _MAX): such values skip the datetime
# comparisons of _bounded (this runs for every timestamp of every record).
_COCOA_SAFE = ((_MIN - COCOA_EPOCH).total_seconds() + 1, (_MAX - COCOA_EPOCH).total_seconds() - 1)


# Below, timedelta(0, seconds) is timedelta(seconds=seconds) (days, then seconds) without the
# keyword argument parsing, a quarter of the cost of a conversion (and there are two per message).
def _bounded(epoch: datetime, seconds: float) -> datetime | None:
    try:
        when = epoch + timedelta(0, seconds)
    except OverflowError:
        return None
    return when if _MIN <= when < _MAX else None


# Whole nanoseconds (Messages from iOS 11 on) well inside the same bounds: the usual case, converted
# without the general checks below (to the same datetime: an int divided by a float is its float
# divided, as _number would give it).
_COCOA_NS_SAFE = (max(int(_COCOA_SAFE[0] * 1e9), 10**11) + 10**9, int(_COCOA_SAFE[1] * 1e9) - 10**9)


def from_cocoa(value: object) -> datetime | None:
    """Seconds (or, from iOS 11 on in Messages, nanoseconds) since 2001-01-01 UTC. Zero means unset."""
    if type(value) is int and _COCOA_NS_SAFE[0] < value < _COCOA_NS_SAFE[1]:
        return COCOA_EPOCH + timedelta(0, value / 1e9)
    if not value:  # unset (0, 0.0, None, ""...): what the general path below gives for every falsy value
        return None
    number = _number(value)
    if number is None or number == 0:
        return None
    if abs(number) > 1e11:  # nanoseconds
        number /= 1e9
    if _COCOA_SAFE[0] <= number < _COCOA_SAFE[1]:
        return COCOA_EPOCH + timedelta(0, number)
    return _bounded(COCOA_EPOCH, number)


# Seconds since 1970 well inside [_MIN, _MAX) (every time of a filesystem dump's listing, most Unix
# times): converted without the general checks below, to the same datetime (an int this small is
# exactly its float, and no value here is large enough to be read as milliseconds).
_UNIX_SAFE = ((_MIN - UNIX_EPOCH).total_seconds() + 1, (_MAX - UNIX_EPOCH).total_seconds() - 1)


def from_unix(value: object) -> datetime | None:
    """Seconds, milliseconds or microseconds since 1970-01-01 UTC (by magnitude). Zero means unset."""
    if (type(value) is float or type(value) is int) and _UNIX_SAFE[0] < value < _UNIX_SAFE[1]:
        return UNIX_EPOCH + timedelta(0, value)
    number = _number(value)
    if number is None or number == 0:
        return None
    if abs(number) > 1e14:
        number /= 1e6
    elif abs(number) > 1e11:
        number /= 1e3
    return _bounded(UNIX_EPOCH, number)


def from_webkit(value: object) -> datetime | None:
    """Microseconds since 1601-01-01 UTC (Chrome)."""
    number = _number(value)
    if number is None or number == 0:
        return None
    return _bounded(datetime(1601, 1, 1, tzinfo=UTC), number / 1e6)
