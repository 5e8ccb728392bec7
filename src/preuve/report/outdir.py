"""The output folder of `preuve check`: findings.json, artifacts/*.jsonl, run.json,
and the timeline when asked for (timeline.csv, timeline.jsonl for Timesketch;
or rendered later from the artifacts by `preuve timeline`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

import orjson

from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.evidence.errors import PreuveError
from preuve.indicators.index import IndicatorIndex
from preuve.model import Finding, Locator, Record, Severity, Timestamp
from preuve.model.jsonio import dumps, encode, to_iso
from preuve.report.choices import DEFAULT_TIMELINE, TIMELINE_CHOICES, TIMELINE_FORMATS
from preuve.report.formats.findings import write_findings_document
from preuve.run.sinks import RenderingSink

if TYPE_CHECKING:
    from preuve.evidence.backup_folders import EarlyListing
    from preuve.evidence.early_tar import EarlyHeaders
    from preuve.run.results import ArtifactReport, CheckOptions, CheckResult
    from preuve.run.sinks import RunObserver, Sink

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
    body = encode(record, _JSONL_OPTIONS)
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
        # the usual case (a database row), once per record: the same text as the general form below
        return f"table={loc.table}" if loc.rowid is None else f"table={loc.table};rowid={loc.rowid}"
    return ";".join(f"{name}={value}" for name, value in loc.inside())


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


class _RecordWriter(RenderingSink):
    """Writes one record's artifact JSONL line and its timeline rows (CSV and JSONL, each when chosen)."""

    _jsonl: IO[bytes] | None
    _prefixes: dict[str, bytes]
    _timeline_file: IO[str] | None
    _timeline_jsonl: IO[bytes] | None
    _descriptions: dict[str, _Description]
    _files: dict[tuple[str, str, str, str, str], _FileCells]

    def render_record(
        self, artifact: Artifact, record: Record, findings: Sequence[Finding], stamps: Sequence[Timestamp]
    ) -> bytes | tuple[bytes, str | None, bytes | None]:
        """The record's artifact JSONL line, with its timeline rows (CSV, JSONL) when those are written."""
        # This runs once per record: it makes the bytes that record_line, csv.writer and
        # timesketch_line would write (tests compare them), built from pieces computed once per
        # record, per timestamp description or per file instead of once per row.
        record_type = record.record_type
        prefix = self._prefixes.get(record_type)
        if prefix is None:
            prefix = self._prefixes[record_type] = _type_prefix(record_type)
        line = prefix + encode(record, _JSONL_OPTIONS)[1:]
        want_csv, want_jsonl = self._timeline_file is not None, self._timeline_jsonl is not None
        if not stamps or not (want_csv or want_jsonl):
            return line
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
        rows = []
        events = []
        for stamp in stamps:
            when = stamp.when
            # The datetime as to_iso writes it (naive taken through astimezone), in JSON quotes.
            quoted = orjson.dumps(when if when.tzinfo is UTC else when.astimezone(UTC), option=orjson.OPT_UTC_Z)
            text = descriptions.get(stamp.description) or self._description(stamp.description)
            if want_csv:
                rows.append(f"{quoted[1:-1].decode()},{text.cell},{tail}")
            if want_jsonl:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                events.append(
                    b"%b%b,\"timestamp\":%d%b%b" % (head, quoted, int(when.timestamp() * 1_000_000), text.json, end)
                )
        return line, "".join(rows) if want_csv else None, b"".join(events) if want_jsonl else None

    def render_records(
        self, artifact: Artifact, records: Sequence[Record], findings: Sequence[Sequence[Finding]],
        stamps: Sequence[Sequence[Timestamp]],
    ) -> list[bytes] | list[bytes | tuple[bytes, str | None, bytes | None]]:
        """render_record of each record of a batch (the same values: the engine renders a batch at once)."""
        if self._timeline_file is not None or self._timeline_jsonl is not None:
            render = self.render_record
            return [render(artifact, record, hits, when) for record, hits, when in zip(records, findings, stamps, strict=True)]
        # Without a timeline, each record's value is its JSON line: the record's type, then its fields.
        prefixes = self._prefixes
        lines = []
        for record in records:
            prefix = prefixes.get(record.record_type)
            if prefix is None:
                prefix = prefixes[record.record_type] = _type_prefix(record.record_type)
            lines.append(prefix + encode(record, _JSONL_OPTIONS)[1:])
        return lines

    def write_record(self, artifact: Artifact, rendered: bytes | tuple[bytes, str | None, bytes | None]) -> None:
        assert self._jsonl is not None
        if type(rendered) is bytes:
            self._jsonl.write(rendered)
            return
        line, rows, events = cast(tuple[bytes, str | None, bytes | None], rendered)
        self._jsonl.write(line)
        if rows is not None and self._timeline_file is not None:
            self._timeline_file.write(rows)
        if events is not None and self._timeline_jsonl is not None:
            self._timeline_jsonl.write(events)

    def write_joined(self, artifact: Artifact, data: bytes) -> None:
        """Records' lines rendered as bytes (no timeline rows), joined in order: what write_records
        writes of them."""
        assert self._jsonl is not None
        self._jsonl.write(data)

    def write_records(
        self, artifact: Artifact, rendered: Sequence[bytes | tuple[bytes, str | None, bytes | None]]
    ) -> None:
        """A batch of records' lines, each file written once (the same bytes as write_record's, in order)."""
        assert self._jsonl is not None
        timed = [value for value in rendered if type(value) is not bytes]
        if not timed:
            self._jsonl.write(b"".join(cast(Sequence[bytes], rendered)))
            return
        self._jsonl.write(b"".join([value if isinstance(value, bytes) else value[0] for value in rendered]))
        parts = cast(list[tuple[bytes, str | None, bytes | None]], timed)
        if self._timeline_file is not None:
            self._timeline_file.write("".join([rows for _, rows, _ in parts if rows is not None]))
        if self._timeline_jsonl is not None:
            self._timeline_jsonl.write(b"".join([events for _, _, events in parts if events is not None]))

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


