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

import gc
import multiprocessing
import os
import platform as _platform
import shutil
import sqlite3
import stat
import sys
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Protocol, cast

from preuve import __version__
from preuve.artifacts.base import Artifact, ArtifactContext, SqliteArtifact, discover_artifacts
from preuve.detect.match import Matcher
from preuve.detect.rules import RuleSet, discover_rules
from preuve.evidence.acquisition import (
    AcquisitionKind,
    OpenContext,
    Opened,
    Secrets,
    kind_named,
    open_acquisition,
)
from preuve.evidence.errors import EvidenceError, PreuveError
from preuve.evidence.fs import DeviceFS
from preuve.evidence.ledger import EvidenceFile, HashLedger
from preuve.evidence.limits import DEFAULT_LIMITS, Limits
from preuve.evidence.sqlite import open_readonly
from preuve.indicators.index import IndicatorIndex, load_index
from preuve.indicators.stix import Feed, FeedError
from preuve.model import (
    Absence,
    ArtifactStatus,
    Coverage,
    ExitCode,
    Finding,
    FindingGroup,
    GroupMember,
    Record,
    Severity,
    Timestamp,
    Verdict,
    verdict,
)

__all__ = ["ArtifactStatus", "ExitCode"]  # defined in the model, imported from here by callers


class OutputError(PreuveError):
    """A sink could not write (the disk is full, the output folder went away). Unlike an evidence
    file that cannot be read, this stops the run: its outputs would be silently incomplete."""


class SelectionError(PreuveError):
    """An --artifact name that is not an artifact of this acquisition's platform."""


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
    # Why a file it expects is absent (with status MISSING; or beside OK/EMPTY when some of its files
    # were read and others are absent).
    absence: Absence | None = None
    absent_files: list[str] = field(default_factory=list)

    def why(self) -> str:
        """Its status in words, with the reason."""
        if self.status == ArtifactStatus.FAILED:
            return "could not be read: " + ("; ".join(self.errors[:3]) or "unknown error")
        if self.status == ArtifactStatus.MISSING:
            return (self.absence or Absence.NOT_LISTED).meaning
        if self.status == ArtifactStatus.NOT_COLLECTED:
            return "not collected by this kind of acquisition"
        if self.status == ArtifactStatus.NOT_SELECTED:
            return "left out (--artifact)"
        read = f"checked: {self.records} record(s)"
        if self.absence is not None:
            read += f"; {len(self.absent_files)} of its files are {self.absence.meaning}"
        return read


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
    # What is wrong with the acquisition as a whole (an archive cut short…).
    acquisition_problems: list[str] = field(default_factory=list)
    # The platform's artifacts the user left out (--artifact), status NOT_SELECTED; `artifacts` holds
    # those that ran.
    left_out: list[ArtifactReport] = field(default_factory=list)

    def all_artifacts(self) -> list[ArtifactReport]:
        """Every artifact of the platform with its status (those that ran and those left out), by name."""
        return sorted([*self.artifacts, *self.left_out], key=lambda r: r.name)

    def severity_counts(self) -> dict[str, int]:
        counts = {s.label: 0 for s in sorted(Severity, reverse=True)}
        for finding in self.findings:
            counts[finding.severity.label] += 1
        return counts

    def coverage(self) -> Coverage:
        reports = self.all_artifacts()
        return Coverage(
            acquisition_problems=tuple(self.acquisition_problems),
            checked=tuple(r.name for r in reports if r.status.checked),
            failed=tuple(r.name for r in reports if r.status == ArtifactStatus.FAILED or (r.errors and r.status.checked)),
            lost=tuple(r.name for r in reports if r.absence is not None and r.absence.loses_evidence),
            not_selected=tuple(r.name for r in reports if r.status == ArtifactStatus.NOT_SELECTED),
            indicators=self.indicator_count,
            heuristics=self.options.heuristics,
        )

    def verdict(self) -> Verdict:
        return verdict(self.findings, self.coverage())

    @property
    def incomplete(self) -> bool:
        """Part of what the acquisition holds could not be checked (failed, lost or damaged)."""
        return not self.coverage().complete

    @property
    def exit_code(self) -> ExitCode:
        return self.verdict().exit_code


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
    def record(
        self, artifact: Artifact, record: Record, findings: Sequence[Finding], stamps: Sequence[Timestamp]
    ) -> None:
        """One record, its findings and its timestamps (``record.timestamps()``, computed once for all sinks)."""

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
SPLIT_MIN_ROWS = 4_000
# ...in chunks of about this many rows (at most SPLIT_CHUNKS), taken by whichever process is free
# (the main process reads the other artifacts meanwhile): small enough that the last chunk leaves
# the other process idle only briefly, large enough that opening each costs little.
SPLIT_ROWS_PER_CHUNK = 5_000
SPLIT_CHUNKS = 128


