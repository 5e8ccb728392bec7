"""Converting the timestamps phones store into UTC datetimes (see :mod:`preuve.model.timeconv`).

The converters are defined once, in the model, so that records made below the
artifacts (the acquisition checks of :mod:`preuve.evidence`) convert times as
the artifacts do; artifacts import them from here.
"""

from __future__ import annotations

from preuve.model.timeconv import COCOA_EPOCH, UNIX_EPOCH, from_cocoa, from_unix, from_webkit

__all__ = ["COCOA_EPOCH", "UNIX_EPOCH", "from_cocoa", "from_unix", "from_webkit"]
