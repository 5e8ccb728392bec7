"""The listing's kernel of parallelism (evidence.parallel.in_parts): the results of every part, in order,
the same as computing the parts one after another here, whatever happens to a forked process; an
error a part raises raised here; nothing left behind."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import preuve.evidence.parallel as parallel
from preuve.evidence.parallel import beside, can_fork, in_parts, later, run_steps

pytestmark = pytest.mark.skipif(not can_fork(2), reason="parts are computed here only where nothing forks")


def _results(index: int) -> Iterator[tuple[int, int]]:
    for n in range(index * 3 + 2):
        yield index, n


def _expected(parts: int) -> list[tuple[int, int]]:
    return [result for index in range(parts) for result in _results(index)]


@pytest.mark.parametrize("jobs", [1, 2, 3, 5])
@pytest.mark.parametrize("parts", [1, 2, 3, 4])
def test_results_in_order_whatever_the_jobs(tmp_path: Path, jobs: int, parts: int) -> None:
    assert list(in_parts(_results, parts, jobs, tmp_path)) == _expected(parts)
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []


def _slow_here(here: int, seconds: float = 0.5) -> None:
    """This process lingers on its first part (always its own), so that helpers take the others."""
    if os.getpid() == here:
        time.sleep(seconds)


def test_helpers_take_parts_from_the_last_one_down(tmp_path: Path) -> None:
    here = os.getpid()

    def work(index: int) -> Iterator[tuple[int, bool]]:
        if index == 0:
            _slow_here(here)
        yield index, os.getpid() == here

    assert list(in_parts(work, 4, 2, tmp_path)) == [(0, True), (1, False), (2, False), (3, False)]
    assert list(in_parts(work, 4, 3, tmp_path)) == [(0, True), (1, False), (2, False), (3, False)]
    assert list(in_parts(work, 3, 1, tmp_path)) == [(0, True), (1, True), (2, True)]
    assert list(tmp_path.iterdir()) == []


def test_this_process_takes_parts_until_it_meets_a_helper(tmp_path: Path) -> None:
    here = os.getpid()

    def work(index: int) -> Iterator[tuple[int, bool]]:
        if index == 0:
            _slow_here(here)  # the helper takes the last part meanwhile, and holds it
        elif os.getpid() != here:
            time.sleep(1.5)  # a slow helper: this process takes every part but the one it holds
        yield index, os.getpid() == here

    results = list(in_parts(work, 5, 2, tmp_path))
    assert [index for index, _ in results] == [0, 1, 2, 3, 4]
    assert results == [(0, True), (1, True), (2, True), (3, True), (4, False)]


def test_a_part_that_fails_in_a_helper_is_computed_here(tmp_path: Path) -> None:
    here = os.getpid()

    def work(index: int) -> Iterator[tuple[int, int]]:
        if index == 0:
            _slow_here(here)
        for result in _results(index):
            if index == 2 and result[1] == 2 and os.getpid() != here:
                raise RuntimeError("only beside")
            yield result

    assert list(in_parts(work, 4, 2, tmp_path)) == _expected(4)
    assert list(tmp_path.iterdir()) == []


def test_a_helper_that_dies_midway_leaves_its_parts_to_this_one(tmp_path: Path) -> None:
    here = os.getpid()

    def work(index: int) -> Iterator[tuple[int, int, bool]]:
        if index == 0:
            _slow_here(here)
        for n, result in enumerate(_results(index)):
            if index == 2 and n == 3 and os.getpid() != here:
                os._exit(1)  # part 3 is written whole, part 2 half: it is computed here
            yield (*result, os.getpid() == here)

    results = list(in_parts(work, 4, 2, tmp_path))
    assert [r[:2] for r in results] == _expected(4)
    assert {r[0]: r[2] for r in results} == {0: True, 1: True, 2: True, 3: False}
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []


def test_a_result_that_cannot_be_sent_is_computed_here(tmp_path: Path) -> None:
    here = os.getpid()

    def work(index: int) -> Iterator[object]:
        if index == 0:
            _slow_here(here)
        yield index
        yield (lambda: index) if os.getpid() != here else ("here", index)  # a lambda does not pickle

    assert list(in_parts(work, 2, 2, tmp_path)) == [0, ("here", 0), 1, ("here", 1)]


def test_an_error_is_raised_here_after_the_results_before_it(tmp_path: Path) -> None:
    def work(index: int) -> Iterator[tuple[int, int]]:
        for result in _results(index):
            if index == 1 and result[1] == 2:
                raise ValueError("part 1 is damaged")
            yield result

    got: list[tuple[int, int]] = []
    with pytest.raises(ValueError, match="part 1 is damaged"):
        for result in in_parts(work, 3, 3, tmp_path):
            got.append(result)
    assert got == [*_results(0), (1, 0), (1, 1)]
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []


def test_stopping_early_leaves_no_process_and_no_file(tmp_path: Path) -> None:
    results = in_parts(_results, 4, 4, tmp_path)
    assert next(results) == (0, 0)
    results.close()
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []


def test_nothing_forks_in_a_daemonic_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class Daemonic:
        daemon = True

    monkeypatch.setattr(parallel.multiprocessing, "current_process", Daemonic)
    here = os.getpid()
    assert not can_fork(4)
    assert list(in_parts(lambda index: [(index, os.getpid() == here)], 3, 4, tmp_path)) == [
        (0, True), (1, True), (2, True)
    ]


class _Counting:
    """Part 1's results, 0 to `end` in blocks of 10, which its holder can split: it gives the last
    half of the blocks it has yet to give. Beside this process it waits a little before each block
    until it was split three times, so that this process, done with part 0 and then with each half it
    was given, finds it unfinished. A block holding `bad` raises."""

    def __init__(self, low: int, end: int, here: int, bad: int | None = None, die_after_split: bool = False) -> None:
        self.next, self.end, self.here, self.bad = low, end, here, bad
        self.die_after_split, self.splits = die_after_split, 0

    def __iter__(self) -> _Counting:
        return self

    def __next__(self) -> tuple[int, ...]:
        if self.next >= self.end:
            raise StopIteration
        if os.getpid() != self.here:
            if self.splits < 3:
                time.sleep(0.002)
            elif self.die_after_split:
                os._exit(1)
        block = tuple(range(self.next, min(self.next + 10, self.end)))
        self.next += len(block)
        if self.bad is not None and self.bad in block:
            raise ValueError(f"damaged at {self.bad}")
        return block

    def split(self) -> tuple[int, int] | None:
        blocks = (self.end - self.next) // 10
        if blocks < 2:
            return None
        cut = self.next + (blocks - blocks // 2) * 10
        given, self.end = (cut, self.end), cut
        self.splits += 1
        return given


def _splitting(here: int, bad: int | None = None, die: bool = False) -> tuple[object, object, list[tuple[int, int]]]:
    resumed: list[tuple[int, int]] = []  # what this process was given to compute

    def first() -> Iterator[tuple[int, ...]]:
        _slow_here(here, 0.3)  # the helper takes part 1 meanwhile
        yield (-1,)

    def work(index: int) -> Iterator[tuple[int, ...]] | _Counting:
        return first() if index == 0 else _Counting(0, 20_000, here, bad, die)

    def resume(given: tuple[int, int]) -> _Counting:
        resumed.append(given)
        return _Counting(*given, here, bad)

    return work, resume, resumed


def test_a_part_its_holder_splits_gives_its_results_in_order(tmp_path: Path) -> None:
    here = os.getpid()
    work, resume, resumed = _splitting(here)
    got = list(in_parts(work, 2, 2, tmp_path, resume))  # type: ignore[arg-type]
    assert [n for block in got for n in block] == [-1, *range(20_000)]
    assert len(resumed) >= 3  # this process computed what the holder gave away, three times
    assert all(low % 10 == 0 and high <= 20_000 for low, high in resumed)
    assert [high for _, high in resumed] == sorted((high for _, high in resumed), reverse=True)
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []
    # Without `resume`, the part is not split: the same results, all of them from its holder.
    assert list(in_parts(work, 2, 2, tmp_path)) == got  # type: ignore[arg-type]


def test_a_holder_that_dies_after_a_split_leaves_the_whole_part_here(tmp_path: Path) -> None:
    here = os.getpid()
    work, resume, resumed = _splitting(here, die=True)
    got = list(in_parts(work, 2, 2, tmp_path, resume))  # type: ignore[arg-type]
    assert [n for block in got for n in block] == [-1, *range(20_000)]
    assert resumed
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("bad", [15_005, 19_999, 35])
def test_an_error_in_a_split_part_is_raised_after_the_results_before_it(tmp_path: Path, bad: int) -> None:
    here = os.getpid()
    work, resume, _ = _splitting(here, bad=bad)
    got: list[int] = []
    with pytest.raises(ValueError, match=f"damaged at {bad}"):
        for block in in_parts(work, 2, 2, tmp_path, resume):  # type: ignore[arg-type]
            got.extend(block)
    assert got == [-1, *range(bad - bad % 10)]
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []


def _batches() -> Iterator[tuple[str, int]]:
    for n in range(7):
        yield "batch", n


def test_beside_gives_the_results_of_the_work_in_order(tmp_path: Path) -> None:
    here = os.getpid()

    def work() -> Iterator[tuple[int, bool]]:
        for n in range(5):
            yield n, os.getpid() == here

    assert list(beside(work, 2, tmp_path)) == [(n, False) for n in range(5)]
    assert list(beside(work, 1, tmp_path)) == [(n, True) for n in range(5)]
    assert list(beside(_batches, 3, tmp_path)) == list(_batches())
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []


def test_beside_takes_over_from_a_process_that_dies(tmp_path: Path) -> None:
    here = os.getpid()

    def work() -> Iterator[tuple[int, bool]]:
        for n in range(6):
            if n == 3 and os.getpid() != here:
                os._exit(1)
            yield n, os.getpid() == here

    got = list(beside(work, 2, tmp_path))
    assert [n for n, _ in got] == list(range(6))
    assert got[3:] == [(3, True), (4, True), (5, True)]  # the first ones, taken already, are not computed again
    assert list(tmp_path.iterdir()) == []


def test_beside_raises_here_after_the_results_before_the_error(tmp_path: Path) -> None:
    def work() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("damaged at the third")

    got: list[int] = []
    with pytest.raises(ValueError, match="damaged at the third"):
        for result in beside(work, 2, tmp_path):
            got.append(result)
    assert got == [1, 2]
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []


def test_beside_stopped_early_leaves_nothing(tmp_path: Path) -> None:
    results = beside(_batches, 2, tmp_path)
    assert next(results) == ("batch", 0)
    results.close()
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []


def test_no_room_for_the_results_beside_computes_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A private folder that cannot be made (a full disk): every part is computed here, as with one job."""
    here = os.getpid()

    def no_room(*args: object, **kwargs: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(parallel.tempfile, "mkdtemp", no_room)
    assert list(in_parts(lambda index: [(index, os.getpid() == here)], 3, 2, tmp_path)) == [
        (0, True), (1, True), (2, True)
    ]
    assert list(beside(lambda: iter([(0, os.getpid() == here)]), 2, tmp_path)) == [(0, True)]


@dataclass(frozen=True)
class _Who:
    """Steps that say who did each: step i gives (i, the process, its priority), carrying the sum of
    the indexes so far. Beside (in any process but the one that made it), step `stall` sleeps 30 s (a
    process that a busy machine gives no share of a core) and step `die` ends the process; step
    `fail` raises wherever it is done. Beside is told by the priority: the process beside lowers its
    own, a process forked otherwise (an engine worker) keeps it."""

    count: int
    start: int = 0
    stall: int | None = None
    die: int | None = None
    fail: int | None = None
    niceness: int = field(default_factory=lambda: os.nice(0))

    def step(self, index: int, carry: int) -> tuple[tuple[int, int, int], int]:
        if os.nice(0) != self.niceness:
            if index == self.stall:
                time.sleep(30)
            if index == self.die:
                os._exit(3)
        if index == self.fail:
            raise ValueError("the step's own error")
        return (index, os.getpid(), os.nice(0) if hasattr(os, "nice") else 0), carry + index

    def finish(self, outputs: list[tuple[int, int, int]], carry: int) -> tuple[list[tuple[int, int, int]], int]:
        return outputs, carry


def _ended(timeout: float = 20) -> None:
    """Wait for the process beside to end (it does all its steps, or dies)."""
    limit = time.monotonic() + timeout
    while multiprocessing.active_children() and time.monotonic() < limit:
        time.sleep(0.01)
    assert multiprocessing.active_children() == []


def _written(folder: Path, steps: int, timeout: float = 20) -> None:
    """Wait until the process beside has written `steps` steps whole (their lengths read as it does)."""
    limit = time.monotonic() + timeout
    while time.monotonic() < limit:
        for path in folder.glob("later-*/steps"):
            data, done = path.read_bytes(), 0
            while len(data) >= 8 and len(data) - 8 >= int.from_bytes(data[:8], "big"):
                data, done = data[8 + int.from_bytes(data[:8], "big"):], done + 1
            if done >= steps:
                return
        time.sleep(0.01)
    raise AssertionError(f"the process beside did not write {steps} steps")


def test_later_is_done_beside_at_the_lowest_priority(tmp_path: Path) -> None:
    ahead = later(_Who(3), 2, tmp_path)
    _ended()
    outputs, carry = ahead.result()
    assert carry == 3 and [index for index, _, _ in outputs] == [0, 1, 2]
    assert {pid for _, pid, _ in outputs} != {os.getpid()} and len({pid for _, pid, _ in outputs}) == 1
    assert all(niceness == 19 or niceness > os.nice(0) for _, _, niceness in outputs)
    assert ahead.result() == (outputs, carry)  # (kept until it is closed)
    ahead.close()
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []


def test_later_is_never_waited_for(tmp_path: Path) -> None:
    """A process beside that gets no share of a core (here: asleep at its second step) is not waited
    for: it is stopped when the result is wanted, and the steps it has not done are done here, at
    this process's priority."""
    ahead = later(_Who(4, stall=1), 2, tmp_path)
    _written(tmp_path, 1)
    started = time.monotonic()
    outputs, carry = ahead.result()
    assert time.monotonic() - started < 10
    assert carry == 6 and [index for index, _, _ in outputs] == [0, 1, 2, 3]
    assert outputs[0][1] != os.getpid()  # done beside
    assert [(pid, niceness) for _, pid, niceness in outputs[1:]] == [(os.getpid(), os.nice(0))] * 3  # done here
    assert multiprocessing.active_children() == []  # stopped
    ahead.close()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("die", [0, 1, 2, 3, 4])
def test_later_whose_process_dies_at_any_step_gives_every_step(tmp_path: Path, die: int) -> None:
    """The same outputs, in order, with the same carry, however many steps the process beside did."""
    ahead = later(_Who(4, die=die), 2, tmp_path)
    _ended()
    outputs, carry = ahead.result()
    assert carry == 6 and [index for index, _, _ in outputs] == [0, 1, 2, 3]
    assert [pid == os.getpid() for _, pid, _ in outputs] == [index >= die for index in range(4)]
    assert [index for index, _, _ in run_steps(_Who(4))[0]] == [0, 1, 2, 3] and run_steps(_Who(4))[1] == 6
    ahead.close()
    assert list(tmp_path.iterdir()) == []


def test_later_with_one_job_is_done_when_wanted(tmp_path: Path) -> None:
    ahead = later(_Who(2), 1, tmp_path)
    assert list(tmp_path.iterdir()) == [] and multiprocessing.active_children() == []
    outputs, carry = ahead.result()
    assert carry == 1 and [(index, pid) for index, pid, _ in outputs] == [(0, os.getpid()), (1, os.getpid())]
    ahead.close()


def test_later_raises_here_the_error_of_a_step(tmp_path: Path) -> None:
    ahead = later(_Who(4, fail=2), 2, tmp_path)
    with pytest.raises(ValueError, match="the step's own error"):
        ahead.result()
    ahead.close()
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []


def test_later_closed_while_it_runs_leaves_no_process_and_no_file(tmp_path: Path) -> None:
    ahead = later(_Who(2, stall=0), 2, tmp_path)
    started = time.monotonic()
    ahead.close()
    assert time.monotonic() - started < 10
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []


def test_later_in_a_forked_process_takes_what_was_written_and_never_waits(tmp_path: Path) -> None:
    """A process forked from the one that started it (an engine worker) takes the steps written whole
    and does the rest itself; it never waits for, stops or removes what it did not start."""
    ahead = later(_Who(3, stall=1), 2, tmp_path)
    _written(tmp_path, 1)
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child() -> None:
        started = time.monotonic()
        outputs, carry = ahead.result()
        send.send(([pid == os.getpid() for _, pid, _ in outputs], carry, time.monotonic() - started))
        ahead.close()

    process = context.Process(target=child)
    process.start()
    mine, carry, took = receive.recv()
    process.join()
    assert mine == [False, True, True] and carry == 3 and took < 10
    assert len(multiprocessing.active_children()) == 1  # the process beside still runs: not its to stop
    assert len(list(tmp_path.iterdir())) == 1
    outputs, carry = ahead.result()
    assert [pid == os.getpid() for _, pid, _ in outputs] == [False, True, True] and carry == 3
    ahead.close()
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []
