"""The HTML report: one self-contained page that reads like an incident report.

From the top: the verdict in plain words and how sure it is, what to do next (for the person and
for the analyst), the device and the acquisition; a compact coverage checklist; the findings as
cards grouped by malware or rule, each with its record's context, time, strength and reason, the
proof under "details"; the timeline with axes, a legend and the findings' window zoomed; the
evidence files. Its fixed texts come from the message catalogue (:mod:`preuve.report.formats.catalog`,
``--lang``). It prints cleanly (every "details" opens for printing).

Written by hand (string building with :func:`html.escape`) rather than with a template engine: the
page must be fully static (no network, inline CSS and JS pinned by hash under a strict
Content-Security-Policy), and every value from the evidence is escaped at one visible place
(:func:`esc`).

The sink keeps only per-day record counters and the few records of a device-info artifact, so
memory stays flat however large the evidence; findings come from the run's result.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from preuve.artifacts.base import Artifact
from preuve.evidence.acquisition import Opened
from preuve.indicators.index import IndicatorIndex
from preuve.model import (
    Absence,
    ArtifactStatus,
    DeviceFacts,
    Finding,
    Record,
    Severity,
    Timestamp,
    Verdict,
    VerdictKey,
)
from preuve.report.formats.cards import RuleText, findings_section
from preuve.report.formats.catalog import Messages
from preuve.report.formats.timeline import timeline_section, utc_day
from preuve.run.sinks import RenderingSink

if TYPE_CHECKING:
    from preuve.run.results import CheckResult

MAX_FINDING_ROWS = 5000
MAX_FACT_CHARS = 300
MAX_EVIDENCE_ROWS = 500
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
            gaps.append(f"{report.title} ({report.name}) {report.failure()}: {'; '.join(report.errors[:3]) or 'unknown error'}")
    for absence in Absence:
        missing = [r for r in result.artifacts if r.absence == absence]
        if missing:
            gaps.append(
                f"Missing ({absence.meaning}): " + ", ".join(f"{r.title} ({r.name})" for r in missing) + "."
            )
    return gaps


def headline_key(result: CheckResult, verdict: Verdict) -> str:
    """The catalogue id of the verdict's headline (its English text is the model's headline)."""
    coverage = result.coverage()
    if verdict.key == VerdictKey.SPYWARE:
        return "verdict.spyware"
    if verdict.key == VerdictKey.SUSPICIOUS:
        return "verdict.suspicious_heuristics_only" if coverage.indicators == 0 else "verdict.suspicious"
    if verdict.key == VerdictKey.NOTHING:
        return "verdict.nothing"
    if coverage.nothing_checked:
        return "verdict.nothing_checked"
    if coverage.indicators == 0:
        return "verdict.heuristics_only"
    if coverage.only_partial:
        return "verdict.partial_acquisition"
    if not coverage.complete:
        return "verdict.incomplete"
    if coverage.not_selected:
        return "verdict.selected"
    return "verdict.no_heuristics"


class HtmlReport(RenderingSink):
    """A Sink writing OUT/report.html at the end of the run; during the run it only counts records per day."""

    # A record's day is that of its first timestamp, which the sink reads itself (Record.first_moment):
    # none of the Timestamps the run would make for it.
    timestamps_read = 0

    def __init__(self, path: Path, lang: str = "en") -> None:
        self.path = path
        self.messages = Messages(lang)
        self._days: Counter[int] = Counter()  # records by the day of their first timestamp (its ordinal)
        self.device_facts: list[tuple[str, str]] = []
        self.device_tz: tzinfo | None = None
        self.opened_path = ""

    def begin(self, opened: Opened, index: IndicatorIndex) -> None:
        self.opened_path = str(opened.path)

    def render_record(
        self, artifact: Artifact, record: Record, findings: Sequence[Finding], stamps: Sequence[Timestamp]
    ) -> int | tuple[int | None, DeviceFacts] | None:
        """The day of the record's first timestamp (its ordinal: an int is cheaper to keep than a date),
        with the record itself when it holds the device's facts."""
        day = None
        when = record.first_moment()
        if when is not None:
            day = (when.date() if when.tzinfo is UTC else utc_day(when)).toordinal()  # utc_day, inlined
        return (day, record) if type(record) is DeviceFacts else day

    def render_records(
        self, artifact: Artifact, records: Sequence[Record], findings: Sequence[Sequence[Finding]],
        stamps: Sequence[Sequence[Timestamp]],
    ) -> list[int | tuple[int | None, DeviceFacts] | None]:
        """render_record of each record of a batch."""
        out: list[int | tuple[int | None, DeviceFacts] | None] = []
        for record in records:
            day = None
            moment = record.first_moment()
            if moment is not None:
                day = (moment.date() if moment.tzinfo is UTC else utc_day(moment)).toordinal()
            out.append((day, record) if type(record) is DeviceFacts else day)
        return out

    def write_records(self, artifact: Artifact, rendered: Sequence[int | tuple[int | None, DeviceFacts] | None]) -> None:
        days = [value for value in rendered if type(value) is int]
        self._days.update(days)
        if len(days) < len(rendered):
            for value in rendered:
                if type(value) is not int:
                    self.write_record(artifact, value)

    def write_record(self, artifact: Artifact, rendered: int | tuple[int | None, DeviceFacts] | None) -> None:
        if type(rendered) is int:
            self._days[rendered] += 1
            return
        if rendered is None:
            return
        day, facts = cast(tuple[int | None, DeviceFacts], rendered)
        if day is not None:
            self._days[day] += 1
        if not self.device_facts:
            self.device_facts = [(label, _clip(value)) for label, value in facts.facts()]
            if facts.timezone:
                self.device_tz = _zone(facts.timezone)

    @property
    def per_day(self) -> Counter[date]:
        """How many records have their first timestamp on each day (UTC), in the order first seen."""
        return Counter({date.fromordinal(day): count for day, count in self._days.items()})

    def finish(self, result: CheckResult) -> None:
        self.path.write_text(self.render(result), encoding="utf-8", errors="backslashreplace")

    def render(self, result: CheckResult) -> str:
        from preuve import __version__
        from preuve.detect.rules import discover_rules

        t = self.messages
        rules = {r.name: RuleText(r.reason, r.reference) for r in discover_rules(result.platform)}
        titles = {r.name: r.title for r in result.artifacts}
        verdict = result.verdict()
        headline = t(headline_key(result, verdict))
        timeline, unit = timeline_section(self.per_day, result.findings, t)
        counts = result.severity_counts()
        out: list[str] = [
            "<!DOCTYPE html>",
            f'<html lang="{esc(t.lang)}"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{esc(content_security_policy())}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="referrer" content="no-referrer">',
            f"<title>{esc(t('title'))}: {esc(headline)}</title>",
            f'<style>{_CSS}</style></head><body><main>',
            f'<section class="verdict verdict-{esc(verdict.key)}" id="verdict" aria-labelledby="verdict-text">',
            f'<h1 id="verdict-text">{esc(headline)}</h1>',
            f'<p class="sure">{esc(_how_sure(result, verdict, t))}</p>',
            '<p class="counts">' + "".join(
                f'<span class="sev sev-{esc(k)}">{esc(t("severity." + k))} {v}</span> ' for k, v in counts.items() if v
            ) + "</p></section>",
            _next_steps(result, verdict, t),
            self._device(result, t, __version__),
            _coverage(result, t),
            f'<section id="findings"><h2>{esc(t("findings.title", count=len(result.findings)))}</h2>',
        ]
        if result.findings:
            out.append(_filters(result, counts, titles, t))
            out.append(findings_section(result.findings, rules, titles, t, unit, self.device_tz, MAX_FINDING_ROWS))
        else:
            out.append(f'<p class="muted">{esc(t("findings.none"))}</p>')
        out.append("</section>")
        out.append(f'<section id="timeline"><h2>{esc(t("timeline.title"))}</h2>{timeline}</section>')
        out.append(self._files(result, t))
        out.append(f'<footer class="muted">{esc(t("footer", version=__version__))}</footer>')
        out.append(f"<script>{_JS}</script></main></body></html>\n")
        return "\n".join(out)

    def _device(self, result: CheckResult, t: Messages, version: str) -> str:
        rows: list[tuple[str, str]] = list(self.device_facts)
        rows += [
            (t("device.acquisition"), f"{result.acquisition_kind} ({result.platform})"),
            (t("device.evidence"), str(result.evidence_path)),
            (t("device.checked"), result.finished.strftime("%Y-%m-%d %H:%M UTC")),
            (t("device.tool"), f"preuve {version}"),
        ]
        feeds = "; ".join(f"{f.name} ({t('device.indicators', count=f.indicators)})" for f in result.feeds)
        rows.append((t("device.feeds"), feeds or t("device.nofeeds")))
        body = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
        return (
            f'<section id="device"><h2>{esc(t("device.title"))}</h2><dl class="device" id="facts">{body}</dl>'
            "</section>"
        )

    def _files(self, result: CheckResult, t: Messages) -> str:
        files = "".join(
            f"<tr><td><code>{esc(e.device_path)}</code></td><td>{e.size}</td><td><code>{esc(e.sha256)}</code></td></tr>"
            for e in result.evidence_files[:MAX_EVIDENCE_ROWS]
        )
        return (
            f'<section id="evidence"><details><summary>{esc(t("device.files", count=len(result.evidence_files)))}'
            f'</summary><table class="files"><tbody>{files}</tbody></table></details></section>'
        )


def _zone(name: str) -> tzinfo | None:
    name = name.strip()
    if not name or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _how_sure(result: CheckResult, verdict: Verdict, t: Messages) -> str:
    if verdict.key == VerdictKey.SPYWARE:
        malware = sorted({f.indicator.malware for f in result.findings if f.indicator is not None})
        return t("sure.strong", malware=", ".join(malware))
    if result.indicator_count == 0:
        return t("sure.none")
    if verdict.key == VerdictKey.SUSPICIOUS:
        return t("sure.moderate", count=sum(1 for f in result.findings if f.severity >= Severity.MEDIUM))
    if verdict.key == VerdictKey.PARTIAL:
        return t("sure.partial")
    return t("sure.limited")


def _next_steps(result: CheckResult, verdict: Verdict, t: Messages) -> str:
    person = t(f"next.person.{verdict.key}")
    analyst: list[str] = []
    coverage = result.coverage()
    if not coverage.complete:
        analyst.append(t("next.analyst.incomplete"))
    if result.indicator_count == 0:
        analyst.append(t("next.analyst.feeds"))
    if coverage.not_selected:
        analyst.append(t("next.analyst.selected"))
    if verdict.key == VerdictKey.SPYWARE:
        analyst.append(t("next.analyst.spyware"))
    if result.platform == "ios" and result.acquisition_kind.startswith("ios_backup"):
        analyst.append(t("next.analyst.more_ios"))
    elif result.platform == "android" and result.acquisition_kind != "androidqf":
        analyst.append(t("next.analyst.more_android"))
    items = "".join(f"<li>{esc(a)}</li>" for a in analyst)
    return (
        f'<section id="next" class="next"><h2>{esc(t("next.title"))}</h2><div class="cols">'
        f'<div><h3>{esc(t("next.person"))}</h3><p>{esc(person)}</p></div>'
        f'<div><h3>{esc(t("next.analyst"))}</h3><ul>{items}</ul></div></div></section>'
    )


