"""The verification bundle: everything `preuve verify` needs to re-derive each finding.

``bundle.json`` names the tool version, the indicator feeds (name, content
SHA-256, source), the options that change results, every evidence file read
with its SHA-256, and each finding with its locator, the type of the record it
fired on and the hash of that record's values. It holds no wall-clock time
and no absolute path, so the same evidence, indicators and version give the
same bytes. It also holds no record values (message text, …): those are only
in the evidence, or in the privacy-minimising proof package of `preuve export`.
``bundle.md`` says the same for a person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from preuve.artifacts.base import Artifact
from preuve.model import Finding, Record, Timestamp
from preuve.model.jsonio import write_indented
from preuve.report.formats.findings import finding_to_dict
from preuve.run.sinks import RenderingSink

if TYPE_CHECKING:
    from preuve.run.results import CheckResult

BUNDLE_FORMAT = "preuve-bundle/1"
BUNDLE_NAME = "bundle.json"


def bundle_document(result: CheckResult, record_types: dict[str, str]) -> dict[str, object]:
    """The bundle as a JSON-ready value; `record_types` maps a finding id to its record's type."""
    return {**bundle_header(result), "findings": list(bundle_findings(result, record_types))}


def bundle_header(result: CheckResult) -> dict[str, object]:
    """The bundle without its findings (see BundleSink.finish, which writes them one at a time)."""
    from preuve import __version__

    options = result.options
    return {
        "format": BUNDLE_FORMAT,
        "tool": {"name": "preuve", "version": __version__},
        "acquisition": {"kind": result.acquisition_kind, "platform": result.platform},
        "options": {
            "heuristics": options.heuristics,
            "only_artifacts": sorted(options.only_artifacts),
            "password_given": options.secrets.password is not None,
            "key_given": options.secrets.key is not None,
        },
        "feeds": [
            {"name": f.name, "sha256": f.sha256, "indicators": f.indicators, "source": f.source}
            for f in result.feeds
        ],
        "evidence_files": [
            {"device_path": e.device_path, "source": e.source, "size": e.size, "sha256": e.sha256}
            for e in result.evidence_files
        ],
        "artifacts": {
            r.name: {"status": str(r.status), "records": r.records, "findings": r.findings, "errors": r.errors}
            for r in result.artifacts
        },
        "complete": not result.incomplete,
    }


def bundle_findings(result: CheckResult, record_types: dict[str, str]) -> Iterator[dict[str, object]]:
    """The bundle's findings, one at a time."""
    for finding in result.findings:
        entry = finding_to_dict(finding, context=False)  # no record values in the bundle
        entry["record_type"] = record_types.get(finding.id)
        yield entry


_MD_MARKUP = "\\`*_[]<>|#!"  # escaped with a backslash, the backslash first
_HAS_MARKUP = re.compile("[" + re.escape(_MD_MARKUP) + "]")


def _md_cell(value: object) -> str:
    """A Markdown table cell that shows evidence text as text (no markup, no line breaks): each
    character that is not printable as ``\\xNN``, then each of _MD_MARKUP behind a backslash (the
    escapes' own backslashes too).

    Written for the usual cell, printable and without markup (ids, hashes, paths, explanations),
    which is returned as it is after two checks at C speed: a bundle of many findings calls this a
    dozen times per finding, and the per-character walk it took first was most of a run of 40,000
    findings. The same text as that walk for every value (a property test holds the two equal)."""
    text = "" if value is None else str(value)
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    if _HAS_MARKUP.search(text) is None:
        return text
    for char in _MD_MARKUP:
        if char in text:
            text = text.replace(char, "\\" + char)
    return text


def bundle_markdown(doc: dict[str, object]) -> str:
    """A readable rendering of the bundle (the JSON is what `verify` reads)."""
    findings = doc["findings"]
    assert isinstance(findings, list)
    return "".join(line + "\n" for line in _markdown_lines(doc, findings, len(findings)))


def _markdown_lines(doc: dict[str, object], findings: Iterable[dict[str, Any]], count: int) -> Iterator[str]:
    """The lines of bundle_markdown, for a bundle whose `count` findings come one at a time (`doc`
    without them: bundle_header)."""
    yield from _markdown_head(doc, count)
    for number, finding in enumerate(findings, 1):
        yield from _markdown_finding(number, finding)
    yield from _markdown_tail(doc)


