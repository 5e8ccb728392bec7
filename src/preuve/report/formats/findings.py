"""The JSON shape of findings and of the run summary (the output contract)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from preuve.model import (
    Context,
    DataUse,
    Direction,
    Finding,
    FindingGroup,
    GroupMember,
    IndicatorRef,
    Kind,
    Locator,
    Observable,
    Severity,
    Strength,
    Timestamp,
    Verdict,
)
from preuve.model.jsonio import to_iso, write_indented

if TYPE_CHECKING:
    from preuve.run.results import CheckResult


def finding_to_dict(finding: Finding, *, context: bool = True) -> dict[str, object]:
    """A finding as findings.json writes it; without `context` (the verification bundle, which carries
    no record values), its context is left out."""
    indicator = finding.indicator
    return {
        "id": finding.id,
        "severity": finding.severity.label,
        "artifact": finding.artifact,
        "rule": finding.rule,
        "indicator": None
        if indicator is None
        else {
            "kind": str(indicator.kind),
            "value": indicator.value,
            "malware": indicator.malware,
            "feed": indicator.feed,
            "feed_sha256": indicator.feed_sha256,
            "stix_id": indicator.stix_id,
            "published": indicator.published,
            "valid_until": indicator.valid_until,
        },
        "observable": None
        if finding.observable is None
        else {"kind": str(finding.observable.kind), "value": finding.observable.value},
        "locator": finding.locator.as_dict(),
        "timestamp": to_iso(finding.timestamp),
        "explanation": finding.explanation,
        "record_sha256": finding.record_sha256,
        "strength": finding.evidence_strength.label,
        "context": context_to_dict(finding.context) if context else None,
        "count": finding.count,
        "group": group_to_dict(finding.group),
    }


def context_to_dict(context: Context | None) -> dict[str, object] | None:
    """A finding's context: only what the record has (bounded; the full record is in artifacts/)."""
    if context is None or context.is_empty():
        return None
    out: dict[str, object] = {}
    if context.counterpart is not None:
        out["counterpart"] = context.counterpart
    if context.direction is not None:
        out["direction"] = str(context.direction)
    if context.times:
        out["times"] = [{"when": to_iso(t.when), "description": t.description} for t in context.times]
    if context.title is not None:
        out["title"] = context.title
    if context.text is not None:
        out["text"] = context.text
    if context.data is not None:
        out["data"] = {k: v for k, v in (("wifi_in", context.data.wifi_in), ("wifi_out", context.data.wifi_out),
                                         ("wwan_in", context.data.wwan_in), ("wwan_out", context.data.wwan_out))
                       if v is not None}
    return out


def group_to_dict(group: FindingGroup | None) -> dict[str, object] | None:
    if group is None:
        return None
    return {
        "key": group.key,
        "count": group.count,
        "members": [
            {
                "locator": m.locator.as_dict(),
                "explanation": m.explanation,
                "observable": None if m.observable is None
                else {"kind": str(m.observable.kind), "value": m.observable.value},
                "timestamp": to_iso(m.timestamp),
                "record_sha256": m.record_sha256,
            }
            for m in group.members
        ],
    }


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _observable(value: object) -> Observable | None:
    if not isinstance(value, dict):
        return None
    return Observable(Kind(str(value["kind"])), str(value["value"]))


def context_from_dict(value: object) -> Context | None:
    """The inverse of :func:`context_to_dict`."""
    if not isinstance(value, dict):
        return None
    times = tuple(
        Timestamp(when, str(t.get("description", "")))
        for t in value.get("times", ()) if isinstance(t, dict) and (when := _time(t.get("when"))) is not None
    )
    data = value.get("data")
    direction = value.get("direction")
    return Context(
        times=times,
        counterpart=value.get("counterpart") if isinstance(value.get("counterpart"), str) else None,
        direction=Direction(direction) if isinstance(direction, str) and direction in set(Direction) else None,
        text=value.get("text") if isinstance(value.get("text"), str) else None,
        title=value.get("title") if isinstance(value.get("title"), str) else None,
        data=DataUse(**{k: float(v) for k, v in data.items() if k in ("wifi_in", "wifi_out", "wwan_in", "wwan_out")
                        and isinstance(v, int | float)}) if isinstance(data, dict) else None,
    )


def group_from_dict(value: object) -> FindingGroup | None:
    """The inverse of :func:`group_to_dict`."""
    if not isinstance(value, dict):
        return None
    members = tuple(
        GroupMember(Locator.from_dict(m.get("locator")), str(m.get("explanation", "")), _observable(m.get("observable")),
                    _time(m.get("timestamp")), m.get("record_sha256") if isinstance(m.get("record_sha256"), str) else None)
        for m in value.get("members", ()) if isinstance(m, dict)
    )
    return FindingGroup(str(value.get("key", "")), int(value.get("count", len(members))), members)