class OutputFolder(_RecordWriter):
    """A Sink that writes the output contract as the run goes."""

    def __init__(self, out: Path, evidence: Path, timeline: Sequence[str] = TIMELINE_FORMATS) -> None:
        """`timeline`: the timeline files to write as the run goes ("csv", "jsonl"; see TIMELINE_CHOICES)."""
        ensure_outside(out, evidence)
        self.out = out
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "artifacts").mkdir(exist_ok=True)
        self.timeline = tuple(name for name in TIMELINE_FORMATS if name in timeline)
        self._jsonl: IO[bytes] | None = None
        self._prefixes: dict[str, bytes] = {}
        self._descriptions: dict[str, _Description] = {}
        self._files: dict[tuple[str, str, str, str, str], _FileCells] = {}
        self._timeline_file = self._timeline_jsonl = None
        if "csv" in self.timeline:
            self._timeline_file = open(  # noqa: SIM115
                self.out / "timeline.csv", "w", newline="", encoding="utf-8", errors="backslashreplace", buffering=1 << 20
            )
            self._timeline_file.write(",".join(csv_cell(c) for c in TIMELINE_COLUMNS) + "\r\n")
        if "jsonl" in self.timeline:
            self._timeline_jsonl = open(self.out / "timeline.jsonl", "wb", buffering=1 << 20)  # noqa: SIM115
        # Without a timeline, a record's timestamps are not read here (see run.sinks.timestamps_read).
        self.timestamps_read = None if self.timeline else 0

    def artifact_started(self, artifact: Artifact) -> None:
        self._jsonl = open(self.out / "artifacts" / f"{artifact.name}.jsonl", "wb", buffering=1 << 20)  # noqa: SIM115

    def artifact_finished(self, artifact: Artifact, report: ArtifactReport) -> None:
        if self._jsonl is not None:
            self._jsonl.close()
            self._jsonl = None

    def finish(self, result: CheckResult) -> None:
        for stream in (self._timeline_file, self._timeline_jsonl):
            if stream is not None:
                stream.close()
        with open(self.out / "findings.json", "wb") as stream:
            write_findings_document(stream, result)
            stream.write(b"\n")
        (self.out / "run.json").write_bytes(dumps(run_document(result), indent=True) + b"\n")

    def close(self) -> None:
        if self._jsonl is not None:
            self._jsonl.close()
        for stream in (self._timeline_file, self._timeline_jsonl):
            if stream is not None and not stream.closed:
                stream.close()


