"""A big database read in parts by worker processes gives the same output, byte for byte, as one
read sequentially; anything odd in a part makes the file read sequentially, reported as always."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from benchmarks.ios_backup import build_backup, make_plan

import preuve.check as check_module
from preuve.artifacts.base import Artifact
from preuve.builders.demo import build_demo_backup
from preuve.check import ArtifactReport, CheckOptions, CheckResult, Sink, run_check
from preuve.evidence.acquisition import Opened
from preuve.indicators.index import IndicatorIndex
from preuve.model import Finding, Record, Timestamp
from preuve.report.bundle import BundleSink
from preuve.report.html import HtmlReport
from preuve.report.outdir import OutputFolder

COMPARED = ("findings.json", "bundle.json", "bundle.md", "timeline.csv", "timeline.jsonl")


@pytest.fixture(scope="module")
def built_backup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import PACKAGED_PEGASUS

    root = tmp_path_factory.mktemp("parallel") / "backup"
    return build_backup(root, make_plan(3_000, [PACKAGED_PEGASUS]))


@pytest.fixture
def parts_read(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """What each attempt to read a database in chunks gave (its records, or None when it was then
    read sequentially); every database is split, however small."""
    monkeypatch.setattr(check_module, "SPLIT_MIN_ROWS", 10)
    monkeypatch.setattr(check_module, "SPLIT_ROWS_PER_CHUNK", 150)  # 16 chunks of the 2,400 messages
    calls: list[object] = []
    original = check_module._Splitter.run

    def spy(self: check_module._Splitter, number: int, findings: list[Finding]) -> int | None:
        calls.append(result := original(self, number, findings))
        return result

    monkeypatch.setattr(check_module._Splitter, "run", spy)
    return calls


def _check(backup: Path, feed: Path, out: Path, jobs: int, extra: Sequence[Sink] = ()) -> tuple[CheckResult, HtmlReport]:
    html = HtmlReport(out / "report.html")
    folder = OutputFolder(out, backup)
    try:
        result = run_check(backup, CheckOptions(iocs=(feed,), jobs=jobs), sinks=[folder, html, BundleSink(out), *extra])
    finally:
        folder.close()
    return result, html


def _outputs(out: Path) -> dict[str, bytes]:
    names = [*COMPARED, *(f"artifacts/{p.name}" for p in sorted((out / "artifacts").iterdir()))]
    return {name: (out / name).read_bytes() for name in names}


def _reports(result: CheckResult) -> list[tuple[object, ...]]:
    return [(r.name, r.status, r.files, r.records, r.findings, r.errors, r.warnings) for r in result.artifacts]


def _same(backup: Path, feed: Path, tmp_path: Path, jobs: int, extra: Callable[[], Sequence[Sink]] = list) -> None:
    seq, seq_html = _check(backup, feed, tmp_path / "sequential", 1, extra())
    par, par_html = _check(backup, feed, tmp_path / f"jobs{jobs}", jobs, extra())
    assert _outputs(tmp_path / f"jobs{jobs}") == _outputs(tmp_path / "sequential")
    assert _reports(par) == _reports(seq)
    assert [f.id for f in par.findings] == [f.id for f in seq.findings]
    assert list(par_html.per_day.items()) == list(seq_html.per_day.items())
    assert par.exit_code == seq.exit_code


@pytest.mark.parametrize("jobs", [2, 3])
def test_built_backup_parallel_is_byte_identical(
    built_backup: Path, pegasus_feed: Path, tmp_path: Path, parts_read: list[object], jobs: int
) -> None:
    _same(built_backup, pegasus_feed, tmp_path, jobs)
    assert parts_read == [2_400]
    seq = (tmp_path / "sequential" / "artifacts" / "sms.jsonl").read_bytes()
    assert seq.count(b"\n") == 2_400


def test_demo_backup_parallel_is_byte_identical(pegasus_feed: Path, tmp_path: Path, parts_read: list[object]) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    _same(backup, pegasus_feed, tmp_path, 2)
    assert len(parts_read) == 1 and isinstance(parts_read[0], int) and parts_read[0] > 0


def test_small_database_is_read_sequentially(built_backup: Path, pegasus_feed: Path, tmp_path: Path,
                                             parts_read: list[object], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(check_module, "SPLIT_MIN_ROWS", 1_000_000)
    _same(built_backup, pegasus_feed, tmp_path, 2)
    assert parts_read == []


def test_failure_in_a_part_is_reported_as_sequentially(
    built_backup: Path, pegasus_feed: Path, tmp_path: Path, parts_read: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    import preuve.artifacts.ios.sms as sms

    original = sms.extract_urls

    def failing(text: str) -> list[str]:  # message 2000 lies in the second part
        if "/article/2000?" in text:
            raise ValueError("planted failure")
        return original(text)

    monkeypatch.setattr(sms, "extract_urls", failing)
    _same(built_backup, pegasus_feed, tmp_path, 2)
    seq = _check(built_backup, pegasus_feed, tmp_path / "again", 1)[0]
    report = next(r for r in seq.artifacts if r.name == "sms")
    assert report.status == "failed" and report.errors and "planted failure" in report.errors[0]
    assert report.records == 2_000
    assert parts_read == [None]  # the split was tried, then given up for the sequential read
    assert (tmp_path / "again" / "artifacts" / "sms.jsonl").read_bytes() == (
        tmp_path / "jobs2" / "artifacts" / "sms.jsonl"
    ).read_bytes()


class _TypedSink:
    """A sink that needs every typed record in the main process (like the case store): no split."""

    def __init__(self) -> None:
        self.types: list[str] = []

    def begin(self, opened: Opened, index: IndicatorIndex) -> None:
        pass

    def artifact_started(self, artifact: Artifact) -> None:
        pass

    def record(
        self, artifact: Artifact, record: Record, findings: Sequence[Finding], stamps: Sequence[Timestamp]
    ) -> None:
        self.types.append(record.record_type)

    def artifact_finished(self, artifact: Artifact, report: ArtifactReport) -> None:
        pass

    def finish(self, result: CheckResult) -> None:
        pass


def test_sink_without_parts_gets_every_record_sequentially(
    built_backup: Path, pegasus_feed: Path, tmp_path: Path, parts_read: list[object]
) -> None:
    sinks: list[_TypedSink] = []

    def make() -> list[Sink]:
        sinks.append(_TypedSink())
        return [sinks[-1]]

    _same(built_backup, pegasus_feed, tmp_path, 2, make)
    assert parts_read == []
    assert sinks[0].types == sinks[1].types and sinks[0].types.count("ios:sms:message") == 2_400


def test_linked_database_is_not_split_and_fails_as_sequentially(
    built_backup: Path, pegasus_feed: Path, tmp_path: Path, parts_read: list[object]
) -> None:
    """Planning the chunks happens before any artifact runs: it must not change what the
    acquisition reports later (here a database replaced by a link, which is never followed)."""
    import shutil

    from benchmarks.ios_backup import SMS

    from preuve.builders.ios_backup import file_id

    backup = tmp_path / "backup"
    shutil.copytree(built_backup, backup)
    fid = file_id(*SMS)
    blob = backup / fid[:2] / fid
    outside = tmp_path / "outside.db"
    shutil.move(blob, outside)
    blob.symlink_to(outside)
    _same(backup, pegasus_feed, tmp_path, 2)
    assert parts_read == []
    report = next(r for r in _check(backup, pegasus_feed, tmp_path / "again", 2)[0].artifacts if r.name == "sms")
    assert report.status == "failed" and "not a regular file" in report.errors[0]


def test_daemonic_process_reads_sequentially(
    built_backup: Path, pegasus_feed: Path, tmp_path: Path, parts_read: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fleet or dask worker is daemonic and may not start processes: no split there."""
    import multiprocessing
    import types

    monkeypatch.setattr(multiprocessing, "current_process", lambda: types.SimpleNamespace(daemon=True))
    _same(built_backup, pegasus_feed, tmp_path, 2)
    assert parts_read == []


def test_parts_appended_through_a_buffer_when_the_kernel_copy_fails(
    built_backup: Path, pegasus_feed: Path, tmp_path: Path, parts_read: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """copy_file_range fails across some file systems, possibly after copying part of a file."""
    import errno
    import os

    def failing(src: int, dst: int, count: int, *args: object) -> int:
        os.write(dst, b"PARTIAL COPY")
        raise OSError(errno.EXDEV, "cross-device")

    monkeypatch.setattr(os, "copy_file_range", failing)
    _same(built_backup, pegasus_feed, tmp_path, 2)
    assert parts_read == [2_400]
