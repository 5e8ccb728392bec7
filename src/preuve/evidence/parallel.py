"""Parts of one piece of work computed beside the main process: the listing's kernel of parallelism.

An acquisition is listed before any artifact runs, so the engine's workers
(:mod:`preuve.run.engine`) cannot help with it, and listing half a million
rows of a backup's Manifest.db is seconds of work on one core while the other
waits. :func:`in_parts` gives the results of such a piece of work in order, a
part at a time: the first part computed in this process and handed over
result by result as it is computed, while the other parts are computed by
forked processes beside it.

A part is an iterable of results (batches of rows, say). What a part computes
must depend on its index alone (and on what the process held when it forked),
and its results must be picklable. A forked process writes its results one
after another to a file of its own in a private folder, never through a pipe
that would hold it up until this process comes to them, and this process reads
them back one at a time: memory holds a result of each part, not a part. A
part whose process failed, died or was cut short is computed again here, whole,
so the results are the same whatever happened beside it, and an error a part
raises is raised here, where a sequential read raises it. With one job, in a
daemonic process (a fleet or dask worker may not start processes) or where
processes cannot be forked, every part is computed here, in order.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")

_DONE = "done"


def can_fork(jobs: int) -> bool:
    """Whether parts may be computed in forked processes: more than one job, a process allowed to
    start others, and a platform that forks."""
    if jobs < 2 or multiprocessing.current_process().daemon:
        return False
    return "fork" in multiprocessing.get_all_start_methods()


def in_parts(work: Callable[[int], Iterable[T]], parts: int, jobs: int, folder: Path) -> Iterator[T]:
    """The results of ``work(0)``, ``work(1)``, … ``work(parts - 1)``, in order; with more than one job,
    the parts after the first computed by up to ``jobs - 1`` forked processes, their results kept in
    `folder` (a private folder) until they are wanted (see the module's docstring)."""
    if parts < 1:
        return
    helpers: dict[int, _Helper[T]] = {}
    if parts > 1 and can_fork(jobs):
        helpers = _start(work, range(1, min(parts, jobs)), folder)
    try:
        for index in range(parts):
            helper = helpers.pop(index, None)
            if helper is not None and helper.finished():
                yield from helper.results()
            else:
                yield from work(index)
    finally:
        for helper in helpers.values():  # the caller stopped early, or a part raised
            helper.stop()


class _Helper(Generic[T]):
    """A forked process computing one part, and the file its results go to."""

    def __init__(self, process: BaseProcess, receive: Connection, spill: Path) -> None:
        self.process, self.receive, self.spill = process, receive, spill

    def finished(self) -> bool:
        """Whether the process wrote its part whole (it says so when it has: waited for)."""
        try:
            done = bool(self.receive.recv() == _DONE)
        except (EOFError, OSError):
            done = False  # it failed or died: the part is computed here
        finally:
            self.receive.close()
            self.process.join()
        if not done:
            self.spill.unlink(missing_ok=True)
        return done

    def results(self) -> Iterator[T]:
        try:
            with open(self.spill, "rb") as file:
                while True:
                    try:
                        yield pickle.load(file)  # noqa: S301 - written by this run's own forked process
                    except EOFError:
                        return
        finally:
            self.spill.unlink(missing_ok=True)

    def stop(self) -> None:
        self.receive.close()
        self.process.kill()
        self.process.join()
        self.spill.unlink(missing_ok=True)


def _compute(work: Callable[[int], Iterable[T]], index: int, spill: Path, send: Connection) -> None:
    """In a forked process: one part's results written to `spill`, then "done" sent (nothing when it
    raised: the parent computes the part itself, and raises there)."""
    try:
        with open(spill, "wb") as file:
            for result in work(index):
                pickle.dump(result, file, protocol=pickle.HIGHEST_PROTOCOL)
        send.send(_DONE)
    except BaseException:  # noqa: BLE001, S110 - see above
        pass
    finally:
        send.close()


def _start(work: Callable[[int], Iterable[T]], indexes: range, folder: Path) -> dict[int, _Helper[T]]:
    """A forked process per part of `indexes` (a part whose process could not start is computed here)."""
    context = multiprocessing.get_context("fork")
    started: dict[int, _Helper[T]] = {}
    # A forked process flushes its copy of these when it ends: nothing pending may be written twice.
    sys.stdout.flush()
    sys.stderr.flush()
    # What this process holds is never walked by the forked one's collector (walking it would copy
    # every page of it there). (Left as it is when something froze it already: the engine's workers.)
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    try:
        for index in indexes:
            handle, name = tempfile.mkstemp(prefix=f"part-{index}-", dir=folder)
            os.close(handle)
            spill = Path(name)
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=_compute, args=(work, index, spill, send), daemon=True)
            try:
                process.start()
            except (OSError, ValueError):
                receive.close()
                spill.unlink(missing_ok=True)
                break
            finally:
                send.close()
            started[index] = _Helper(process, receive, spill)
    finally:
        if freeze:
            gc.unfreeze()
    return started
