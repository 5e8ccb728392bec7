"""An iMessage/FaceTime lookup of an address holding NUL characters: a malformed, crafted handle."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.ios.idstatuscache import IdStatusLookup
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class IdStatusCacheNulHandle(Rule):
    name = "idstatuscache_nul_handle"
    severity = Severity.HIGH
    record_types: ClassVar[tuple[type[Record], ...]] = (IdStatusLookup,)
    reason = (
        "No address a person types holds NUL characters. A looked-up handle with two of them in a row was "
        "crafted, the way exploit chains sent over iMessage have shaped their sender addresses; MVT raises it."
    )
    reference = "Amnesty International, Mobile Verification Toolkit (iOS IDStatusCache check: '\\x00\\x00' in the handle)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, IdStatusLookup)
        if record.escaped_handle is None or "\\x00\\x00" not in record.escaped_handle:
            return
        yield self.finding(
            record,
            artifact,
            f"The phone looked up the {record.service_name} address {record.escaped_handle}, which holds NUL "
            "characters no real address has: a crafted handle, as used to deliver exploits. Keep the phone's data "
            "and seek expert help.",
        )
