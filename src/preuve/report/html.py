"""The HTML report: one self-contained page that a non-expert can read and an expert can check.

Written by hand (string building with :func:`html.escape`) rather than with a
template engine: the page is small, must be fully static (no network, no
CDN, inline CSS and JS only, under a strict Content-Security-Policy that
pins the inline script and style by hash), and every value from the
evidence must be escaped at one visible place (:func:`esc`). A template
engine would add a dependency without making that any safer.

The sink keeps only per-day record counters and the few records of a
backup-info style artifact (device facts), so memory stays flat however
large the evidence; findings come from the run's result.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from preuve.artifacts.base import Artifact
from preuve.artifacts.timeconv import to_iso
from preuve.detect.match import parse_stix_time
from preuve.evidence.acquisition import Opened
from preuve.indicators.index import IndicatorIndex
from preuve.model import Absence, ArtifactStatus, Finding, Record, Timestamp

if TYPE_CHECKING:
    from preuve.check import ArtifactReport, CheckResult

MAX_FINDING_ROWS = 5000
MAX_FACTS = 60
MAX_FACT_CHARS = 300
MAX_EVIDENCE_ROWS = 500
DEVICE_INFO_ARTIFACTS = ("backup_info", "device_info")

def esc(value: object) -> str:
    """Every value that reaches the page goes through here (text and attribute safe)."""
    return html.escape(str(value), quote=True)


def _clip(text: str, limit: int = MAX_FACT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def coverage_gaps(result: CheckResult) -> list[str]:
    """What could not be checked, in sentences: why the check was not full, then each artifact that
    failed or is missing, with why. Artifacts this kind of acquisition never holds are not gaps."""
    gaps = result.coverage().gaps()
    for report in result.artifacts:
        if report.status == ArtifactStatus.FAILED or (report.errors and report.status.checked):
            gaps.append(f"{report.title} ({report.name}) could not be read: {'; '.join(report.errors[:3]) or 'unknown error'}")
    for absence in Absence:
        missing = [r for r in result.artifacts if r.absence == absence]
        if missing:
            gaps.append(
                f"Missing ({absence.meaning}): " + ", ".join(f"{r.title} ({r.name})" for r in missing) + "."
            )
    return gaps


def utc_day(when: datetime) -> date:
    """The UTC calendar day of a moment (a naive datetime is taken as UTC, never as local time)."""
    if when.tzinfo is UTC:  # the usual case, once per record
        return when.date()
    return (when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)).date()


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _month(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class Bin:
    start: date
    records: int
    findings: tuple[Finding, ...]

    @property
    def key(self) -> str:
        return self.start.isoformat()


def timeline_bins(per_day: Counter[date], findings: Iterable[Finding]) -> tuple[str, list[Bin]]:
    """Records per day (or week, or month when the span is long), with the findings of each bin."""
    dated = [f for f in findings if f.timestamp is not None]
    days = set(per_day) | {utc_day(f.timestamp) for f in dated if f.timestamp is not None}
    if not days:
        return "day", []
    first, last = min(days), max(days)
    span = (last - first).days
    if span <= 180:
        unit, floor, step = "day", (lambda d: d), (lambda d: d + timedelta(days=1))
    elif span <= 7 * 260:
        unit, floor, step = "week", _week, (lambda d: d + timedelta(days=7))
    else:
        unit, floor, step = "month", _month, _next_month
    counts: Counter[date] = Counter()
    for day, count in per_day.items():
        counts[floor(day)] += count
    marks: dict[date, list[Finding]] = {}
    for finding in dated:
        assert finding.timestamp is not None
        marks.setdefault(floor(utc_day(finding.timestamp)), []).append(finding)
    bins: list[Bin] = []
    cursor = floor(first)
    while cursor <= last:
        bins.append(Bin(cursor, counts.get(cursor, 0), tuple(marks.get(cursor, ()))))
        cursor = step(cursor)
    return unit, bins


def bin_key_for(finding: Finding, unit: str) -> str | None:
    if finding.timestamp is None:
        return None
    day = utc_day(finding.timestamp)
    floor = {"day": lambda d: d, "week": _week, "month": _month}[unit]
    return floor(day).isoformat()


def timeline_svg(unit: str, bins: Sequence[Bin]) -> str:
    """Bars of records per bin, a red mark above bins with findings (each a link to its first finding)."""
    if not bins:
        return '<p class="muted">No dated records: nothing to draw.</p>'
    width, height, top, bottom = 1000, 180, 26, 22
    plot = height - top - bottom
    slot = width / len(bins)
    peak = max(b.records for b in bins) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="records per {esc(unit)}" class="timeline">',
        f'<line x1="0" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#888" stroke-width="1"/>',
    ]
    label_every = max(1, len(bins) // 8)
    for number, item in enumerate(bins):
        x = number * slot
        bar = plot * item.records / peak
        parts.append(f'<g id="t-{esc(item.key)}" class="bin">')
        parts.append(
            f'<rect x="{x + slot * 0.1:.2f}" y="{height - bottom - bar:.2f}" width="{max(slot * 0.8, 0.5):.2f}" '
            f'height="{bar:.2f}" fill="#6b8fb5"><title>{esc(item.key)} ({esc(unit)}): '
            f"{item.records} record(s), {len(item.findings)} finding(s)</title></rect>"
        )
        if item.findings:
            worst = max(f.severity for f in item.findings)
            cx = x + slot / 2
            parts.append(
                f'<a href="#f-{esc(item.findings[0].id)}"><circle cx="{cx:.2f}" cy="{top - 12}" r="7" '
                f'fill="{_SEVERITY_COLOUR[worst.label]}" stroke="#000" stroke-width="0.5">'
                f"<title>{len(item.findings)} finding(s) on {esc(item.key)}, worst {esc(worst.label)}</title>"
                f'</circle></a><line x1="{cx:.2f}" y1="{top - 5}" x2="{cx:.2f}" y2="{height - bottom}" '
                f'stroke="{_SEVERITY_COLOUR[worst.label]}" stroke-width="1" stroke-dasharray="3,2"/>'
            )
        parts.append("</g>")
        if number % label_every == 0:
            parts.append(
                f'<text x="{x:.2f}" y="{height - 6}" font-size="11" fill="#444">{esc(item.key)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


_SEVERITY_COLOUR = {
    "critical": "#8b0000", "high": "#d62728", "medium": "#e69500", "low": "#1f77b4", "info": "#7f7f7f",
}

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1a1a1a;background:#fafafa}
main{max-width:1200px;margin:0 auto;padding:1.5rem}
h1{font-size:1.9rem;margin:.2rem 0}h2{margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
.verdict{padding:1.2rem 1.5rem;border-radius:8px;border:2px solid}
.verdict-spyware{background:#fde8e8;border-color:#8b0000}.verdict-suspicious{background:#fff4e0;border-color:#e69500}
.verdict-nothing{background:#eef2f7;border-color:#6b8fb5}.verdict p{font-size:1.05rem;margin:.4rem 0}
.gaps{background:#fffbe6;border:1px solid #e6c200;border-radius:6px;padding:.6rem 1.2rem;margin-top:1rem}
.muted{color:#666}.counts span{display:inline-block;margin-right:1rem}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.92rem}
th,td{border:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f0f0}td{overflow-wrap:anywhere}
.sev{font-weight:bold;text-transform:uppercase;padding:.1rem .4rem;border-radius:3px;color:#fff;white-space:nowrap;overflow-wrap:normal}
.sev-critical{background:#8b0000}.sev-high{background:#d62728}.sev-medium{background:#e69500}
.sev-low{background:#1f77b4}.sev-info{background:#7f7f7f}
tr.finding:target{outline:3px solid #000}
svg.timeline{width:100%;height:auto;background:#fff;border:1px solid #ddd}
g.bin:target rect{fill:#000}
.filters{margin:.6rem 0;display:flex;gap:1rem;flex-wrap:wrap;align-items:center}
code{font-size:.85rem}.gaps h2{margin-top:.2rem}
#findings{table-layout:fixed}#findings th:nth-child(1){width:8%}#findings th:nth-child(2){width:10%}#findings th:nth-child(3){width:27%}
#findings th:nth-child(4){width:26%}#findings th:nth-child(5){width:10%}#findings th:nth-child(6){width:20%}
"""

