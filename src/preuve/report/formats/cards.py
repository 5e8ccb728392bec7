"""Finding cards for the HTML report, grouped by malware (indicator findings) or by rule.

A card puts first what a person can act on: what was seen, with its record's context (a message's
sender and text, a page's title, a process and the data it used), when (UTC and, when known, the
device's time zone), how strong the evidence is and why it matters. The proof (file, hashes,
locator, STIX id, feed) is under "details", where an expert finds it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from preuve.detect.match import parse_stix_time
from preuve.model import Finding, Severity
from preuve.report.formats.catalog import Messages
from preuve.report.formats.timeline import bin_key_for

# A value shown on a card is cut past this many characters (the full record is in artifacts/).
MAX_VALUE = 600
# Occurrences of a grouped finding listed on its card (all are in findings.json).
MAX_MEMBERS = 200


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def clip(text: str, limit: int = MAX_VALUE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class RuleText:
    reason: str
    reference: str


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    title: str
    worst: Severity
    findings: tuple[Finding, ...]
    indicator: bool


def group_findings(findings: Sequence[Finding]) -> list[Group]:
    """Findings by malware or rule, the worst group first, each group in the findings' own order."""
    groups: dict[str, list[Finding]] = {}
    titles: dict[str, tuple[str, bool]] = {}
    for finding in findings:
        if finding.indicator is not None:
            key, title, is_indicator = f"m:{finding.indicator.malware}", finding.indicator.malware, True
        else:
            key, title, is_indicator = f"r:{finding.rule or finding.artifact}", finding.rule or finding.artifact, False
        groups.setdefault(key, []).append(finding)
        titles[key] = (title, is_indicator)
    out = [
        Group(key, titles[key][0], max(f.severity for f in items), tuple(items), titles[key][1])
        for key, items in groups.items()
    ]
    out.sort(key=lambda g: (-int(g.worst), not g.indicator, g.title.lower()))
    return out


def context_pairs(finding: Finding) -> list[tuple[str, str]]:
    """The record's context a finding carries (label, value), in its order."""
    return [] if finding.context is None else finding.context.lines()


def strength_text(finding: Finding) -> str:
    return finding.evidence_strength.meaning