def finding_from_dict(doc: dict[str, Any]) -> Finding:
    """A Finding back from its findings.json form: the inverse of :func:`finding_to_dict` (used by the
    case store's reports, the exports and verify), strength, context and group included."""
    ind = doc.get("indicator")
    strength = doc.get("strength")
    return Finding(
        severity=Severity.parse(str(doc["severity"])),
        artifact=str(doc["artifact"]),
        explanation=str(doc.get("explanation", "")),
        locator=Locator.from_dict(doc.get("locator")),
        rule=doc.get("rule") if isinstance(doc.get("rule"), str) else None,
        indicator=None if not isinstance(ind, dict) else IndicatorRef(
            Kind(str(ind["kind"])), str(ind["value"]), str(ind["malware"]), str(ind["feed"]),
            str(ind["feed_sha256"]), str(ind["stix_id"]), ind.get("published"), ind.get("valid_until"),
        ),
        observable=_observable(doc.get("observable")),
        timestamp=_time(doc.get("timestamp")),
        record_sha256=doc.get("record_sha256") if isinstance(doc.get("record_sha256"), str) else None,
        id=str(doc.get("id") or ""),
        strength=Strength[strength.upper()] if isinstance(strength, str) and strength.upper() in Strength.__members__
        else None,
        context=context_from_dict(doc.get("context")),
        group=group_from_dict(doc.get("group")),
    )


def verdict_to_dict(verdict: Verdict) -> dict[str, object]:
    return {
        "key": str(verdict.key),
        "headline": verdict.headline,
        "detail": verdict.detail,
        "full_check": verdict.full_check,
        "strength": verdict.strength.label if verdict.strength is not None else None,
        "exit_code": int(verdict.exit_code),
    }


def coverage_to_dict(result: CheckResult) -> dict[str, object]:
    """The acquisition's and each artifact's status, with why (the same in run.json and findings.json)."""
    coverage = result.coverage()
    return {
        "acquisition": {
            "kind": result.acquisition_kind,
            "status": "damaged" if coverage.acquisition_problems else "read",
            "problems": list(coverage.acquisition_problems),
        },
        "complete": coverage.complete,
        "full_check": coverage.full,
        "gaps": coverage.gaps(),
        "artifacts": {
            r.name: {
                "status": str(r.status),
                "absence": None if r.absence is None else str(r.absence),
                "why": r.why(),
            }
            for r in result.all_artifacts()
        },
    }


def summary_dict(result: CheckResult) -> dict[str, object]:
    """Deterministic summary: no wall-clock times (those live in run.json)."""
    from preuve import __version__

    statuses: dict[str, int] = {}
    for report in result.all_artifacts():
        statuses[str(report.status)] = statuses.get(str(report.status), 0) + 1
    verdict = result.verdict()
    return {
        "verdict": verdict_to_dict(verdict),
        "tool_version": __version__,
        "acquisition": result.acquisition_kind,
        "platform": result.platform,
        "findings_by_severity": result.severity_counts(),
        "findings": len(result.findings),
        "artifacts": {
            r.name: {
                "status": str(r.status), "records": r.records, "findings": r.findings, "errors": r.errors,
                "absence": None if r.absence is None else str(r.absence), "why": r.why(),
            }
            for r in result.all_artifacts()
        },
        "artifacts_by_status": dict(sorted(statuses.items())),
        "complete": not result.incomplete,
        "acquisition_problems": list(result.acquisition_problems),
        "acquisition_integrity_problems": sum(f.count for f in result.findings if f.artifact == "acquisition_integrity"),
        "indicators": result.indicator_count,
        "feeds": [{"name": f.name, "sha256": f.sha256, "indicators": f.indicators} for f in result.feeds],
        "heuristics_only": result.indicator_count == 0,
        "exit_code": int(verdict.exit_code),
    }


def findings_document(result: CheckResult) -> dict[str, object]:
    return {"findings": [finding_to_dict(f) for f in result.findings], "summary": summary_dict(result)}


def write_findings_document(stream: BinaryIO, result: CheckResult) -> None:
    """findings_document's JSON (indented, as findings.json holds it), written a finding at a time
    (the same bytes: tested): a run of many findings never holds them all as values and as bytes."""
    write_indented(stream, {"summary": summary_dict(result)}, "findings", (finding_to_dict(f) for f in result.findings))
