"""The output folder of `preuve check`: findings.json, artifacts/*.jsonl,
timeline.csv and timeline.jsonl (Timesketch), run.json."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
from typing import IO, TYPE_CHECKING

import orjson

from preuve.artifacts.base import Artifact
from preuve.artifacts.timeconv import to_iso
from preuve.evidence.acquisition import Opened
from preuve.evidence.errors import PreuveError
from preuve.indicators.index import IndicatorIndex
from preuve.model import Finding, Record, Timestamp
from preuve.report.findings import findings_document
from preuve.report.jsonio import _default, dumps

if TYPE_CHECKING:
    from preuve.check import ArtifactReport, CheckResult

TIMELINE_COLUMNS = (
    "datetime", "timestamp_desc", "message", "artifact", "severity", "record_type", "device_path", "locator",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_JSONL_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE


def safe_cell(value: str) -> str:
    """A CSV cell that spreadsheets show as text, never evaluate as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _type_prefix(record_type: str) -> bytes:
    return b'{"record_type":' + orjson.dumps(record_type) + b","


def record_line(record: Record, prefix: bytes | None = None) -> bytes:
    """One JSONL line: the record type, then the record's fields as orjson writes the dataclass."""
    body = orjson.dumps(record, default=_default, option=_JSONL_OPTIONS)
    return (prefix or _type_prefix(record.record_type)) + body[1:]


def ensure_outside(out: Path, evidence: Path) -> None:
    """Refuse an output folder inside the evidence (nothing is ever written there)."""
    try:
        out.resolve().relative_to(evidence.resolve())
    except ValueError:
        return
    raise PreuveError(f"{out}: the output folder must not be inside the evidence ({evidence})")


def locator_text(record: Record) -> str:
    """``table=…;rowid=…`` and the like: where inside the file (the same keys, in order, as Locator.as_dict).

    Written out field by field rather than through as_dict(): it runs once per record.
    """
    loc = record.locator
    if loc.key_path is None and loc.line is None and loc.offset is None and loc.table is not None:
        return f"table={loc.table}" if loc.rowid is None else f"table={loc.table};rowid={loc.rowid}"
    parts = []
    if loc.table is not None:
        parts.append(f"table={loc.table}")
    if loc.rowid is not None:
        parts.append(f"rowid={loc.rowid}")
    if loc.key_path is not None:
        parts.append(f"key_path={loc.key_path}")
    if loc.line is not None:
        parts.append(f"line={loc.line}")
    if loc.offset is not None:
        parts.append(f"offset={loc.offset}")
    return ";".join(parts)


def timesketch_line(
    record: Record,
    stamp: Timestamp,
    artifact: str,
    severity: str,
    where: str,
    summary: str | None = None,
    iso: str | None = None,
) -> bytes:
    """One Timesketch JSONL event: its required message, datetime, timestamp_desc (and timestamp in
    microseconds), then our own fields. Plain values, no formula escaping: JSON is not a spreadsheet.
    `summary` and `iso` may be given when the caller already computed them for the same record."""
    when = stamp.when if stamp.when.tzinfo is not None else stamp.when.replace(tzinfo=UTC)
    event = {
        "message": record.summary() if summary is None else summary,
        "datetime": to_iso(when) if iso is None else iso,
        "timestamp": int(when.timestamp() * 1_000_000),
        "timestamp_desc": stamp.description,
        "artifact": artifact,
        "severity": severity,
        "record_type": record.record_type,
        "device_path": record.locator.device_path,
        "file_sha256": record.locator.sha256,
        "locator": where,
    }
    return orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE)


def _append(source: IO[bytes], target: IO[bytes]) -> None:
    """Append a whole file to a flushed one: in the kernel where it can (copy_file_range moves the
    file offsets as writes do), else through a buffer."""
    copy = getattr(os, "copy_file_range", None)
    if copy is not None:
        start = os.lseek(target.fileno(), 0, os.SEEK_CUR)
        try:
            while copy(source.fileno(), target.fileno(), 1 << 30):
                pass
            return
        except OSError:  # e.g. across file systems: drop whatever was copied, copy through a buffer
            os.lseek(source.fileno(), 0, os.SEEK_SET)
            os.lseek(target.fileno(), start, os.SEEK_SET)
            os.ftruncate(target.fileno(), start)
            source.seek(0)
            target.seek(start)
    shutil.copyfileobj(source, target, 1 << 20)


