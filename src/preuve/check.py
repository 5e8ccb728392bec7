"""`preuve check`: one acquisition, every artifact, every indicator and rule, streamed.

The flow is the one in DESIGN.md: the acquisition is detected and opened as a
DeviceFS; each artifact reads its files and yields typed records; every
record goes once through the indicator matcher and the heuristic rules; sinks
(the output folder, a case store…) receive records and findings as they come,
so memory does not grow with the evidence. One artifact (or one file of it)
failing never stops the others: it is reported, and the run is marked
incomplete.
"""

from __future__ import annotations

import enum
import multiprocessing
import os
import platform as _platform
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Protocol, cast

from preuve import __version__
from preuve.artifacts.base import Artifact, ArtifactContext, SqliteArtifact, discover_artifacts
from preuve.detect.match import Matcher
from preuve.detect.rules import RuleSet, discover_rules
from preuve.evidence.acquisition import OpenContext, Opened, Secrets, open_acquisition
from preuve.evidence.errors import EvidenceError
from preuve.evidence.fs import DeviceFS
from preuve.evidence.ledger import EvidenceFile, HashLedger
from preuve.evidence.limits import DEFAULT_LIMITS, Limits
from preuve.indicators.index import IndicatorIndex, load_index
from preuve.indicators.stix import Feed
from preuve.model import Finding, Record, Severity


class ArtifactStatus(enum.StrEnum):
    OK = "ok"
    EMPTY = "empty"
    MISSING = "missing"
    FAILED = "failed"


class ExitCode(enum.IntEnum):
    CLEAN = 0
    FATAL = 1
    DETECTED = 2
    INCOMPLETE = 3


@dataclass(frozen=True, slots=True)
class CheckOptions:
    iocs: tuple[Path, ...] = ()
    heuristics: bool = True
    only_artifacts: tuple[str, ...] = ()
    limits: Limits = DEFAULT_LIMITS
    secrets: Secrets = field(default_factory=Secrets)
    # Processes reading a big database in parts (None: up to two, by the CPUs there are; 1: sequential).
    # The output is the same whatever the number.
    jobs: int | None = None

    def describe(self) -> dict[str, object]:
        """The options as recorded in run.json (never the secrets)."""
        return {
            "iocs": [str(p) for p in self.iocs],
            "heuristics": self.heuristics,
            "only_artifacts": list(self.only_artifacts),
            "password_given": self.secrets.password is not None,
            "key_given": self.secrets.key is not None,
            "age_identity_given": self.secrets.age_identity is not None,
        }


@dataclass(slots=True)
class ArtifactReport:
    name: str
    title: str
    status: ArtifactStatus
    files: list[str] = field(default_factory=list)
    records: int = 0
    findings: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(slots=True)
class CheckResult:
    evidence_path: Path
    acquisition_kind: str
    platform: str
    findings: list[Finding]
    artifacts: list[ArtifactReport]
    feeds: list[Feed]
    evidence_files: list[EvidenceFile]
    warnings: list[str]
    options: CheckOptions
    started: datetime
    finished: datetime
    indicator_count: int = 0

    def severity_counts(self) -> dict[str, int]:
        counts = {s.label: 0 for s in sorted(Severity, reverse=True)}
        for finding in self.findings:
            counts[finding.severity.label] += 1
        return counts

    @property
    def incomplete(self) -> bool:
        return any(a.status == ArtifactStatus.FAILED or a.errors for a in self.artifacts)

    @property
    def exit_code(self) -> ExitCode:
        if any(f.severity >= Severity.HIGH for f in self.findings):
            return ExitCode.DETECTED
        if self.incomplete:
            return ExitCode.INCOMPLETE
        return ExitCode.CLEAN


class RunObserver(Protocol):
    """Progress for people (the CLI draws it with rich); the library never prints."""

    def acquisition_opened(self, opened: Opened) -> None: ...
    def artifact_started(self, artifact: Artifact, files: int) -> None: ...
    def records_parsed(self, count: int) -> None: ...
    def artifact_finished(self, report: ArtifactReport) -> None: ...
    def warning(self, message: str) -> None: ...


