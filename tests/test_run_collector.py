"""The cyclic collector is paced for a check (engine.few_collections) and left as it was after it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from preuve.evidence.acquisition import Opened
from preuve.run.collector import YOUNG_COLLECTION, few_collections
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from preuve.run.sinks import NullObserver
from tests.builders import feed
from tests.builders.fleet import KNOWN_DOMAIN, build_device


class _Thresholds(NullObserver):
    """The collector's thresholds as the acquisition is opened and as each artifact starts."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, int, int]] = []

    def acquisition_opened(self, opened: Opened) -> None:
        self.seen.append(gc.get_threshold())

    def artifact_started(self, artifact: object, files: int) -> None:
        self.seen.append(gc.get_threshold())


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        yield (700, 10, 10)
    finally:
        gc.set_threshold(*before)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_check_paces_the_collector_and_leaves_it_as_it_was(
    tmp_path: Path, thresholds: tuple[int, int, int], jobs: int
) -> None:
    known = feed(tmp_path / "known.stix2", (f"[domain-name:value='{KNOWN_DOMAIN}']", "Known Spy"))
    device = build_device(tmp_path / "d0", 0)
    observer = _Thresholds()
    run_check(device, CheckOptions(iocs=(known,), jobs=jobs), observer=observer)
    assert len(observer.seen) > 2
    assert set(observer.seen) == {(YOUNG_COLLECTION, 10, 10)}
    assert gc.get_threshold() == thresholds
    assert gc.isenabled()


def test_a_check_that_cannot_start_leaves_the_collector_as_it_was(
    tmp_path: Path, thresholds: tuple[int, int, int]
) -> None:
    with pytest.raises(Exception, match="nowhere"):
        run_check(tmp_path / "nowhere", CheckOptions())
    assert gc.get_threshold() == thresholds


def test_a_slower_pace_set_by_the_caller_is_kept(thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(YOUNG_COLLECTION * 2, 5, 5)
    with few_collections():
        assert gc.get_threshold() == (YOUNG_COLLECTION * 2, 5, 5)
    assert gc.get_threshold() == (YOUNG_COLLECTION * 2, 5, 5)


def test_cycles_made_within_the_pace_are_still_collected(thresholds: tuple[int, int, int]) -> None:
    """Cyclic garbage made in a paced block is collected once enough young containers pile up: what
    the pace delays, it does not keep."""

    class Node:
        def __init__(self) -> None:
            self.me = self

    collected: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            collected.append(info["collected"])

    gc.collect()
    gc.callbacks.append(count)
    try:
        with few_collections():
            for _ in range(3 * YOUNG_COLLECTION):
                Node()
    finally:
        gc.callbacks.remove(count)
    assert sum(collected) >= YOUNG_COLLECTION


def test_a_verification_paces_the_collector_as_it_reads_and_leaves_it_as_it_was(
    tmp_path: Path, thresholds: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    import preuve

    known = feed(tmp_path / "known.stix2", (f"[domain-name:value='{KNOWN_DOMAIN}']", "Known Spy"))
    device = build_device(tmp_path / "d0", 0)
    result = preuve.check_into_folder(device, preuve.CheckOptions(iocs=(known,)), tmp_path / "out")
    assert result.findings
    seen: list[tuple[int, int, int]] = []
    from preuve.proof import verify as verifying

    reading = verifying.records_from_evidence

    def reading_seen(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.get_threshold())
        return reading(*args, **kwargs)

    monkeypatch.setattr(verifying, "records_from_evidence", reading_seen)
    checked = preuve.verify(tmp_path / "out" / "bundle.json", device)
    assert [c.status for c in checked.checks] == ["confirmed"] * len(result.findings)
    assert seen and set(seen) == {(YOUNG_COLLECTION, 10, 10)}
    assert gc.get_threshold() == thresholds


@pytest.mark.parametrize("first_out", ["outer", "inner"])
def test_overlapping_paced_blocks_leave_the_collector_as_it_was(
    thresholds: tuple[int, int, int], first_out: str
) -> None:
    """Two runs in threads of one process: their blocks overlap and may end in either order."""
    outer, inner = few_collections(), few_collections()
    outer.__enter__()
    inner.__enter__()
    assert gc.get_threshold() == (YOUNG_COLLECTION, 10, 10)
    first, last = (outer, inner) if first_out == "outer" else (inner, outer)
    first.__exit__(None, None, None)
    last.__exit__(None, None, None)
    assert gc.get_threshold() == thresholds


def test_a_pace_set_by_someone_else_within_the_block_is_kept(thresholds: tuple[int, int, int]) -> None:
    with few_collections():
        gc.set_threshold(1000, 10, 10)
    assert gc.get_threshold() == (1000, 10, 10)