def _markdown_head(doc: dict[str, object], count: int) -> list[str]:
    """bundle.md's lines before its first finding."""
    tool = doc["tool"]
    acquisition = doc["acquisition"]
    assert isinstance(tool, dict) and isinstance(acquisition, dict)
    lines = [
        "# preuve verification bundle",
        "",
        f"- Tool: preuve {_md_cell(tool['version'])}",
        f"- Acquisition: {_md_cell(acquisition['kind'])} ({_md_cell(acquisition['platform'])})",
        f"- Analysis complete: {'yes' if doc['complete'] else 'no (some artifacts could not be read)'}",
        "",
        "Check it with `preuve verify bundle.json EVIDENCE` (or a proof package from `preuve export`).",
        "",
        "## Indicator feeds",
        "",
        "| feed | SHA-256 | indicators | source |",
        "|---|---|---|---|",
    ]
    for feed in doc["feeds"]:  # type: ignore[attr-defined]
        lines.append(
            f"| {_md_cell(feed['name'])} | `{feed['sha256']}` | {feed['indicators']} | {_md_cell(feed['source'] or '')} |"
        )
    lines += ["", f"## Findings ({count})", ""]
    return lines


def _markdown_finding(number: int, finding: dict[str, Any]) -> list[str]:
    """bundle.md's lines of its finding `number` (from 1), as bundle_findings gives it."""
    indicator = finding["indicator"]
    fired = (
        f"indicator `{_md_cell(indicator['stix_id'])}` ({_md_cell(indicator['malware'])}, "
        f"feed {_md_cell(indicator['feed'])})"
        if indicator
        else f"rule `{_md_cell(finding['rule'])}`"
    )
    where = ", ".join(f"{k}={_md_cell(v)}" for k, v in finding["locator"].items() if k != "sha256")
    return [
        f"{number}. **{finding['severity']}** — {_md_cell(finding['explanation'])}",
        f"   - fired: {fired}",
        f"   - where: {where}",
        f"   - file SHA-256: `{finding['locator']['sha256']}`",
        f"   - record ({_md_cell(finding['record_type'])}) SHA-256: `{finding['record_sha256']}`",
        f"   - finding id: `{finding['id']}`",
    ]


def _markdown_tail(doc: dict[str, object]) -> list[str]:
    """bundle.md's lines after its last finding."""
    lines = ["", "## Evidence files read", "", "| device path | SHA-256 | size |", "|---|---|---|"]
    for entry in doc["evidence_files"]:  # type: ignore[attr-defined]
        lines.append(f"| {_md_cell(entry['device_path'])} | `{entry['sha256']}` | {entry['size']} |")
    return lines


def _text(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


class BundleSink(RenderingSink):
    """A Sink that writes OUT/bundle.json and OUT/bundle.md when the run finishes."""

    timestamps_read = 0

    def __init__(self, out: Path) -> None:
        self.out = out
        self._record_types: dict[str, str] = {}

    def render_record(
        self, artifact: Artifact, record: Record, findings: Sequence[Finding], stamps: Sequence[Timestamp]
    ) -> tuple[tuple[str, str], ...]:
        """The record type of each finding of the record (most records have none)."""
        if not findings:
            return ()
        return tuple((finding.id, record.record_type) for finding in findings)

    def render_records(
        self, artifact: Artifact, records: Sequence[Record], findings: Sequence[Sequence[Finding]],
        stamps: Sequence[Sequence[Timestamp]],
    ) -> list[tuple[tuple[str, str], ...]]:
        """render_record of each record of a batch."""
        return [
            tuple((finding.id, record.record_type) for finding in hits) if hits else ()
            for record, hits in zip(records, findings, strict=True)
        ]

    def write_record(self, artifact: Artifact, rendered: tuple[tuple[str, str], ...]) -> None:
        for finding_id, record_type in rendered:
            self._record_types[finding_id] = record_type

    def finish(self, result: CheckResult) -> None:
        """bundle.json and bundle.md, written together a finding at a time (the same bytes as
        bundle_document and bundle_markdown give: tested), never the whole of either in memory; each
        finding is made into the bundle's form once for both."""
        header = bundle_header(result)
        self.out.mkdir(parents=True, exist_ok=True)
        with (
            open(self.out / BUNDLE_NAME, "wb") as stream,
            open(self.out / "bundle.md", "w", encoding="utf-8", errors="backslashreplace") as text,  # (as write_text)
        ):
            text.write(_text(_markdown_head(header, len(result.findings))))

            def findings() -> Iterator[dict[str, object]]:
                for number, entry in enumerate(bundle_findings(result, self._record_types), 1):
                    text.write(_text(_markdown_finding(number, entry)))
                    yield entry

            write_indented(stream, header, "findings", findings())
            stream.write(b"\n")
            text.write(_text(_markdown_tail(header)))
