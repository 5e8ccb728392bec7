"""A big database read in row ranges by worker processes gives the same outputs, byte for byte, as
one read sequentially (every file of the output folder, and the case store with --case), with the
same warnings and errors: whatever goes wrong in a part (a failure, a warning, a worker that dies),
the records, findings and problems reported are those of a sequential read. The sinks are the
ordinary ones: nothing of them knows about parts."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

import pytest
from benchmarks.ios_backup import build_backup, make_plan

import preuve.run.engine as check_module
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.builders.demo import build_demo_backup
from preuve.evidence.acquisition import Opened
from preuve.indicators.index import IndicatorIndex
from preuve.model import Finding, Record, Timestamp
from preuve.report.formats.bundle import BundleSink
from preuve.report.formats.html import HtmlReport
from preuve.report.outdir import TIMELINE_FORMATS, OutputFolder
from preuve.run.engine import run_check
from preuve.run.results import ArtifactReport, CheckOptions, CheckResult
from preuve.run.sinks import Sink
from preuve.store.case import CaseStore


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
    original = check_module._Workers.run

    def spy(
        self: check_module._Workers, number: int, ctx: ArtifactContext, findings: list[Finding],
        progress: Callable[[int], None],
    ) -> int | None:
        calls.append(result := original(self, number, ctx, findings, progress))
        return result

    monkeypatch.setattr(check_module._Workers, "run", spy)
    return calls


def _check(backup: Path, feed: Path, out: Path, jobs: int, extra: Sequence[Sink] = ()) -> tuple[CheckResult, HtmlReport]:
    html = HtmlReport(out / "report.html")
    folder = OutputFolder(out, backup, TIMELINE_FORMATS)
    with CaseStore(out.with_name(out.name + ".case.db"), write=True) as store:
        try:
            sinks = [folder, html, BundleSink(out), store.sink(backup), *extra]
            result = run_check(backup, CheckOptions(iocs=(feed,), jobs=jobs), sinks=sinks)
        finally:
            folder.close()
    return result, html


def _timeless(value: object) -> object:
    """A run.json value without what the clock decides (when the run started and ended, how long each step took)."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if k not in ("started", "finished", "seconds")}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def _outputs(out: Path) -> dict[str, object]:
    """Every file of the output folder (run.json without its times), and every row the case store holds
    of the run (the acquisition's own row without its times)."""
    import json
    import sqlite3

    found: dict[str, object] = {
        str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file() and p.name != "run.json"
    }
    # the report says when the check ended, to the minute
    found["report.html"] = re.sub(rb"\d{4}-\d\d-\d\d \d\d:\d\d UTC", b"(when)", cast(bytes, found["report.html"]))
    found["run.json"] = _timeless(json.loads((out / "run.json").read_bytes()))
    conn = sqlite3.connect(out.with_name(out.name + ".case.db"))
    try:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
            rows = [tuple(r) for r in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1, 2')]  # noqa: S608 - a table name
            if table == "acquisitions":
                columns = [c[1] for c in conn.execute("PRAGMA table_info(acquisitions)")]
                rows = [tuple(v for c, v in zip(columns, r, strict=True) if c not in ("started", "finished", "run"))
                        for r in rows]
                runs = [json.loads(r[0]) for r in conn.execute("SELECT run FROM acquisitions ORDER BY id")]
                found["case:acquisitions.run"] = _timeless(runs)
            found[f"case:{table}"] = rows
    finally:
        conn.close()
    return found


def _reports(result: CheckResult) -> list[tuple[object, ...]]:
    return [(r.name, r.status, r.files, r.records, r.findings, r.errors, r.warnings) for r in result.artifacts]


def _same(backup: Path, feed: Path, tmp_path: Path, jobs: int, extra: Callable[[], Sequence[Sink]] = list) -> None:
    seq, seq_html = _check(backup, feed, tmp_path / "sequential", 1, extra())
    par, par_html = _check(backup, feed, tmp_path / f"jobs{jobs}", jobs, extra())
    sequential, parallel = _outputs(tmp_path / "sequential"), _outputs(tmp_path / f"jobs{jobs}")
    assert list(parallel) == list(sequential)
    for name, value in sequential.items():
        assert parallel[name] == value, name
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


def test_database_of_big_rows_is_read_sequentially(built_backup: Path, pegasus_feed: Path, tmp_path: Path,
                                                   parts_read: list[object], monkeypatch: pytest.MonkeyPatch) -> None:
    """A range is held whole until it is handed over: a database whose rows are big on average (a hostile
    one's cells can be 64 MB each) is read a batch at a time, never in ranges (the bound made small here,
    so that the backup's own rows count as big)."""
    monkeypatch.setattr(check_module, "SPLIT_MAX_ROW_BYTES", 16)
    _same(built_backup, pegasus_feed, tmp_path, 2)
    assert parts_read == []


def _fail_at(monkeypatch: pytest.MonkeyPatch, message: int) -> None:
    import preuve.artifacts.ios.sms as sms

    original = sms.extract_urls

    def failing(text: str) -> list[str]:
        if f"/article/{message}?" in text:
            raise ValueError("planted failure")
        return original(text)

    monkeypatch.setattr(sms, "extract_urls", failing)


def test_failure_in_a_later_part_ends_the_file_there_as_sequentially(
    built_backup: Path, pegasus_feed: Path, tmp_path: Path, parts_read: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_at(monkeypatch, 2000)  # message 2000 lies in the 14th of 16 parts
    _same(built_backup, pegasus_feed, tmp_path, 2)
    seq = _check(built_backup, pegasus_feed, tmp_path / "again", 1)[0]
    report = next(r for r in seq.artifacts if r.name == "sms")
    assert report.status == "failed" and report.errors and "planted failure" in report.errors[0]
    assert len(report.errors) == 1
    assert report.records == 2_000
    assert parts_read == [2_000]  # the parts before it, and the part that stopped, up to the failure
    assert (tmp_path / "again" / "artifacts" / "sms.jsonl").read_bytes() == (
        tmp_path / "jobs2" / "artifacts" / "sms.jsonl"
    ).read_bytes()


def test_failure_in_the_first_part_makes_the_file_read_sequentially(
    built_backup: Path, pegasus_feed: Path, tmp_path: Path, parts_read: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_at(monkeypatch, 20)
    _same(built_backup, pegasus_feed, tmp_path, 2)
    assert parts_read == [None]  # the split was tried, then given up for the sequential read
    report = next(r for r in _check(built_backup, pegasus_feed, tmp_path / "again", 2)[0].artifacts if r.name == "sms")
    assert report.records == 20 and len(report.errors) == 1


def _warn_in_parse(monkeypatch: pytest.MonkeyPatch, at_start: bool, rowids: set[int]) -> None:
    """Sms warns once when it starts reading (as for an odd schema) and/or for some rows."""
    from preuve.artifacts.ios.sms import Sms

    original = Sms.parse_db

    def warning(self: Sms, ctx: ArtifactContext, conn: object, path: str, sha256: str) -> object:
        if at_start:
            ctx.warn(f"{path}: odd schema")
        for record in original(self, ctx, conn, path, sha256):  # type: ignore[arg-type]
            if record.locator.rowid in rowids:
                ctx.warn(f"{path}: odd row {record.locator.rowid}")
            yield record

    monkeypatch.setattr(Sms, "parse_db", warning)


def test_warnings_of_rows_in_later_parts_are_passed_on_in_order(
    built_backup: Path, pegasus_feed: Path, tmp_path: Path, parts_read: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    _warn_in_parse(monkeypatch, False, {700, 1_500, 1_501, 2_399})
    _same(built_backup, pegasus_feed, tmp_path, 2)
    assert parts_read == [2_400]
    report = next(r for r in _check(built_backup, pegasus_feed, tmp_path / "again", 2)[0].artifacts if r.name == "sms")
    assert [w.rsplit(" ", 1)[1] for w in report.warnings] == ["700", "1500", "1501", "2399"]
    assert report.status == "ok"


def test_warning_of_the_whole_file_is_reported_once(
    built_backup: Path, pegasus_feed: Path, tmp_path: Path, parts_read: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    _warn_in_parse(monkeypatch, True, {1_500})
    _same(built_backup, pegasus_feed, tmp_path, 2)
    assert parts_read == [None]
    report = next(r for r in _check(built_backup, pegasus_feed, tmp_path / "again", 2)[0].artifacts if r.name == "sms")
    assert len(report.warnings) == 2 and report.warnings[0].endswith("odd schema")


def test_parts_a_worker_never_sent_are_read_by_the_main_process(
    built_backup: Path, pegasus_feed: Path, tmp_path: Path, parts_read: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that dies (killed, out of memory) in the middle of a part: the main process reads
    that part and every part left itself."""
    import os

    main = os.getpid()
    original = check_module._Workers._read

    def dying(self: check_module._Workers, number: int, chunk: int) -> object:
        if os.getpid() != main and chunk >= 5:
            os._exit(9)
        return original(self, number, chunk)

    monkeypatch.setattr(check_module._Workers, "_read", dying)
    _same(built_backup, pegasus_feed, tmp_path, 2)
    assert parts_read == [2_400]


def test_parts_a_worker_could_not_read_are_read_by_the_main_process(
    built_backup: Path, pegasus_feed: Path, tmp_path: Path, parts_read: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    main = os.getpid()
    original = check_module._Workers._read

    def unreadable(self: check_module._Workers, number: int, chunk: int) -> object:
        if os.getpid() != main and chunk >= 3:
            raise OSError("no space left in the part folder")
        return original(self, number, chunk)

    monkeypatch.setattr(check_module._Workers, "_read", unreadable)
    _same(built_backup, pegasus_feed, tmp_path, 2)
    assert parts_read == [2_400]


def test_parts_past_their_bytes_wait_in_files_and_are_byte_identical(
    built_backup: Path, pegasus_feed: Path, tmp_path: Path, parts_read: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part read ahead of its turn keeps its batches in memory up to PART_BYTES as rendered, and the
    batches after them in a file of the run's folder (a range of small rows can hold a few of 64 MB):
    here 10 KB, so every part of 150 messages (batches of 1, 4, 16, 64 and 65 records of 1 to 2 KB
    each as rendered) holds its first two batches and leaves the rest. The outputs are those of a sequential read, and no
    file is left behind."""
    monkeypatch.setattr(check_module, "PART_BYTES", 10_000)
    original = check_module._read_part
    parts: list[tuple[int, bool]] = []
    left: list[Path] = []

    def spy(*args: object, **kwargs: object) -> check_module._PartResult:
        result = original(*args, **kwargs)  # type: ignore[arg-type]
        parts.append((sum(c.count for c in result.rendered), result.spilled is not None))
        if result.spilled is not None:
            left.append(result.spilled)
        return result

    monkeypatch.setattr(check_module, "_read_part", spy)
    _same(built_backup, pegasus_feed, tmp_path, 1)  # (nothing is split with one job)
    assert parts == []
    _same(built_backup, pegasus_feed, tmp_path / "two", 2)
    assert parts_read == [2_400]
    # (what the workers read is counted in their processes; the main process reads parts too)
    assert parts and all(part == (5, True) for part in parts)
    assert left and not any(path.exists() for path in left)


def test_a_part_the_main_process_cannot_leave_in_a_file_is_read_when_due(
    built_backup: Path, pegasus_feed: Path, tmp_path: Path, parts_read: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The main process reads parts ahead of their turn too; when it cannot leave one in the run's
    folder (full), it reads it again when its turn comes, straight into the sinks."""
    monkeypatch.setattr(check_module, "PART_BYTES", 0)

    def no_room(*args: object, **kwargs: object) -> check_module._PartResult:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(check_module, "_read_part", no_room)
    _same(built_backup, pegasus_feed, tmp_path, 2)
    assert parts_read in ([2_400], [None])  # (the first part unread ahead: the file is read sequentially)


class _TypedSink:
    """A sink with `record` only, that needs every typed record in the main process."""

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


def test_sink_with_record_only_gets_every_record_in_order_from_the_parts(
    built_backup: Path, pegasus_feed: Path, tmp_path: Path, parts_read: list[object]
) -> None:
    sinks: list[_TypedSink] = []

    def make() -> list[Sink]:
        sinks.append(_TypedSink())
        return [sinks[-1]]

    _same(built_backup, pegasus_feed, tmp_path, 2, make)
    assert parts_read == [2_400]
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


def test_split_database_is_hashed_once(
    built_backup: Path, pegasus_feed: Path, tmp_path: Path, parts_read: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The main process takes the ledger entry of the database from the worker's first chunk
    instead of hashing the file again (the bundle, which lists every hash, is compared by _same)."""
    import os
    import time

    from benchmarks.ios_backup import SMS

    import preuve.evidence.fs as fs_module
    from preuve.builders.ios_backup import file_id

    main = os.getpid()
    fid = file_id(*SMS)
    sms_size = (built_backup / fid[:2] / fid).stat().st_size
    hashed: list[int] = []
    original_hash = fs_module.sha256_stream

    def counting(stream: object, limit: int | None = None) -> tuple[str, int]:
        digest, size = original_hash(stream, limit)  # type: ignore[arg-type]
        if os.getpid() == main:
            hashed.append(size)
        return digest, size

    original_run = check_module._Workers.run

    def after_first_chunk(self: check_module._Workers, number: int, *args: object) -> int | None:
        # The worker takes chunk 1 only once it has sent chunk 0 (with the hash): wait for that.
        deadline = time.monotonic() + 60
        while sum(1 for who in self.plans[number].takers if who) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        return original_run(self, number, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(fs_module, "sha256_stream", counting)
    monkeypatch.setattr(check_module._Workers, "run", after_first_chunk)
    _same(built_backup, pegasus_feed, tmp_path, 2)
    assert hashed.count(sms_size) == 1  # in the sequential run only


def test_command_line_with_a_case_is_byte_identical_in_parts(
    built_backup: Path, pegasus_feed: Path, tmp_path: Path, parts_read: list[object]
) -> None:
    """`preuve check --case` reads in parts like any run (its case store once made it sequential): the
    output folder and the case are the same with --jobs 1 and --jobs 2."""
    from click.testing import CliRunner

    from preuve.cli import build_cli

    for jobs in ("1", "2"):
        out = tmp_path / f"cli{jobs}"
        result = CliRunner().invoke(build_cli(), [
            "check", str(built_backup), "-o", str(out), "-q", "--iocs", str(pegasus_feed), "--jobs", jobs,
            "--timeline", "both", "--case", str(out.with_name(out.name + ".case.db")),
        ])
        assert result.exit_code == 2, result.output
    assert parts_read == [2_400]  # only --jobs 2 reads in parts, the case store and all
    sequential, parallel = _outputs(tmp_path / "cli1"), _outputs(tmp_path / "cli2")
    assert list(parallel) == list(sequential)
    assert len(cast(list[object], sequential["case:records"])) > 2_400
    for name, value in sequential.items():
        assert parallel[name] == value, name


def test_a_record_no_output_can_take_fails_its_artifact_in_parts_as_sequentially(
    built_backup: Path, pegasus_feed: Path, tmp_path: Path, parts_read: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record whose timestamps or output cannot be made (a planted bug here) ends its file with an
    error on the artifact, wherever it was read; the run goes on."""
    from preuve.artifacts.ios.sms import SmsMessage

    original = SmsMessage.timestamps

    def failing(self: SmsMessage) -> object:
        if self.locator.rowid == 1_800:
            raise ValueError("planted failure")
        return original(self)

    monkeypatch.setattr(SmsMessage, "timestamps", failing)
    _same(built_backup, pegasus_feed, tmp_path, 2)
    assert parts_read == [1_799]
    report = next(r for r in _check(built_backup, pegasus_feed, tmp_path / "again", 2)[0].artifacts if r.name == "sms")
    assert report.status == "failed" and report.records == 1_799
    assert [e.rsplit(": ", 2)[1:] for e in report.errors] == [["ValueError", "planted failure"]]


@pytest.fixture
def whole_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Workers start on any acquisition, however small, and the main process waits at its first artifact
    until a worker has taken the last one (so a worker reads some artifacts whole, every time); the
    names of the artifacts a worker read whole, as the main process received them."""
    import time

    monkeypatch.setattr(check_module, "WORKERS_MIN_PATHS", 0)
    names: list[str] = []
    original = check_module._Workers.read_by_worker

    def spy(self: check_module._Workers, place: int) -> object:
        if place == 0:
            deadline = time.monotonic() + 60
            while self.claims[len(self.artifacts) - 1] == check_module._FREE and time.monotonic() < deadline:
                time.sleep(0.005)
        read = original(self, place)
        if read is not None:
            names.append(self.artifacts[place].name)
        return read

    monkeypatch.setattr(check_module._Workers, "read_by_worker", spy)
    return names


@pytest.mark.parametrize("jobs", [2, 3])
def test_artifacts_read_whole_by_workers_are_byte_identical(
    pegasus_feed: Path, tmp_path: Path, whole_read: list[str], jobs: int
) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    _same(backup, pegasus_feed, tmp_path, jobs)
    assert whole_read and "whatsapp_messages" in whole_read  # the last artifact of an iOS run
    assert len(set(whole_read)) == len(whole_read)


@pytest.mark.parametrize("fmt", ["zip", "tar"])
def test_archive_members_read_by_workers_are_byte_identical(
    pegasus_feed: Path, tmp_path: Path, whole_read: list[str], fmt: str
) -> None:
    """Workers read members of the acquisition's archive, open in the main process too: each process
    reads through its own file (DeviceFS.after_fork)."""
    from tests.builders.android import AndroidQFBuilder
    from tests.builders.ios_dump import backup_files, write_dump

    if fmt == "zip":
        evidence = AndroidQFBuilder().zip(tmp_path / "aqf.zip")
    else:
        evidence = write_dump(backup_files(build_demo_backup(tmp_path / "backup")), tmp_path / "dump.tar", fmt="tar")
    _same(evidence, pegasus_feed, tmp_path, 2)
    assert whole_read


def test_artifacts_a_worker_could_not_read_whole_are_read_by_the_main_process(
    pegasus_feed: Path, tmp_path: Path, whole_read: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    main = os.getpid()
    original = check_module._Workers._read_artifact

    def failing(self: check_module._Workers, place: int) -> object:
        if os.getpid() != main and self.artifacts[place].name in ("whatsapp_messages", "sms"):
            raise OSError("no space left in the part folder")
        return original(self, place)

    monkeypatch.setattr(check_module._Workers, "_read_artifact", failing)
    backup = build_demo_backup(tmp_path / "backup")
    _same(backup, pegasus_feed, tmp_path, 2)
    assert whole_read and "whatsapp_messages" not in whole_read


def test_artifacts_of_a_worker_that_died_are_read_by_the_main_process(
    pegasus_feed: Path, tmp_path: Path, whole_read: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    main = os.getpid()
    original = check_module._Workers._read_artifact
    taken: list[str] = []

    def dying(self: check_module._Workers, place: int) -> object:
        if os.getpid() != main and place < len(self.artifacts) - 3:
            os._exit(9)  # the fourth artifact from the end: three were sent
        return original(self, place)

    monkeypatch.setattr(check_module._Workers, "_read_artifact", dying)
    backup = build_demo_backup(tmp_path / "backup")
    _same(backup, pegasus_feed, tmp_path, 2)
    taken.extend(whole_read)
    assert len(taken) == 3


def test_sources_open_their_files_again_after_a_fork(tmp_path: Path) -> None:
    """A plain, bzip2 or xz tar's members are read through one file the source keeps open; a forked
    process gets its own file (a file position shared with the other process would move under it), and
    reads the same bytes through it. A zip's source keeps its file for its central directory (each member
    is read through a file of its own): the forked process gets its own all the same."""
    import io
    import tarfile
    import zipfile

    from preuve.evidence.limits import Limits
    from preuve.evidence.sources.base import Source
    from preuve.evidence.sources.tar import TarSource
    from preuve.evidence.sources.zip import ZipSource

    with zipfile.ZipFile(tmp_path / "a.zip", "w") as archive:
        archive.writestr("x/one.txt", b"one" * 100)
    sources: list[tuple[Source, Callable[[], object]]] = []
    zip_source = ZipSource(tmp_path / "a.zip", Limits())
    sources.append((zip_source, lambda: zip_source._stream))
    for suffix, mode in ((".tar", "w"), (".tar.bz2", "w:bz2"), (".tar.xz", "w:xz")):
        with tarfile.open(tmp_path / f"a{suffix}", mode) as archive:  # type: ignore[call-overload]
            info = tarfile.TarInfo("x/one.txt")
            info.size = 300
            archive.addfile(info, io.BytesIO(b"one" * 100))
        tar_source = TarSource(tmp_path / f"a{suffix}", Limits())
        sources.append((tar_source, lambda source=tar_source: source._tar.fileobj))  # type: ignore[misc]
    try:
        for source, held in sources:
            list(source.members())
            before = held()
            source.after_fork()
            assert held() is not before and held().fileno() != before.fileno(), source  # type: ignore[attr-defined]
            with source.open("x/one.txt", "one") as stream:
                assert stream.read() == b"one" * 100
    finally:
        for source, _ in sources:
            source.close()


@pytest.mark.parametrize("fmt", ["folder", "tar"])
def test_a_listing_read_in_ranges_is_byte_identical(
    pegasus_feed: Path, tmp_path: Path, parts_read: list[object], fmt: str
) -> None:
    """A filesystem dump's listing (an artifact with record_entries) is read in ranges of entries like
    a table in ranges of rows: the same outputs as one read, in order."""
    from tests.builders.ios_dump import backup_files, write_dump

    files = backup_files(build_demo_backup(tmp_path / "backup"))
    files += [(f"private/var/mobile/Media/DCIM/100APPLE/IMG_{i:04d}.JPG", b"jpeg") for i in range(1_500)]
    files += [("private/var/db/com.apple.xpc.roleaccountd.staging/accountpfd", b"implant")]  # a published process
    target = tmp_path / ("dump" if fmt == "folder" else "dump.tar")
    evidence = write_dump(files, target, fmt=fmt)
    _same(evidence, pegasus_feed, tmp_path, 2)
    listing = (tmp_path / "sequential" / "artifacts" / "filesystem.jsonl").read_bytes().count(b"\n")
    assert listing > 1_500
    assert listing in parts_read  # the listing was read in ranges (and the demo's Messages too)
    findings = (tmp_path / "jobs2" / "findings.json").read_bytes()
    assert b'"artifact": "filesystem"' in findings and b"roleaccountd.staging/accountpfd" in findings
