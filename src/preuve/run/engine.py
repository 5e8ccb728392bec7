"""`preuve check`: one acquisition, every artifact, every indicator and rule, streamed.

The flow is the one in DESIGN.md: the acquisition is detected and opened as a
DeviceFS; each artifact reads its files and yields typed records; every
record goes once through the indicator matcher and the heuristic rules; sinks
(the output folder, a case store…) receive records and findings as they come,
so memory does not grow with the evidence. One artifact (or one file of it)
failing never stops the others: it is reported, and the run is marked
incomplete.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import shutil
import sqlite3
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import chain, islice
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import IO, Any, cast

from preuve.artifacts.base import Artifact, ArtifactContext, SqliteArtifact, discover_artifacts
from preuve.detect.match import Matcher
from preuve.detect.rules import RuleSet, discover_rules
from preuve.evidence.acquisition import (
    AcquisitionKind,
    Opened,
    kind_named,
)
from preuve.evidence.backup_folders import EarlyListing, list_folders_early
from preuve.evidence.early_tar import EarlyHeaders, scan_headers_early
from preuve.evidence.errors import EvidenceError
from preuve.evidence.fs import DeviceFS
from preuve.evidence.ledger import EvidenceFile
from preuve.evidence.limits import Limits
from preuve.evidence.policy import PARSE_ERRORS
from preuve.evidence.sqlite import open_readonly, quoted, row_cuts
from preuve.indicators.index import IndicatorIndex, load_index
from preuve.indicators.stix import FeedError
from preuve.model import (
    Absence,
    ArtifactStatus,
    Finding,
    FindingGroup,
    GroupMember,
    Record,
    Timestamp,
)
from preuve.run.collector import few_collections
from preuve.run.memory import Gauge
from preuve.run.results import ArtifactReport, CheckOptions, CheckResult, OutputError, SelectionError
from preuve.run.session import open_evidence
from preuve.run.sinks import NullObserver, Rendering, RunObserver, Sink, timestamps_read


class _Whole:
    """A sink with `record` only, as a Rendering: the record itself is what it keeps."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.timestamps_read: int | None = getattr(sink, "timestamps_read", None)

    def render_record(
        self, artifact: Artifact, record: Record, findings: Sequence[Finding], stamps: Sequence[Timestamp]
    ) -> tuple[Record, Sequence[Finding], Sequence[Timestamp]]:
        return record, findings, stamps

    def write_records(
        self, artifact: Artifact, rendered: Sequence[tuple[Record, Sequence[Finding], Sequence[Timestamp]]]
    ) -> None:
        for record, findings, stamps in rendered:
            self.sink.record(artifact, record, findings, stamps)


def _renderings(sinks: Sequence[Sink]) -> list[Rendering]:
    return [
        cast(Rendering, sink) if callable(getattr(sink, "render_record", None)) and callable(getattr(sink, "write_records", None))
        else _Whole(sink)
        for sink in sinks
    ]


# A table is read in parallel row ranges only from this many rows: below, starting a worker costs
# more than it saves.
SPLIT_MIN_ROWS = 4_000
# ...in chunks of about this many rows (at most SPLIT_CHUNKS), taken by whichever process is free
# (the main process reads the other artifacts meanwhile): small enough that the last chunk leaves
# the other process idle only briefly, large enough that opening each costs little.
SPLIT_ROWS_PER_CHUNK = 5_000
SPLIT_CHUNKS = 128
# ...and only when its rows are small on average: a range is read whole into memory before it is handed
# over, and a hostile database's cells can be 64 MB each (read sequentially, a batch at a time, instead).
SPLIT_MAX_ROW_BYTES = 64 * 1024


# A half-open range [low, high) of rowids (of an artifact's `record_table`) or of places in the
# listing (for an artifact with `record_entries`); None: no bound.
Rows = tuple[int | None, int | None]


Render = Callable[[Artifact, Record, list[Finding], tuple[Timestamp, ...]], Any]


def _render_all(renders: Sequence[Render]) -> Callable[[Artifact, Record, list[Finding], tuple[Timestamp, ...]], tuple[Any, ...]]:
    """One function giving a record's findings and what each sink rendered of it, as one flat tuple.
    Written out for up to three sinks (the output folder, the report, the bundle): this runs once per
    record, and a comprehension over the sinks cost a call and a list more each time."""
    if len(renders) == 1:
        (first,) = renders
        return lambda artifact, record, found, stamps: (found, first(artifact, record, found, stamps))
    if len(renders) == 2:
        first, second = renders
        return lambda artifact, record, found, stamps: (
            found, first(artifact, record, found, stamps), second(artifact, record, found, stamps)
        )
    if len(renders) == 3:
        first, second, third = renders
        return lambda artifact, record, found, stamps: (
            found, first(artifact, record, found, stamps), second(artifact, record, found, stamps),
            third(artifact, record, found, stamps),
        )
    return lambda artifact, record, found, stamps: (found, *[r(artifact, record, found, stamps) for r in renders])


