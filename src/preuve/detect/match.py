"""The one generic pass that matches every record's observables against the indicator index."""

from __future__ import annotations

from preuve.indicators.index import IndicatorIndex
from preuve.model import Finding, Kind, Observable, Record, Severity

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


# Which indicator kinds an observable of a kind can match (see IndicatorIndex.match).
_CAN_MATCH = {
    Kind.URL: (Kind.URL, Kind.DOMAIN, Kind.IP),
    Kind.DOMAIN: (Kind.DOMAIN, Kind.IP),
    Kind.IP: (Kind.DOMAIN, Kind.IP),
    Kind.FILE_PATH: (Kind.FILE_PATH, Kind.FILE_NAME),
}


class Matcher:
    def __init__(self, index: IndicatorIndex) -> None:
        self.index = index
        self._kinds = index.kinds()
        # Observable kinds no loaded indicator can match are skipped before any normalisation:
        # with feeds of domains and processes, an e-mail address costs one set lookup.
        self._wanted = {
            kind for kind in Kind if any(k in self._kinds for k in _CAN_MATCH.get(kind, (kind,)))
        }

    def match(self, record: Record, artifact: str, title: str) -> list[Finding]:
        """The findings of one record (a list, usually empty: this runs once per record)."""
        if not self._kinds:
            return []
        found: list[Finding] = []
        content_hash: str | None = None
        first = None
        wanted = self._wanted
        for observable in record.observables():
            if observable.kind not in wanted:
                continue
            for indicator in self.index.match(observable):
                if content_hash is None:
                    # Only records with a finding pay for their content hash and timestamps.
                    content_hash = record.content_sha256()
                    stamp = next(record.timestamps(), None)
                    first = stamp.when if stamp else None
                found.append(
                    Finding(
                        severity=Severity.CRITICAL if indicator.kind in _CRITICAL_KINDS else Severity.HIGH,
                        artifact=artifact,
                        explanation=_explain(observable, indicator.malware, indicator.feed, title),
                        locator=record.locator,
                        indicator=indicator.ref(),
                        observable=observable,
                        timestamp=first,
                        record_sha256=content_hash,
                    )
                )
        return found
