"""The console's long actions (a re-hunt over the case, checking a new device into it), run one at a
time in a background thread, with progress the page polls.

One job at a time: the case store has one writer, and a helpline's laptop has few cores. Each job
opens the case for writing itself, the way `preuve rehunt` and `preuve check --case` do, and goes
through the same library functions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from preuve.evidence.errors import PreuveError

# Jobs kept for their progress page once done.
MAX_JOBS = 50


@dataclass(slots=True)
class Job:
    """A job's state, updated by its thread, read by the progress page."""

    id: int
    title: str
    state: str = "queued"  # queued, running, done, failed
    done: int = 0
    total: int = 0
    step: str = ""
    outcome: str = ""
    error: str = ""
    started: float = field(default_factory=time.time)
    new_findings: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id, "title": self.title, "state": self.state, "done": self.done, "total": self.total,
            "step": self.step, "outcome": self.outcome, "error": self.error, "new_findings": self.new_findings,
        }


class Progress:
    """What a job's work function reports as it goes."""

    def __init__(self, job: Job, lock: threading.Lock) -> None:
        self._job = job
        self._lock = lock

    def update(self, done: int, total: int, step: str) -> None:
        with self._lock:
            self._job.done, self._job.total, self._job.step = done, total, step

    def found(self, count: int) -> None:
        with self._lock:
            self._job.new_findings += count


Work = Callable[[Progress], str]


class JobRunner:
    """Runs jobs one after the other in one background thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[int, Job] = {}
        self._next = 1
        self._busy = threading.Lock()

    def submit(self, title: str, work: Work) -> Job:
        with self._lock:
            job = Job(self._next, title)
            self._next += 1
            self._jobs[job.id] = job
            while len(self._jobs) > MAX_JOBS:
                oldest = min(self._jobs)
                if self._jobs[oldest].state in ("done", "failed"):
                    del self._jobs[oldest]
                else:
                    break
        thread = threading.Thread(target=self._run, args=(job, work), name=f"preuve-job-{job.id}", daemon=True)
        thread.start()
        return job

    def _run(self, job: Job, work: Work) -> None:
        with self._busy:
            with self._lock:
                job.state = "running"
            try:
                outcome = work(Progress(job, self._lock))
            except PreuveError as exc:
                with self._lock:
                    job.state, job.error = "failed", str(exc)
                return
            except OSError as exc:
                with self._lock:
                    job.state, job.error = "failed", f"{exc.filename or ''}: {exc.strerror or exc}".strip(": ")
                return
            except Exception as exc:  # noqa: BLE001 - shown to the analyst instead of a dead page
                with self._lock:
                    job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
                return
            with self._lock:
                job.state, job.outcome = "done", outcome

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else Job(**{name: getattr(job, name) for name in Job.__dataclass_fields__})

    def wait(self, job_id: int, timeout: float = 60.0) -> Job | None:
        """For tests and scripts: the job once done or failed (or as it is at the timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(job_id)
            if job is None or job.state in ("done", "failed"):
                return job
            time.sleep(0.05)
        return self.get(job_id)


def output_folder_for(case: Path, evidence: Path) -> Path:
    """Where a device checked from the console gets its report folder: beside the case, never in the
    evidence."""
    name = evidence.name or "device"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80].lstrip(".") or "device"
    return case.parent / f"{case.stem}-reports" / safe
