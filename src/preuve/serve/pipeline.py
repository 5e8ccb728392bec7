"""Checking a device into a case from the console: the run `preuve check --case` makes, with the
console's progress instead of the terminal's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from preuve.artifacts.base import Artifact
from preuve.evidence.acquisition import Opened
from preuve.report.outdir import check_into_folder
from preuve.run.results import ArtifactReport, CheckOptions, CheckResult
from preuve.serve.jobs import Progress
from preuve.store.case import CaseStore


class ProgressObserver:
    """A RunObserver that tells the job page which artifact is being read."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.total = 0
        self.done = 0
        self.warnings: list[str] = []

    def acquisition_opened(self, opened: Opened) -> None:
        self.progress.update(0, 0, f"opened as {opened.kind}")

    def artifact_started(self, artifact: Artifact, files: int) -> None:
        self.progress.update(self.done, self.total, artifact.title)

    def records_parsed(self, count: int) -> None:
        pass

    def artifact_finished(self, report: ArtifactReport) -> None:
        self.done += 1
        self.progress.update(self.done, max(self.total, self.done), report.title)

    def warning(self, message: str) -> None:
        if len(self.warnings) < 100:
            self.warnings.append(message)


@dataclass(frozen=True, slots=True)
class DeviceChecked:
    result: CheckResult
    verdict: str


def check_into_case(
    evidence: Path,
    options: CheckOptions,
    case: Path,
    out: Path,
    progress: Progress,
    feeds_root: Path,
) -> DeviceChecked:
    """Check `evidence` with the installed feeds (or `options.iocs`), writing the report folder `out`
    and storing the run in `case`."""
    from preuve.artifacts.base import discover_artifacts
    from preuve.indicators.feeds import installed_index

    index = None
    if not options.iocs:
        index = installed_index(lambda message: None, feeds_root)
    observer = ProgressObserver(progress)
    observer.total = len(discover_artifacts())
    with CaseStore(case, write=True, create=True) as store:
        case_sink = store.sink(evidence)
        try:
            # the same output folder as `preuve check --case` writes (check_into_folder: staged, swapped in)
            result = check_into_folder(evidence, options, out, extra_sinks=[case_sink], observer=observer,
                                       index=index)
        except BaseException:
            case_sink.abort()
            raise
    return DeviceChecked(result, result.verdict().headline)
