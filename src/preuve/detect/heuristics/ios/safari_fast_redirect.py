"""A Safari visit redirected to another site within seconds (network injection, exploit redirect chains)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.ios.safari_history import SafariRedirect
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity

INJECTION_SECONDS = 1.0


class SafariFastRedirect(Rule):
    name = "safari_fast_redirect"
    severity = Severity.LOW
    record_types: ClassVar[tuple[type[Record], ...]] = (SafariRedirect,)
    reason = (
        "Pegasus was installed by injecting a redirect into an unencrypted page the phone loaded, sending Safari "
        "within a second to an exploit server. Link shorteners and sign-in pages redirect the same way, so a "
        "fast redirect is for review; one from a plain http:// page is the injection pattern and weighs more."
    )
    reference = "Amnesty International, Forensic Methodology Report: How to catch NSO Group's Pegasus (2021)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, SafariRedirect)
        injectable = record.source_url.lower().startswith("http://") and record.elapsed_seconds < INJECTION_SECONDS
        how = "a plain http:// page, as in network injection" if injectable else "a page"
        yield self.finding(
            record,
            artifact,
            f"Safari was sent from {how} ({record.source_url}) to another site ({record.destination_url}) "
            f"after {record.elapsed_seconds * 1000:.0f} ms, faster than a person clicks; check whether the "
            "destination is a known exploit domain.",
            severity=Severity.MEDIUM if injectable else None,
        )
