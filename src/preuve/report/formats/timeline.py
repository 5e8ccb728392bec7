"""The report's timeline picture: records per day, week or month, with axes, a legend, the findings
marked (each mark links to its card), and a second picture zoomed on the days around the findings.

Drawn as inline SVG by hand: the report is one self-contained file with no script library, and the
picture is a few dozen shapes. Labels are placed so that none is cut at an edge (the first is
anchored at its start, the last at its end) and none overlaps another (at most one label per
`_LABEL_GAP` pixels); marks closer than a mark's width are drawn as one, counting both.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from preuve.model import Finding, Severity
from preuve.report.formats.catalog import Messages

SEVERITY_COLOUR = {
    "critical": "#8b0000", "high": "#c62828", "medium": "#a35c00", "low": "#1f5f99", "info": "#5f6b7a",
}
_WIDTH, _HEIGHT = 1000, 210
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 34, 40
_LABEL_GAP = 130  # pixels between two date labels at least
_MARK_GAP = 18  # marks closer than this are merged
# The zoomed picture is drawn when the findings sit in a window this much narrower than the whole.
_ZOOM_RATIO = 3
_ZOOM_MARGIN_DAYS = 3
_ZOOM_MAX_DAYS = 120


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def utc_day(when: datetime) -> date:
    """The UTC calendar day of a moment (a naive datetime is taken as UTC, never as local time)."""
    if when.tzinfo is UTC:
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


def _floor(unit: str) -> Callable[[date], date]:
    return {"day": lambda d: d, "week": _week, "month": _month}[unit]


def timeline_bins(
    per_day: Counter[date], findings: Iterable[Finding], unit: str | None = None,
    first: date | None = None, last: date | None = None,
) -> tuple[str, list[Bin]]:
    """Records per day (or week, or month when the span is long), with the findings of each bin;
    `first`/`last` (and `unit`) restrict it to a window."""
    dated = [f for f in findings if f.timestamp is not None]
    days = set(per_day) | {utc_day(f.timestamp) for f in dated if f.timestamp is not None}
    if first is not None and last is not None:
        days = {d for d in days if first <= d <= last} | {first, last}
    if not days:
        return "day", []
    low, high = min(days), max(days)
    if unit is None:
        span = (high - low).days
        unit = "day" if span <= 180 else "week" if span <= 7 * 260 else "month"
    floor = _floor(unit)
    step = {
        "day": lambda d: d + timedelta(days=1), "week": lambda d: d + timedelta(days=7), "month": _next_month,
    }[unit]
    counts: Counter[date] = Counter()
    for day, count in per_day.items():
        if low <= day <= high:
            counts[floor(day)] += count
    marks: dict[date, list[Finding]] = {}
    for finding in dated:
        assert finding.timestamp is not None
        day = utc_day(finding.timestamp)
        if low <= day <= high:
            marks.setdefault(floor(day), []).append(finding)
    bins: list[Bin] = []
    cursor = floor(low)
    while cursor <= high:
        bins.append(Bin(cursor, counts.get(cursor, 0), tuple(marks.get(cursor, ()))))
        cursor = step(cursor)
    return unit, bins


def bin_key_for(finding: Finding, unit: str) -> str | None:
    if finding.timestamp is None:
        return None
    return _floor(unit)(utc_day(finding.timestamp)).isoformat()


def _label_positions(count: int, slot: float) -> list[int]:
    """Indexes of the bins that get a date label: the first, the last, and evenly between."""
    if count == 0:
        return []
    plot = slot * count
    most = max(2, int(plot // _LABEL_GAP))
    if count <= most:
        return list(range(count))
    step = (count - 1) / (most - 1)
    return sorted({round(i * step) for i in range(most)})


@dataclass(frozen=True, slots=True)
class _Mark:
    x: float
    findings: tuple[Finding, ...]

    @property
    def worst(self) -> Severity:
        return max(f.severity for f in self.findings)


def _marks(bins: Sequence[Bin], slot: float) -> list[_Mark]:
    marks: list[_Mark] = []
    for number, item in enumerate(bins):
        if not item.findings:
            continue
        x = _LEFT + number * slot + slot / 2
        ordered = tuple(sorted(item.findings, key=Finding.sort_key))
        if marks and x - marks[-1].x < _MARK_GAP:
            last = marks.pop()
            marks.append(_Mark(last.x, last.findings + ordered))
        else:
            marks.append(_Mark(x, ordered))
    return marks


def timeline_svg(unit: str, bins: Sequence[Bin], t: Messages, label: str = "", anchor: str = "t") -> str:
    """One picture: bars of records per bin, axes, dates, and a mark per finding (or close group)."""
    if not bins:
        return f'<p class="muted">{_esc(t("timeline.none"))}</p>'
    plot_w = _WIDTH - _LEFT - _RIGHT
    plot_h = _HEIGHT - _TOP - _BOTTOM
    slot = plot_w / len(bins)
    peak = max(b.records for b in bins)
    scale = peak or 1
    base = _HEIGHT - _BOTTOM
    unit_word = t(f"unit.{unit}")
    title = label or t("timeline.records", unit=unit_word)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" '
        f'aria-label="{_esc(title)}" class="timeline">',
        f'<line x1="{_LEFT}" y1="{base}" x2="{_WIDTH - _RIGHT}" y2="{base}" class="axis"/>',
        f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{base}" class="axis"/>',
    ]
    for value in sorted({0, peak // 2, peak}):
        y = base - plot_h * value / scale
        parts.append(f'<line x1="{_LEFT - 4}" y1="{y:.1f}" x2="{_LEFT}" y2="{y:.1f}" class="axis"/>')
        parts.append(f'<text x="{_LEFT - 7}" y="{y + 4:.1f}" text-anchor="end" class="tick">{value:,}</text>')
    for number, item in enumerate(bins):
        bar = plot_h * item.records / scale
        x = _LEFT + number * slot
        parts.append(
            f'<rect id="{_esc(anchor)}-{_esc(item.key)}" x="{x + slot * 0.1:.2f}" y="{base - bar:.2f}" '
            f'width="{max(slot * 0.8, 0.6):.2f}" height="{bar:.2f}" class="bar"><title>{_esc(item.key)}: '
            f"{item.records:,} {_esc(t('timeline.legend.records'))}</title></rect>"
        )
    positions = _label_positions(len(bins), slot)
    for index in positions:
        x = _LEFT + index * slot + slot / 2
        anchor_side = "start" if index == positions[0] and len(positions) > 1 else (
            "end" if index == positions[-1] and len(positions) > 1 else "middle")
        if anchor_side == "start":
            x = _LEFT + index * slot
        elif anchor_side == "end":
            x = _LEFT + (index + 1) * slot
        parts.append(f'<line x1="{_LEFT + index * slot + slot / 2:.1f}" y1="{base}" '
                     f'x2="{_LEFT + index * slot + slot / 2:.1f}" y2="{base + 4}" class="axis"/>')
        parts.append(f'<text x="{x:.1f}" y="{base + 18}" text-anchor="{anchor_side}" class="tick">'
                     f"{_esc(bins[index].key)}</text>")
    parts.append(f'<text x="{_LEFT}" y="{_HEIGHT - 4}" class="tick">{_esc(t("timeline.records", unit=unit_word))}'
                 "</text>")
    for mark in _marks(bins, slot):
        colour = SEVERITY_COLOUR[mark.worst.label]
        count = len(mark.findings)
        first = mark.findings[0]
        parts.append(
            f'<a href="#f-{_esc(first.id)}" class="mark"><line x1="{mark.x:.1f}" y1="{_TOP - 6}" '
            f'x2="{mark.x:.1f}" y2="{base}" stroke="{colour}" class="markline"/>'
            f'<circle cx="{mark.x:.1f}" cy="{_TOP - 14}" r="8" fill="{colour}"/>'
            f'<text x="{mark.x:.1f}" y="{_TOP - 10}" text-anchor="middle" class="markcount">{count}</text>'
            f"<title>{count} × {_esc(t('severity.' + mark.worst.label))}: "
            f"{_esc(first.explanation[:200])}</title></a>"
        )
    parts.append("</svg>")
    return "".join(parts)


def legend(bins: Sequence[Bin], t: Messages) -> str:
    severities = sorted({f.severity for b in bins for f in b.findings}, reverse=True)
    items = [f'<span class="lg"><span class="sw bar-sw"></span>{_esc(t("timeline.legend.records"))}</span>']
    for severity in severities:
        items.append(
            f'<span class="lg"><span class="sw dot dot-{severity.label}"></span>'
            f"{_esc(t('timeline.legend.finding', severity=t('severity.' + severity.label)))}</span>"
        )
    return '<p class="legend">' + "".join(items) + "</p>"


def zoom_window(unit: str, bins: Sequence[Bin]) -> tuple[date, date] | None:
    """The days around the findings, when they sit in a much narrower window than the whole picture."""
    dated = sorted(utc_day(f.timestamp) for b in bins for f in b.findings if f.timestamp is not None)
    if not dated or not bins:
        return None
    whole = (bins[-1].start - bins[0].start).days + 1
    first = dated[0] - timedelta(days=_ZOOM_MARGIN_DAYS)
    last = dated[-1] + timedelta(days=_ZOOM_MARGIN_DAYS)
    span = (last - first).days + 1
    if span > _ZOOM_MAX_DAYS or whole < span * _ZOOM_RATIO and unit == "day":
        return None
    return first, last


def timeline_section(per_day: Counter[date], findings: Sequence[Finding], t: Messages) -> tuple[str, str]:
    """(the pictures' HTML, the unit of the main picture)."""
    unit, bins = timeline_bins(per_day, findings)
    out = [timeline_svg(unit, bins, t), legend(bins, t)]
    window = zoom_window(unit, bins)
    if window is not None:
        _, zoomed = timeline_bins(per_day, findings, unit="day", first=window[0], last=window[1])
        label = t("timeline.window", start=window[0].isoformat(), end=window[1].isoformat())
        out.append(f"<h3>{_esc(label)}</h3>")
        out.append(timeline_svg("day", zoomed, t, label=label, anchor="z"))
    return "".join(out), unit
