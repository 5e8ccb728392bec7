"""Parts of one piece of work computed beside the main process: the listing's kernel of parallelism.

An acquisition is listed before any artifact runs, so the engine's workers
(:mod:`preuve.run.engine`) cannot help with it, and listing half a million
rows of a backup's Manifest.db, or the files of a dump, is seconds of work on
one core while the other waits. :func:`in_parts` gives the results of such a
piece of work in order, a part at a time. This process computes the parts from
the first on and hands each result over as soon as it is computed (its caller
places them meanwhile); forked processes take parts from the last one down,
until the two meet: however the parts differ in size, and however much the
caller does with each result, neither side waits long for the other.

A part is an iterable of results (batches of rows, say). What a part computes
must depend on its index alone (and on what the process held when it forked),
and its results must be picklable. A forked process writes each part's results
one after another to a file of a private folder, never through a pipe that
would hold it up until this process comes to them, and says when a part is
written whole; this process reads them back one at a time, so memory holds a
result at a time, not a part. A part whose process failed, died or was cut
short is computed again here, so the results are the same whatever happened
beside it, and an error a part raises is raised here, where a sequential read
raises it. With one job, in a daemonic process (a fleet or dask worker may not
start processes) or where processes cannot be forked, every part is computed
here, in order.

:func:`beside` is the other shape of the same kernel: one piece of work that cannot be cut (a tar's
headers, read one after the other) computed in a forked process while this one takes its results
as they come (and places them), a pipeline of two stages on two cores.

:func:`later` is the third: one piece of work whose result is wanted only later and depends on
nothing computed meanwhile (a backup's folders, listed for its integrity check), started in a forked
process of the lowest priority so that it takes a core only when the run leaves one idle.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


def default_jobs() -> int:
    """The processes a run uses unless told (``--jobs``): up to two, by the CPUs it may run on."""
    return max(1, min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def can_fork(jobs: int) -> bool:
    """Whether parts may be computed in forked processes: more than one job, a process allowed to
    start others, and a platform that forks."""
    if jobs < 2 or multiprocessing.current_process().daemon:
        return False
    return "fork" in multiprocessing.get_all_start_methods()


# Who computes a part, in an array shared by every process: nobody yet, this process, or helper k (2 + k).
_FREE, _MAIN, _FIRST_HELPER = 0, 1, 2


def in_parts(work: Callable[[int], Iterable[T]], parts: int, jobs: int, folder: Path) -> Iterator[T]:
    """The results of ``work(0)``, ``work(1)``, … ``work(parts - 1)``, in order; with more than one job,
    up to ``jobs - 1`` forked processes take parts from the last one down, their results kept in a
    private folder made in `folder` until they are wanted (see the module's docstring)."""
    if parts < 1:
        return
    if parts == 1 or not can_fork(jobs):
        for index in range(parts):
            yield from work(index)
        return
    try:
        spill = Path(tempfile.mkdtemp(prefix="parts-", dir=folder))
    except OSError:  # (no room for what a process beside would write: every part here)
        for index in range(parts):
            yield from work(index)
        return
    context = multiprocessing.get_context("fork")
    claims = context.RawArray("b", parts)
    claims[0] = _MAIN  # this process's first part (its results are wanted first)
    lock = context.Lock()
    helpers: list[_Helper] = []
    try:
        helpers = _start(work, claims, lock, min(jobs - 1, parts - 1), spill)
        index = 0
        while index < parts:
            if helpers and index:
                with lock:
                    mine = claims[index] == _FREE
                    if mine:
                        claims[index] = _MAIN
                if not mine:
                    break  # this part and every one after it a helper has taken
            yield from work(index)
            index += 1
        written: set[int] = set()
        for helper in helpers:
            written |= helper.finished()
        for rest in range(index, parts):
            yield from _spilled(spill / str(rest)) if rest in written else work(rest)
    finally:
        for helper in helpers:  # the caller stopped early, or a part raised
            helper.stop()
        shutil.rmtree(spill, ignore_errors=True)


def _spilled(path: Path) -> Iterator[T]:
    """The results a helper wrote to `path`, one at a time."""
    with open(path, "rb") as file:
        while True:
            try:
                yield pickle.load(file)  # noqa: S301 - written by this run's own forked process
            except EOFError:
                return


class _Helper:
    """A forked process computing parts, and the pipe it says which it has written through."""

    def __init__(self, process: BaseProcess, receive: Connection) -> None:
        self.process, self.receive = process, receive

    def finished(self) -> set[int]:
        """The parts it wrote whole (waited for until it ends, whether it ends well or not)."""
        written: set[int] = set()
        try:
            while True:
                written.add(int(self.receive.recv()))
        except (EOFError, OSError, ValueError, TypeError):
            pass  # it has ended (or died: its other parts are computed here)
        finally:
            self.receive.close()
            self.process.join()
        return written

    def stop(self) -> None:
        self.receive.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


def _help(
    work: Callable[[int], Iterable[T]], claims: Any, lock: Any, me: int, spill: Path, send: Connection
) -> None:
    """In a forked process: parts taken from the last one down until one this process took, each
    written to ``spill/<index>`` and then its index sent. One that raises ends it (the parent
    computes that part and those left, and raises there)."""
    try:
        for index in reversed(range(len(claims))):
            with lock:
                owner = claims[index]
                if owner == _FREE:
                    claims[index] = me
            if owner == _MAIN:
                break
            if owner != _FREE:
                continue  # another helper's
            with open(spill / str(index), "wb") as file:
                for result in work(index):
                    pickle.dump(result, file, protocol=pickle.HIGHEST_PROTOCOL)
            send.send(index)
    except BaseException:  # noqa: BLE001, S110 - see above
        pass
    finally:
        send.close()


def _start(work: Callable[[int], Iterable[T]], claims: Any, lock: Any, count: int, spill: Path) -> list[_Helper]:
    """`count` forked helpers (fewer when some cannot start: their parts are computed here)."""
    context = multiprocessing.get_context("fork")
    started: list[_Helper] = []
    # A forked process flushes its copy of these when it ends: nothing pending may be written twice.
    sys.stdout.flush()
    sys.stderr.flush()
    # What this process holds is never walked by the forked one's collector (walking it would copy
    # every page of it there). (Left as it is when something froze it already: the engine's workers.)
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    try:
        for number in range(count):
            receive, send = context.Pipe(duplex=False)
            process = context.Process(
                target=_help, args=(work, claims, lock, _FIRST_HELPER + number, spill, send), daemon=True
            )
            try:
                process.start()
            except (OSError, ValueError):
                receive.close()
                break
            finally:
                send.close()
            started.append(_Helper(process, receive))
    finally:
        if freeze:
            gc.unfreeze()
    return started


def beside(work: Callable[[], Iterable[T]], jobs: int, folder: Path) -> Iterator[T]:
    """The results of ``work()``, in order, computed by a forked process while this one takes them as
    they come: the process writes each to a file of a private folder made in `folder` and says how
    many it has written; this one reads them back one at a time. When the process fails, dies or is
    cut short, this one computes ``work()`` itself from the start, past the results it took already
    (so the results are the same, and an error is raised here where a sequential read raises it).
    With one job, in a daemonic process or where processes cannot be forked: ``work()`` here. The
    process starts when the first result is asked for (:class:`Beside` starts it at once)."""
    yield from Beside(work, jobs, folder)


class Beside(Generic[T]):
    """:func:`beside`'s process, started when this is made: its results are taken by iterating this
    (once); one never iterated is stopped, and what it wrote removed, by :meth:`close` (in the process
    that made it; a no-op in any other)."""

    def __init__(self, work: Callable[[], Iterable[T]], jobs: int, folder: Path) -> None:
        self._work = work
        self._owner = os.getpid()
        self._process: BaseProcess | None = None
        self._receive: Connection | None = None
        self._spill: Path | None = None
        if not can_fork(jobs):
            return
        try:
            spill = Path(tempfile.mkdtemp(prefix="beside-", dir=folder))
            (spill / "results").touch()
        except OSError:  # (no room for what the process beside would write: the work here)
            return
        context = multiprocessing.get_context("fork")
        receive, send = context.Pipe(duplex=False)
        sys.stdout.flush()
        sys.stderr.flush()
        freeze = gc.get_freeze_count() == 0
        if freeze:
            gc.freeze()
        process = context.Process(target=_stream, args=(work, spill / "results", send), daemon=True)
        try:
            process.start()
        except (OSError, ValueError):
            receive.close()
            shutil.rmtree(spill, ignore_errors=True)
            return
        finally:
            send.close()
            if freeze:
                gc.unfreeze()
        self._process, self._receive, self._spill = process, receive, spill

    def __iter__(self) -> Iterator[T]:
        process, receive, spill = self._process, self._receive, self._spill
        if process is None or receive is None or spill is None:
            yield from self._work()
            return
        taken = 0
        try:
            with open(spill / "results", "rb") as file:
                written, done = 0, False
                while True:
                    while taken < written:
                        result = pickle.load(file)  # noqa: S301 - written by this run's own forked process
                        taken += 1
                        yield result
                    if done:
                        return
                    try:
                        message = receive.recv()
                    except (EOFError, OSError):
                        break  # it failed or died: the rest is computed here
                    if message == _END:
                        done = True
                    else:
                        written = int(message)
            rest = iter(self._work())
            for _ in range(taken):
                next(rest)
            yield from rest
        finally:
            self.close()

    def close(self) -> None:
        """Stop the process if it still runs and remove what it wrote (its results are no longer taken)."""
        if os.getpid() != self._owner:
            return
        if self._receive is not None:
            self._receive.close()
            self._receive = None
        _stop(self._process, self._spill)
        self._process = self._spill = None


_END = "end"


def _stop(process: BaseProcess | None, spill: Path | None) -> None:
    """Kill a process beside if it still runs (and wait for it), and remove the folder it wrote in."""
    if process is not None:
        if process.is_alive():
            process.kill()
        process.join()
    if spill is not None:
        shutil.rmtree(spill, ignore_errors=True)


def _stream(work: Callable[[], Iterable[T]], results: Path, send: Connection) -> None:
    """In a forked process: every result of ``work()`` appended to `results`, the count sent after
    each; the end said when the last is written (nothing when it raised: see beside)."""
    try:
        with open(results, "ab") as file:
            for count, result in enumerate(work(), start=1):  # (each result is a batch of many)
                pickle.dump(result, file, protocol=pickle.HIGHEST_PROTOCOL)
                file.flush()
                send.send(count)
        send.send(_END)
    except BaseException:  # noqa: BLE001, S110 - this process computes it (see beside)
        pass
    finally:
        send.close()


class Later(Generic[T]):
    """The result of ``work()``, computed ahead of the moment it is wanted by a forked process of the
    lowest priority (see :func:`later`), or here when it is wanted, whatever happened beside."""

    def __init__(self, work: Callable[[], T], process: BaseProcess | None = None, spill: Path | None = None) -> None:
        self._work, self._process, self._spill = work, process, spill
        self._owner = os.getpid()

    def result(self) -> T:
        """The result: the one the process beside wrote whole, else ``work()`` computed here (so an
        error is raised here, where computing it here raises it). In a process forked from the one
        that started it, the written result is taken when it is there, and never waited for."""
        process, spill = self._process, self._spill
        if process is not None and os.getpid() == self._owner:
            process.join()
        if spill is not None:
            try:
                with open(spill / "result", "rb") as file:
                    return cast(T, pickle.load(file))  # noqa: S301 - written by this run's own forked process
            except (OSError, EOFError, pickle.UnpicklingError):
                pass
        return self._work()

    def close(self) -> None:
        """Stop the process beside if it still runs, and remove what it wrote (in the process that
        started it; a no-op in any other)."""
        if os.getpid() != self._owner:
            return
        _stop(self._process, self._spill)
        self._process = self._spill = None


def later(work: Callable[[], T], jobs: int, folder: Path) -> Later[T]:
    """``work()`` started now in a forked process at the lowest priority, so it takes a core only when
    the run leaves one idle (while the last parts of a listing are placed, say), its result kept in a
    private folder made in `folder` until it is wanted (:meth:`Later.result`). Work whose result is
    wanted only later, that does not depend on what is computed meanwhile (the files a backup's
    folders hold, before its Manifest.db is listed). With one job, in a daemonic process or where
    processes cannot be forked: computed when it is wanted."""
    if not can_fork(jobs):
        return Later(work)
    try:
        spill = Path(tempfile.mkdtemp(prefix="later-", dir=folder))
    except OSError:
        return Later(work)
    context = multiprocessing.get_context("fork")
    sys.stdout.flush()
    sys.stderr.flush()
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    process = context.Process(target=_compute, args=(work, spill), daemon=True)
    try:
        process.start()
    except (OSError, ValueError):
        shutil.rmtree(spill, ignore_errors=True)
        return Later(work)
    finally:
        if freeze:
            gc.unfreeze()
    return Later(work, process, spill)


def _compute(work: Callable[[], T], spill: Path) -> None:
    """In a forked process: ``work()`` written whole to ``spill/result`` (under another name until it
    is whole); nothing when it raises (the process that wants it computes it, and raises there)."""
    try:
        if hasattr(os, "nice"):
            os.nice(19)
        result = work()
        with open(spill / "partial", "wb") as file:
            pickle.dump(result, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(spill / "partial", spill / "result")
    except BaseException:  # noqa: BLE001, S110 - computed where it is wanted (see later)
        pass