def run_document(result: CheckResult) -> dict[str, object]:
    from preuve.report.formats.findings import coverage_to_dict, verdict_to_dict
    from preuve.run.results import environment

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
                "warnings": _kept(r.warnings, 100, ArtifactContext.MAX_WARNINGS), "seconds": round(r.seconds, 3),
                "absence": None if r.absence is None else str(r.absence), "absent_files": r.absent_files[:1000],
            }
            for r in result.all_artifacts()
        ],
        "warnings": _kept(result.warnings, 1000),
        "exit_code": int(result.exit_code),
    }


def _kept(warnings: list[str], most: int, held: int | None = None) -> list[str]:
    """The first warnings, and when there are more than `most`, a last line counting those left out
    (`held`: the most the list itself holds, past which the count is a lower bound)."""
    if len(warnings) <= most:
        return warnings
    left = len(warnings) - most + 1
    bound = "at least " if held is not None and len(warnings) >= held else ""
    return [*warnings[: most - 1], f"{bound}{left} more warnings are not kept here"]


# -- the output folder's lifecycle ---------------------------------------------------------------
# A run writes into a private sibling folder and swaps it in at the end: the folder the user named is
# never a mix of two runs, a run that fails leaves it as it was, and an interrupted run leaves a
# folder that says so.

INTERRUPTED_MARKER = "INTERRUPTED.txt"
# Every name a preuve output holds at its top level (check, fleet and `case report` write the same).
OUTPUT_NAMES = frozenset({
    "artifacts", "findings.json", "run.json", "timeline.csv", "timeline.jsonl", "report.html", "bundle.json",
    "bundle.md", INTERRUPTED_MARKER,
})
_STAGING_PREFIX = ".preuve-staging-"
_OLD_PREFIX = ".preuve-old-"


class OutputFolderError(PreuveError):
    """The output folder cannot be used as asked (it holds other files, it holds the evidence...)."""


def is_preuve_output(folder: Path) -> bool:
    """The folder is an output of preuve: its run.json (or interruption marker) is ours and it holds
    nothing else than the files a run writes."""
    try:
        names = {child.name for child in folder.iterdir()}
    except OSError:
        return False
    if not names <= OUTPUT_NAMES:
        return False
    if "artifacts" in names:
        try:
            inside = list((folder / "artifacts").iterdir())
        except OSError:
            return False
        if any(not p.name.endswith(".jsonl") or p.is_symlink() or not p.is_file() for p in inside):
            return False
    if INTERRUPTED_MARKER in names:
        return True
    try:
        with open(folder / "run.json", "rb") as handle:
            doc = orjson.loads(handle.read(1 << 24))
    except (OSError, orjson.JSONDecodeError):
        return False
    tool = doc.get("tool") if isinstance(doc, dict) else None
    return isinstance(tool, dict) and "preuve" in tool


def _within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return False
    return True


def _missing_ancestors(path: Path) -> list[Path]:
    """The folders from `path` up that do not exist yet (deepest first): made by a run, removed if it fails."""
    made = []
    current = path
    while not current.exists() and current != current.parent:
        made.append(current)
        current = current.parent
    return made