class SinkPart(Protocol):
    """What a SplitSink keeps for one part of an artifact read in parallel (in a worker process)."""

    def record(
        self, artifact: Artifact, record: Record, findings: Sequence[Finding], stamps: Sequence[Timestamp]
    ) -> None: ...
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


@dataclass(slots=True)
class _Parsed:
    """What `_parse_file` did with one file (or one rowid range of it)."""

    records: int
    findings: int
    # The records ended early on an error raised while reading (a damaged page, a planted bug):
    # a sequential read stops there, so nothing after it is read.
    stopped: bool


def _parse_file(
    artifact: Artifact,
    ctx: ArtifactContext,
    path: str,
    matcher: Matcher,
    rules: RuleSet | None,
    sinks: Sequence[Sink | SinkPart],
    findings: list[Finding],
    progress: Callable[[int], None] | None,
) -> _Parsed:
    """Records of one file through the matcher, the rules and the sinks."""
    records = found_count = pending = 0
    stopped = False
    # The loop below runs once per record: names are bound once, and the rules are only
    # called for record types some rule subscribes to.
    name, title, match = artifact.name, artifact.title, matcher.match
    subscribed = rules.subscribed if rules is not None else frozenset()
    rules_for = rules.for_type if rules is not None else None
    try:
        for record in artifact.parse(ctx, path):
            found = match(record, name, title)
            if rules_for is not None and type(record) in subscribed:
                for rule in rules_for(type(record)):
                    found.extend(rule.check(record, name))
            if found:
                found = [f.with_record(record) for f in found]
                findings.extend(found)
                found_count += len(found)
            stamps = tuple(record.timestamps())
            try:
                for sink in sinks:
                    sink.record(artifact, record, found, stamps)
            except OSError as exc:  # the output, not the evidence: the run cannot go on
                where = f"{exc.filename}: " if exc.filename else ""
                raise OutputError(f"the output could not be written ({where}{exc.strerror or exc}): the run stopped") from exc
            records += 1
            pending += 1
            if pending >= 2000 and progress is not None:
                progress(pending)
                pending = 0
    except EvidenceError as exc:
        ctx.error(exc.path, exc.reason)
        stopped = True
    except OSError as exc:
        from preuve.messages import os_error_text

        ctx.error(path, os_error_text(exc))
        stopped = True
    except (sqlite3.Error, ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError,
            MemoryError, UnicodeError, EOFError, tarfile.TarError, zlib.error) as exc:
        # (a member of a damaged archive read to its cut end raises the archive module's own errors)
        ctx.error(path, f"{type(exc).__name__}: {exc}")
        stopped = True
    if progress is not None:
        progress(pending)
    return _Parsed(records, found_count, stopped)


@dataclass(slots=True)
class _PartResult:
    records: int
    findings: list[Finding]
    states: list[object]
    errors: list[str]
    warnings: list[str]
    stopped: bool
    # The file's ledger entry as the part's process hashed it: the main process takes it rather than
    # hashing the same database again (a split database is a big one).
    evidence: EvidenceFile | None


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
    parsed = _parse_file(artifact, ctx, path, matcher, rules, live, findings, None)
    states = [part.close() for part in live]
    return _PartResult(
        parsed.records, findings, states, list(ctx.errors), list(ctx.warnings), parsed.stopped, fs.ledger.get(path)
    )