class _Reading:
    """The records of one file, or of one range of its artifact's `record_table` or listing, each as one
    tuple: its findings (the matcher's and the rules', in that order), then what each sink rendered of
    it (one flat tuple a record pickles faster than nested ones). `stopped` tells that an error raised
    while reading or rendering ended the records early (a damaged page, a value no output can hold, a
    planted bug): it is reported on the context, and nothing after it is read, as in a sequential
    read."""

    def __init__(
        self, artifact: Artifact, ctx: ArtifactContext, path: str, matcher: Matcher, rules: RuleSet | None,
        sinks: Sequence[Rendering], rows: Rows | None = None,
    ) -> None:
        self.artifact, self.ctx, self.path, self.matcher, self.rules = artifact, ctx, path, matcher, rules
        self.sinks, self.rows = sinks, rows
        self.stopped = False

    def _records(self) -> Iterator[Record]:
        if self.rows is None:
            yield from self.artifact.parse(self.ctx, self.path)
            return
        if self.artifact.record_entries:
            # The artifact reads the listing through a view of the acquisition whose listing is the
            # range (DeviceFS.only_entries); it reads as always and never sees the range.
            fs = self.ctx.fs
            low, high = self.rows
            view = fs.only_entries(low or 0, len(fs.paths()) if high is None else high)
            yield from self.artifact.parse(replace(self.ctx, fs=view), self.path)
            return
        # The range is applied under the artifact's own query: the table is shadowed on this private
        # connection by a view of its rows in the range (evidence.sqlite.only_rows). The artifact reads
        # its table as always and never sees the range.
        artifact = cast(SqliteArtifact, self.artifact)
        with self.ctx.fs.sqlite(self.path) as conn:
            yield from artifact.parse_open(self.ctx, conn, self.path, self.rows)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        """The records one at a time, each read, matched and rendered before the next is read: the
        reference :meth:`batches` is held to (tested)."""
        artifact, name, title, match = self.artifact, self.artifact.name, self.artifact.title, self.matcher.match
        checks_for = (self.rules.checks_by_type() if self.rules is not None else {}).get
        render = _render_all([sink.render_record for sink in self.sinks])
        wanted = timestamps_read(self.sinks)  # None: every timestamp; 1: the first; 0: none
        stamps: tuple[Timestamp, ...] = ()
        try:
            for record in self._records():
                found = match(record, name, title)
                checks = checks_for(type(record))
                if checks is not None:
                    for check in checks:
                        found.extend(check(record, name))
                if found:
                    found = [f.with_record(record) for f in found]
                if wanted is None:
                    stamps = tuple(record.timestamps())
                elif wanted:
                    first = next(record.timestamps(), None)
                    stamps = () if first is None else (first,)
                yield render(artifact, record, found, stamps)
        except _STOPPING as exc:
            self._stop(exc)

    def batches(self, size: int, joins: Sequence[bool], budget: int | None = None) -> Iterator[_Columns]:
        """The records as columns (see _Columns), `size` records at a time (the last batch fewer):
        exactly ``_columns(batch, joins)`` of each batch of :meth:`__iter__` (tested), with the same
        records, errors and `stopped`.

        Each batch is read, then matched, then its timestamps taken, then rendered by each sink in
        turn (`render_records` when the sink has it: a list or a comprehension instead of a call and a
        tuple per record per step). When a step fails at some record, the batch ends before it and
        the failure is the one a record-by-record read meets first: the earliest record's, and for
        one record its first step's. What the artifact warned of while reading the rest of the batch
        stays said: the batch is read ahead of its matching.

        With a `budget` (bytes), batches are no bigger than that as rendered, as far as the batches
        before tell: the first is of one record, and each next one at most four times the last and
        no more records than the budget holds at the last batch's bytes a record (see BATCH_BYTES);
        and a batch is cut when the memory the process takes while it is read grows past the budget
        (see _LOOK_AFTER). The same records in the same order, in batches of other sizes."""
        records = self._records()
        limit = size if budget is None else 1  # this batch's size
        gauge = Gauge() if budget is not None else None
        try:
            yield from self._batches(records, size, joins, budget, limit, gauge)
        finally:
            if gauge is not None:
                gauge.close()

    def _batches(
        self, records: Iterator[Record], size: int, joins: Sequence[bool], budget: int | None, limit: int,
        gauge: Gauge | None,
    ) -> Iterator[_Columns]:
        artifact, name, title, match = self.artifact, self.artifact.name, self.artifact.title, self.matcher.match
        match_many = self.matcher.match_many
        checks_for = (self.rules.checks_by_type() if self.rules is not None else {}).get
        wanted = timestamps_read(self.sinks)
        renders = [
            getattr(sink, "render_records", None) or _one_by_one(sink.render_record) for sink in self.sinks
        ]
        singles = [sink.render_record for sink in self.sinks]
        # Memory a batch may take as it is read (the budget: what it will hold as rendered is about as
        # much again; twice the budget, as before, let three records of 30 MB in where two now come).
        threshold = budget if budget is not None else 0
        look = gauge if gauge is not None and gauge.measures else None
        clock = _CLOCK
        while True:
            batch: list[Record] = []
            append = batch.append
            failure: BaseException | None = None
            more = False  # the batch was cut (at its size, or by memory): records may follow
            try:
                if look is None or limit == 1:
                    for record in islice(records, limit):
                        append(record)
                else:
                    # A batch whose records turn big is cut when memory grows (the sizes adapt a batch
                    # late): looked at once _LOOK_AFTER has passed since the last look (or _LOOK_SHARE
                    # times what that look took, when longer, up to _LOOK_MOST), whatever the count (a
                    # batch of big records is read slowly), and never between two records otherwise
                    # (the clock costs tens of nanoseconds).
                    look.mark()
                    due = clock() + _LOOK_AFTER
                    for record in islice(records, limit):
                        append(record)
                        now = clock()
                        if now >= due:
                            grown = look.grown()
                            if grown is not None and grown > threshold:
                                more = True
                                break
                            after = clock()
                            due = after + min(max(_LOOK_AFTER, _LOOK_SHARE * (after - now)), _LOOK_MOST)
                if len(batch) == limit:
                    more = True
            except _STOPPING as exc:
                failure = exc
            cut = len(batch)
            try:
                found = match_many(batch, name, title)
            except _STOPPING:
                # Which record failed, and how: matched again one by one (matching changes nothing
                # but caches).
                found = []
                try:
                    for record in batch:
                        found.append(match(record, name, title))
                except _STOPPING as exc:
                    cut, failure = len(found), exc
            place = 0
            try:
                # A batch of records no rule checks and no indicator matched (most of a phone's file
                # list, its Safari visits) has nothing done to it here: it is not walked record by record.
                if any(islice(found, cut)) or any(checks_for(kind) is not None for kind in set(map(type, batch[:cut]))):
                    for place, record in enumerate(batch[:cut]):
                        hits = found[place]
                        checks = checks_for(type(record))
                        if checks is not None:
                            for check in checks:
                                hits.extend(check(record, name))
                        if hits:
                            found[place] = [f.with_record(record) for f in hits]
            except _STOPPING as exc:
                cut, failure = place, exc
            stamps: list[tuple[Timestamp, ...]] = []
            try:
                if wanted is None:
                    for record in batch[:cut]:
                        stamps.append(tuple(record.timestamps()))
                elif wanted:
                    for record in batch[:cut]:
                        first = next(record.timestamps(), None)
                        stamps.append(() if first is None else (first,))
                else:
                    stamps = [()] * cut
            except _STOPPING as exc:
                cut, failure = len(stamps), exc
            values: list[Any] = []
            for render, single in zip(renders, singles, strict=True):
                try:
                    values.append(render(artifact, batch[:cut], found[:cut], stamps[:cut]))
                except _STOPPING:
                    # Which record failed, and how: rendered again one by one (rendering changes
                    # nothing but caches).
                    done: list[Any] = []
                    try:
                        for record, hits, when in zip(batch[:cut], found[:cut], stamps[:cut], strict=True):
                            done.append(single(artifact, record, hits, when))
                    except _STOPPING as exc:
                        cut, failure = len(done), exc
                    values.append(done)
            columns = _columns_of(cut, found, values, joins) if cut else None
            if budget is not None and more:
                limit = _next_limit(min(limit, cut), size, budget, _rendered_bytes(values, cut), cut)
            del batch, found, values, stamps  # (what the batch held is let go of before the next is read)
            if columns is not None:
                yield columns
                del columns
            if failure is not None:
                self._stop(failure)
                return
            if not more:
                return

    def _stop(self, exc: BaseException) -> None:
        """Report what ended the records early (see _STOPPING), and mark the reading stopped."""
        ctx, path = self.ctx, self.path
        if isinstance(exc, EvidenceError):
            ctx.error(exc.path, exc.reason)
        elif isinstance(exc, OSError):
            from preuve.messages import os_error_text

            ctx.error(path, os_error_text(exc))
        else:
            # (a member of a damaged archive read to its cut end raises the archive module's own errors;
            # csv's and struct's are named `Error` and `error`, which say nothing without their module)
            kind = type(exc).__name__
            if kind in ("Error", "error"):
                kind = f"{type(exc).__module__.lstrip('_')} error"
            ctx.error(path, f"{kind}: {exc}")
        self.stopped = True


# What ends an artifact's records early, reported on its context (see _Reading): the evidence's own
# errors, the system's, and what a damaged or hostile file makes a parser or a sink raise.
_STOPPING = (
    EvidenceError, OSError, sqlite3.Error, ValueError, TypeError, KeyError, IndexError, OverflowError,
    RecursionError, MemoryError, UnicodeError, EOFError, *PARSE_ERRORS,
)