# Coverage groups in the order shown; the gaps are open, the rest collapsed. Artifacts this kind of
# acquisition never holds are listed last and are not gaps.
_COVERAGE_GROUPS: tuple[tuple[str, tuple[ArtifactStatus, ...], bool], ...] = (
    ("failed", (ArtifactStatus.FAILED,), True),
    ("absent", (ArtifactStatus.MISSING,), True),  # absent in a way that loses evidence: a gap
    ("not_present", (ArtifactStatus.MISSING,), False),  # simply not in this acquisition
    ("excluded", (ArtifactStatus.NOT_SELECTED,), False),
    ("empty", (ArtifactStatus.EMPTY,), False),
    ("checked", (ArtifactStatus.OK,), False),
    ("not_collected", (ArtifactStatus.NOT_COLLECTED,), False),
)


def _coverage(result: CheckResult, t: Messages) -> str:
    lines: list[str] = []
    coverage = result.coverage()
    for problem in coverage.acquisition_problems:
        lines.append(f'<p class="gap">{esc(t("coverage.damaged", problem=problem))}</p>')
    if result.indicator_count == 0:
        lines.append(f'<p class="gap">{esc(t("coverage.no_feeds"))}</p>')
    if not result.options.heuristics:
        lines.append(f'<p class="gap">{esc(t("coverage.no_rules"))}</p>')
    reports = result.all_artifacts()
    for key, statuses, open_ in _COVERAGE_GROUPS:
        chosen = [r for r in reports if r.status in statuses]
        if key == "absent":
            chosen = [r for r in chosen if r.absence is not None and r.absence.loses_evidence]
        elif key == "not_present":
            chosen = [r for r in chosen if r.absence is None or not r.absence.loses_evidence]
        if not chosen:
            continue
        items = "".join(
            f'<li><span class="aname">{esc(r.title)}</span>'
            + (f' <span class="muted">— {esc(r.why())}</span>' if key in ("failed", "absent") else "")
            + (f' <span class="muted">({r.records:,})</span>' if key == "checked" else "")
            + "</li>"
            for r in chosen
        )
        opened = " open" if open_ else ""
        lines.append(
            f'<details class="cov cov-{key}"{opened}><summary>{esc(t("coverage." + key, count=len(chosen)))}'
            f"</summary><ul>{items}</ul></details>"
        )
    return f'<section id="coverage"><h2>{esc(t("coverage.title"))}</h2>{"".join(lines)}</section>'