def _bounds(artifact: SqliteArtifact, fs: DeviceFS, path: str, limits: Limits) -> list[int] | None:
    """Where to cut a database in chunks, or None when it is read sequentially: too small, or
    not a plain file on disk that every chunk can open in place (an archive member or a database
    with a journal would be copied once per chunk), or anything odd at all.

    This runs before any artifact and must leave the acquisition as it found it (what it has
    listed, hashed or looked at more closely): it reads the file on disk directly, read-only.
    """
    try:
        if any(fs.is_file(path + suffix) for suffix in ("-wal", "-journal", "-shm")):
            return None
        local = fs._local_file(path)  # noqa: SLF001 - the question DeviceFS asks itself
        if local is None or not stat.S_ISREG(os.lstat(local).st_mode):
            return None
        with open_readonly(local, {}, limits, fs.workdir) as conn:
            return artifact.split_bounds(conn, SPLIT_CHUNKS, SPLIT_MIN_ROWS, SPLIT_ROWS_PER_CHUNK)
    except Exception:  # noqa: BLE001 - the sequential read reports whatever is wrong
        return None


def _ranges(bounds: list[int]) -> list[tuple[int | None, int | None]]:
    edges: list[int | None] = [None, *bounds, None]
    return list(zip(edges[:-1], edges[1:], strict=True))


def _take(counter: Any, total: int) -> int | None:
    """The next chunk nobody has taken yet (the counter is shared by every process)."""
    with counter.get_lock():
        taken = int(counter.value)
        if taken >= total:
            return None
        counter.value = taken + 1
        return taken


@dataclass(slots=True)
class _Plan:
    """One database that may be read in chunks, by whichever process is free first."""

    artifact: SqliteArtifact
    path: str
    ranges: list[tuple[int | None, int | None]]  # of rowids, one per chunk
    counter: Any  # a shared multiprocessing Value: the next chunk to take
    folder: Path  # chunk i is written in folder/i


