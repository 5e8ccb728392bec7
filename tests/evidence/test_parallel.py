"""The listing's kernel of parallelism (evidence.parallel.in_parts): the results of every part, in order,
the same as computing the parts one after another here, whatever happens to a forked process; an
error a part raises raised here; nothing left behind."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

import preuve.evidence.parallel as parallel
from preuve.evidence.parallel import beside, can_fork, in_parts, later

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


def _whose() -> tuple[int, int]:
    """The process computing it, and its priority."""
    return os.getpid(), os.nice(0) if hasattr(os, "nice") else 0


def test_later_is_computed_beside_at_the_lowest_priority(tmp_path: Path) -> None:
    ahead = later(_whose, 2, tmp_path)
    pid, niceness = ahead.result()
    assert pid != os.getpid()
    assert niceness == 19 or niceness > os.nice(0)
    assert ahead.result() == (pid, niceness)  # (kept until it is closed)
    ahead.close()
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []


def test_later_with_one_job_is_computed_when_wanted(tmp_path: Path) -> None:
    calls: list[int] = []
    ahead = later(lambda: calls.append(1) or len(calls), 1, tmp_path)
    assert calls == [] and list(tmp_path.iterdir()) == []
    assert ahead.result() == 1
    assert calls == [1]
    ahead.close()


def _fails_beside(here: int) -> int:
    if os.getpid() != here:
        raise RuntimeError("only beside")
    return 7


def test_later_that_fails_beside_is_computed_here(tmp_path: Path) -> None:
    ahead = later(partial(_fails_beside, os.getpid()), 2, tmp_path)
    assert ahead.result() == 7
    ahead.close()
    assert list(tmp_path.iterdir()) == []


def _always_fails() -> int:
    raise ValueError("the work's own error")


def test_later_raises_here_the_error_of_the_work(tmp_path: Path) -> None:
    ahead = later(_always_fails, 2, tmp_path)
    with pytest.raises(ValueError, match="the work's own error"):
        ahead.result()
    ahead.close()
    assert list(tmp_path.iterdir()) == []


def _dies_beside(here: int) -> int:
    if os.getpid() != here:
        os._exit(3)
    return 5


def test_later_whose_process_dies_is_computed_here(tmp_path: Path) -> None:
    ahead = later(partial(_dies_beside, os.getpid()), 2, tmp_path)
    assert ahead.result() == 5
    ahead.close()


def test_later_closed_while_it_runs_leaves_no_process_and_no_file(tmp_path: Path) -> None:
    ahead = later(partial(time.sleep, 30), 2, tmp_path)
    started = time.monotonic()
    ahead.close()
    assert time.monotonic() - started < 10
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []


def test_later_in_a_forked_process_takes_what_was_written_and_never_waits(tmp_path: Path) -> None:
    """A process forked from the one that started it (an engine worker) takes the result written
    whole, or computes it itself; it never waits for, stops or removes what it did not start."""
    ahead = later(_whose, 2, tmp_path)
    written = ahead.result()
    slow = later(partial(_slow_beside, os.nice(0)), 2, tmp_path)
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child() -> None:
        started = time.monotonic()
        send.send((ahead.result(), slow.result(), time.monotonic() - started))
        ahead.close()
        slow.close()

    process = context.Process(target=child)
    process.start()
    got, computed, took = receive.recv()
    process.join()
    assert got == written  # what was written, not computed again there
    assert computed == "here" and took < 10  # not waited for: computed there
    assert ahead.result() == written and len(list(tmp_path.iterdir())) == 2
    slow.close()
    ahead.close()
    assert list(tmp_path.iterdir()) == []


def _slow_beside(niceness: int) -> str:
    """Slow in the process beside only (the one of the lowest priority)."""
    if os.nice(0) == niceness:
        return "here"
    time.sleep(30)
    return "beside"
