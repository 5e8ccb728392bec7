"""The one generic pass that matches every record's observables against the indicator index."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from preuve.indicators.index import IndicatorIndex
from preuve.indicators.stix import Indicator
from preuve.model import Finding, Kind, Locator, Observable, Record, Severity

# Traces that only the implant itself leaves are critical; contact with an
# infrastructure domain (a link received, a page visited) is high: it shows
# targeting, and usually infection, but a link can arrive without being opened.
_CRITICAL_KINDS = {
    Kind.PROCESS, Kind.FILE_PATH, Kind.FILE_NAME, Kind.SHA256, Kind.SHA1, Kind.MD5, Kind.PROFILE_ID,
    Kind.APP_ID, Kind.CERT_SHA256, Kind.CERT_SHA1, Kind.CERT_MD5, Kind.ANDROID_PROPERTY,
}

_WHAT = {
    Kind.URL: "a link to {value}",
    Kind.DOMAIN: "the domain {value}",
    Kind.IP: "the IP address {value}",
    Kind.PROCESS: "a process named {value}",
    Kind.EMAIL: "the account {value}",
    Kind.FILE_PATH: "the file {value}",
    Kind.FILE_NAME: "a file named {value}",
    Kind.SHA256: "a file with SHA-256 {value}",
    Kind.SHA1: "a file with SHA-1 {value}",
    Kind.MD5: "a file with MD5 {value}",
    Kind.PROFILE_ID: "the configuration profile {value}",
    Kind.APP_ID: "the app {value}",
    Kind.CERT_SHA256: "an app signed with certificate {value}",
    Kind.CERT_SHA1: "an app signed with certificate {value}",
    Kind.CERT_MD5: "an app signed with certificate {value}",
    Kind.ANDROID_PROPERTY: "the system property {value}",
}


def _explain(observable: Observable, malware: str, feed: str, title: str) -> str:
    what = _WHAT.get(observable.kind, "{value}").format(value=observable.value)
    return f"{title} contains {what}, a published indicator of {malware} ({feed})."


def finding_for(
    indicator: Indicator,
    observable: Observable,
    artifact: str,
    title: str,
    locator: Locator,
    timestamp: datetime | None,
    record_sha256: str | None,
) -> Finding:
    """The finding an indicator match makes (the same whether found by `check` or by a retro-hunt)."""
    return Finding(
        severity=Severity.CRITICAL if indicator.kind in _CRITICAL_KINDS else Severity.HIGH,
        artifact=artifact,
        explanation=_explain(observable, indicator.malware, indicator.feed, title),
        locator=locator,
        indicator=indicator.ref(),
        observable=observable,
        timestamp=timestamp,
        record_sha256=record_sha256,
    )


class Matcher:
    def __init__(self, index: IndicatorIndex) -> None:
        self.index = index
        self._kinds = index.kinds()

    def match(self, record: Record, artifact: str, title: str) -> Iterator[Finding]:
        if not self._kinds:
            return
        content_hash: str | None = None
        first = None
        for observable in record.observables():
            for indicator in self.index.match(observable):
                if content_hash is None:
                    content_hash = record.content_sha256()
                    stamp = next(record.timestamps(), None)
                    first = stamp.when if stamp else None
                yield finding_for(indicator, observable, artifact, title, record.locator, first, content_hash)
