"""What the console shows, read from a case store into typed rows.

The case store keeps findings and run documents as the JSON that `check`
wrote; this module turns them into small typed views for the templates, and
answers the questions asked across devices ("which phones contacted this
domain?") with the same lookup keys that retro-hunts use
(:func:`preuve.indicators.keys.observable_keys`), so a search finds exactly
what an indicator of that value would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson

from preuve.indicators.feeds import InstalledFeed
from preuve.indicators.keys import observable_keys
from preuve.model import Kind, Observable, Severity
from preuve.store.case import CaseStore, StoredAcquisition

SEVERITIES = tuple(s.label for s in sorted(Severity, reverse=True))
SORTS = ("device", "verdict", "checked", "findings", "platform")
# How many rows a search across devices shows at most (a common domain can be in every record).
MAX_SIGHTINGS = 500


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """One device of the case, as the device list shows it."""

    id: int
    name: str
    evidence: str
    kind: str
    platform: str
    verdict: str
    checked: str
    complete: bool
    severities: tuple[tuple[str, int], ...]
    findings: int
    feeds: tuple[str, ...]
    stale: bool  # an installed feed is newer than this device's last check

    @property
    def worst(self) -> str:
        for label, count in self.severities:
            if count:
                return label
        return "none"


@dataclass(frozen=True, slots=True)
class ArtifactRow:
    name: str
    title: str
    status: str
    records: int
    findings: int
    errors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FindingView:
    """A stored finding as a card shows it: what was seen first, the proof under details."""

    id: str
    severity: str
    artifact: str
    headline: str  # the malware or the rule
    explanation: str
    observable: str
    observable_kind: str
    timestamp: str
    device_path: str
    file_sha256: str
    where: str  # table and row, key path or line
    record_sha256: str
    stix_id: str
    feed: str
    feed_sha256: str
    context: tuple[tuple[str, str], ...] = ()
    strength: str = ""
    origin: str = "check"


@dataclass(frozen=True, slots=True)
class DeviceDetail:
    row: DeviceRow
    artifacts: tuple[ArtifactRow, ...]
    findings: tuple[FindingView, ...]
    facts: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Sighting:
    """A stored record on some device that carries the value searched for."""

    acquisition_id: int
    device: str
    artifact: str
    kind: str
    value: str
    when: str
    summary: str
    severity: str


@dataclass(frozen=True, slots=True)
class FeedRow:
    name: str
    source: str
    indicators: int
    fetched: str
    sha256: str
    newer_than: tuple[str, ...] = field(default=())  # devices checked before this feed was installed


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def short_time(text: str | None) -> str:
    """An ISO time as people read it, to the minute, in UTC."""
    when = _parse_time(text)
    return "" if when is None else when.strftime("%Y-%m-%d %H:%M UTC")


def _device_name(acquisition: StoredAcquisition) -> str:
    return acquisition.device or Path(acquisition.evidence).name or acquisition.evidence


def _feeds_of(summary: dict[str, object]) -> tuple[str, ...]:
    feeds = summary.get("feeds")
    if not isinstance(feeds, list):
        return ()
    return tuple(_text(f.get("name")) for f in feeds if isinstance(f, dict))


def _feed_shas(summary: dict[str, object]) -> set[str]:
    feeds = summary.get("feeds")
    if not isinstance(feeds, list):
        return set()
    return {_text(f.get("sha256")) for f in feeds if isinstance(f, dict)}


def _is_stale(
    acquisition: StoredAcquisition, summary: dict[str, object], installed: Sequence[InstalledFeed],
    hunted: dict[str, str],
) -> bool:
    """True when an installed feed was neither used by the device's check nor hunted with since."""
    return any(not _covered(acquisition, summary, feed, hunted) for feed in installed)


def _covered(
    acquisition: StoredAcquisition, summary: dict[str, object], feed: InstalledFeed, hunted: dict[str, str]
) -> bool:
    if feed.sha256 in _feed_shas(summary):
        return True
    when = _parse_time(hunted.get(feed.sha256))
    checked = _parse_time(acquisition.finished)
    return when is not None and checked is not None and when >= checked


def _severities(store: CaseStore, acquisition_id: int) -> tuple[tuple[str, int], ...]:
    counts = dict.fromkeys(SEVERITIES, 0)
    for severity, count in store.conn.execute(
        "SELECT severity, COUNT(*) FROM findings WHERE acquisition_id = ? GROUP BY severity", (acquisition_id,)
    ):
        try:
            counts[Severity(int(severity)).label] += int(count)
        except (ValueError, TypeError):
            continue
    return tuple(counts.items())


def device_row(store: CaseStore, acquisition: StoredAcquisition, installed: Sequence[InstalledFeed]) -> DeviceRow:
    summary = store.stored_document(acquisition.id, "summary")
    hunted = store.hunted()
    return DeviceRow(
        id=acquisition.id,
        name=_device_name(acquisition),
        evidence=acquisition.evidence,
        kind=acquisition.kind,
        platform=acquisition.platform,
        verdict=acquisition.verdict,
        checked=acquisition.finished or "",
        complete=acquisition.complete,
        severities=_severities(store, acquisition.id),
        findings=acquisition.findings,
        feeds=_feeds_of(summary),
        stale=_is_stale(acquisition, summary, installed, hunted),
    )