class _Splitter:
    """Worker processes, forked before the artifacts run, that read chunks of the big databases
    (`_Plan`) while the main process reads the other artifacts; when it comes to such a database,
    the main process reads chunks too, and hands every chunk to the sinks in order as soon as it
    and every chunk before it have been read."""

    def __init__(
        self, plans: list[_Plan], jobs: int, fs: DeviceFS, limits: Limits, matcher: Matcher,
        rules: RuleSet | None, sinks: Sequence[SplitSink],
    ) -> None:
        self.plans = plans
        self.fs, self.limits, self.matcher, self.rules, self.sinks = fs, limits, matcher, rules, sinks
        self.workers: list[tuple[BaseProcess, Connection]] = []
        self.alive: list[bool] = []
        context = multiprocessing.get_context("fork")
        # A forked worker flushes its copy of these when it ends: nothing pending may be written twice.
        # (It never flushes the sinks' files: it ends with os._exit.)
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            for _ in range(jobs - 1):
                receive, send = context.Pipe(duplex=False)
                worker = context.Process(target=self._work, args=(send,), daemon=True)
                # The worker's collector never walks what the main process had built (the index,
                # the modules): walking it would copy every page of it into the worker.
                gc.freeze()
                try:
                    worker.start()
                finally:
                    gc.unfreeze()
                    send.close()
                self.workers.append((worker, receive))
                self.alive.append(True)
        except BaseException:
            self.close()
            raise

    def _read(self, plan: _Plan, chunk: int) -> _PartResult | None:
        folder = plan.folder / str(chunk)
        folder.mkdir()
        return _read_part(
            plan.artifact, self.fs, self.limits, self.matcher, self.rules, self.sinks, plan.path,
            plan.ranges[chunk], folder,
        )

    def _work(self, send: Connection) -> None:
        """In a worker: chunks of each plan in turn, each sent back as (plan, chunk, result), then
        (plan, None, None) when no chunk of the plan is left."""
        try:
            for number, plan in enumerate(self.plans):
                while (chunk := _take(plan.counter, len(plan.ranges))) is not None:
                    try:
                        result = self._read(plan, chunk)
                    except BaseException:  # noqa: BLE001 - the main process then reads this chunk itself
                        result = None
                    send.send((number, chunk, result))
                send.send((number, None, None))
        finally:
            send.close()

    def plan_for(self, artifact: Artifact, path: str) -> int | None:
        for number, plan in enumerate(self.plans):
            if plan.artifact is artifact and plan.path == path:
                return number
        return None

    def run(
        self, number: int, ctx: ArtifactContext, findings: list[Finding], progress: Callable[[int], None]
    ) -> int | None:
        """Read plan `number` in chunks and give them to the sinks in order: its records, or None
        when the file must be read sequentially instead (nothing was then given to the sinks).

        A chunk reports the warnings and errors of its rows, and those of the whole file (an odd
        schema, say), which every chunk then reports. So the first chunk decides: when it reports
        anything, the file is read sequentially, and each problem is reported once; when it
        reports nothing, nothing is wrong with the file as a whole, and each later chunk's
        warnings and errors are its rows' own, passed on in order. A chunk whose read stopped on
        an error ends the file there, as a sequential read stops. A chunk that a worker could not
        read, or never sent (it died), is read by the main process straight into the sinks, as is
        the next chunk due when the main process takes it itself.
        """
        plan = self.plans[number]
        total = len(plan.ranges)
        results: dict[int, _PartResult | None] = {}
        done = [not alive for alive in self.alive]  # workers that will send nothing more of this plan
        due = 0  # the next chunk to give to the sinks
        records = 0
        try:
            while due < total:
                self._receive(number, results, done, block=False)
                if due in results:
                    result = results.pop(due)
                    if result is not None and len(result.warnings) < ArtifactContext.MAX_WARNINGS:
                        if due == 0 and (result.errors or result.warnings):
                            return None
                        self._join(plan, due, result, ctx, findings)
                        records += result.records
                        progress(result.records)
                        due += 1
                        if result.stopped:
                            break
                        continue
                    # No usable part (or one whose warnings were not all kept): read it here.
                elif (chunk := _take(plan.counter, total)) is not None:
                    if chunk != due or due == 0:
                        results[chunk] = self._read(plan, chunk)
                        continue
                elif not all(done):
                    self._receive(number, results, done, block=True)
                    continue
                # Chunk `due` is read here, straight into the sinks (after a clean first chunk).
                if due == 0:
                    return None
                ctx.rowid_range = plan.ranges[due]
                try:
                    parsed = _parse_file(
                        plan.artifact, ctx, plan.path, self.matcher, self.rules, self.sinks, findings, progress
                    )
                finally:
                    ctx.rowid_range = None
                records += parsed.records
                due += 1
                if parsed.stopped:
                    break
            return records
        finally:
            with plan.counter.get_lock():  # no process takes another chunk of this plan
                plan.counter.value = total
            while not all(done):
                self._receive(number, results, done, block=True)
            shutil.rmtree(plan.folder, ignore_errors=True)

    def _join(
        self, plan: _Plan, chunk: int, result: _PartResult, ctx: ArtifactContext, findings: list[Finding]
    ) -> None:
        folder = plan.folder / str(chunk)
        for sink, state in zip(self.sinks, result.states, strict=True):
            sink.join(plan.artifact, folder, state)
        shutil.rmtree(folder, ignore_errors=True)
        findings.extend(result.findings)
        for message in result.warnings:
            ctx.warn(message)
        ctx.errors.extend(result.errors)

    def _receive(
        self, number: int, results: dict[int, _PartResult | None], done: list[bool], block: bool
    ) -> None:
        """What the workers have sent of plan `number` (waiting for one message when `block`)."""
        waiting = {receive: index for index, (_, receive) in enumerate(self.workers) if not done[index]}
        if not waiting:
            return
        for receive in wait(list(waiting), timeout=None if block else 0):
            index = waiting[cast(Connection, receive)]
            try:
                plan, chunk, result = cast(Connection, receive).recv()
            except (EOFError, OSError):
                self.alive[index] = False
                done[index] = True
                continue
            if plan == number:
                if chunk is None:
                    done[index] = True
                else:
                    results[chunk] = result
                    if result is not None and result.evidence is not None:
                        self.fs.ledger.add(result.evidence)

    def close(self) -> None:
        for worker, receive in self.workers:
            receive.close()
            if worker.is_alive():
                worker.kill()
            worker.join()
        for plan in self.plans:
            shutil.rmtree(plan.folder, ignore_errors=True)


