"""The one generic pass that matches every record's observables against the indicator index."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

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


def parse_stix_time(text: str | None) -> datetime | None:
    """A STIX timestamp (RFC 3339, 'Z' or offset) as an aware UTC datetime; None when absent or malformed."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def lifecycle(severity: Severity, valid_until: str | None, seen: datetime | None) -> tuple[Severity, str]:
    """What an indicator's valid_until means for a trace found on a phone.

    Evidence is historical: an indicator that has since expired (its domain
    re-registered by someone else, its server retired) still proves what it
    proved at the time. So a trace dated before valid_until keeps its
    severity and only says that the indicator has expired since. A trace dated
    after it, or with no date, is still reported, one severity step lower,
    because the value may have changed hands by then; the finding says so.
    """
    until = parse_stix_time(valid_until)
    if until is None:
        return severity, ""
    day = until.date().isoformat()
    if seen is not None and seen.astimezone(UTC) <= until:
        return severity, f" The indicator was valid until {day}; this trace dates from before that."
    lowered = Severity(max(int(severity) - 1, int(Severity.LOW)))
    when = "this trace has no date" if seen is None else f"this trace dates from {seen.date().isoformat()}"
    return lowered, (
        f" The indicator expired on {day} and {when}: the value may have changed hands, so the finding is "
        "reported one level lower."
    )


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
    severity = Severity.CRITICAL if indicator.kind in _CRITICAL_KINDS else Severity.HIGH
    severity, note = lifecycle(severity, indicator.valid_until, timestamp)
    return Finding(
        severity=severity,
        artifact=artifact,
        explanation=_explain(observable, indicator.malware, indicator.feed, title) + note,
        locator=locator,
        indicator=indicator.ref(),
        observable=observable,
        timestamp=timestamp,
        record_sha256=record_sha256,
    )


def follow_ups(record: Record, found: list[Finding]) -> list[Finding]:
    """Findings a record's indicator matches imply beyond themselves (usually none).

    A record class may define ``indicator_follow_up(observable) -> (rule, severity, explanation) | None``
    saying what a match on one of its observables means in the record's own context (WebKit's session
    log: a redirect chain through an indicator domain). The follow-up is reported once per record, on
    its first such match, carrying that indicator and observable, so `preuve verify` re-derives it as it
    re-derives the match.
    """
    describe = getattr(record, "indicator_follow_up", None)
    if describe is None:
        return []
    for hit in found:
        if hit.observable is None or hit.rule is not None:
            continue
        said = describe(hit.observable)
        if said is None:
            continue
        rule, severity, explanation = said
        if hit.indicator is not None:  # an expired indicator weighs on its follow-up as on the match
            severity, note = lifecycle(severity, hit.indicator.valid_until, hit.timestamp)
            explanation += note
        return [Finding(
            severity=severity,
            artifact=hit.artifact,
            explanation=explanation,
            locator=hit.locator,
            rule=rule,
            indicator=hit.indicator,
            observable=hit.observable,
            timestamp=hit.timestamp,
            record_sha256=hit.record_sha256,
        )]
    return []


class Matcher:
    def __init__(self, index: IndicatorIndex) -> None:
        self.index = index
        self._kinds = index.kinds()
        # Observable kinds no loaded indicator can match (they share no key kind) are skipped before
        # any normalisation: with feeds of domains and processes, an e-mail address costs one set lookup.
        self._wanted = {kind for kind in Kind if index.can_match(kind)}

    def match(self, record: Record, artifact: str, title: str) -> list[Finding]:
        """The findings of one record (a list, usually empty: this runs once per record)."""
        if not self._kinds:
            return []
        found: list[Finding] = []
        content_hash: str | None = None
        first = None
        wanted = self._wanted
        index_match = self.index.match
        for observable in record.observables():
            if observable.kind not in wanted:
                continue
            for indicator in index_match(observable):
                if content_hash is None:
                    # Only records with a finding pay for their content hash and timestamps.
                    content_hash = record.content_sha256()
                    stamp = next(record.timestamps(), None)
                    first = stamp.when if stamp else None
                found.append(finding_for(indicator, observable, artifact, title, record.locator, first, content_hash))
        if found:
            found.extend(follow_ups(record, found))
        return found

    def match_many(self, records: Sequence[Record], artifact: str, title: str) -> list[list[Finding]]:
        """:meth:`match` of each record (the same findings, tested), for a batch: most records match
        nothing, and for them only their observables are looked up, with what match sets up per
        record set up once; a record with some indicator is matched by :meth:`match` itself."""
        if not self._kinds:
            return [[] for _ in records]
        wanted, index_match, match = self._wanted, self.index.match, self.match
        out: list[list[Finding]] = []
        for record in records:
            for observable in record.observables():
                if observable.kind in wanted and index_match(observable):
                    out.append(match(record, artifact, title))
                    break
            else:
                out.append([])
        return out