def _one_by_one(render: Render) -> Callable[[Artifact, list[Record], list[list[Finding]], list[tuple[Timestamp, ...]]], list[Any]]:
    """A sink's `render_records` from its `render_record`."""
    return lambda artifact, records, found, stamps: [
        render(artifact, record, hits, when) for record, hits, when in zip(records, found, stamps, strict=True)
    ]


# Records reach the sinks in batches of this many: one call per sink and batch instead of one per
# record (what a sink does with a record is often a few bytes appended), few enough to stay small.
DELIVERY_BATCH = 500
# What a worker leaves for the main process is batched by this many records (as columns, see
# _Columns): fewer, larger objects to pickle and unpickle than one per record, and few enough that a
# batch's records stay in the processor's cache from one step to the next (read, matched, rendered:
# a phone's file records are about a kilobyte each). Batches of 4,096 cost 5 % more of a phone's
# run (CPU, the spread 200k phone) and 4 % more of a messages backup's than 512; 256 and 1,024 cost
# 1 to 3 % more (benchmarks/README.md, the twenty-third session).
SPILL_BATCH = 512


# What the batches of records an artifact reads may hold, as rendered (see _Reading.batches): records
# are small (a file list's row, a message: under a kilobyte), a batch of thousands a few megabytes; a
# hostile database's cells can be 64 MB each, and thousands of them held at once would make memory
# grow with the evidence. Batches start at one record and grow fourfold while records stay small.
BATCH_BYTES = 32 * 1024**2


# Seconds of reading between two looks at memory within a batch (run/memory.py). Memory a process
# takes is memory it writes, at a few gigabytes a second at most (on the machines of
# benchmarks/README.md, 1.5 GB/s to fresh pages): a look every 2 ms sees a batch at most some tens of
# megabytes past the point where it should have been cut, however big its records. A look every 32
# records, as before, let 32 records of 30 MB each in between (2.6 GB on a backup of such messages).
# Normal records (a few microseconds each) are looked at once per 2 ms read, fewer looks than every 32.
_LOOK_AFTER = 0.002
# ...or after this many times what the last look took, when that is longer: a look costs what malloc's
# free lists make it (mallinfo2 walks them), a few microseconds in a fresh process but 90 to 115 µs in
# one that holds a phone's listing and has freed the lines of thousands of records (measured while the
# Manifest artifact read 230,000 rows: 1,100 looks, 4 % of its reading). Looks then take at most a
# hundredth of the reading, and a look every 10 ms still sees a batch some tens of megabytes past.
_LOOK_SHARE = 100
# ...but never more than this apart, however long a look takes (a heap made of many freed chunks on
# purpose would otherwise space the looks out while big records are read): 30 MB at 1.5 GB/s.
_LOOK_MOST = 0.02
_CLOCK = time.monotonic  # (a name of its own: tests give the engine a clock of theirs)


def _rendered_bytes(values: list[list[Any]], count: int) -> int | None:
    """The bytes of the first `count` records of a batch as the first sink rendering them as bytes
    rendered them (None when none does: nothing to measure)."""
    for column in values:
        if not column:
            continue
        first = column[0]
        if type(first) is bytes:
            return sum(map(len, column[:count]))
        if type(first) is tuple and first and type(first[0]) is bytes:  # (a record's line, with its timeline rows)
            return sum(
                len(value[0]) if type(value) is tuple and value and type(value[0]) is bytes
                else len(value) if type(value) is bytes else 0
                for value in column[:count]
            )
    return None