def _splitter(
    artifacts: Sequence[Artifact], opened: Opened, limits: Limits, matcher: Matcher, rules: RuleSet | None,
    sinks: Sequence[Sink], jobs: int,
) -> _Splitter | None:
    """Workers for the big databases of this run, or None when everything is read sequentially."""
    split = _split_sinks(sinks)
    # A daemonic process (a fleet or dask worker) may not start processes: it reads sequentially.
    if jobs < 2 or split is None or multiprocessing.current_process().daemon:
        return None
    fs = opened.fs
    context = multiprocessing.get_context("fork")
    plans: list[_Plan] = []
    for artifact in artifacts:
        if not isinstance(artifact, SqliteArtifact) or artifact.split_table is None:
            continue
        try:
            files = artifact.locate(fs)
        except EvidenceError:
            continue  # _run_artifact reports it
        for path in files:
            bounds = _bounds(artifact, fs, path, limits)
            if bounds:
                folder = Path(tempfile.mkdtemp(prefix="split-", dir=fs.workdir))
                plans.append(_Plan(artifact, path, _ranges(bounds), context.Value("i", 0), folder))
    if not plans:
        return None
    try:
        return _Splitter(plans, jobs, fs, limits, matcher, rules, split)
    except (OSError, AssertionError, ValueError):  # no worker could be started: read sequentially
        for plan in plans:
            shutil.rmtree(plan.folder, ignore_errors=True)
        return None


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
    splitter: _Splitter | None = None,
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
    absent = [path for path in files if fs.listed_but_absent(path)]
    if absent:
        report.absence, report.absent_files = Absence.LISTED_ABSENT, absent
        files = [path for path in files if path not in absent]
    report.files = files
    observer.artifact_started(artifact, len(files))
    if not files:
        if not absent:
            report.status, report.absence = _absent_status(artifact, opened)
        observer.artifact_finished(report)
        return report
    for sink in sinks:
        sink.artifact_started(artifact)
    ctx = ArtifactContext(fs=fs, limits=limits, _on_warning=observer.warning)
    for path in files:
        number = splitter.plan_for(artifact, path) if splitter is not None else None
        if splitter is not None and number is not None:
            before = len(findings)
            records = splitter.run(number, ctx, findings, observer.records_parsed)
            if records is not None:
                report.records += records
                report.findings += len(findings) - before
                continue
        parsed = _parse_file(artifact, ctx, path, matcher, rules, sinks, findings, observer.records_parsed)
        report.records += parsed.records
        report.findings += parsed.findings
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


def _absent_status(artifact: Artifact, opened: Opened) -> tuple[ArtifactStatus, Absence | None]:
    """What an artifact without files means here: a gap when this kind of acquisition can hold it
    (lost, when the acquisition is damaged), nothing to regret when it never does. An artifact that
    declares no paths reads the acquisition itself (its listing): when it finds nothing to read, this
    kind does not have what it needs."""
    kind: type[AcquisitionKind] | None = kind_named(opened.kind)
    if not artifact.paths or (kind is not None and not any(kind.can_hold(p) for p in artifact.paths)):
        return ArtifactStatus.NOT_COLLECTED, None
    return ArtifactStatus.MISSING, Absence.LOST if opened.fs.damage else Absence.NOT_LISTED


def select_artifacts(platform: str, names: Sequence[str]) -> list[Artifact]:
    """The artifacts of `platform` named in `names` (all when empty); SelectionError names the unknown ones
    and lists the valid ones."""
    artifacts = discover_artifacts(platform)
    if not names:
        return artifacts
    known = {a.name for a in artifacts}
    unknown = sorted(set(names) - known)
    if unknown:
        others = {a.name for a in discover_artifacts()} - known
        elsewhere = [n for n in unknown if n in others]
        what = (
            f"not an artifact of {platform} acquisitions" if elsewhere == unknown
            else "no such artifact"
        )
        raise SelectionError(
            f"--artifact {', '.join(unknown)}: {what}; the {platform} artifacts are: {', '.join(sorted(known))} "
            "(`preuve artifacts` lists them with their titles)"
        )
    return [a for a in artifacts if a.name in names]