class NullObserver:
    def acquisition_opened(self, opened: Opened) -> None:
        pass

    def artifact_started(self, artifact: Artifact, files: int) -> None:
        pass

    def records_parsed(self, count: int) -> None:
        pass

    def artifact_finished(self, report: ArtifactReport) -> None:
        pass

    def warning(self, message: str) -> None:
        pass


class Sink(Protocol):
    """Receives what a run produces, as it is produced."""

    def begin(self, opened: Opened, index: IndicatorIndex) -> None: ...
    def artifact_started(self, artifact: Artifact) -> None: ...
    def record(self, artifact: Artifact, record: Record, findings: Sequence[Finding]) -> None: ...
    def artifact_finished(self, artifact: Artifact, report: ArtifactReport) -> None: ...
    def finish(self, result: CheckResult) -> None: ...


def private_workdir(evidence: Path) -> Path:
    """A fresh temporary folder for private copies, guaranteed not to lie inside the evidence."""
    workdir = Path(tempfile.mkdtemp(prefix="preuve-"))
    try:
        workdir.resolve().relative_to(evidence.resolve())
    except ValueError:
        return workdir
    shutil.rmtree(workdir, ignore_errors=True)
    raise EvidenceError(str(evidence), "the temporary folder lies inside the evidence; set TMPDIR elsewhere")


# A database is read in parallel parts only from this many rows of its split table: below, starting
# a worker costs more than it saves.
SPLIT_MIN_ROWS = 20_000


class SinkPart(Protocol):
    """What a SplitSink keeps for one part of an artifact read in parallel (in a worker process)."""

    def record(self, artifact: Artifact, record: Record, findings: Sequence[Finding]) -> None: ...
    def close(self) -> object: ...  # a picklable state, handed to SplitSink.join


class SplitSink(Sink, Protocol):
    """A Sink that can take an artifact in parts: `part` (called in the process reading the part)
    writes into a private folder, `join` (in the main process, parts in order) appends it, so the
    output is the same as when the records come one by one. A run with any sink that is not a
    SplitSink reads everything sequentially."""

    def part(self, artifact: Artifact, folder: Path) -> SinkPart | None: ...
    def join(self, artifact: Artifact, folder: Path, state: object) -> None: ...


