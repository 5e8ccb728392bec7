"""What a run is asked and what it gives back: the options of a check, each artifact's report, and
the result every output renders (its coverage and verdict are the model's)."""

from __future__ import annotations

import platform as _platform
import sqlite3
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from preuve import __version__
from preuve.evidence.acquisition import Secrets
from preuve.evidence.errors import PreuveError
from preuve.evidence.ledger import EvidenceFile
from preuve.evidence.limits import DEFAULT_LIMITS, Limits
from preuve.evidence.parallel import default_jobs
from preuve.indicators.stix import Feed
from preuve.model import Absence, ArtifactStatus, Coverage, ExitCode, Finding, Severity, Verdict, verdict


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
    # Processes listing a big acquisition and reading a big database in parts (None: up to two, by the
    # CPUs there are; 1: sequential). The output is the same whatever the number.
    jobs: int | None = None

    def job_count(self) -> int:
        """The processes a run may use (see `jobs`)."""
        return self.jobs if self.jobs is not None else default_jobs()

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

    def failure(self) -> str:
        """What its errors cost, in words: nothing read, or part of it (a database read around its damage)."""
        return f"was read in part ({self.records:,} record(s))" if self.records else "could not be read"

    def why(self) -> str:
        """Its status in words, with the reason."""
        if self.status == ArtifactStatus.FAILED:
            return f"{self.failure()}: " + ("; ".join(self.errors[:3]) or "unknown error")
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
            partial=tuple(r.name for r in reports if r.absence is Absence.PARTIAL),
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


def environment() -> dict[str, str]:
    return {
        "preuve": __version__,
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "platform": _platform.platform(),
    }
