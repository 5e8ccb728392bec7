"""`preuve fleet`: many acquisitions, checked in parallel, merged into one case by a single writer.

Workers (processes of a local pool, or Dask workers anywhere) each check one
acquisition into its own output folder and its own small case file; the
coordinator, the only writer of the main case, merges each part as it
arrives and records the device's status, so an interrupted fleet resumes
where it stopped. The same job function runs on both executors, so a Dask
deployment (Kubernetes, Slurm) runs exactly what the local pool runs; the
output folder must be on storage the workers and the coordinator share.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from preuve.evidence.acquisition import recognised
from preuve.evidence.errors import PreuveError
from preuve.store.case import CaseStore


@dataclass(frozen=True, slots=True)
class FleetJob:
    evidence: str
    out: str  # the device's output folder: the same files `preuve check` writes
    iocs: tuple[str, ...]
    heuristics: bool = True
    part: str = ""  # the device's own small case file, merged by the coordinator then removed
    feeds_root: str | None = None  # no iocs: the data folder whose installed feeds `check` would use
    timeline: str = "none"  # the timeline files to write, as `check --timeline`


@dataclass(frozen=True, slots=True)
class FleetOutcome:
    evidence: str
    status: str  # done | failed | skipped
    reason: str
    exit_code: int | None
    findings: int
    part: str | None


def check_one(job: FleetJob) -> FleetOutcome:
    """Check one acquisition into job.out (the outputs of `preuve check`) and its part case file.
    Runs in a worker; never raises."""
    from preuve.report.outdir import check_into_folder
    from preuve.run.results import CheckOptions

    out = Path(job.out)
    part = Path(job.part) if job.part else out.parent / f".{out.name}.case-part.db"
    try:
        remove_part(part)
        part.parent.mkdir(parents=True, exist_ok=True)
        evidence = Path(job.evidence)
        options = CheckOptions(iocs=tuple(Path(p) for p in job.iocs), heuristics=job.heuristics)
        index = None
        if not job.iocs and job.feeds_root is not None:
            from preuve.indicators.feeds import installed_index

            index = installed_index(lambda message: None, Path(job.feeds_root))
        with CaseStore(part, write=True) as store:
            sink = store.sink(evidence)
            try:
                result = check_into_folder(evidence, options, out, extra_sinks=[sink], index=index,
                                           timeline=job.timeline)
            except BaseException:
                sink.abort()
                raise
        return FleetOutcome(job.evidence, "done", "", int(result.exit_code), len(result.findings), str(part))
    except PreuveError as exc:
        remove_part(part)
        return FleetOutcome(job.evidence, "failed", str(exc), 1, 0, None)
    except Exception as exc:  # noqa: BLE001 - one device's failure must not stop the fleet
        remove_part(part)
        return FleetOutcome(job.evidence, "failed", failure_text(exc), 1, 0, None)


def failure_text(exc: Exception) -> str:
    """Why a device failed, in plain words (no raw errno)."""
    import sqlite3

    from preuve.messages import os_error_text, sqlite_error_text

    if isinstance(exc, OSError):
        return os_error_text(exc)
    if isinstance(exc, sqlite3.Error):
        return sqlite_error_text(exc)
    return f"{type(exc).__name__}: {exc}"


def remove_part(part: Path) -> None:
    """Remove a part case file with its journal, shared-memory and lock files."""
    for suffix in ("", "-wal", "-shm", "-journal", ".lock"):
        Path(str(part) + suffix).unlink(missing_ok=True)


def list_acquisitions(source: Path) -> list[Path]:
    """Acquisitions in a folder (each child preuve recognises), or listed one per line in a text file."""
    if source.is_file():
        lines = source.read_text(encoding="utf-8").splitlines()
        return [Path(line.strip()) for line in lines if line.strip() and not line.strip().startswith("#")]
    if not source.is_dir():
        raise PreuveError(f"{source}: no such folder or list file")
    found = []
    for child in sorted(source.iterdir()):
        try:
            if not recognised(child):
                continue
        except PreuveError:
            continue
        found.append(child)
    return found


def job_folder(out_root: Path, evidence: Path) -> Path:
    tag = hashlib.sha256(str(evidence.resolve()).encode()).hexdigest()[:8]
    return out_root / f"{evidence.name}-{tag}"


def _local(jobs: list[FleetJob], workers: int) -> Iterator[FleetOutcome]:
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(check_one, job) for job in jobs]
        for future in concurrent.futures.as_completed(futures):
            yield future.result()


def _dask(jobs: list[FleetJob], scheduler: str | object) -> Iterator[FleetOutcome]:
    from distributed import Client, as_completed

    client = Client(scheduler)  # type: ignore[no-untyped-call]  # a scheduler address (tcp://host:port) or a Cluster object
    try:
        futures = client.map(check_one, jobs, pure=False)
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            yield future.result()
    finally:
        client.close()  # type: ignore[no-untyped-call]


def run_fleet(
    acquisitions: Iterable[Path],
    case_path: Path,
    out_root: Path,
    iocs: Iterable[Path] = (),
    *,
    workers: int = 2,
    scheduler: str | object | None = None,
    heuristics: bool = True,
    resume: bool = True,
    on_outcome: Callable[[FleetOutcome], None] | None = None,
    timeline: str = "none",
    installed_feeds: Path | None = None,
) -> list[FleetOutcome]:
    """Check every acquisition; merge results into the case (single writer); return each device's outcome.
    Without `iocs`, the feeds installed in the data folder `installed_feeds` are used, as `preuve check` does."""
    out_root.mkdir(parents=True, exist_ok=True)
    feed_paths = tuple(str(Path(p).resolve()) for p in iocs)
    feeds_root = None
    if not feed_paths and installed_feeds is not None:
        from preuve.indicators.feeds import list_feeds

        root = installed_feeds.resolve()
        feeds_root = str(root) if list_feeds(root) else None
    parts = out_root / ".case-parts"
    outcomes: list[FleetOutcome] = []
    with CaseStore(case_path, write=True) as store:
        done = {e for e, (status, *_rest) in store.jobs().items() if status == "done"} if resume else set()
        jobs: list[FleetJob] = []
        for path in acquisitions:
            evidence = str(path.resolve())
            if evidence in done:
                outcome = FleetOutcome(evidence, "skipped", "already checked (resume)", None, 0, None)
                outcomes.append(outcome)
                if on_outcome:
                    on_outcome(outcome)
                continue
            store.set_job(evidence, "pending")
            folder = job_folder(out_root, path).resolve()
            jobs.append(FleetJob(evidence, str(folder), feed_paths, heuristics,
                                 str(parts.resolve() / f"{folder.name}.db"), feeds_root, timeline))
        stream = _dask(jobs, scheduler) if scheduler is not None else _local(jobs, max(1, workers))
        for outcome in stream:
            if outcome.status == "done" and outcome.part:
                part = Path(outcome.part)
                try:
                    store.merge_from(part)
                except Exception as exc:  # noqa: BLE001 - keep going with the other devices
                    outcome = FleetOutcome(outcome.evidence, "failed", f"merge failed: {failure_text(exc)}", 1, 0,
                                           None)
                finally:
                    remove_part(part)
            store.set_job(outcome.evidence, outcome.status, outcome.reason, outcome.exit_code, outcome.findings)
            outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
    with contextlib.suppress(OSError):
        parts.rmdir()  # empty once every part is merged
    outcomes.sort(key=lambda o: o.evidence)
    return outcomes