def default_jobs() -> int:
    return max(1, min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def _parse_file(
    artifact: Artifact,
    ctx: ArtifactContext,
    path: str,
    matcher: Matcher,
    rules: RuleSet | None,
    sinks: Sequence[Sink | SinkPart],
    findings: list[Finding],
    progress: Callable[[int], None] | None,
) -> tuple[int, int]:
    """Records of one file through the matcher, the rules and the sinks: (records, findings)."""
    records = found_count = pending = 0
    # The loop below runs once per record: names are bound once, and the rules are only
    # called for record types some rule subscribes to.
    name, title, match = artifact.name, artifact.title, matcher.match
    subscribed = rules.subscribed if rules is not None else frozenset()
    try:
        for record in artifact.parse(ctx, path):
            found = match(record, name, title)
            if rules is not None and type(record) in subscribed:
                found.extend(rules.check(record, name))
            if found:
                findings.extend(found)
                found_count += len(found)
            for sink in sinks:
                sink.record(artifact, record, found)
            records += 1
            pending += 1
            if pending >= 2000 and progress is not None:
                progress(pending)
                pending = 0
    except EvidenceError as exc:
        ctx.error(exc.path, exc.reason)
    except (sqlite3.Error, ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError,
            MemoryError, UnicodeError, OSError) as exc:
        ctx.error(path, f"{type(exc).__name__}: {exc}")
    if progress is not None:
        progress(pending)
    return records, found_count


@dataclass(slots=True)
class _PartResult:
    records: int
    findings: list[Finding]
    states: list[object]
    errors: list[str]
    warnings: list[str]


def _read_part(
    artifact: Artifact,
    fs: DeviceFS,
    limits: Limits,
    matcher: Matcher,
    rules: RuleSet | None,
    sinks: Sequence[SplitSink],
    path: str,
    rowid_range: tuple[int | None, int | None],
    folder: Path,
) -> _PartResult | None:
    ctx = ArtifactContext(fs=fs, limits=limits, rowid_range=rowid_range)
    parts = [sink.part(artifact, folder) for sink in sinks]
    if any(part is None for part in parts):
        return None
    live = [part for part in parts if part is not None]
    findings: list[Finding] = []
    records, _ = _parse_file(artifact, ctx, path, matcher, rules, live, findings, None)
    states = [part.close() for part in live]
    return _PartResult(records, findings, states, list(ctx.errors), list(ctx.warnings))


def _part_worker(send: Connection, read: Callable[[], _PartResult | None]) -> None:
    """In a forked worker: read one part, send the result (None when anything went wrong)."""
    try:
        result = read()
    except BaseException:  # noqa: BLE001 - the main process then reads the file sequentially
        result = None
    try:
        send.send(result)
    finally:
        send.close()


def _run_split(
    artifact: SqliteArtifact,
    fs: DeviceFS,
    limits: Limits,
    matcher: Matcher,
    rules: RuleSet | None,
    sinks: Sequence[SplitSink],
    findings: list[Finding],
    path: str,
    jobs: int,
) -> int | None:
    """Read one database in `jobs` parts, the first here and the others in forked workers, then
    hand the parts to the sinks in order. The records, or None when the file must be read
    sequentially instead (too small, not splittable, or any part met an error or a warning:
    then nothing was given to the sinks, and the sequential read reports it exactly as always)."""
    try:
        with fs.sqlite(path) as conn:
            bounds = artifact.split_bounds(conn, jobs, SPLIT_MIN_ROWS)
    except Exception:  # noqa: BLE001 - the sequential read reports whatever is wrong
        return None
    if not bounds:
        return None
    edges: list[int | None] = [None, *bounds, None]
    ranges = list(zip(edges[:-1], edges[1:], strict=True))
    folders = [Path(tempfile.mkdtemp(prefix="part-", dir=fs.workdir)) for _ in ranges]
    context = multiprocessing.get_context("fork")
    # A forked worker flushes its copy of these when it ends: nothing pending may be written twice.
    # (It never flushes the sinks' files: it ends with os._exit.)
    sys.stdout.flush()
    sys.stderr.flush()
    workers: list[tuple[BaseProcess, Connection]] = []
    try:
        for rowid_range, folder in zip(ranges[1:], folders[1:], strict=True):
            receive, send = context.Pipe(duplex=False)

            def read(rowid_range: tuple[int | None, int | None] = rowid_range, folder: Path = folder) -> _PartResult | None:
                return _read_part(artifact, fs, limits, matcher, rules, sinks, path, rowid_range, folder)

            worker = context.Process(target=_part_worker, args=(send, read), daemon=True)
            worker.start()
            send.close()
            workers.append((worker, receive))
        results = [_read_part(artifact, fs, limits, matcher, rules, sinks, path, ranges[0], folders[0])]
        for process, receive in workers:
            try:
                results.append(receive.recv())
            except (EOFError, OSError):
                results.append(None)
            process.join()
        done = [r for r in results if r is not None and not r.errors and not r.warnings]
        if len(done) != len(results):
            return None
        records = 0
        for result, folder in zip(done, folders, strict=True):
            for sink, state in zip(sinks, result.states, strict=True):
                sink.join(artifact, folder, state)
            findings.extend(result.findings)
            records += result.records
        return records
    finally:
        for process, receive in workers:
            receive.close()
            if process.is_alive():
                process.kill()
                process.join()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


def _split_sinks(sinks: Sequence[Sink]) -> list[SplitSink] | None:
    if all(callable(getattr(sink, "part", None)) and callable(getattr(sink, "join", None)) for sink in sinks):
        return [cast(SplitSink, sink) for sink in sinks]
    return None


def _run_artifact(
    artifact: Artifact,
    opened: Opened,
    limits: Limits,
    matcher: Matcher,
    rules: RuleSet | None,
    sinks: Sequence[Sink],
    observer: RunObserver,
    findings: list[Finding],
    jobs: int = 1,
) -> ArtifactReport:
    fs = opened.fs
    started = time.perf_counter()
    report = ArtifactReport(artifact.name, artifact.title, ArtifactStatus.MISSING)
    try:
        files = artifact.locate(fs)
    except EvidenceError as exc:
        report.status = ArtifactStatus.FAILED
        report.errors.append(str(exc))
        return report
    report.files = files
    observer.artifact_started(artifact, len(files))
    if not files:
        observer.artifact_finished(report)
        return report
    for sink in sinks:
        sink.artifact_started(artifact)
    ctx = ArtifactContext(fs=fs, limits=limits, _on_warning=observer.warning)
    split = (
        _split_sinks(sinks)
        if jobs > 1 and isinstance(artifact, SqliteArtifact) and artifact.split_table is not None
        else None
    )
    for path in files:
        if split is not None:
            before = len(findings)
            records = _run_split(artifact, fs, limits, matcher, rules, split, findings, path, jobs)  # type: ignore[arg-type]
            if records is not None:
                report.records += records
                report.findings += len(findings) - before
                observer.records_parsed(records)
                continue
        records, found = _parse_file(artifact, ctx, path, matcher, rules, sinks, findings, observer.records_parsed)
        report.records += records
        report.findings += found
    report.errors = list(ctx.errors)
    report.warnings = list(ctx.warnings)
    if ctx.errors:
        report.status = ArtifactStatus.FAILED
    elif report.records == 0:
        report.status = ArtifactStatus.EMPTY
    else:
        report.status = ArtifactStatus.OK
    report.seconds = time.perf_counter() - started
    for sink in sinks:
        sink.artifact_finished(artifact, report)
    observer.artifact_finished(report)
    return report


def load_indicators(paths: Iterable[Path], warn: Callable[[str], None]) -> IndicatorIndex:
    return load_index(list(paths), warn)


def run_check(
    evidence: Path,
    options: CheckOptions,
    sinks: Sequence[Sink] = (),
    observer: RunObserver | None = None,
    index: IndicatorIndex | None = None,
) -> CheckResult:
    """Check one acquisition. Raises PreuveError (AcquisitionError, FeedError) when it cannot start."""
    observer = observer or NullObserver()
    started = datetime.now(UTC)
    warnings: list[str] = []

    def warn(message: str) -> None:
        warnings.append(message)
        observer.warning(message)

    if index is None:
        index = load_indicators(options.iocs, warn)
    ledger = HashLedger()
    workdir = private_workdir(evidence)
    opened: Opened | None = None
    try:
        ctx = OpenContext(ledger=ledger, limits=options.limits, workdir=workdir, secrets=options.secrets, warn=warn)
        opened = open_acquisition(evidence, ctx)
        observer.acquisition_opened(opened)
        for sink in sinks:
            sink.begin(opened, index)
        matcher = Matcher(index)
        rules = RuleSet(discover_rules()) if options.heuristics else None
        artifacts = discover_artifacts(opened.platform)
        if options.only_artifacts:
            artifacts = [a for a in artifacts if a.name in options.only_artifacts]
        findings: list[Finding] = []
        jobs = options.jobs if options.jobs is not None else default_jobs()
        reports = [
            _run_artifact(a, opened, options.limits, matcher, rules, sinks, observer, findings, jobs) for a in artifacts
        ]
        findings.sort(key=Finding.sort_key)
        result = CheckResult(
            evidence_path=evidence,
            acquisition_kind=opened.kind,
            platform=opened.platform,
            findings=findings,
            artifacts=reports,
            feeds=list(index.feeds),
            evidence_files=ledger.files(),
            warnings=warnings,
            options=options,
            started=started,
            finished=datetime.now(UTC),
            indicator_count=len(index),
        )
        for sink in sinks:
            sink.finish(result)
        return result
    finally:
        if opened is not None:
            opened.fs.close()
        shutil.rmtree(workdir, ignore_errors=True)


def environment() -> dict[str, str]:
    return {
        "preuve": __version__,
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "platform": _platform.platform(),
    }
