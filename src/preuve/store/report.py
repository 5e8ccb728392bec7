"""Writing the reports of a stored acquisition, as `check` wrote them, without the evidence."""

from __future__ import annotations

import csv
from pathlib import Path

from preuve.indicators.stix import Feed
from preuve.report.jsonio import dumps
from preuve.report.outdir import TIMELINE_COLUMNS, safe_cell
from preuve.store.case import CaseStore, RehuntHit, StoredAcquisition


def write_case_report(store: CaseStore, acquisition: StoredAcquisition, out: Path) -> Path:
    """findings.json (with findings added by retro-hunts), artifacts/*.jsonl, timeline.csv and run.json."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "artifacts").mkdir(exist_ok=True)
    summary = store.stored_document(acquisition.id, "summary")
    findings = store.finding_docs(acquisition.id)
    summary["findings"] = len(findings)
    (out / "findings.json").write_bytes(dumps({"findings": findings, "summary": summary}, indent=True) + b"\n")
    (out / "run.json").write_bytes(dumps(store.stored_document(acquisition.id, "run"), indent=True) + b"\n")
    handle = None
    current = None
    try:
        for artifact, line in store.record_lines(acquisition.id):
            if artifact != current:
                if handle is not None:
                    handle.close()
                handle = open(out / "artifacts" / f"{artifact}.jsonl", "wb")  # noqa: SIM115
                current = artifact
            assert handle is not None
            handle.write(line)
    finally:
        if handle is not None:
            handle.close()
    with open(out / "timeline.csv", "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(TIMELINE_COLUMNS)
        for row in store.timeline_rows(acquisition.id):
            writer.writerow([safe_cell(str(cell)) if i in (1, 2, 6) else cell for i, cell in enumerate(row)])
    return out


def rehunt_document(hits: list[RehuntHit], feeds: list[Feed]) -> dict[str, object]:
    from preuve.report.findings import finding_to_dict

    return {
        "feeds": [{"name": f.name, "sha256": f.sha256, "indicators": f.indicators} for f in feeds],
        "new_findings": [
            {"acquisition": h.acquisition.evidence, "acquisition_id": h.acquisition.id, **finding_to_dict(h.finding)}
            for h in hits
        ],
        "devices": sorted({h.acquisition.evidence for h in hits}),
    }
