"""Writing the reports of a stored acquisition, as `check` wrote them, without the evidence.

The stored records are rebuilt as the typed records the check produced and replayed, with their
findings (retro-hunt findings included), through the very sinks `check` writes its output folder
with: the same files (findings.json, artifacts/*.jsonl, both timelines, report.html, bundle.json),
written the same way. run.json is the one the check wrote (when, with what tool, on which machine).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import orjson

from preuve.indicators.stix import Feed
from preuve.model.jsonio import dumps
from preuve.store.case import CaseError, CaseStore, RehuntHit, StoredAcquisition


def write_case_report(
    store: CaseStore, acquisition: StoredAcquisition, out: Path, *, force: bool = False, lang: str = "en",
    timeline: str = "none",
) -> Path:
    """Every file `check` writes, for a stored acquisition, in the output folder `out` (replaced whole
    at the end, as `check` replaces it)."""
    from preuve.report.outdir import output_sinks, staged_output

    run = store.stored_document(acquisition.id, "run")
    evidence = Path(str(run.get("evidence") or acquisition.evidence))
    with staged_output(out, evidence, force=force) as staged:
        records, sinks = output_sinks(staged.path, evidence, lang, timeline)
        try:
            replay(store, acquisition, sinks)
        finally:
            records.close()
        # The check's own run.json: its times, tool and machine, not those of this replay.
        (staged.path / "run.json").write_bytes(dumps(run, indent=True) + b"\n")
    return out


@dataclass(frozen=True, slots=True)
class _StoredOpened:
    """What the sinks read of an opened acquisition, for one that is only stored."""

    kind: str
    platform: str
    path: Path


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def stored_finding(doc: dict[str, Any]) -> Any:
    """A Finding from its stored document (finding_to_dict's form), context, strength and group included."""
    from preuve.report.formats.findings import finding_from_dict

    return finding_from_dict(doc)


def _stored_records(store: CaseStore, acquisition_id: int, artifact: str) -> Iterator[tuple[bytes, str | None]]:
    rows = store.conn.execute(
        "SELECT line, record_sha256 FROM records WHERE acquisition_id = ? AND artifact = ? ORDER BY id",
        (acquisition_id, artifact),
    )
    for line, sha in rows:
        yield bytes(line), sha


def replay(store: CaseStore, acquisition: StoredAcquisition, sinks: Sequence[Any]) -> Any:
    """Feed a stored acquisition through `sinks` as `run_check` fed them; return its CheckResult."""
    from preuve.artifacts.base import discover_artifacts
    from preuve.artifacts.records import rebuild_record, record_classes
    from preuve.evidence.acquisition import Opened, Secrets
    from preuve.evidence.ledger import EvidenceFile
    from preuve.indicators.index import IndicatorIndex
    from preuve.model import Absence, ArtifactStatus, Finding, Locator
    from preuve.run.results import ArtifactReport, CheckOptions, CheckResult

    run = store.stored_document(acquisition.id, "run")
    summary = store.stored_document(acquisition.id, "summary")
    try:
        findings = sorted((stored_finding(d) for d in store.finding_docs(acquisition.id)), key=Finding.sort_key)
        acquisition_doc = cast(dict[str, Any], run["acquisition"])
        options_doc = cast(dict[str, Any], run.get("options", {}))
        every = [
            ArtifactReport(
                str(a["name"]), str(a["title"]), ArtifactStatus(a["status"]), list(a.get("files", [])),
                int(a.get("records", 0)), int(a.get("findings", 0)), list(a.get("errors", [])),
                list(a.get("warnings", [])), float(a.get("seconds", 0.0)),
                Absence(a["absence"]) if a.get("absence") else None, list(a.get("absent_files", [])),
            )
            for a in cast(list[dict[str, Any]], run.get("artifacts", []))
        ]
        # run.json lists every artifact of the platform; those left out (--artifact) are the result's left_out
        reports = [r for r in every if r.status != ArtifactStatus.NOT_SELECTED]
        left_out = [r for r in every if r.status == ArtifactStatus.NOT_SELECTED]
        feeds = [
            Feed(str(f["name"]), str(f["path"]), str(f["sha256"]), int(f["indicators"]), int(f.get("skipped", 0)),
                 tuple(f.get("malware", ())), f.get("source"))
            for f in cast(list[dict[str, Any]], run.get("feeds", []))
        ]
        evidence_files = [
            EvidenceFile(str(e["device_path"]), str(e["source"]), int(e["size"]), str(e["sha256"]))
            for e in cast(list[dict[str, Any]], run.get("evidence_files", []))
        ]
        options = CheckOptions(
            iocs=tuple(Path(p) for p in options_doc.get("iocs", [])),
            heuristics=bool(options_doc.get("heuristics", True)),
            only_artifacts=tuple(options_doc.get("only_artifacts", [])),
            # Only whether they were given is known (and recorded); never the secrets themselves.
            secrets=Secrets(
                password="" if options_doc.get("password_given") else None,
                key=b"" if options_doc.get("key_given") else None,
                age_identity="" if options_doc.get("age_identity_given") else None,
            ),
        )
        started, finished = _when(run.get("started")), _when(run.get("finished"))
        if started is None or finished is None:
            raise ValueError("no start or end time")
        kind, platform = str(acquisition_doc["kind"]), str(acquisition_doc["platform"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CaseError(f"{store.path}: acquisition {acquisition.id} is stored incompletely ({exc})") from exc

    by_record: dict[tuple[str, object, str | None], list[Finding]] = {}
    for finding in findings:
        by_record.setdefault((finding.artifact, finding.locator.key(), finding.record_sha256), []).append(
            finding
        )
        # The sinks saw each occurrence of a grouped finding on its own record during the check.
        for member in finding.group.members[1:] if finding.group is not None else ():
            by_record.setdefault((finding.artifact, member.locator.key(), member.record_sha256), []).append(
                Finding(finding.severity, finding.artifact, member.explanation, member.locator, rule=finding.rule,
                        observable=member.observable, timestamp=member.timestamp,
                        record_sha256=member.record_sha256)
            )
    artifacts = {a.name: a for a in discover_artifacts(platform)}
    classes = record_classes()
    opened = cast(Opened, _StoredOpened(kind, platform, Path(str(run.get("evidence", acquisition.evidence)))))
    index = IndicatorIndex.build(feeds, [])
    for sink in sinks:
        sink.begin(opened, index)
    for report in reports:
        artifact = artifacts.get(report.name)
        if artifact is None or not report.files:
            continue  # not read in that run (or no longer shipped)
        for sink in sinks:
            sink.artifact_started(artifact)
        for line, sha in _stored_records(store, acquisition.id, report.name):
            values = orjson.loads(line)
            cls = classes.get(str(values.get("record_type")))
            if cls is None:
                raise CaseError(f"{store.path}: this version of preuve has no record type {values.get('record_type')!r}")
            try:
                locator = Locator.from_dict(values.pop("locator", None))
                record = rebuild_record(cls, values, locator)
            except (TypeError, ValueError) as exc:
                raise CaseError(f"{store.path}: a stored {cls.record_type} record cannot be read back ({exc})") from exc
            found = by_record.get((report.name, locator.key(), sha), [])
            stamps = tuple(record.timestamps())
            for sink in sinks:
                sink.record(artifact, record, found, stamps)
        for sink in sinks:
            sink.artifact_finished(artifact, report)
    result = CheckResult(
        evidence_path=Path(str(run.get("evidence", acquisition.evidence))),
        acquisition_kind=kind,
        platform=platform,
        findings=findings,
        artifacts=reports,
        feeds=feeds,
        evidence_files=evidence_files,
        warnings=[str(w) for w in cast(list[object], run.get("warnings", []))],
        options=options,
        started=started,
        finished=finished,
        indicator_count=int(cast(int, summary.get("indicators", sum(f.indicators for f in feeds)))),
        acquisition_problems=[str(p) for p in cast(list[object], summary.get("acquisition_problems", []))],
        left_out=left_out,
    )
    for sink in sinks:
        sink.finish(result)
    return result


def rehunt_document(hits: list[RehuntHit], feeds: list[Feed]) -> dict[str, object]:
    from preuve.report.formats.findings import finding_to_dict

    return {
        "feeds": [{"name": f.name, "sha256": f.sha256, "indicators": f.indicators} for f in feeds],
        "new_findings": [
            {"acquisition": h.acquisition.evidence, "acquisition_id": h.acquisition.id, **finding_to_dict(h.finding)}
            for h in hits
        ],
        "devices": sorted({h.acquisition.evidence for h in hits}),
    }
