"""The JSON shape of findings and of the run summary (the output contract)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from preuve.artifacts.timeconv import to_iso
from preuve.model import Finding

if TYPE_CHECKING:
    from preuve.check import CheckResult


def finding_to_dict(finding: Finding) -> dict[str, object]:
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
    }


def summary_dict(result: CheckResult) -> dict[str, object]:
    """Deterministic summary: no wall-clock times (those live in run.json)."""
    from preuve import __version__

    statuses: dict[str, int] = {}
    for report in result.artifacts:
        statuses[str(report.status)] = statuses.get(str(report.status), 0) + 1
    return {
        "tool_version": __version__,
        "acquisition": result.acquisition_kind,
        "platform": result.platform,
        "findings_by_severity": result.severity_counts(),
        "findings": len(result.findings),
        "artifacts": {
            r.name: {"status": str(r.status), "records": r.records, "findings": r.findings, "errors": r.errors}
            for r in result.artifacts
        },
        "artifacts_by_status": dict(sorted(statuses.items())),
        "complete": not result.incomplete,
        "acquisition_integrity_problems": sum(1 for f in result.findings if f.artifact == "acquisition_integrity"),
        "indicators": result.indicator_count,
        "feeds": [{"name": f.name, "sha256": f.sha256, "indicators": f.indicators} for f in result.feeds],
        "heuristics_only": result.indicator_count == 0,
        "exit_code": int(result.exit_code),
    }


def findings_document(result: CheckResult) -> dict[str, object]:
    return {"findings": [finding_to_dict(f) for f in result.findings], "summary": summary_dict(result)}