def _when(finding: Finding, t: Messages, device_tz: tzinfo | None) -> str:
    if finding.timestamp is None:
        return esc(t("card.undated"))
    when = finding.timestamp if finding.timestamp.tzinfo else finding.timestamp.replace(tzinfo=UTC)
    text = esc(when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
    if device_tz is not None:
        local = when.astimezone(device_tz)
        text += f' <span class="muted">({esc(local.strftime("%Y-%m-%d %H:%M:%S %Z"))}, {esc(t("card.device_time"))})</span>'
    return text


def _why(finding: Finding, rules: dict[str, RuleText], t: Messages) -> str:
    ind = finding.indicator
    if ind is not None:
        text = esc(t("card.indicator_text", malware=ind.malware, kind=ind.kind, feed=ind.feed))
        if ind.published:
            text += f" ({esc(ind.published[:10])}"
            if ind.valid_until:
                until = parse_stix_time(ind.valid_until)
                expired = until is not None and until < datetime.now(UTC)
                text += f", → {esc(ind.valid_until[:10])}" + (" ✗" if expired else "")
            text += ")"
        return text
    if finding.rule is not None and finding.rule in rules:
        return esc(rules[finding.rule].reason)
    return ""


def _details(finding: Finding, rules: dict[str, RuleText], titles: dict[str, str], t: Messages) -> str:
    rows = [
        (t("card.file"), f"<code>{esc(finding.locator.device_path)}</code>"),
        (t("card.file_sha"), f"<code>{esc(finding.locator.sha256)}</code>"),
    ]
    inside = finding.locator.words()
    if inside:
        rows.append((t("card.where"), esc(inside)))
    if finding.record_sha256:
        rows.append((t("card.record_sha"), f"<code>{esc(finding.record_sha256)}</code>"))
    if finding.observable is not None:
        rows.append((esc(finding.observable.kind), f"<code>{esc(clip(finding.observable.value))}</code>"))
    ind = finding.indicator
    if ind is not None:
        rows.append((t("card.indicator"), f"{esc(ind.kind)} <code>{esc(ind.value)}</code>"))
        rows.append((t("card.stix"), f"<code>{esc(ind.stix_id)}</code>"))
        rows.append((t("card.feed"), f"{esc(ind.feed)} <code>{esc(ind.feed_sha256)}</code>"))
    if finding.rule is not None:
        rows.append((t("card.rule"), f"<code>{esc(finding.rule)}</code>"))
        reference = rules.get(finding.rule)
        if reference is not None and reference.reference:
            rows.append((t("card.source"), esc(reference.reference)))
    rows.append((t("card.finding_id"), f"<code>{esc(finding.id)}</code>"))
    body = "".join(f"<dt>{esc(k) if '<' not in k else k}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<details><summary>{esc(t("card.details"))}</summary><dl class="proof">{body}</dl></details>'


def card(
    finding: Finding, rules: dict[str, RuleText], titles: dict[str, str], t: Messages, unit: str,
    device_tz: tzinfo | None,
) -> str:
    label = finding.severity.label
    artifact = titles.get(finding.artifact, finding.artifact)
    context = context_pairs(finding)
    parts = [
        f'<article class="card sev-border-{esc(label)}" id="f-{esc(finding.id)}" data-severity="{esc(label)}" '
        f'data-artifact="{esc(finding.artifact)}" tabindex="-1">',
        f'<p class="card-head"><span class="sev sev-{esc(label)}">{esc(t("severity." + label))}</span> '
        f'<span class="artifact">{esc(artifact)}</span></p>',
        f'<p class="seen">{esc(clip(finding.explanation))}</p>',
    ]
    if context:
        parts.append(
            '<dl class="context">'
            + "".join(f"<dt>{esc(k)}</dt><dd>{esc(clip(v))}</dd>" for k, v in context)
            + "</dl>"
        )
    facts = [f'<dt>{esc(t("card.when"))}</dt><dd>{_when(finding, t, device_tz)}']
    key = bin_key_for(finding, unit)
    if key:
        facts[-1] += f' · <a href="#t-{esc(key)}">{esc(t("card.timeline"))}</a>'
    facts[-1] += "</dd>"
    strength = strength_text(finding)
    if strength:
        facts.append(f'<dt>{esc(t("card.strength"))}</dt><dd>{esc(strength)}</dd>')
    why = _why(finding, rules, t)
    if why:
        facts.append(f'<dt>{esc(t("card.why"))}</dt><dd>{why}</dd>')
    parts.append('<dl class="facts">' + "".join(facts) + "</dl>")
    if finding.group is not None and finding.group.count > 1:
        shown = finding.group.members[:MAX_MEMBERS]
        items = "".join(
            f"<li><code>{esc(clip(m.locator.device_path, 200))}</code> {esc(clip(m.explanation, 200))}</li>"
            for m in shown
        )
        more = finding.group.count - len(shown)
        tail = f'<p class="muted">{esc(t("card.more_members", count=more))}</p>' if more > 0 else ""
        parts.append(
            f'<details class="members"><summary>{esc(t("card.members", count=finding.group.count))}</summary>'
            f"<ul>{items}</ul>{tail}</details>"
        )
    parts.append(_details(finding, rules, titles, t))
    parts.append("</article>")
    return "".join(parts)


def findings_section(
    findings: Sequence[Finding], rules: dict[str, RuleText], titles: dict[str, str], t: Messages, unit: str,
    device_tz: tzinfo | None, limit: int,
) -> str:
    shown = findings[:limit]
    out: list[str] = []
    for group in group_findings(shown):
        label = group.worst.label
        reason = ""
        if not group.indicator and group.title in rules:
            reason = f'<p class="why">{esc(rules[group.title].reason)}</p>'
        out.append(
            f'<section class="group" data-severity="{esc(label)}"><h3><span class="sev sev-{esc(label)}">'
            f'{esc(t("severity." + label))}</span> <span class="gtitle">{esc(group.title)}</span> '
            f'<span class="muted">{esc(t("group.count", count=len(group.findings)))}</span></h3>{reason}'
        )
        out.extend(card(f, rules, titles, t, unit, device_tz) for f in group.findings)
        out.append("</section>")
    if len(findings) > limit:
        out.append(f'<p class="muted">{esc(t("findings.cut", count=limit))}</p>')
    return "".join(out)