def list_devices(
    store: CaseStore,
    installed: Sequence[InstalledFeed],
    query: str = "",
    verdict: str = "",
    sort: str = "device",
    descending: bool = False,
) -> list[DeviceRow]:
    """The devices of the case, filtered by a text (name, evidence, kind) and a verdict, sorted."""
    rows = [device_row(store, a, installed) for a in store.acquisitions()]
    needle = query.strip().lower()
    if needle:
        rows = [r for r in rows if needle in f"{r.name}\n{r.evidence}\n{r.kind}\n{r.platform}".lower()]
    if verdict:
        rows = [r for r in rows if r.verdict == verdict]
    order = {
        "device": lambda r: (r.name.lower(), r.id),
        "verdict": lambda r: (r.verdict, r.name.lower()),
        "checked": lambda r: (r.checked, r.id),
        "findings": lambda r: (tuple(-count for _, count in r.severities), r.name.lower()),
        "platform": lambda r: (r.platform, r.name.lower()),
    }.get(sort if sort in SORTS else "device")
    assert order is not None
    rows.sort(key=order, reverse=descending)
    return rows


def verdicts(store: CaseStore) -> list[str]:
    return sorted({a.verdict for a in store.acquisitions() if a.verdict})


def _locator_where(locator: dict[str, object]) -> str:
    """Where in the file, in the words the report uses (a stored locator, read back)."""
    from preuve.model import Locator

    fields = ("device_path", "sha256", "table", "rowid", "key_path", "line", "offset")
    try:
        return Locator(**{k: locator[k] for k in fields if locator.get(k) is not None}).words()  # type: ignore[arg-type]
    except TypeError:
        return ""


def _context(doc: dict[str, object]) -> tuple[tuple[str, str], ...]:
    """A finding's context, whatever shape a version of preuve stored it in (pairs or a mapping)."""
    raw = doc.get("context")
    pairs: list[tuple[str, str]] = []
    if isinstance(raw, dict):
        pairs = [(str(k), _text(v)) for k, v in raw.items() if v not in (None, "")]
    elif isinstance(raw, list):
        for item in raw:
            if isinstance(item, dict) and "label" in item:
                pairs.append((_text(item.get("label")), _text(item.get("value"))))
            elif isinstance(item, list | tuple) and len(item) == 2:
                pairs.append((_text(item[0]), _text(item[1])))
    return tuple(pairs)


def finding_view(doc: dict[str, object], origin: str = "check") -> FindingView:
    indicator = doc.get("indicator") if isinstance(doc.get("indicator"), dict) else None
    observable = doc.get("observable") if isinstance(doc.get("observable"), dict) else None
    locator = doc.get("locator") if isinstance(doc.get("locator"), dict) else {}
    assert isinstance(locator, dict)
    headline = _text(indicator.get("malware")) if isinstance(indicator, dict) else _text(doc.get("rule"))
    strength = doc.get("strength")
    return FindingView(
        id=_text(doc.get("id")),
        severity=_text(doc.get("severity")),
        artifact=_text(doc.get("artifact")),
        headline=headline or _text(doc.get("artifact")),
        explanation=_text(doc.get("explanation")),
        observable=_text(observable.get("value")) if isinstance(observable, dict) else "",
        observable_kind=_text(observable.get("kind")) if isinstance(observable, dict) else "",
        timestamp=_text(doc.get("timestamp")),
        device_path=_text(locator.get("device_path")),
        file_sha256=_text(locator.get("sha256")),
        where=_locator_where(locator),
        record_sha256=_text(doc.get("record_sha256")),
        stix_id=_text(indicator.get("stix_id")) if isinstance(indicator, dict) else "",
        feed=_text(indicator.get("feed")) if isinstance(indicator, dict) else "",
        feed_sha256=_text(indicator.get("feed_sha256")) if isinstance(indicator, dict) else "",
        context=_context(doc),
        strength=_text(strength.get("label") if isinstance(strength, dict) else strength),
        origin=origin,
    )


def device_findings(store: CaseStore, acquisition_id: int) -> list[FindingView]:
    rows = store.conn.execute(
        "SELECT doc, origin FROM findings WHERE acquisition_id = ? ORDER BY severity DESC, id", (acquisition_id,)
    )
    return [finding_view(orjson.loads(doc), origin or "check") for doc, origin in rows]