class _RecordWriter:
    """Writes one record's artifact JSONL line and its timeline rows (CSV and JSONL)."""

    _jsonl: IO[bytes] | None
    _prefixes: dict[str, bytes]
    _timeline_file: IO[str]
    _timeline_jsonl: IO[bytes]
    _descriptions: dict[str, _Description]
    _files: dict[tuple[str, str, str, str, str], _FileCells]

    def record(
        self, artifact: Artifact, record: Record, findings: Sequence[Finding], stamps: Sequence[Timestamp]
    ) -> None:
        # This runs once per record: it writes the bytes that record_line, csv.writer and
        # timesketch_line would write (tests compare them), built from pieces computed once per
        # record, per timestamp description or per file instead of once per row.
        assert self._jsonl is not None
        record_type = record.record_type
        prefix = self._prefixes.get(record_type)
        if prefix is None:
            prefix = self._prefixes[record_type] = _type_prefix(record_type)
        self._jsonl.write(prefix + orjson.dumps(record, default=_default, option=_JSONL_OPTIONS)[1:])
        if not stamps:
            return
        locator = record.locator
        key = (
            artifact.name, max(f.severity for f in findings).label if findings else "", record_type,
            locator.device_path, locator.sha256,
        )
        cells = self._files.get(key)
        if cells is None:
            if len(self._files) >= 1024:
                self._files.clear()
            cells = self._files[key] = _FileCells(*key)
        summary = record.summary()
        where = locator_text(record)
        # The CSV row after its first two cells, and the JSONL event around its datetime (before it,
        # the message; after it, the timestamp, its description, then the rest).
        tail = (
            f"{summary if _plain_cell(summary) else csv_cell(safe_cell(summary))}{cells.csv}"
            f"{where if _plain_cell(where) else csv_cell(where)}\r\n"
        )
        head = b'{"message":' + orjson.dumps(summary) + b',"datetime":'
        end = cells.json + orjson.dumps(where) + b"}\n"
        descriptions = self._descriptions
        if len(stamps) == 1:
            stamp = stamps[0]
            when = stamp.when
            quoted = orjson.dumps(when if when.tzinfo is UTC else when.astimezone(UTC), option=orjson.OPT_UTC_Z)
            text = descriptions.get(stamp.description) or self._description(stamp.description)
            self._timeline_file.write(f"{quoted[1:-1].decode()},{text.cell},{tail}")
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            self._timeline_jsonl.write(
                b"%b%b,\"timestamp\":%d%b%b" % (head, quoted, int(when.timestamp() * 1_000_000), text.json, end)
            )
            return
        rows = []
        events = []
        for stamp in stamps:
            when = stamp.when
            # The datetime as to_iso writes it (naive taken through astimezone), in JSON quotes.
            quoted = orjson.dumps(when if when.tzinfo is UTC else when.astimezone(UTC), option=orjson.OPT_UTC_Z)
            text = descriptions.get(stamp.description) or self._description(stamp.description)
            rows.append(f"{quoted[1:-1].decode()},{text.cell},{tail}")
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            events.append(
                b"%b%b,\"timestamp\":%d%b%b" % (head, quoted, int(when.timestamp() * 1_000_000), text.json, end)
            )
        self._timeline_file.write("".join(rows))
        self._timeline_jsonl.write(b"".join(events))

    def _description(self, description: str) -> _Description:
        if len(self._descriptions) >= 1024:
            self._descriptions.clear()
        text = self._descriptions[description] = _Description(description)
        return text


class _Description:
    """A timestamp description as a timeline cell, and as the JSON of Timesketch's timestamp_desc."""

    __slots__ = ("cell", "json")

    def __init__(self, description: str) -> None:
        self.cell = csv_cell(safe_cell(description))
        self.json = b',"timestamp_desc":' + orjson.dumps(description)


class _FileCells:
    """What the timeline rows of every record of one file share (for one artifact and severity): the
    CSV cells between the message and the locator, with their commas, and the JSON fields after the
    timestamp description, up to the locator's value."""

    __slots__ = ("csv", "json")

    def __init__(self, name: str, severity: str, record_type: str, device_path: str, sha256: str) -> None:
        self.csv = "," + ",".join(csv_cell(c) for c in (name, severity, record_type, safe_cell(device_path))) + ","
        self.json = (
            b","
            + orjson.dumps(
                {"artifact": name, "severity": severity, "record_type": record_type,
                 "device_path": device_path, "file_sha256": sha256}
            )[1:-1]
            + b',"locator":'
        )