def check_artifact_names(names: Sequence[str]) -> None:
    """SelectionError unless every name is an artifact of some platform (before opening anything)."""
    known = {a.name for a in discover_artifacts()}
    unknown = sorted(set(names) - known)
    if unknown:
        raise SelectionError(
            f"--artifact {', '.join(unknown)}: no such artifact; valid names: {', '.join(sorted(known))} "
            "(`preuve artifacts` lists them with their titles)"
        )


def group_findings(findings: list[Finding], rules: RuleSet | None) -> list[Finding]:
    """Findings of a grouping rule (Finding.group_key set) that share rule, artifact and key become one
    finding: the first of them (by sort order: the one `preuve verify` re-derives), its explanation
    saying how many, and every occurrence in its group. A key seen once stays a plain finding."""
    groups: dict[tuple[str, str, str], list[Finding]] = {}
    out: list[Finding] = []
    for finding in findings:
        if finding.group_key is None or finding.rule is None:
            out.append(finding)
        else:
            groups.setdefault((finding.rule, finding.artifact, finding.group_key), []).append(finding)
    by_name = {rule.name: rule for rule in rules.rules} if rules is not None else {}
    for (name, _, key), members in groups.items():
        if len(members) == 1:
            out.append(members[0])
            continue
        members.sort(key=Finding.sort_key)
        first = members[0]
        rule = by_name.get(name)
        explanation = (
            rule.group_explanation(key, members) if rule is not None
            else f"{len(members)} occurrences; the first: {first.explanation}"
        )
        group = FindingGroup(key, len(members), tuple(
            GroupMember(m.locator, m.explanation, m.observable, m.timestamp, m.record_sha256) for m in members
        ))
        out.append(replace(first, explanation=explanation, group=group))
    return out


def load_indicators(paths: Iterable[Path], warn: Callable[[str], None]) -> IndicatorIndex:
    """The indicators of the feeds given; FeedError names a feed (file or folder) that yields none."""
    given = list(paths)
    index = load_index(given, warn)
    for path in given:
        resolved = path.resolve()
        loaded = 0
        for feed in index.feeds:
            source = Path(feed.path).resolve()
            if source == resolved or resolved in source.parents:
                loaded += feed.indicators
        if loaded == 0:
            what = "folder" if path.is_dir() else "file"
            raise FeedError(
                f"{path}: this indicator {what} yields no indicator (empty, or nothing preuve could read); "
                "check the path, or run without it"
            )
    return index


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
        every = discover_artifacts(opened.platform)
        artifacts = select_artifacts(opened.platform, options.only_artifacts)
        findings: list[Finding] = []
        jobs = options.jobs if options.jobs is not None else default_jobs()
        splitter = _splitter(artifacts, opened, options.limits, matcher, rules, sinks, jobs)
        try:
            ran = {
                a.name: _run_artifact(a, opened, options.limits, matcher, rules, sinks, observer, findings, splitter)
                for a in artifacts
            }
        finally:
            if splitter is not None:
                splitter.close()
        reports = list(ran.values())
        left_out = [ArtifactReport(a.name, a.title, ArtifactStatus.NOT_SELECTED) for a in every if a.name not in ran]
        findings = group_findings(findings, rules)
        findings.sort(key=Finding.sort_key)
        per_artifact: dict[str, int] = {}
        for finding in findings:
            per_artifact[finding.artifact] = per_artifact.get(finding.artifact, 0) + 1
        for report in reports:
            report.findings = per_artifact.get(report.name, 0)
        unreadable = list(getattr(opened.fs, "unreadable", ()))
        if unreadable:
            # Archive members that could not be read (a decompression bomb, a damaged stream): the rest
            # was read, and the run says it is incomplete.
            reports.append(ArtifactReport(
                "archive_members", "Archive members", ArtifactStatus.FAILED, errors=unreadable[:200]
            ))
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
            acquisition_problems=list(opened.fs.damage),
            left_out=left_out,
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
