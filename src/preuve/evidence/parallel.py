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

One part may be far bigger than all the others (a dump's app containers under one folder, two thirds
of a phone's files, planned as one walk: the plan cannot know a folder's size before it is walked).
When this process comes to a part a forked one is still computing, it would wait for all of it. A
part's iterable may instead be :class:`Splittable`: asked by this process, its holder gives away the
last part of what it has yet to compute (a walk gives the folders at the bottom of its stack), which
this process computes (with ``resume``) while the holder goes on with the rest, again and again
until the part is done. The results are the holder's, then what this process computed, in the
order of a sequential read.

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

:func:`later` is the third: work whose result is wanted only later and depends on nothing computed
meanwhile (a backup's folders, listed for its integrity check), begun in a forked process of the
lowest priority so that it takes a core only when the run leaves one idle, in steps done in order
(a folder at a time): when the result is wanted, the steps it has not done are done there, so a
process that a busy machine gives no share of a core is never waited for.
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
from typing import Any, Generic, Protocol, TypeVar, cast

T = TypeVar("T")
Out = TypeVar("Out")  # a step's output (see Steps)
C = TypeVar("C")  # what steps carry from one to the next
R = TypeVar("R")  # the result
R_co = TypeVar("R_co", covariant=True)


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
_NONE_WANTED = -1  # (the part this process waits for and asks its holder to split: none)


class Splittable(Protocol[R_co]):
    """A part's results, whose holder can give away the end of what it has yet to compute."""

    def __iter__(self) -> Iterator[R_co]: ...

    def __next__(self) -> R_co: ...

    def split(self) -> object | None:
        """Take the last results this iterator has yet to give out of it, as a picklable description
        that ``resume`` computes (giving them in the order this would have); None when there is
        nothing to give now (it may be asked again later)."""
        ...


def in_parts(
    work: Callable[[int], Iterable[T]], parts: int, jobs: int, folder: Path,
    resume: Callable[[Any], Iterable[T]] | None = None,
) -> Iterator[T]:
    """The results of ``work(0)``, ``work(1)``, … ``work(parts - 1)``, in order; with more than one job,
    up to ``jobs - 1`` forked processes take parts from the last one down, their results kept in a
    private folder made in `folder` until they are wanted (see the module's docstring). With `resume`,
    a part whose results are :class:`Splittable` is split when this process comes to it while another
    computes it: ``resume(rest)`` computes what its holder gave away."""
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
    wanted = context.RawValue("i", _NONE_WANTED) if resume is not None else None
    helpers: list[_Helper] = []
    try:
        helpers = _start(work, claims, lock, min(jobs - 1, parts - 1), spill, wanted)
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
        given: list[tuple[Path | None, Any]] = []  # what the holder of part `index` gave away, in turn
        if resume is not None and wanted is not None and index < parts and claims[index] >= _FIRST_HELPER:
            given = _take_over(helpers[claims[index] - _FIRST_HELPER], index, wanted, resume, spill)
        written: set[int] = set()
        for helper in helpers:
            written |= helper.finished()
        for rest in range(index, parts):
            if rest not in written:
                yield from work(rest)  # (what its holder gave away is in it)
                continue
            yield from _spilled(spill / str(rest))
            if rest == index:
                for path, description in reversed(given):
                    yield from _spilled(path) if path is not None else cast(Callable[[Any], Iterable[T]], resume)(description)
    finally:
        for helper in helpers:  # the caller stopped early, or a part raised
            helper.stop()
        shutil.rmtree(spill, ignore_errors=True)


def _take_over(
    holder: _Helper, index: int, wanted: Any, resume: Callable[[Any], Iterable[T]], spill: Path
) -> list[tuple[Path | None, Any]]:
    """Ask the holder of part `index` to split it, compute what it gives away, and again, until it
    has written the part whole (or ended): each piece given, as (the file of its results, or None
    when computing it raised: it is computed again where its results are wanted, and raises there;
    its description)."""
    given: list[tuple[Path | None, Any]] = []
    try:
        while True:
            wanted.value = index
            number = holder.next_split(index)
            if number is None:
                return given
            with open(spill / f"{index}.rest{number}", "rb") as file:
                description = pickle.load(file)  # noqa: S301 - written by this run's own forked process
            path: Path | None = spill / f"{index}.main{number}"
            try:
                with open(cast(Path, path), "wb") as file:
                    for result in resume(description):
                        pickle.dump(result, file, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - raised again where the results are wanted
                path = None
            given.append((path, description))
    finally:
        wanted.value = _NONE_WANTED


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
        self.written: set[int] = set()  # the parts it said it wrote whole

    def next_split(self, index: int) -> int | None:
        """Wait until it says it split part `index` (the number of that split) or wrote it whole
        (None; None too when it has ended or died)."""
        try:
            while True:
                message = self.receive.recv()
                if isinstance(message, tuple):  # ("split", part, number)
                    if int(message[1]) == index:
                        return int(message[2])
                    continue
                self.written.add(int(message))
                if int(message) == index:
                    return None
        except (EOFError, OSError, ValueError, TypeError):
            return None

    def finished(self) -> set[int]:
        """The parts it wrote whole (waited for until it ends, whether it ends well or not)."""
        try:
            while True:
                message = self.receive.recv()
                if not isinstance(message, tuple):
                    self.written.add(int(message))
        except (EOFError, OSError, ValueError, TypeError):
            pass  # it has ended (or died: its other parts are computed here)
        finally:
            self.receive.close()
            self.process.join()
        return self.written

    def stop(self) -> None:
        self.receive.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


def _help(
    work: Callable[[int], Iterable[T]], claims: Any, lock: Any, me: int, spill: Path, send: Connection,
    wanted: Any,
) -> None:
    """In a forked process: parts taken from the last one down until one this process took, each
    written to ``spill/<index>`` and then its index sent. One that raises ends it (the parent
    computes that part and those left, and raises there). When the parent waits for the part this
    computes (`wanted`) and the part is Splittable, the end of what it has yet to compute is written to
    ``spill/<index>.rest<n>`` and ("split", index, n) sent, the parent computing it meanwhile."""
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
            results = work(index)
            split = getattr(results, "split", None) if wanted is not None else None
            splits = 0
            with open(spill / str(index), "wb") as file:
                for result in results:
                    pickle.dump(result, file, protocol=pickle.HIGHEST_PROTOCOL)
                    if split is not None and wanted.value == index:
                        rest = split()
                        if rest is not None:
                            splits += 1
                            with open(spill / f"{index}.rest{splits}", "wb") as given:
                                pickle.dump(rest, given, protocol=pickle.HIGHEST_PROTOCOL)
                            wanted.value = _NONE_WANTED
                            send.send(("split", index, splits))
            send.send(index)
    except BaseException:  # noqa: BLE001, S110 - see above
        pass
    finally:
        send.close()


def _start(
    work: Callable[[int], Iterable[T]], claims: Any, lock: Any, count: int, spill: Path, wanted: Any = None
) -> list[_Helper]:
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
                target=_help, args=(work, claims, lock, _FIRST_HELPER + number, spill, send, wanted), daemon=True
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


class Steps(Protocol[Out, C, R_co]):
    """Work done in steps, one after the other, for :func:`later`: ``count`` steps, each given its index
    and what the steps before it carry (a count, say; ``start`` before the first), giving its output and
    what it carries on; ``finish`` makes the result of every output, in order, and the last carry. A
    step depends on its index, the carry and what the process held when it forked, alone."""

    @property
    def count(self) -> int: ...

    @property
    def start(self) -> C: ...

    def step(self, index: int, carry: C) -> tuple[Out, C]: ...

    def finish(self, outputs: list[Out], carry: C) -> R_co: ...


def run_steps(steps: Steps[Out, C, R]) -> R:
    """The steps' result, every step computed here, in order: what :meth:`Later.result` gives."""
    outputs: list[Out] = []
    carry = steps.start
    for index in range(steps.count):
        output, carry = steps.step(index, carry)
        outputs.append(output)
    return steps.finish(outputs, carry)


class Later(Generic[Out, C, R]):
    """The result of some steps (see :func:`later`), begun ahead of the moment it is wanted by a forked
    process of the lowest priority, and finished here when it is wanted."""

    def __init__(self, steps: Steps[Out, C, R], process: BaseProcess | None = None, spill: Path | None = None) -> None:
        self._steps, self._process, self._spill = steps, process, spill
        self._owner = os.getpid()
        self._done: tuple[R] | None = None

    def result(self) -> R:
        """The result: the steps the process beside wrote whole, then the others computed here, in order
        (an error a step raises is raised here, where computing every step here raises it).

        The process beside is never waited for. It runs at the lowest priority, so on a machine busy
        with other work it may get no share of a core at all (a phone's 200,000 `stat` calls then took
        a run from about 5 to about 80 seconds, waiting on it): when the result is wanted, it is stopped, and what
        it has not finished is done here, at this process's priority. A process forked from the one
        that started it (an engine worker) takes what was written and does the rest itself; it never
        stops what it did not start. Kept once made, until closed."""
        if self._done is not None:
            return self._done[0]
        steps, process, spill = self._steps, self._process, self._spill
        if process is not None and os.getpid() == self._owner:
            _stop(process, None)  # (what it has written whole stays: its file is read below)
            self._process = None
        outputs: list[Out] = []
        carry = steps.start
        if spill is not None:
            try:
                with open(spill / "steps", "rb") as file:
                    while len(outputs) < steps.count:
                        head = file.read(8)
                        size = int.from_bytes(head, "big")
                        body = file.read(size) if len(head) == 8 else b""
                        if len(body) != size or not body:
                            break  # (the step it was writing when it stopped: done here)
                        output, carry = pickle.loads(body)  # noqa: S301 - written by this run's own forked process
                        outputs.append(output)
            except (OSError, EOFError, pickle.UnpicklingError):
                outputs, carry = [], steps.start
        for index in range(len(outputs), steps.count):
            output, carry = steps.step(index, carry)
            outputs.append(output)
        result = steps.finish(outputs, carry)
        self._done = (result,)
        return result

    def close(self) -> None:
        """Stop the process beside if it still runs, and remove what it wrote (in the process that
        started it; a no-op in any other)."""
        self._done = None
        if os.getpid() != self._owner:
            return
        _stop(self._process, self._spill)
        self._process = self._spill = None


def later(steps: Steps[Out, C, R], jobs: int, folder: Path) -> Later[Out, C, R]:
    """`steps` begun now in a forked process at the lowest priority, so it takes a core only when the run
    leaves one idle, each step written to a private folder made in `folder` as it is done; the ones it
    has not done when the result is wanted are done then, here (:meth:`Later.result`). Work whose result
    is wanted only later, that does not depend on what is computed meanwhile (the files a backup's
    folders hold, before its Manifest.db is listed), and that can be cut in steps done in order (a
    folder at a time). With one job, in a daemonic process or where processes cannot be forked: every
    step done when it is wanted."""
    if not can_fork(jobs):
        return Later(steps)
    try:
        spill = Path(tempfile.mkdtemp(prefix="later-", dir=folder))
    except OSError:
        return Later(steps)
    context = multiprocessing.get_context("fork")
    sys.stdout.flush()
    sys.stderr.flush()
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    process = context.Process(target=_compute, args=(steps, spill), daemon=True)
    try:
        process.start()
    except (OSError, ValueError):
        shutil.rmtree(spill, ignore_errors=True)
        return Later(steps)
    finally:
        if freeze:
            gc.unfreeze()
    return Later(steps, process, spill)


def _compute(steps: Steps[Out, C, R], spill: Path) -> None:
    """In a forked process: each step's output and carry appended to ``spill/steps`` as it is done, its
    length first (a step cut short when the process is stopped is told from a whole one by it); the
    first step that raises ends it (the process that wants the result does it, and raises there)."""
    try:
        if hasattr(os, "nice"):
            os.nice(19)
        carry = steps.start
        with open(spill / "steps", "wb") as file:
            for index in range(steps.count):
                output, carry = steps.step(index, carry)
                body = pickle.dumps((output, carry), protocol=pickle.HIGHEST_PROTOCOL)
                file.write(len(body).to_bytes(8, "big") + body)
                file.flush()
    except BaseException:  # noqa: BLE001, S110 - done where it is wanted (see later)
        pass