def device_detail(store: CaseStore, acquisition: StoredAcquisition, installed: Sequence[InstalledFeed]) -> DeviceDetail:
    artifacts = tuple(
        ArtifactRow(_text(name), _text(title), _text(status), int(records or 0), int(findings or 0),
                    tuple(str(e) for e in orjson.loads(errors or b"[]")))
        for name, title, status, records, findings, errors in store.conn.execute(
            "SELECT name, title, status, records, findings, errors FROM artifacts WHERE acquisition_id = ? "
            "ORDER BY name",
            (acquisition.id,),
        )
    )
    run = store.stored_document(acquisition.id, "run")
    facts: list[tuple[str, str]] = [
        ("Evidence", acquisition.evidence),
        ("Acquisition", acquisition.kind),
        ("Platform", acquisition.platform),
        ("Checked", short_time(acquisition.finished)),
    ]
    tool = run.get("tool")
    if isinstance(tool, dict):
        facts.append(("preuve version", _text(tool.get("preuve"))))
    return DeviceDetail(
        row=device_row(store, acquisition, installed),
        artifacts=artifacts,
        findings=tuple(device_findings(store, acquisition.id)),
        facts=tuple(facts),
    )


def search_kinds(value: str) -> list[Observable]:
    """The observables a typed value may be: a URL, a host (domain or IP), or any other exact value."""
    text = value.strip()
    if not text:
        return []
    if "://" in text:
        return [Observable(Kind.URL, text)]
    if "/" in text:
        return [Observable(Kind.FILE_PATH, text)]
    found = [Observable(Kind.DOMAIN, text)]
    if "@" in text:
        found.append(Observable(Kind.EMAIL, text))
    if "." in text and " " not in text:
        found.append(Observable(Kind.APP_ID, text))
    found.append(Observable(Kind.PROCESS, text))
    return found


def _lookup_keys(value: str) -> list[tuple[str, str, bool]]:
    """(key kind, key, is a domain-suffix range): a host also finds its subdomains, as an indicator would."""
    keys: list[tuple[str, str, bool]] = []
    for observable in search_kinds(value):
        for key_kind, key in observable_keys(observable):
            keys.append((key_kind, key, False))
            if key_kind == "rdomain":
                keys.append((key_kind, key + ".", True))
    return keys


def sightings(store: CaseStore, value: str, limit: int = MAX_SIGHTINGS) -> tuple[list[Sighting], bool]:
    """Every stored record, on any device, that carries `value` (and whether the list was cut)."""
    names = {a.id: _device_name(a) for a in store.acquisitions()}
    record_ids: list[int] = []
    seen: set[int] = set()
    for key_kind, key, prefix in _lookup_keys(value):
        if prefix:
            sql = "SELECT record_id FROM observables WHERE key_kind = ? AND key >= ? AND key < ?"
            params: tuple[str, ...] = (key_kind, key, key + "\U0010ffff")
        else:
            sql = "SELECT record_id FROM observables WHERE key_kind = ? AND key = ?"
            params = (key_kind, key)
        for (record_id,) in store.conn.execute(sql, params):
            if record_id not in seen:
                seen.add(record_id)
                record_ids.append(record_id)
    out: list[Sighting] = []
    for record_id in record_ids:
        row = store.conn.execute(
            "SELECT r.acquisition_id, r.artifact, r.first_timestamp, r.summary, r.severity, o.kind, o.value "
            "FROM records r JOIN observables o ON o.record_id = r.id WHERE r.id = ? LIMIT 1",
            (record_id,),
        ).fetchone()
        if row is None:
            continue
        acquisition_id, artifact, when, summary, severity, kind, seen_value = row
        out.append(Sighting(int(acquisition_id), names.get(int(acquisition_id), "?"), _text(artifact), _text(kind),
                            _text(seen_value), _text(when), _text(summary), _text(severity)))
    out.sort(key=lambda s: (s.when or "9999", s.device, s.artifact))
    return out[:limit], len(out) > limit


def indicator_findings(store: CaseStore, value: str) -> list[tuple[str, int, FindingView]]:
    """Every stored finding whose indicator or observable is `value`, across the case, in time order."""
    needle = value.strip().lower()
    names = {a.id: _device_name(a) for a in store.acquisitions()}
    out: list[tuple[str, int, FindingView]] = []
    if not needle:
        return out
    for acquisition_id, doc, origin in store.conn.execute("SELECT acquisition_id, doc, origin FROM findings"):
        parsed = orjson.loads(doc)
        view = finding_view(parsed, origin or "check")
        indicator = parsed.get("indicator") if isinstance(parsed.get("indicator"), dict) else {}
        values = {view.observable.lower(), _text(indicator.get("value")).lower(), view.headline.lower()}
        if needle in values:
            out.append((names.get(int(acquisition_id), "?"), int(acquisition_id), view))
    out.sort(key=lambda item: (item[2].timestamp or "9999", item[0]))
    return out


def feed_rows(store: CaseStore, installed: Iterable[InstalledFeed]) -> list[FeedRow]:
    acquisitions = store.acquisitions()
    summaries = {a.id: store.stored_document(a.id, "summary") for a in acquisitions}
    hunted = store.hunted()
    rows = []
    for feed in installed:
        older = tuple(
            _device_name(a) for a in acquisitions if not _covered(a, summaries[a.id], feed, hunted)
        )
        rows.append(FeedRow(feed.name, feed.source, feed.indicators, feed.fetched, feed.sha256, older))
    return rows