_JS = """
(function(){
  var boxes=document.querySelectorAll('input.sev-filter');
  var select=document.getElementById('artifact-filter');
  var rows=document.querySelectorAll('tr.finding');
  var shown=document.getElementById('shown-count');
  function apply(){
    var sev={};
    boxes.forEach(function(b){sev[b.value]=b.checked;});
    var art=select.value, n=0;
    rows.forEach(function(r){
      var ok=sev[r.dataset.severity]&&(art===''||r.dataset.artifact===art);
      r.hidden=!ok; if(ok){n++;}
    });
    shown.textContent=String(n);
  }
  boxes.forEach(function(b){b.addEventListener('change',apply);});
  select.addEventListener('change',apply);
  apply();
})();
"""


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy() -> str:
    """Nothing may load; only this page's own script and style run (pinned by hash)."""
    return (
        f"default-src 'none'; script-src {_csp_hash(_JS)}; style-src {_csp_hash(_CSS)}; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


def _locator_text(finding: Finding) -> str:
    loc = finding.locator
    bits = []
    if loc.table is not None:
        bits.append(f"table {loc.table}, row {loc.rowid}")
    if loc.key_path is not None:
        bits.append(f"key {loc.key_path}")
    if loc.line is not None:
        bits.append(f"line {loc.line}")
    if loc.offset is not None:
        bits.append(f"offset {loc.offset}")
    return "; ".join(bits)


def _why(finding: Finding, rules: dict[str, tuple[str, str]]) -> str:
    ind = finding.indicator
    if ind is not None:
        text = (
            f"Published indicator of <b>{esc(ind.malware)}</b> ({esc(ind.kind)} <code>{esc(ind.value)}</code>) "
            f"in feed <b>{esc(ind.feed)}</b>"
        )
        if ind.published:
            text += f", published {esc(ind.published[:10])}"
        if ind.valid_until:
            until = parse_stix_time(ind.valid_until)
            expired = until is not None and until < datetime.now(UTC)
            text += f", valid until {esc(ind.valid_until[:10])}" + (" (expired)" if expired else "")
        return text + (
            f'.<br><span class="muted">STIX id <code>{esc(ind.stix_id)}</code>; feed SHA-256 '
            f"<code>{esc(ind.feed_sha256)}</code></span>"
        )
    if finding.rule is not None:
        reason, reference = rules.get(finding.rule, ("", ""))
        text = esc(reason) if reason else "Heuristic rule."
        if reference:
            text += f'<br><span class="muted">Source: {esc(reference)}</span>'
        return text
    return ""


def _finding_row(finding: Finding, titles: dict[str, str], rules: dict[str, tuple[str, str]], unit: str) -> str:
    label = finding.severity.label
    what = finding.indicator.malware if finding.indicator is not None else (finding.rule or "")
    seen = esc(finding.explanation)
    if finding.observable is not None:
        seen += f'<br><span class="muted">{esc(finding.observable.kind)}: <code>{esc(finding.observable.value)}</code></span>'
    if finding.context is not None:
        seen += '<br><span class="context">' + "<br>".join(
            f'<span class="muted">{esc(name)}:</span> {esc(value)}' for name, value in finding.context.lines()
        ) + "</span>"
    if finding.group is not None:
        seen += f'<br><span class="muted">{finding.group.count} occurrences, every one in findings.json</span>'
    seen += f'<br><span class="muted">Evidence: {esc(finding.evidence_strength.meaning)}</span>'
    where = (
        f"{esc(titles.get(finding.artifact, finding.artifact))} <span class=\"muted\">({esc(finding.artifact)})</span>"
        f"<br><code>{esc(finding.locator.device_path)}</code>"
    )
    inside = _locator_text(finding)
    if inside:
        where += f"<br>{esc(inside)}"
    where += f'<br><span class="muted">file SHA-256 <code>{esc(finding.locator.sha256)}</code></span>'
    when = esc(to_iso(finding.timestamp) or "no date")
    key = bin_key_for(finding, unit)
    link = f'<br><a href="#t-{esc(key)}">on the timeline</a>' if key else ""
    return (
        f'<tr class="finding" id="f-{esc(finding.id)}" data-severity="{esc(label)}" '
        f'data-artifact="{esc(finding.artifact)}">'
        f'<td><span class="sev sev-{esc(label)}">{esc(label)}</span></td><td>{esc(what)}</td>'
        f'<td class="wrap">{seen}</td><td class="wrap">{where}</td><td>{when}{link}</td>'
        f'<td class="wrap">{_why(finding, rules)}</td></tr>'
    )


class _HtmlPart:
    """HtmlReport's per-day count over one part of an artifact read in parallel."""

    def __init__(self) -> None:
        self.per_day: Counter[date] = Counter()

    def record(
        self, artifact: Artifact, record: Record, findings: Sequence[Finding], stamps: Sequence[Timestamp]
    ) -> None:
        if stamps:
            when = stamps[0].when
            self.per_day[when.date() if when.tzinfo is UTC else utc_day(when)] += 1  # utc_day, inlined

    def close(self) -> object:
        return self.per_day


class HtmlReport:
    """A Sink writing OUT/report.html at the end of the run; during the run it only counts records per day."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.per_day: Counter[date] = Counter()
        self.device_facts: list[tuple[str, str]] = []
        self.opened_path = ""

    def begin(self, opened: Opened, index: IndicatorIndex) -> None:
        self.opened_path = str(opened.path)

    def artifact_started(self, artifact: Artifact) -> None:
        pass

    def record(
        self, artifact: Artifact, record: Record, findings: Sequence[Finding], stamps: Sequence[Timestamp]
    ) -> None:
        if stamps:
            when = stamps[0].when
            self.per_day[when.date() if when.tzinfo is UTC else utc_day(when)] += 1  # utc_day, inlined
        if artifact.name in DEVICE_INFO_ARTIFACTS and len(self.device_facts) < MAX_FACTS:
            for name, value in record.fields().items():
                if isinstance(value, (str, int, float, datetime)) and not isinstance(value, bool) and value != "":
                    text = to_iso(value) if isinstance(value, datetime) else str(value)
                    self.device_facts.append((name.replace("_", " "), _clip(text or "")))
                    if len(self.device_facts) >= MAX_FACTS:
                        break

    def part(self, artifact: Artifact, folder: Path) -> _HtmlPart | None:
        """Counting for one part of an artifact read in parallel (device facts are not: never split)."""
        return None if artifact.name in DEVICE_INFO_ARTIFACTS else _HtmlPart()

    def join(self, artifact: Artifact, folder: Path, state: object) -> None:
        assert isinstance(state, Counter)
        self.per_day.update(state)

    def artifact_finished(self, artifact: Artifact, report: ArtifactReport) -> None:
        pass

    def finish(self, result: CheckResult) -> None:
        self.path.write_text(self.render(result), encoding="utf-8")

    def render(self, result: CheckResult) -> str:
        from preuve import __version__
        from preuve.detect.rules import discover_rules

        rules = {r.name: (r.reason, r.reference) for r in discover_rules()}
        titles = {r.name: r.title for r in result.artifacts}
        verdict = result.verdict()
        gaps = coverage_gaps(result)
        unit, bins = timeline_bins(self.per_day, result.findings)
        counts = result.severity_counts()
        out: list[str] = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{esc(content_security_policy())}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="referrer" content="no-referrer">',
            f"<title>preuve report: {esc(verdict.headline)}</title>",
            f"<style>{_CSS}</style></head><body><main>",
            f'<section class="verdict verdict-{verdict.key}" id="verdict">',
            f'<h1 id="verdict-text">{esc(verdict.headline)}</h1><p>{esc(verdict.detail)}</p>',
            '<p class="counts">' + "".join(f"<span>{esc(k)}: <b>{v}</b></span>" for k, v in counts.items())
            + "</p>",
            f'<p class="muted">{esc(result.acquisition_kind)} ({esc(result.platform)}) at '
            f"<code>{esc(result.evidence_path)}</code>, checked {esc(result.finished.strftime('%Y-%m-%d %H:%M:%S UTC'))} with preuve "
            f"{esc(__version__)} against {result.indicator_count} indicator(s).</p></section>",
        ]
        if result.incomplete:
            out.append(
                '<p class="gaps"><b>The analysis is incomplete:</b> part of the acquisition could not be checked.</p>'
            )
        out.append('<section class="gaps" id="coverage"><h2>What could not be checked</h2>')
        if gaps:
            out.append("<ul>" + "".join(f"<li>{esc(g)}</li>" for g in gaps) + "</ul>")
        else:
            checked = sum(1 for r in result.artifacts if r.status.checked)
            out.append(
                f"<p>A full check: the {checked} artifact(s) this acquisition holds were read, against "
                f"{result.indicator_count} indicator(s) and the heuristic rules.</p>"
            )
        not_collected = [r for r in result.artifacts if r.status == ArtifactStatus.NOT_COLLECTED]
        if not_collected:
            out.append(
                '<p class="muted">Not collected by this kind of acquisition (not a gap): '
                + esc(", ".join(r.name for r in not_collected)) + ".</p>"
            )
        out.append("</section>")

        out.append(f'<h2>Findings (<span id="total-count">{len(result.findings)}</span>)</h2>')
        artifacts = sorted({f.artifact for f in result.findings})
        out.append('<div class="filters"><span>Severity:</span>')
        for label in counts:
            out.append(
                f'<label><input type="checkbox" class="sev-filter" value="{esc(label)}" checked> '
                f"{esc(label)} ({counts[label]})</label>"
            )
        out.append('<label>Artifact: <select id="artifact-filter"><option value="">all</option>')
        out.extend(
            f'<option value="{esc(a)}">{esc(titles.get(a, a))}</option>' for a in artifacts
        )
        out.append(
            '</select></label><span><b id="shown-count">'
            f"{min(len(result.findings), MAX_FINDING_ROWS)}</b> shown</span></div>"
        )
        if result.findings:
            out.append(
                '<table id="findings"><thead><tr><th>Severity</th><th>Malware or rule</th><th>What was seen</th>'
                "<th>Where</th><th>When</th><th>Why it matters</th></tr></thead><tbody>"
            )
            out.extend(_finding_row(f, titles, rules, unit) for f in result.findings[:MAX_FINDING_ROWS])
            out.append("</tbody></table>")
            if len(result.findings) > MAX_FINDING_ROWS:
                out.append(
                    f'<p class="muted">Only the first {MAX_FINDING_ROWS} findings are shown here; '
                    "all are in findings.json.</p>"
                )
        else:
            out.append('<p class="muted">No findings.</p>')

        out.append(f"<h2>Timeline (records per {esc(unit)}; marks are findings)</h2>")
        out.append(timeline_svg(unit, bins))
        out.append(self._facts(result))
        out.append(_artifact_table(result.all_artifacts()))
        out.append(f"<script>{_JS}</script></main></body></html>\n")
        return "\n".join(out)

    def _facts(self, result: CheckResult) -> str:
        rows: list[tuple[str, str]] = list(self.device_facts)
        rows += [
            ("acquisition", f"{result.acquisition_kind} ({result.platform})"),
            ("evidence", str(result.evidence_path)),
            ("checked", f"{to_iso(result.started)} to {to_iso(result.finished)}"),
            ("evidence files read", str(len(result.evidence_files))),
        ]
        for feed in result.feeds:
            rows.append(
                ("indicator feed", f"{feed.name}: {feed.indicators} indicators, SHA-256 {feed.sha256}"
                 + (f", from {feed.source}" if feed.source else ""))
            )
        body = "".join(f"<tr><th>{esc(k)}</th><td class=\"wrap\">{esc(v)}</td></tr>" for k, v in rows)
        source = "from the device's own records" if self.device_facts else "from the run (no device-info artifact)"
        files = "".join(
            f"<tr><td class=\"wrap\"><code>{esc(e.device_path)}</code></td><td>{e.size}</td>"
            f"<td class=\"wrap\"><code>{esc(e.sha256)}</code></td></tr>"
            for e in result.evidence_files[:MAX_EVIDENCE_ROWS]
        )
        return (
            f'<h2>Device and evidence</h2><p class="muted">Device facts {source}.</p>'
            f'<table id="facts">{body}</table>'
            f"<details><summary>Evidence files and their SHA-256 ({len(result.evidence_files)})</summary>"
            f"<table><tr><th>device path</th><th>bytes</th><th>SHA-256</th></tr>{files}</table></details>"
        )


def _artifact_table(reports: Sequence[ArtifactReport]) -> str:
    rows = "".join(
        f"<tr><td>{esc(r.title)} <span class=\"muted\">({esc(r.name)})</span></td><td>{esc(r.status)}</td>"
        f"<td>{r.records}</td><td>{r.findings}</td><td class=\"wrap\">{esc(r.why())}</td></tr>"
        for r in reports
    )
    return (
        '<h2>What was checked</h2><table id="artifacts"><tr><th>artifact</th><th>status</th><th>records</th>'
        f"<th>findings</th><th>what happened</th></tr>{rows}</table>"
    )