class StagedOutput:
    """The output folder of one run, written in a private sibling folder (``path``) and swapped in whole.

    Refuses a folder holding anything but a preuve output (unless ``force``), a folder holding the
    evidence, and a folder inside the evidence. ``commit`` replaces the folder at once with what the run
    wrote; ``interrupted`` marks what was written as partial and swaps it in; ``discard`` removes it
    and every folder the run made, leaving the named folder as it was.
    """

    def __init__(self, out: Path, evidence: Path | None = None, *, force: bool = False) -> None:
        self.out = out
        target = Path(os.path.abspath(out))
        if target == Path(target.anchor) or target == Path.home().absolute() or _within(Path.cwd(), target):
            # Replacing it whole would remove the root, the home folder or the folder preuve runs in.
            raise OutputFolderError(
                f"{out}: preuve replaces its output folder whole and will not replace this one; choose a folder "
                "of its own with -o/--output"
            )
        if evidence is not None:
            ensure_outside(out, evidence)
            try:
                evidence.resolve().relative_to(out.resolve())
            except ValueError:
                pass
            else:
                raise OutputFolderError(
                    f"{out}: the output folder holds the evidence ({evidence}); choose another folder with -o/--output"
                )
        if out.exists() or out.is_symlink():
            if out.is_symlink() or not out.is_dir():
                raise OutputFolderError(f"{out}: exists and is not a folder; choose another with -o/--output")
            if any(out.iterdir()) and not is_preuve_output(out) and not force:
                raise OutputFolderError(
                    f"{out}: this folder holds files that are not a preuve output; choose another folder with "
                    "-o/--output, or give --force to replace it whole"
                )
        self._target = target
        parent = target.parent
        self._made = _missing_ancestors(parent)
        existing = self._made[-1].parent if self._made else parent
        if not existing.is_dir():
            raise OutputFolderError(
                f"{out}: {existing} is a file, not a folder; choose another output folder with -o/--output"
            )
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX + target.name[:64] + "-", dir=parent))
        except OSError as exc:
            self._remove_made()
            from preuve.messages import os_error_words

            raise OutputFolderError(
                f"{out}: the output folder cannot be written there ({os_error_words(exc)}); choose another with "
                "-o/--output"
            ) from exc
        # mkdtemp makes a private folder; the output gets the permissions of a folder made by mkdir.
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(self.path, 0o777 & ~umask)
        self.done = False
        # Held while the run lives: a staging folder nobody holds was left by a run killed outright (SIGKILL,
        # out of memory), and is removed here.
        self._hold = _hold(self.path)
        _remove_abandoned(parent, _STAGING_PREFIX + target.name[:64] + "-", keep=self.path)

    def _remove_made(self) -> None:
        for folder in self._made:
            with contextlib.suppress(OSError):
                folder.rmdir()

    def _release(self) -> None:
        if self._hold is not None:
            os.close(self._hold)  # closing the descriptor releases its lock
            self._hold = None

    def _swap(self) -> None:
        old: Path | None = None
        target = self._target
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=_OLD_PREFIX + target.name[:64] + "-", dir=self.path.parent))
            old.rmdir()
            os.replace(target, old)
        try:
            os.replace(self.path, target)
        except BaseException:
            if old is not None:
                os.replace(old, target)
            raise
        self.done = True
        self._release()
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def commit(self) -> Path:
        """The run finished: its folder replaces the named one."""
        self._swap()
        return self.out

    def interrupted(self, evidence: Path, reason: str = "interrupted (Ctrl-C or SIGTERM)") -> Path:
        """The run was stopped: what it wrote is marked partial (run.json status and a marker file) and
        replaces the named folder."""
        note = (
            f"This preuve run was {reason} before it finished: the files in this folder are PARTIAL and "
            "say nothing about what was not read. Run `preuve check` again for a complete result.\n"
        )
        (self.path / INTERRUPTED_MARKER).write_text(note, encoding="utf-8")
        from preuve.run.results import environment

        doc = {"status": "interrupted", "reason": reason, "tool": environment(), "evidence": str(evidence)}
        (self.path / "run.json").write_bytes(dumps(doc, indent=True) + b"\n")
        for name in ("findings.json", "bundle.json", "bundle.md", "report.html"):
            (self.path / name).unlink(missing_ok=True)  # never a complete-looking document in a partial folder
        self._swap()
        return self.out

    def discard(self) -> None:
        """The run failed: nothing of it is left, and the named folder is as it was."""
        if self.done:
            return
        self._release()
        shutil.rmtree(self.path, ignore_errors=True)
        self._remove_made()
        self.done = True