def _filters(result: CheckResult, counts: dict[str, int], titles: dict[str, str], t: Messages) -> str:
    boxes = "".join(
        f'<label><input type="checkbox" class="sev-filter" value="{esc(label)}" checked> '
        f'{esc(t("severity." + label))} ({count})</label>'
        for label, count in counts.items() if count
    )
    artifacts = sorted({f.artifact for f in result.findings})
    options = "".join(f'<option value="{esc(a)}">{esc(titles.get(a, a))}</option>' for a in artifacts)
    return (
        f'<div class="filters" role="group" aria-label="{esc(t("findings.filter.severity"))}">'
        f'<span>{esc(t("findings.filter.severity"))}:</span>{boxes}'
        f'<label><select id="artifact-filter"><option value="">*</option>{options}</select></label>'
        f'<label>{esc(t("findings.filter.search"))} <input type="search" id="text-filter"></label>'
        f'<span><b id="shown-count">{min(len(result.findings), MAX_FINDING_ROWS)}</b> '
        f'{esc(t("findings.shown"))}</span></div>'
    )


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy() -> str:
    """Nothing may load; only this page's own script and style run (pinned by hash)."""
    return (
        f"default-src 'none'; script-src {_csp_hash(_JS)}; style-src {_csp_hash(_CSS)}; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


# Colours meet WCAG AA contrast (4.5:1) for their text on white or for white text on them.
_CSS = """
:root{--ink:#1b1f24;--muted:#4a5361;--line:#d0d7de;--crit:#8b0000;--high:#c62828;--med:#a35c00;--low:#1f5f99;--info:#5f6b7a}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:var(--ink);background:#fff;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:1.2rem}
h1{font-size:1.8rem;margin:.1rem 0 .4rem}h2{margin-top:1.8rem;border-bottom:1px solid var(--line);padding-bottom:.3rem}
h3{margin:.6rem 0 .3rem}
.verdict{padding:1rem 1.3rem;border-radius:8px;border:2px solid}
.verdict-spyware{background:#fde8e8;border-color:var(--crit)}.verdict-suspicious{background:#fff4e0;border-color:var(--med)}
.verdict-nothing{background:#eef2f7;border-color:var(--low)}.verdict-heuristics_only,.verdict-incomplete{background:#fff8c5;border-color:#9a6700}
.sure{font-size:1.05rem;margin:.3rem 0}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1.2rem}
.next p,.next li{margin:.2rem 0}
.muted{color:var(--muted)}
dl.device,dl.facts,dl.context,dl.proof{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.15rem .9rem;margin:.4rem 0}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
.gap{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:.5rem .8rem}
details.cov{margin:.3rem 0}details.cov summary{cursor:pointer;font-weight:600}
.cov-failed summary{color:var(--high)}.cov-absent summary{color:var(--med)}
details.cov ul{columns:2;margin:.3rem 0 .6rem}
.sev{display:inline-block;font-weight:700;font-size:.8rem;text-transform:uppercase;padding:.05rem .45rem;border-radius:3px;color:#fff;white-space:nowrap}
.sev-critical{background:var(--crit)}.sev-high{background:var(--high)}.sev-medium{background:var(--med)}
.sev-low{background:var(--low)}.sev-info{background:var(--info)}
.filters{margin:.6rem 0;display:flex;gap:.9rem;flex-wrap:wrap;align-items:center}
section.group{margin:1rem 0}.gtitle{overflow-wrap:anywhere;word-break:normal}
.why{margin:.2rem 0 .5rem}
article.card{border:1px solid var(--line);border-left:6px solid var(--info);border-radius:6px;padding:.6rem .9rem;margin:.6rem 0;background:#fff}
.sev-border-critical{border-left-color:var(--crit)!important}.sev-border-high{border-left-color:var(--high)!important}
.sev-border-medium{border-left-color:var(--med)!important}.sev-border-low{border-left-color:var(--low)!important}
article.card:target,article.card:focus{outline:3px solid #0969da}
.card-head{margin:0 0 .3rem}.artifact{color:var(--muted)}
.seen{font-size:1.02rem;margin:.2rem 0;overflow-wrap:anywhere}
dl.context{background:#f6f8fa;border-radius:4px;padding:.4rem .6rem}
summary{cursor:pointer}
code{font:.82rem ui-monospace,SFMono-Regular,Menlo,monospace;overflow-wrap:anywhere}
a:focus,input:focus,select:focus,summary:focus{outline:3px solid #0969da;outline-offset:2px}
svg.timeline{width:100%;height:auto;background:#fff;border:1px solid var(--line)}
svg .axis{stroke:#57606a;stroke-width:1}svg .tick{font-size:12px;fill:#3b434d}svg .bar{fill:#4f7fb0}
svg .markline{stroke-width:1.5;stroke-dasharray:3 2}svg .markcount{font-size:10px;fill:#fff;font-weight:700}
svg rect:target{fill:#000}
.legend{display:flex;gap:1rem;flex-wrap:wrap;font-size:.9rem}.lg{display:inline-flex;align-items:center;gap:.3rem}
.sw{display:inline-block;width:12px;height:12px}.bar-sw{background:#4f7fb0}.dot{border-radius:50%}
.dot-critical{background:var(--crit)}.dot-high{background:var(--high)}.dot-medium{background:var(--med)}
.dot-low{background:var(--low)}.dot-info{background:var(--info)}
table.files{border-collapse:collapse;width:100%;font-size:.85rem}table.files td{border-bottom:1px solid var(--line);padding:.2rem .4rem;overflow-wrap:anywhere}
footer{margin-top:2rem;padding-top:.6rem;border-top:1px solid var(--line)}
@media (max-width:700px){.cols{grid-template-columns:1fr}details.cov ul{columns:1}main{padding:.7rem}
dl.device,dl.facts,dl.context,dl.proof{grid-template-columns:1fr}dt{font-weight:600}}
@media print{.filters{display:none}body{font-size:11pt}article.card,section.verdict{break-inside:avoid}
h2,h3{break-after:avoid}
a{color:inherit;text-decoration:none}main{max-width:none}}
"""

_JS = """
(function(){
  var boxes=document.querySelectorAll('input.sev-filter');
  var select=document.getElementById('artifact-filter');
  var text=document.getElementById('text-filter');
  var cards=document.querySelectorAll('article.card');
  var groups=document.querySelectorAll('section.group');
  var shown=document.getElementById('shown-count');
  function apply(){
    var sev={};
    boxes.forEach(function(b){sev[b.value]=b.checked;});
    var art=select?select.value:'', q=text?text.value.toLowerCase():'', n=0;
    cards.forEach(function(c){
      var ok=sev[c.dataset.severity]!==false&&(art===''||c.dataset.artifact===art)&&
        (q===''||c.textContent.toLowerCase().indexOf(q)>=0);
      c.hidden=!ok; if(ok){n++;}
    });
    groups.forEach(function(g){g.hidden=!g.querySelector('article.card:not([hidden])');});
    if(shown){shown.textContent=String(n);}
  }
  boxes.forEach(function(b){b.addEventListener('change',apply);});
  if(select){select.addEventListener('change',apply);}
  if(text){text.addEventListener('input',apply);}
  window.addEventListener('beforeprint',function(){
    document.querySelectorAll('details').forEach(function(d){d.dataset.was=d.open?'1':'';d.open=true;});
  });
  window.addEventListener('afterprint',function(){
    document.querySelectorAll('details').forEach(function(d){d.open=d.dataset.was==='1';});
  });
  apply();
})();
"""