def csv_cell(text: str) -> str:
    """A cell as csv.writer writes it (excel dialect, minimal quoting): in quotes, its quotes doubled,
    when it holds a comma, a quote or a line break. Written here because the timeline is written
    row by row from pieces cached per record (csv.writer costs several microseconds per row); a
    test compares it with csv.writer on generated rows."""
    if "," in text or not _plain(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def _plain(text: str) -> bool:
    return '"' not in text and "\n" not in text and "\r" not in text


def _plain_cell(text: str) -> bool:
    """The text is its own CSV cell: nothing to quote, nothing a spreadsheet would take for a formula."""
    return "," not in text and '"' not in text and "\n" not in text and "\r" not in text and not text.startswith(
        _FORMULA_START
    )


class OutputPart(_RecordWriter):
    """What OutputFolder writes for one part of an artifact read in parallel: the same bytes, in
    files of a private folder, appended in order by OutputFolder.join."""

    def __init__(self, folder: Path) -> None:
        self._prefixes = {}
        self._descriptions = {}
        self._files = {}
        self._jsonl = open(folder / "artifact.jsonl", "wb", buffering=1 << 20)  # noqa: SIM115
        self._timeline_file = open(  # noqa: SIM115
            folder / "timeline.csv", "w", newline="", encoding="utf-8", buffering=1 << 20
        )
        self._timeline_jsonl = open(folder / "timeline.jsonl", "wb", buffering=1 << 20)  # noqa: SIM115

    def close(self) -> object:
        assert self._jsonl is not None
        self._jsonl.close()
        self._timeline_file.close()
        self._timeline_jsonl.close()
        return None


class OutputFolder(_RecordWriter):
    """A Sink that writes the output contract as the run goes."""

    def __init__(self, out: Path, evidence: Path) -> None:
        ensure_outside(out, evidence)
        self.out = out
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "artifacts").mkdir(exist_ok=True)
        self._jsonl: IO[bytes] | None = None
        self._prefixes: dict[str, bytes] = {}
        self._descriptions: dict[str, _Description] = {}
        self._files: dict[tuple[str, str, str, str, str], _FileCells] = {}
        self._timeline_file = open(  # noqa: SIM115
            self.out / "timeline.csv", "w", newline="", encoding="utf-8", buffering=1 << 20
        )
        self._timeline_file.write(",".join(csv_cell(c) for c in TIMELINE_COLUMNS) + "\r\n")
        self._timeline_jsonl = open(self.out / "timeline.jsonl", "wb", buffering=1 << 20)  # noqa: SIM115

    def begin(self, opened: Opened, index: IndicatorIndex) -> None:
        pass

    def artifact_started(self, artifact: Artifact) -> None:
        self._jsonl = open(self.out / "artifacts" / f"{artifact.name}.jsonl", "wb", buffering=1 << 20)  # noqa: SIM115

    def part(self, artifact: Artifact, folder: Path) -> OutputPart:
        return OutputPart(folder)

    def join(self, artifact: Artifact, folder: Path, state: object) -> None:
        """Append what a part wrote, after what is already written."""
        assert self._jsonl is not None
        self._timeline_file.flush()
        timeline_bytes = self._timeline_file.buffer  # type: ignore[attr-defined]
        for name, target in (
            ("artifact.jsonl", self._jsonl), ("timeline.csv", timeline_bytes), ("timeline.jsonl", self._timeline_jsonl)
        ):
            with open(folder / name, "rb") as part:
                target.flush()
                _append(part, target)

    def artifact_finished(self, artifact: Artifact, report: ArtifactReport) -> None:
        if self._jsonl is not None:
            self._jsonl.close()
            self._jsonl = None

    def finish(self, result: CheckResult) -> None:
        self._timeline_file.close()
        self._timeline_jsonl.close()
        (self.out / "findings.json").write_bytes(dumps(findings_document(result), indent=True) + b"\n")
        (self.out / "run.json").write_bytes(dumps(run_document(result), indent=True) + b"\n")

    def close(self) -> None:
        if self._jsonl is not None:
            self._jsonl.close()
        if not self._timeline_file.closed:
            self._timeline_file.close()
        if not self._timeline_jsonl.closed:
            self._timeline_jsonl.close()


def run_document(result: CheckResult) -> dict[str, object]:
    from preuve.check import environment
    from preuve.report.findings import coverage_to_dict, verdict_to_dict

    return {
        "verdict": verdict_to_dict(result.verdict()),
        "tool": environment(),
        "evidence": str(result.evidence_path),
        "acquisition": {"kind": result.acquisition_kind, "platform": result.platform},
        "coverage": coverage_to_dict(result),
        "options": result.options.describe(),
        "started": to_iso(result.started),
        "finished": to_iso(result.finished),
        "seconds": round((result.finished - result.started).total_seconds(), 3),
        "evidence_files": [
            {"device_path": e.device_path, "source": e.source, "size": e.size, "sha256": e.sha256}
            for e in result.evidence_files
        ],
        "feeds": [
            {
                "name": f.name, "path": f.path, "sha256": f.sha256, "indicators": f.indicators,
                "skipped": f.skipped, "malware": list(f.malware), "source": f.source,
            }
            for f in result.feeds
        ],
        "artifacts": [
            {
                "name": r.name, "title": r.title, "status": str(r.status), "files": r.files,
                "records": r.records, "findings": r.findings, "errors": r.errors,
                "warnings": r.warnings[:100], "seconds": round(r.seconds, 3),
                "absence": None if r.absence is None else str(r.absence), "absent_files": r.absent_files[:1000],
            }
            for r in result.all_artifacts()
        ],
        "warnings": result.warnings[:1000],
        "exit_code": int(result.exit_code),
    }