def _next_limit(limit: int, size: int, budget: int, rendered: int | None, count: int) -> int:
    """The next batch's size after one of `limit` records (`count` rendered, `rendered` bytes)."""
    if rendered is None or count == 0:
        return min(size, limit * 4)
    per_record = max(1, rendered // count)
    return max(1, min(size, limit * 4, budget // per_record))


def _batches(rendered: Iterable[tuple[Any, ...]], size: int = DELIVERY_BATCH) -> Iterator[Sequence[tuple[Any, ...]]]:
    if isinstance(rendered, list):
        for start in range(0, len(rendered), size):
            yield rendered[start : start + size]
        return
    iterator = iter(rendered)
    while batch := list(islice(iterator, size)):
        yield batch


@dataclass(slots=True)
class _Columns:
    """A batch of rendered records as columns, the form in which a worker hands records over: the
    findings of the records that have any (by place in the batch), and per sink what it rendered of
    each record, as a list, or, for a sink that takes them joined (`write_joined`) when every one is
    bytes, as one bytes object (the output folder's JSON lines without a timeline).

    Handing records over row by row cost a pickled tuple, a list of findings and a bytes object per
    record, twice (pickled in the worker, unpickled in the main process): on a phone's half a
    million records, about half a second of CPU that bought nothing. A batch of columns is a few
    objects. _deliver gives the sinks exactly what the rows would have given them, in order."""

    count: int
    findings: list[tuple[int, list[Finding]]]
    values: list[Any]  # per sink: list of rendered values, or bytes (joined)


def _columns(batch: Sequence[tuple[Any, ...]], joins: Sequence[bool]) -> _Columns:
    """A batch of rendered records (see _Reading) as columns; `joins`: per sink, whether it takes bytes joined."""
    if not batch:
        return _Columns(0, [], [[] for _ in joins])
    columns = list(zip(*batch, strict=True))
    return _columns_of(len(batch), list(columns[0]), [list(column) for column in columns[1:]], joins)


def _columns_of(count: int, found: list[list[Finding]], values: list[list[Any]], joins: Sequence[bool]) -> _Columns:
    """The first `count` records of a batch as columns, from their findings and what each sink rendered
    of them (a list per sink, which may go on past `count`)."""
    if len(found) > count:
        found = found[:count]
    out: list[Any] = []
    for joined, column in zip(joins, values, strict=True):
        if len(column) > count:
            column = column[:count]
        if joined:
            try:
                out.append(b"".join(column))
                continue
            except TypeError:  # some value is not bytes (a timeline row with it, say)
                pass
        out.append(column)
    return _Columns(count, [(place, hits) for place, hits in enumerate(found) if hits], out)


def _joins(sinks: Sequence[Rendering]) -> list[bool]:
    return [callable(getattr(sink, "write_joined", None)) for sink in sinks]


def _deliver(
    artifact: Artifact, batches: Iterable[Sequence[tuple[Any, ...]] | _Columns], sinks: Sequence[Rendering],
    findings: list[Finding], progress: Callable[[int], None] | None,
) -> int:
    """Records, rendered, to every sink in order (the one way records reach the sinks, read here or in a
    worker); their findings are kept in `findings`. Returns how many records.

    Each sink receives the records in order, a batch at a time (`Rendering.write_records`); the sinks
    are independent of one another, so one sink may have a batch before another does."""
    writes = [sink.write_records for sink in sinks]
    joined = [getattr(sink, "write_joined", None) for sink in sinks]

    def one(batch: Sequence[tuple[Any, ...]] | _Columns) -> int:
        # (A function of its own: what it held of the batch is let go of before the next is read.)
        if isinstance(batch, _Columns):
            for _, hits in batch.findings:
                findings.extend(hits)
            for write, write_joined, value in zip(writes, joined, batch.values, strict=True):
                if type(value) is bytes:
                    cast(Callable[[Artifact, bytes], None], write_joined)(artifact, value)
                else:
                    write(artifact, value)
            return batch.count
        columns = list(zip(*batch, strict=True))
        for found in columns[0]:
            if found:
                findings.extend(found)
        for write, values in zip(writes, columns[1:], strict=True):
            write(artifact, values)
        return len(batch)

    count = 0
    try:
        for batch in batches:
            done = one(batch)
            del batch  # (before the next batch is read: a batch of big records is not held twice)
            count += done
            if progress is not None:
                progress(done)
    except OSError as exc:  # the output, not the evidence (which _Reading reports): the run cannot go on
        where = f"{exc.filename}: " if exc.filename else ""
        raise OutputError(f"the output could not be written ({where}{exc.strerror or exc}): the run stopped") from exc
    return count


@dataclass(slots=True)
class _PartResult:
    """One row range read in a worker, shipped back whole to the main process, which writes its records
    to the sinks in order.

    What is shipped is each record's findings and what each sink rendered of it in the worker (for the
    output folder, the record's JSON line: bytes already serialised). Shipping the records themselves
    was measured first: unpickling a record and writing it through the sinks cost the main process
    about 10 µs of the 14 µs a record costs a sequential read (Messages, 100k backup), so two processes
    were barely faster than one. Rendered values unpickle in about a microsecond and are written as
    they are; matching and the rules run in the worker too, the heaviest steps after parsing.
    """

    rendered: list[_Columns]  # the records, rendered (see _Columns)...
    # ...and, when those held more than PART_BYTES, the batches after them, left in this file (pickled
    # batches, in order, as a worker leaves a whole artifact's records): a range of a database whose
    # rows average under SPLIT_MAX_ROW_BYTES can still hold a few rows of 64 MB.
    spilled: Path | None
    errors: list[str]
    warnings: list[str]
    stopped: bool
    # The file's ledger entry as the part's process hashed it: the main process takes it rather than
    # hashing the same database again (a split database is a big one).
    evidence: EvidenceFile | None


# What a row range read ahead of its turn keeps in memory, as rendered (see _PartResult): its batches
# beyond that wait in a file.
PART_BYTES = BATCH_BYTES


def _read_part(
    artifact: Artifact, fs: DeviceFS, limits: Limits, matcher: Matcher, rules: RuleSet | None,
    sinks: Sequence[Rendering], path: str, rows: Rows, spill: Path,
) -> _PartResult:
    """A row range read and rendered, its batches held up to PART_BYTES and the rest written to `spill`
    (OSError when that cannot be written)."""
    ctx = ArtifactContext(fs=fs, limits=limits)
    reading = _Reading(artifact, ctx, path, matcher, rules, sinks, rows)
    joins = _joins(sinks)
    rendered: list[_Columns] = []
    held = 0
    file: IO[bytes] | None = None
    try:
        for columns in reading.batches(SPILL_BATCH, joins, BATCH_BYTES):
            if file is None:
                held += _held_bytes(columns)
                if held <= PART_BYTES:
                    rendered.append(columns)
                    continue
                file = open(spill, "wb")  # noqa: SIM115 - closed below, the batches written one by one
            pickle.dump(columns, file, protocol=pickle.HIGHEST_PROTOCOL)
            del columns  # (let go of before the next batch is read)
    finally:
        if file is not None:
            file.close()
    return _PartResult(
        rendered, spill if file is not None else None, list(ctx.errors), list(ctx.warnings), reading.stopped,
        fs.ledger.get(path),
    )


def _held_bytes(columns: _Columns) -> int:
    """The bytes a batch holds as rendered, as far as its bytes tell: each sink's joined bytes, and the
    values of each sink that renders bytes (a record's line, with its timeline rows)."""
    total = 0
    for value in columns.values:
        if type(value) is bytes:
            total += len(value)
        else:
            total += _rendered_bytes([value], columns.count) or 0
    return total


def _bounds(artifact: SqliteArtifact, fs: DeviceFS, path: str, limits: Limits) -> list[int] | None:
    """Where to cut a database in chunks, or None when it is read sequentially: too small, or
    not a plain file on disk that every chunk can open in place (an archive member or a database
    with a journal would be copied once per chunk), in a damaged acquisition, or anything odd at all.

    This runs before any artifact and must leave the acquisition as it found it (what it has
    listed, hashed or looked at more closely): it reads the file on disk directly, read-only.
    """
    table = artifact.record_table
    if table is None or fs.damage:
        # (a damaged acquisition's databases are read whole: a read around damage tells each stretch
        # lost as one read sees it, a chunk would tell it cut at the chunk's bounds)
        return None
    try:
        if any(fs.is_file(path + suffix) for suffix in ("-wal", "-journal", "-shm")):
            return None
        local = fs._local_file(path)  # noqa: SLF001 - the question DeviceFS asks itself
        if local is None or not stat.S_ISREG(os.lstat(local).st_mode):
            return None
        with open_readonly(local, {}, limits, fs.workdir) as conn:
            cuts = row_cuts(conn, table, SPLIT_CHUNKS, SPLIT_MIN_ROWS, SPLIT_ROWS_PER_CHUNK)
            if cuts is not None:
                rows = conn.execute(f"SELECT count(*) FROM main.{quoted(table)}").fetchone()[0]  # noqa: S608
                if not isinstance(rows, int) or os.lstat(local).st_size > SPLIT_MAX_ROW_BYTES * max(rows, 1):
                    return None
            return cuts
    except Exception:  # noqa: BLE001 - the sequential read reports whatever is wrong
        return None


def _entry_bounds(fs: DeviceFS) -> list[int] | None:
    """Where to cut the acquisition's listing in chunks, for an artifact with `record_entries` (as
    _bounds cuts a table), or None when it is too short to pay."""
    count = len(fs.paths())
    if count < SPLIT_MIN_ROWS:
        return None
    parts = max(2, min(SPLIT_CHUNKS, count // SPLIT_ROWS_PER_CHUNK))
    return [count * part // parts for part in range(1, parts)]


def _ranges(bounds: list[int]) -> list[Rows]:
    edges: list[int | None] = [None, *bounds, None]
    return list(zip(edges[:-1], edges[1:], strict=True))


# Who holds a chunk of a plan or an artifact, in arrays shared by every process: nobody yet, the main
# process, or worker k (_FIRST_WORKER + k).
_FREE, _MAIN, _FIRST_WORKER = 0, 1, 2

# Workers read whole artifacts beside the main process only on an acquisition this big (listed paths,
# or bytes of the files the artifacts read): below, starting them costs more than it saves.
WORKERS_MIN_PATHS = 20_000
WORKERS_MIN_BYTES = 64 * 1024 * 1024


def _take(takers: Any, lock: Any, who: int) -> int | None:
    """The first chunk nobody has taken yet, now `who`'s."""
    with lock:
        for chunk in range(len(takers)):
            if takers[chunk] == _FREE:
                takers[chunk] = who
                return chunk
    return None


@dataclass(slots=True)
class _Plan:
    """One database that may be read in chunks, by whichever process is free first."""

    artifact: Artifact  # a SqliteArtifact with a record_table, or an artifact with record_entries
    path: str
    ranges: list[Rows]  # one per chunk
    takers: Any  # a shared array: who took each chunk


@dataclass(slots=True)
class _ArtifactRead:
    """One artifact read whole in a worker: what the main process needs to report it as if it had read it
    itself. Its records, rendered, wait in the file `records` (pickled batches, in order)."""

    failed: str | None  # the error that stopped it before any file (locating them failed)
    files: list[str]
    absent: list[str]  # listed by the acquisition's manifest, bytes absent
    errors: list[str]
    warnings: list[str]
    evidence: list[EvidenceFile]  # the ledger entries of the files it hashed
    seconds: float
    records: Path | None


def _spilled(path: Path) -> Iterator[_Columns]:
    """The batches of records a worker left in `path`, in order (the file is removed)."""
    try:
        with open(path, "rb") as file:
            while True:
                # A batch is hundreds of records: the collector would otherwise walk everything the
                # main process holds again and again while they are unpickled.
                gc.disable()
                try:
                    batch = pickle.load(file)
                except EOFError:
                    return
                finally:
                    gc.enable()
                yield cast(_Columns, batch)
    finally:
        path.unlink(missing_ok=True)


class _Workers:
    """Worker processes, forked before the artifacts run, that read beside the main process.

    The main process runs the artifacts in order. Each worker takes whole artifacts from the other
    end, one after another, until it meets an artifact the main process has begun; then it reads
    chunks of the big databases (`_Plan`), which the main process reads too when it comes to them.
    Whatever a worker reads waits in a private folder, rendered, until the main process comes to it
    and hands it to the sinks in order, with its warnings, errors and hashes, exactly as if it had
    read it itself. The sinks never know: they receive records in the same order, in the main
    process, as in a sequential read. A worker that fails or dies only leaves its part to the main
    process."""

    def __init__(
        self, artifacts: Sequence[Artifact], plans: list[_Plan], jobs: int, fs: DeviceFS, limits: Limits,
        matcher: Matcher, rules: RuleSet | None, sinks: Sequence[Rendering],
    ) -> None:
        self.artifacts, self.plans = artifacts, plans
        self.planned = {id(plan.artifact) for plan in plans}  # read in chunks, never whole by a worker
        self.fs, self.limits, self.matcher, self.rules, self.sinks = fs, limits, matcher, rules, sinks
        context = multiprocessing.get_context("fork")
        self.lock = context.Lock()
        self.claims = context.RawArray("i", len(artifacts))  # who reads each artifact
        self.workers: list[tuple[BaseProcess, Connection]] = []
        self.alive: list[bool] = []
        # What the workers sent: chunks by (plan, chunk), artifacts by their place in the run; each a
        # file in `folder`, or None when the worker could not read it.
        self.chunks: dict[tuple[int, int], _PartResult | Path | None] = {}
        self.reads: dict[int, _ArtifactRead | Path | None] = {}
        # Where workers leave what they read until the main process comes to it: a pipe would hold a
        # worker up until then, and keeping it all in memory would make memory grow with the evidence.
        self.folder = Path(tempfile.mkdtemp(prefix="chunks-", dir=fs.workdir))
        # A forked worker flushes its copy of these when it ends: nothing pending may be written twice.
        # (It never flushes the sinks' files: it ends with os._exit.)
        sys.stdout.flush()
        sys.stderr.flush()
        # The collectors never walk what the main process had built (the index, the modules): in a
        # worker, walking it would copy every page of it; in the main process, thousands of records
        # come in with each chunk and would have it walked again and again. Unfrozen by close().
        gc.freeze()
        try:
            for number in range(jobs - 1):
                receive, send = context.Pipe(duplex=False)
                worker = context.Process(target=self._work, args=(send, _FIRST_WORKER + number), daemon=True)
                try:
                    worker.start()
                finally:
                    send.close()
                self.workers.append((worker, receive))
                self.alive.append(True)
        except BaseException:
            self.close()
            raise

    # -- in a worker --------------------------------------------------------------------------
    def _work(self, send: Connection, me: int) -> None:
        """Whole artifacts from the end, each sent back as ("artifact", place, file) (the read itself
        when it read no file: most artifacts find nothing to read); then chunks of each
        plan in turn, each sent back as ("chunk", plan, chunk, (file, ledger entry)); None for a file
        when this worker could not read it."""
        try:
            # The acquisition's open files are shared with the main process: a file position moved
            # here would move there too.
            self.fs.after_fork()
            for place in reversed(range(len(self.artifacts))):
                with self.lock:
                    owner = self.claims[place]
                    mine = owner == _FREE and id(self.artifacts[place]) not in self.planned
                    if mine:
                        self.claims[place] = me
                if owner == _MAIN:
                    break  # the main process has come this far: every artifact before is its own
                if mine:
                    send.send(("artifact", place, self._spill_artifact(place)))
            for number, plan in enumerate(self.plans):
                while (chunk := _take(plan.takers, self.lock, me)) is not None:
                    send.send(("chunk", number, chunk, self._spill_chunk(number, chunk)))
        finally:
            send.close()

    def _spill_artifact(self, place: int) -> _ArtifactRead | Path | None:
        try:
            read = self._read_artifact(place)
            if read is None or (read.records is None and len(read.warnings) + len(read.errors) < 10):
                return read  # nothing read (most artifacts find nothing to read): sent as it is
            path = self.folder / f"artifact-{place}"
            with open(path, "wb") as file:
                pickle.dump(read, file, protocol=pickle.HIGHEST_PROTOCOL)
            return path
        except BaseException:  # noqa: BLE001 - the main process then reads this artifact itself
            return None

    def _read_artifact(self, place: int) -> _ArtifactRead | None:
        """One artifact, whole, as _run_artifact reads it (None when the main process must read it:
        it warned more than the context keeps, and the main process shows every warning)."""
        artifact, fs = self.artifacts[place], self.fs
        started = time.perf_counter()
        mark = fs.ledger.mark()
        try:
            files = artifact.locate(fs)
        except EvidenceError as exc:
            return _ArtifactRead(str(exc), [], [], [], [], fs.ledger.since(mark), 0.0, None)
        absent = [path for path in files if fs.listed_but_absent(path)]
        files = [path for path in files if path not in absent]
        ctx = ArtifactContext(fs=fs, limits=self.limits)
        records = None
        if files:
            records = self.folder / f"artifact-{place}.records"
            joins = _joins(self.sinks)
            with open(records, "wb") as file:
                for path in files:
                    reading = _Reading(artifact, ctx, path, self.matcher, self.rules, self.sinks)
                    for columns in reading.batches(SPILL_BATCH, joins, BATCH_BYTES):
                        pickle.dump(columns, file, protocol=pickle.HIGHEST_PROTOCOL)
            if len(ctx.warnings) >= ArtifactContext.MAX_WARNINGS:
                return None
        return _ArtifactRead(
            None, files, absent, list(ctx.errors), list(ctx.warnings), fs.ledger.since(mark),
            time.perf_counter() - started, records,
        )

    def _read(self, number: int, chunk: int) -> _PartResult:
        plan = self.plans[number]
        return _read_part(
            plan.artifact, self.fs, self.limits, self.matcher, self.rules, self.sinks, plan.path, plan.ranges[chunk],
            self.folder / f"{number}-{chunk}.rest",
        )

    def _spill_chunk(self, number: int, chunk: int) -> tuple[Path, EvidenceFile | None] | None:
        try:
            # The chunk's rendered records are all kept until it is sent: the collector would walk them
            # over and over, for no cycle (records hold none).
            gc.disable()
            try:
                result = self._read(number, chunk)
            finally:
                gc.enable()
            path = self.folder / f"{number}-{chunk}"
            with open(path, "wb") as file:
                pickle.dump(result, file, protocol=pickle.HIGHEST_PROTOCOL)
            return path, result.evidence
        except BaseException:  # noqa: BLE001 - the main process then reads this chunk itself
            return None

    # -- in the main process ------------------------------------------------------------------
    def _pump(self, block: bool) -> None:
        """File what the workers have sent (waiting for something when `block`: a message, or a worker's end)."""
        waiting = {receive: index for index, (_, receive) in enumerate(self.workers) if self.alive[index]}
        if not waiting:
            return
        for receive in wait(list(waiting), timeout=None if block else 0):
            index = waiting[cast(Connection, receive)]
            try:
                message = cast(Connection, receive).recv()
            except (EOFError, OSError):
                self.alive[index] = False
                continue
            if message[0] == "artifact":
                self.reads[message[1]] = message[2]
                continue
            _, number, chunk, sent = message
            if sent is None:
                self.chunks[(number, chunk)] = None
            else:
                self.chunks[(number, chunk)], evidence = sent
                if evidence is not None:
                    self.fs.ledger.add(evidence)

    def _working(self, who: int) -> bool:
        """Whether a worker is still alive (so what it took will come)."""
        return who >= _FIRST_WORKER and self.alive[who - _FIRST_WORKER]

    def read_by_worker(self, place: int) -> _ArtifactRead | None:
        """The main process comes to the artifact at `place`: what a worker read of it (waiting for it
        when a worker is reading it), or None when the main process reads it itself (now its own)."""
        self._pump(block=False)
        with self.lock:
            owner = self.claims[place]
            if owner == _FREE:
                self.claims[place] = _MAIN
        if owner in (_FREE, _MAIN):
            return None
        while place not in self.reads:
            if not self._working(owner):
                return None
            self._pump(block=True)
        path = self.reads.pop(place)
        if not isinstance(path, Path):
            return path
        try:
            with open(path, "rb") as file:
                return cast(_ArtifactRead, pickle.load(file))
        except (OSError, pickle.UnpicklingError, EOFError):
            return None  # read here instead
        finally:
            path.unlink(missing_ok=True)

    def plan_for(self, artifact: Artifact, path: str) -> int | None:
        for number, plan in enumerate(self.plans):
            if plan.artifact is artifact and plan.path == path:
                return number
        return None

    def run(
        self, number: int, ctx: ArtifactContext, findings: list[Finding], progress: Callable[[int], None],
    ) -> int | None:
        """Read plan `number` in chunks and give their records to the sinks in order: how many, or None
        when the file must be read sequentially instead (nothing was then given to the sinks).

        A chunk reports the warnings and errors of its rows, and those of the whole file (an odd
        schema, say), which every chunk then reports. So the first chunk decides: when it reports
        anything, the file is read sequentially, and each problem is reported once; when it
        reports nothing, nothing is wrong with the file as a whole, and each later chunk's
        warnings and errors are its rows' own, passed on in order. A chunk whose read stopped on
        an error ends the file there, as a sequential read stops. A chunk that a worker could not
        read, or never sent (it died), is read by the main process straight into the sinks, as is
        the next chunk due when the main process takes it itself.
        """
        plan = self.plans[number]
        total = len(plan.ranges)
        due = 0  # the next chunk to give to the sinks
        records = 0
        try:
            while due < total:
                self._pump(block=False)
                if (number, due) in self.chunks:
                    result = self._load(self.chunks.pop((number, due)))
                    if result is not None and len(result.warnings) < ArtifactContext.MAX_WARNINGS:
                        if due == 0 and (result.errors or result.warnings):
                            return None
                        for message in result.warnings:
                            ctx.warn(message)
                        # (a damaged database read around its damage: every chunk that met the damage tells
                        # the whole file's losses, once, as a sequential read tells them)
                        ctx.errors.extend(error for error in result.errors if error not in ctx.errors)
                        batches: Iterable[_Columns] = result.rendered
                        if result.spilled is not None:
                            batches = chain(result.rendered, _spilled(result.spilled))
                        records += _deliver(plan.artifact, batches, self.sinks, findings, progress)
                        due += 1
                        if result.stopped:
                            break
                        continue
                    # No usable part (or one whose warnings were not all kept): read it here.
                elif (chunk := _take(plan.takers, self.lock, _MAIN)) is not None:
                    if chunk != due or due == 0:
                        try:
                            self.chunks[(number, chunk)] = self._read(number, chunk)
                        except OSError:  # (its batches could not be left in the folder: read it when due)
                            self.chunks[(number, chunk)] = None
                        continue
                elif self._working(plan.takers[due]):
                    self._pump(block=True)
                    continue
                # Chunk `due` is read here, straight into the sinks (after a clean first chunk).
                if due == 0:
                    return None
                reading = _Reading(plan.artifact, ctx, plan.path, self.matcher, self.rules, self.sinks, plan.ranges[due])
                records += _deliver(
                    plan.artifact, reading.batches(DELIVERY_BATCH, _joins(self.sinks), BATCH_BYTES), self.sinks, findings,
                progress,
                )
                due += 1
                if reading.stopped:
                    break
            return records
        finally:
            with self.lock:  # no process takes another chunk of this plan
                for chunk in range(total):
                    if plan.takers[chunk] == _FREE:
                        plan.takers[chunk] = _MAIN

    @staticmethod
    def _load(result: _PartResult | Path | None) -> _PartResult | None:
        """A chunk's result, loaded from where its worker left it."""
        if not isinstance(result, Path):
            return result
        # A chunk is thousands of records: the collector would otherwise run on and on while they are
        # unpickled, walking everything the main process holds each time.
        gc.disable()
        try:
            with open(result, "rb") as file:
                return cast(_PartResult, pickle.load(file))
        except (OSError, pickle.UnpicklingError, EOFError):
            return None  # read here instead
        finally:
            gc.enable()
            result.unlink(missing_ok=True)

    def close(self) -> None:
        for worker, receive in self.workers:
            receive.close()
            if worker.is_alive():
                worker.kill()
            worker.join()
        shutil.rmtree(self.folder, ignore_errors=True)
        gc.unfreeze()


def _worth_workers(artifacts: Sequence[Artifact], fs: DeviceFS) -> bool:
    """Whether reading whole artifacts in workers may pay: a big acquisition (many files listed, or many
    bytes for the artifacts to read). This looks at the listing only, and leaves the acquisition as
    it found it."""
    if len(fs.paths()) >= WORKERS_MIN_PATHS:
        return True
    total = 0
    for path in _every_located(artifacts, fs):
        total += fs.listed_size(path) or 0
        if total >= WORKERS_MIN_BYTES:
            return True
    return False


def _every_located(artifacts: Sequence[Artifact], fs: DeviceFS) -> Iterator[str]:
    """The files each artifact locates, in turn (an artifact that cannot locate its files is left to
    _run_artifact, which reports it). This looks at the listing only."""
    for artifact in artifacts:
        try:
            yield from artifact.locate(fs)
        except EvidenceError:
            continue


def _workers(
    artifacts: Sequence[Artifact], opened: Opened, limits: Limits, matcher: Matcher, rules: RuleSet | None,
    sinks: Sequence[Rendering], jobs: int,
) -> _Workers | None:
    """Workers for this run, or None when everything is read in the main process: one job, too little
    to read, or a process that may not start others."""
    # A daemonic process (a fleet or dask worker) may not start processes: it reads sequentially.
    if jobs < 2 or multiprocessing.current_process().daemon:
        return None
    fs = opened.fs
    context = multiprocessing.get_context("fork")
    plans: list[_Plan] = []
    for artifact in artifacts:
        rows = isinstance(artifact, SqliteArtifact) and artifact.record_table is not None
        if not rows and not artifact.record_entries:
            continue
        try:
            files = artifact.locate(fs)
        except EvidenceError:
            continue  # _run_artifact reports it
        for path in files:
            bounds = _bounds(cast(SqliteArtifact, artifact), fs, path, limits) if rows else _entry_bounds(fs)
            if bounds:
                ranges = _ranges(bounds)
                plans.append(_Plan(artifact, path, ranges, context.RawArray("i", len(ranges))))
    if not plans and not _worth_workers(artifacts, fs):
        return None
    try:
        return _Workers(artifacts, plans, jobs, fs, limits, matcher, rules, sinks)
    except (OSError, AssertionError, ValueError):  # no worker could be started: read sequentially
        return None


def _files_to_read(artifacts: Sequence[Artifact], fs: DeviceFS) -> list[str]:
    """The files the artifacts will read (what they locate, with a database's journals), for a container
    read only forward to copy in one pass (DeviceFS.prefetch). This looks at the listing only."""
    wanted: dict[str, None] = {}
    for path in _every_located(artifacts, fs):
        wanted[path] = None
        for suffix in ("-wal", "-journal"):
            if fs.is_file(path + suffix):
                wanted[path + suffix] = None
    return list(wanted)


def _located(artifact: Artifact, fs: DeviceFS) -> tuple[str | None, list[str], list[str]]:
    """(why it failed, or None; the files to read; the files listed but absent)."""
    try:
        files = artifact.locate(fs)
    except EvidenceError as exc:
        return str(exc), [], []
    absent = [path for path in files if fs.listed_but_absent(path)]
    return None, [path for path in files if path not in absent], absent


def _run_artifact(
    artifact: Artifact,
    opened: Opened,
    limits: Limits,
    matcher: Matcher,
    rules: RuleSet | None,
    sinks: Sequence[Sink],
    observer: RunObserver,
    findings: list[Finding],
    workers: _Workers | None = None,
    renderings: Sequence[Rendering] | None = None,
    place: int | None = None,
) -> ArtifactReport:
    """One artifact, read here, or by a worker (`place` is its place in the run's order)."""
    fs = opened.fs
    started = time.perf_counter()
    report = ArtifactReport(artifact.name, artifact.title, ArtifactStatus.MISSING)
    read = workers.read_by_worker(place) if workers is not None and place is not None else None
    if read is not None:
        for entry in read.evidence:
            fs.ledger.add(entry)
        failed, files, absent = read.failed, read.files, read.absent
    else:
        failed, files, absent = _located(artifact, fs)
    if failed is not None:
        report.status = ArtifactStatus.FAILED
        report.errors.append(failed)
        return report
    if absent:
        report.absence, report.absent_files = Absence.LISTED_ABSENT, absent
    report.files = files
    observer.artifact_started(artifact, len(files))
    if not files:
        if not absent:
            report.status, report.absence, report.absent_files = _absent_status(artifact, opened)
        observer.artifact_finished(report)
        return report
    for sink in sinks:
        sink.artifact_started(artifact)
    renderings = _renderings(sinks) if renderings is None else renderings
    if read is not None:
        for message in read.warnings:
            observer.warning(message)
        if read.records is not None:
            report.records = _deliver(artifact, _spilled(read.records), renderings, findings, observer.records_parsed)
        errors, warnings, seconds = read.errors, read.warnings, read.seconds
    else:
        ctx = ArtifactContext(fs=fs, limits=limits, _on_warning=observer.warning)
        for path in files:
            number = workers.plan_for(artifact, path) if workers is not None else None
            if workers is not None and number is not None:
                records = workers.run(number, ctx, findings, observer.records_parsed)
                if records is not None:
                    report.records += records
                    continue
            reading = _Reading(artifact, ctx, path, matcher, rules, renderings)
            report.records += _deliver(
                artifact, reading.batches(DELIVERY_BATCH, _joins(renderings), BATCH_BYTES), renderings, findings,
                observer.records_parsed,
            )
        errors, warnings, seconds = ctx.errors, ctx.warnings, time.perf_counter() - started
    report.errors = list(errors)
    report.warnings = list(warnings)
    if errors:
        report.status = ArtifactStatus.FAILED
    elif report.records == 0:
        report.status = ArtifactStatus.EMPTY
    else:
        report.status = ArtifactStatus.OK
    report.seconds = seconds
    for sink in sinks:
        sink.artifact_finished(artifact, report)
    observer.artifact_finished(report)
    return report


def _absent_status(artifact: Artifact, opened: Opened) -> tuple[ArtifactStatus, Absence | None, list[str]]:
    """What an artifact without files means here: a gap when this kind of acquisition can hold it
    (lost, when the acquisition is damaged where its files could have been: DeviceFS.may_have_lost;
    present only as symbolic links that name no file, which are named: DeviceFS.links_not_read),
    nothing to regret when it never does. An artifact that declares no paths reads the acquisition
    itself (its listing): when it finds nothing to read, this kind does not have what it needs."""
    kind: type[AcquisitionKind] | None = kind_named(opened.kind)
    if not artifact.paths or (kind is not None and not any(kind.can_hold(p) for p in artifact.paths)):
        return ArtifactStatus.NOT_COLLECTED, None, []
    links = sorted({path for pattern in artifact.paths for path in opened.fs.links_not_read(pattern)})
    if links:
        return ArtifactStatus.MISSING, Absence.UNFOLLOWED, links
    lost = any(opened.fs.may_have_lost(pattern) for pattern in artifact.paths)
    return ArtifactStatus.MISSING, Absence.LOST if lost else Absence.NOT_LISTED, []


def _mark_partial(reports: Sequence[ArtifactReport], kind: type[AcquisitionKind] | None) -> None:
    """When the acquisition holds none of its kind's essentials (every one of them that ran is absent, as
    not in the acquisition, or never collected by the kind), each one absent is told so as such
    (Absence.PARTIAL): the acquisition holds only part of a phone, and the check is not full. Nothing
    is changed when any essential was found (read, failed, or absent in a way already told), or when
    an essential was left out of the run (--artifact): then nothing is known of it."""
    if kind is None or not kind.essentials:
        return
    by_name = {report.name: report for report in reports}
    essential = [by_name.get(name) for name in kind.essentials]
    if any(report is None for report in essential):
        return
    held = [report for report in essential if report is not None and report.status is not ArtifactStatus.NOT_COLLECTED]
    if not held or any(r.status is not ArtifactStatus.MISSING or r.absence is not Absence.NOT_LISTED for r in held):
        return
    for report in held:
        report.absence = Absence.PARTIAL


def select_artifacts(platform: str, names: Sequence[str]) -> list[Artifact]:
    """The artifacts of `platform` named in `names` (all when empty); SelectionError names the unknown ones
    and lists the valid ones."""
    artifacts = discover_artifacts(platform)
    if not names:
        return artifacts
    known = {a.name for a in artifacts}
    unknown = sorted(set(names) - known)
    if unknown:
        others = {a.name for a in discover_artifacts()} - known
        elsewhere = [n for n in unknown if n in others]
        what = (
            f"not an artifact of {platform} acquisitions" if elsewhere == unknown
            else "no such artifact"
        )
        raise SelectionError(
            f"--artifact {', '.join(unknown)}: {what}; the {platform} artifacts are: {', '.join(sorted(known))} "
            "(`preuve artifacts` lists them with their titles)"
        )
    return [a for a in artifacts if a.name in names]


def check_artifact_names(names: Sequence[str]) -> None:
    """SelectionError unless every name is an artifact of some platform (before opening anything)."""
    if not names:
        return  # (nothing to look up: every platform's artifacts need not be imported for it)
    known = {a.name for a in discover_artifacts()}
    unknown = sorted(set(names) - known)
    if unknown:
        raise SelectionError(
            f"--artifact {', '.join(unknown)}: no such artifact; valid names: {', '.join(sorted(known))} "
            "(`preuve artifacts` lists them with their titles)"
        )


def group_findings(findings: list[Finding], rules: RuleSet | None) -> list[Finding]:
    """Findings of a grouping rule (Finding.group_key set) that share rule, artifact and key become one
    finding: the first of them (by sort order: the one `preuve verify` re-derives), its explanation
    saying how many, and every occurrence in its group. A key seen once stays a plain finding."""
    groups: dict[tuple[str, str, str], list[Finding]] = {}
    out: list[Finding] = []
    for finding in findings:
        if finding.group_key is None or finding.rule is None:
            out.append(finding)
        else:
            groups.setdefault((finding.rule, finding.artifact, finding.group_key), []).append(finding)
    by_name = {rule.name: rule for rule in rules.rules} if rules is not None else {}
    for (name, _, key), members in groups.items():
        if len(members) == 1:
            out.append(members[0])
            continue
        members.sort(key=Finding.sort_key)
        first = members[0]
        rule = by_name.get(name)
        explanation = (
            rule.group_explanation(key, members) if rule is not None
            else f"{len(members)} occurrences; the first: {first.explanation}"
        )
        group = FindingGroup(key, len(members), tuple(
            GroupMember(m.locator, m.explanation, m.observable, m.timestamp, m.record_sha256) for m in members
        ))
        out.append(replace(first, explanation=explanation, group=group))
    return out


def load_indicators(paths: Iterable[Path], warn: Callable[[str], None]) -> IndicatorIndex:
    """The indicators of the feeds given; FeedError names a feed (file or folder) that yields none."""
    given = list(paths)
    index = load_index(given, warn)
    for path in given:
        resolved = path.resolve()
        loaded = 0
        for feed in index.feeds:
            source = Path(feed.path).resolve()
            if source == resolved or resolved in source.parents:
                loaded += feed.indicators
        if loaded == 0:
            what = "folder" if path.is_dir() else "file"
            raise FeedError(
                f"{path}: this indicator {what} yields no indicator (empty, or nothing preuve could read); "
                "check the path, or run without it"
            )
    return index


def run_check(
    evidence: Path,
    options: CheckOptions,
    sinks: Sequence[Sink] = (),
    observer: RunObserver | None = None,
    index: IndicatorIndex | None = None,
    early: EarlyListing | EarlyHeaders | None = None,
    begun: bool = False,
) -> CheckResult:
    """Check one acquisition. Raises PreuveError (AcquisitionError, FeedError) when it cannot start.

    A backup's folders are listed, or a tar's headers read, from here on, beside the feeds loaded and
    the acquisition opened (backup_folders.list_folders_early, early_tar.scan_headers_early), or since
    the caller began (`begun`; `early` what it began, None when there was nothing to begin: the command
    line begins it before it imports the run, and an evidence is not looked at twice for it)."""
    with few_collections():
        if early is None and not begun:
            jobs = options.job_count()
            with list_folders_early(evidence, options.limits, jobs, options.only_artifacts or None) as folders, \
                    scan_headers_early(evidence, options.limits, jobs) as headers:
                return _check(evidence, options, sinks, observer, index, folders if folders is not None else headers)
        return _check(evidence, options, sinks, observer, index, early)


def _check(
    evidence: Path,
    options: CheckOptions,
    sinks: Sequence[Sink],
    observer: RunObserver | None,
    index: IndicatorIndex | None,
    early: EarlyListing | EarlyHeaders | None,
) -> CheckResult:
    observer = observer or NullObserver()
    started = datetime.now(UTC)
    warnings: list[str] = []

    def warn(message: str) -> None:
        warnings.append(message)
        observer.warning(message)

    if index is None:
        index = load_indicators(options.iocs, warn)
    jobs = options.job_count()
    only = options.only_artifacts

    def wants(platform: str) -> tuple[str, ...]:  # (what a damaged acquisition's open looks for by name)
        chosen = [a for a in discover_artifacts(platform) if not only or a.name in only]
        return tuple(pattern for artifact in chosen for pattern in artifact.paths)

    with open_evidence(
        evidence, options.limits, options.secrets, warn, jobs=jobs, artifacts=only or None, early=early,
        wants=wants,
    ) as session:
        opened, ledger = session.opened, session.ledger
        observer.acquisition_opened(opened)
        for sink in sinks:
            sink.begin(opened, index)
        matcher = Matcher(index)
        rules = RuleSet(discover_rules(opened.platform)) if options.heuristics else None
        every = discover_artifacts(opened.platform)
        artifacts = select_artifacts(opened.platform, options.only_artifacts)
        findings: list[Finding] = []
        renderings = _renderings(sinks)
        if opened.fs.wants_prefetch():
            opened.fs.prefetch(_files_to_read(artifacts, opened.fs))
        workers = _workers(artifacts, opened, options.limits, matcher, rules, renderings, jobs)
        try:
            ran = {
                a.name: _run_artifact(
                    a, opened, options.limits, matcher, rules, sinks, observer, findings, workers, renderings, place
                )
                for place, a in enumerate(artifacts)
            }
        finally:
            if workers is not None:
                workers.close()
        reports = list(ran.values())
        _mark_partial(reports, kind_named(opened.kind))
        left_out = [ArtifactReport(a.name, a.title, ArtifactStatus.NOT_SELECTED) for a in every if a.name not in ran]
        findings = group_findings(findings, rules)
        findings.sort(key=Finding.sort_key)
        per_artifact: dict[str, int] = {}
        for finding in findings:
            per_artifact[finding.artifact] = per_artifact.get(finding.artifact, 0) + 1
        for report in reports:
            report.findings = per_artifact.get(report.name, 0)
        unreadable = list(opened.fs.unreadable)
        if unreadable:
            # Archive members that could not be read (a decompression bomb, a damaged stream): the rest
            # was read, and the run says it is incomplete.
            reports.append(ArtifactReport(
                "archive_members", "Archive members", ArtifactStatus.FAILED, errors=unreadable[:200]
            ))
        result = CheckResult(
            evidence_path=evidence,
            acquisition_kind=opened.kind,
            platform=opened.platform,
            findings=findings,
            artifacts=reports,
            feeds=list(index.feeds),
            evidence_files=ledger.files(),
            warnings=warnings,
            options=options,
            started=started,
            finished=datetime.now(UTC),
            indicator_count=len(index),
            acquisition_problems=list(opened.fs.damage),
            left_out=left_out,
        )
        for sink in sinks:
            sink.finish(result)
        return result


