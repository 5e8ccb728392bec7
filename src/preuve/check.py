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
import platform as _platform
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from preuve import __version__
from preuve.artifacts.base import Artifact, ArtifactContext, discover_artifacts
from preuve.detect.match import Matcher
from preuve.detect.rules import RuleSet, discover_rules
from preuve.evidence.acquisition import OpenContext, Opened, Secrets, open_acquisition
from preuve.evidence.errors import EvidenceError
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


def _run_artifact(
    artifact: Artifact,
    opened: Opened,
    limits: Limits,
    matcher: Matcher,
    rules: RuleSet | None,
    sinks: Sequence[Sink],
    observer: RunObserver,
    findings: list[Finding],
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
    pending = 0
    # The loop below runs once per record: names are bound once, and the rules are only
    # called for record types some rule subscribes to.
    name, title, match = artifact.name, artifact.title, matcher.match
    subscribed = rules.subscribed if rules is not None else frozenset()
    for path in files:
        try:
            for record in artifact.parse(ctx, path):
                found = match(record, name, title)
                if rules is not None and type(record) in subscribed:
                    found.extend(rules.check(record, name))
                if found:
                    findings.extend(found)
                    report.findings += len(found)
                for sink in sinks:
                    sink.record(artifact, record, found)
                report.records += 1
                pending += 1
                if pending >= 2000:
                    observer.records_parsed(pending)
                    pending = 0
        except EvidenceError as exc:
            ctx.error(exc.path, exc.reason)
        except (sqlite3.Error, ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError,
                MemoryError, UnicodeError, OSError) as exc:
            ctx.error(path, f"{type(exc).__name__}: {exc}")
    observer.records_parsed(pending)
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
        reports = [
            _run_artifact(a, opened, options.limits, matcher, rules, sinks, observer, findings) for a in artifacts
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