def _hold(folder: Path) -> int | None:
    """An exclusive lock on a folder, held by an open descriptor (None where locks are not offered)."""
    import fcntl

    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(handle)
        return None
    return handle


def _remove_abandoned(parent: Path, prefix: str, keep: Path) -> None:
    """Remove the staging folders of this output that no live run holds."""
    try:
        siblings = [p for p in parent.iterdir() if p.name.startswith(prefix) and p != keep]
    except OSError:
        return
    for folder in siblings:
        if folder.is_symlink() or not folder.is_dir():
            continue
        held = _hold(folder)
        if held is None:
            continue  # a run in progress (or a folder that cannot be locked): left alone
        try:
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            os.close(held)


def output_sinks(
    folder: Path, evidence: Path, lang: str = "en", timeline: str = DEFAULT_TIMELINE
) -> tuple[OutputFolder, list[Sink]]:
    """The sinks that write a preuve output into `folder` (the same for check, fleet, case report and the
    console): the records and the `timeline` files asked for, report.html (in `lang`) and the
    verification bundle."""
    from preuve.report.formats.bundle import BundleSink
    from preuve.report.formats.html import HtmlReport

    records = OutputFolder(folder, evidence, TIMELINE_CHOICES[timeline])
    return records, [records, HtmlReport(folder / "report.html", lang), BundleSink(folder)]


class RunInterrupted(KeyboardInterrupt):
    """The run was stopped by the user (Ctrl-C, SIGTERM); its output folder says it is partial."""

    def __init__(self, out: Path | None) -> None:
        super().__init__(str(out) if out is not None else "")
        self.out = out


@contextlib.contextmanager
def staged_output(out: Path, evidence: Path, *, force: bool = False) -> Iterator[StagedOutput]:
    """A StagedOutput committed when the block ends, discarded when it raises, marked interrupted
    (and swapped in) on KeyboardInterrupt, which is raised again as RunInterrupted."""
    staged = StagedOutput(out, evidence, force=force)
    try:
        yield staged
    except KeyboardInterrupt:
        try:
            staged.interrupted(evidence)
        except OSError:
            staged.discard()
            raise RunInterrupted(None) from None
        raise RunInterrupted(out) from None
    except BaseException:
        staged.discard()
        raise
    staged.commit()


def check_into_folder(
    evidence: Path,
    options: CheckOptions,
    out: Path,
    *,
    force: bool = False,
    extra_sinks: Sequence[Sink] = (),
    observer: RunObserver | None = None,
    index: IndicatorIndex | None = None,
    lang: str = "en",
    timeline: str = DEFAULT_TIMELINE,
    early: EarlyListing | EarlyHeaders | None = None,
    begun: bool = False,
) -> CheckResult:
    """Check one acquisition into the output folder `out` (check, fleet and demo all write through here).

    `out` is replaced whole when the run ends; a run that fails leaves it as it was; an interrupted run
    leaves it marked partial (RunInterrupted). `early`, `begun`: see run_check."""
    from preuve.run.engine import run_check

    with staged_output(out, evidence, force=force) as staged:
        records, sinks = output_sinks(staged.path, evidence, lang, timeline)
        try:
            return run_check(
                evidence, options, sinks=[*sinks, *extra_sinks], observer=observer, index=index, early=early,
                begun=begun,
            )
        finally:
            records.close()


class _Graded:
    """Stands for a record's findings when its timeline rows are rendered later: their highest severity."""

    __slots__ = ("severity",)

    def __init__(self, severity: Severity) -> None:
        self.severity = severity


class _TimelineWriter(_RecordWriter):
    """The timeline rows of records, as OutputFolder writes them, without the artifact lines."""

    def __init__(self, csv_file: IO[str] | None, jsonl_file: IO[bytes] | None) -> None:
        self._jsonl = cast(IO[bytes], _Discard())
        self._prefixes = {}
        self._descriptions = {}
        self._files = {}
        self._timeline_file = csv_file
        self._timeline_jsonl = jsonl_file


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)


def _locator_key(locator: dict[str, object]) -> tuple[object, ...]:
    return tuple(locator.get(name) for name in ("device_path", "sha256", "table", "rowid", "key_path", "line", "offset"))


def render_timeline(out: Path, formats: Sequence[str]) -> list[Path]:
    """Write timeline.csv and/or timeline.jsonl from what a check kept in `out` (artifacts/*.jsonl,
    findings.json, run.json): the rows the check would have written with ``--timeline``, in the same
    order (artifacts as run.json lists them, records as their JSONL holds them). Each file is
    written beside and renamed into place when complete. Returns the files written."""
    from preuve.artifacts.records import rebuild_record, record_classes
    from preuve.model.jsonio import loads

    run = loads((out / "run.json").read_bytes())
    graded: dict[tuple[str, tuple[object, ...]], dict[str, Severity]] = {}
    for finding in loads((out / "findings.json").read_bytes())["findings"]:
        severity = Severity.parse(finding["severity"])
        group = finding.get("group")
        # a grouped finding stands for every occurrence: each occurrence's record is graded by it
        members = group.get("members", []) if isinstance(group, dict) else []
        for where in [finding, *members]:
            slot = graded.setdefault((finding["artifact"], _locator_key(where["locator"])), {})
            digest = str(where.get("record_sha256") or "")
            slot[digest] = max(severity, slot.get(digest, severity))
    classes = record_classes()
    wanted = [name for name in TIMELINE_FORMATS if name in formats]
    temporary = {name: out / f".timeline.{name}.part" for name in wanted}
    csv_file = open(temporary["csv"], "w", newline="", encoding="utf-8", errors="backslashreplace", buffering=1 << 20) if "csv" in temporary else None  # noqa: SIM115
    jsonl_file = open(temporary["jsonl"], "wb", buffering=1 << 20) if "jsonl" in temporary else None  # noqa: SIM115
    try:
        if csv_file is not None:
            csv_file.write(",".join(csv_cell(c) for c in TIMELINE_COLUMNS) + "\r\n")
        writer = _TimelineWriter(csv_file, jsonl_file)
        seen: set[str] = set()
        for entry in run["artifacts"]:
            name = str(entry["name"])
            path = out / "artifacts" / f"{name}.jsonl"
            if name in seen or "/" in name or not path.is_file():
                continue
            seen.add(name)
            artifact = cast(Artifact, _Named(name))
            with open(path, "rb") as lines:
                for line in lines:
                    item = loads(line)
                    cls = classes.get(str(item.get("record_type")))
                    if cls is None:
                        raise PreuveError(f"{path}: unknown record type; written by another version of preuve?")
                    where = item.pop("locator")
                    record = rebuild_record(cls, item, Locator.from_dict(where))
                    stamps = tuple(record.timestamps())
                    if not stamps:
                        continue
                    found: list[_Graded] = []
                    grades = graded.get((name, _locator_key(where)))
                    if grades:
                        grade = grades.get(record.content_sha256(), grades.get(""))  # INFO is 0: no `or`
                        if grade is not None:
                            found.append(_Graded(grade))
                    writer.record(artifact, record, cast(list[Finding], found), stamps)
    except BaseException:
        for stream in (csv_file, jsonl_file):
            if stream is not None:
                stream.close()
        for part in temporary.values():
            part.unlink(missing_ok=True)
        raise
    written = []
    for stream in (csv_file, jsonl_file):
        if stream is not None:
            stream.close()
    for kind, part in temporary.items():
        target = out / f"timeline.{kind}"
        os.replace(part, target)
        written.append(target)
    return written


class _Named:
    """What the timeline rows use of an artifact: its name."""

    def __init__(self, name: str) -> None:
        self.name = name
