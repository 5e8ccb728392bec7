"""An artifact's records read a batch at a time (engine._Reading.batches: read, then matched, then
timestamped, then rendered by each sink) come out exactly as read one at a time (_Reading.__iter__,
each record read, matched and rendered before the next): the same columns, the same errors, the same
`stopped`, whatever fails where."""

from __future__ import annotations

import csv
import lzma
import struct
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preuve.artifacts.base import ArtifactContext
from preuve.evidence.errors import EvidenceError
from preuve.evidence.limits import Limits
from preuve.model import Finding, Locator, Record, Severity, Timestamp
from preuve.run import engine


@dataclass(kw_only=True)
class _Row(Record):
    record_type: ClassVar[str] = "test:row"
    n: int

    def timestamps(self) -> Iterator[Timestamp]:
        if self.n in _Plan.bad_times:
            raise ValueError(f"no time for {self.n}")
        for step in range(self.n % 3):
            yield Timestamp(datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=self.n + step), f"t{step}")


class _Plan:
    """Where the planted failures are (class attributes: one plan at a time, reset by each example)."""

    bad_times: ClassVar[set[int]] = set()


_FAILURES = st.sampled_from([
    lambda n: EvidenceError("/x.db", f"damaged at {n}"),
    lambda n: ValueError(f"value {n}"),
    lambda n: OSError(5, f"read {n}"),
    lambda n: OverflowError(f"too large {n}"),
    # what a damaged file makes the standard library's readers raise (policy.PARSE_ERRORS)
    lambda n: csv.Error(f"bad row {n}"),
    lambda n: struct.error(f"unpack requires a buffer of {n} bytes"),
    lambda n: zipfile.BadZipFile(f"bad member {n}"),
    lambda n: lzma.LZMAError(f"corrupt input {n}"),
])


class _Artifact:
    name = "rows"
    title = "Rows"

    def __init__(self, count: int, fail_at: int | None, failure: Any) -> None:
        self.count, self.fail_at, self.failure = count, fail_at, failure

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        for n in range(self.count):
            if n == self.fail_at:
                raise self.failure(n)
            if n % 5 == 4:
                ctx.warn(f"row {n} is odd")
            yield _Row(locator=Locator("/x.db", "0" * 64, "t", n), n=n)


class _Matcher:
    def __init__(self, hits: set[int], fail_at: int | None, failure: Any) -> None:
        self.hits, self.fail_at, self.failure = hits, fail_at, failure

    def match(self, record: Record, artifact: str, title: str) -> list[Finding]:
        n = record.locator.rowid or 0
        if n == self.fail_at:
            raise self.failure(n)
        if n in self.hits:
            return [Finding(Severity.HIGH, artifact, f"hit {n}", record.locator)]
        return []

    def match_many(self, records: Sequence[Record], artifact: str, title: str) -> list[list[Finding]]:
        return [self.match(record, artifact, title) for record in records]


class _Rules:
    def __init__(self, fail_at: int | None) -> None:
        self.fail_at = fail_at

    def check(self, record: Record, name: str) -> list[Finding]:
        n = record.locator.rowid or 0
        if n == self.fail_at:
            raise KeyError(n)
        return [Finding(Severity.LOW, name, f"rule {n}", record.locator)] if n % 7 == 0 else []

    def checks_by_type(self) -> dict[type[Record], tuple[Any, ...]]:
        return {_Row: (self.check,)}


class _Sink:
    """Renders (n, findings' explanations, stamps' descriptions); fails at one record."""

    def __init__(self, fail_at: int | None, read: int | None) -> None:
        self.fail_at, self.timestamps_read = fail_at, read

    def render_record(self, artifact: Any, record: Record, found: Sequence[Finding], stamps: Sequence[Timestamp]) -> Any:
        n = record.locator.rowid or 0
        if n == self.fail_at:
            raise TypeError(f"cannot render {n}")
        return (n, [f.explanation for f in found], [s.description for s in stamps])

    def write_records(self, artifact: Any, rendered: Sequence[Any]) -> None:
        raise AssertionError("not written here")


class _BatchSink(_Sink):
    """A sink rendering a batch at once, as bytes (joined when the batch is)."""

    def render_records(self, artifact: Any, records: Sequence[Record], found: Any, stamps: Any) -> list[Any]:
        return [
            str(value).encode() if not value[1] else value
            for value in (self.render_record(artifact, r, f, s) for r, f, s in zip(records, found, stamps, strict=True))
        ]

    def render_record(self, artifact: Any, record: Record, found: Sequence[Finding], stamps: Sequence[Timestamp]) -> Any:
        value = super().render_record(artifact, record, found, stamps)
        return str(value).encode() if not value[1] else value

    def write_joined(self, artifact: Any, data: bytes) -> None:
        raise AssertionError("not written here")


def _read(how: str, size: int, plan: dict[str, Any], budget: int | None = None) -> tuple[list[Any], list[str], list[str], bool]:
    _Plan.bad_times = plan["bad_times"]
    ctx = ArtifactContext(fs=None, limits=Limits())  # type: ignore[arg-type]
    sinks = [_Sink(plan["sink_fail"][0], plan["read"]), _BatchSink(plan["sink_fail"][1], 1)]
    reading = engine._Reading(  # noqa: SLF001
        _Artifact(plan["count"], plan["parse_fail"], plan["failure"]), ctx, "/x.db",  # type: ignore[arg-type]
        _Matcher(plan["hits"], plan["match_fail"], plan["failure"]),  # type: ignore[arg-type]
        _Rules(plan["rule_fail"]) if plan["rules"] else None, sinks,  # type: ignore[arg-type]
    )
    joins = engine._joins(sinks)  # type: ignore[arg-type]  # noqa: SLF001
    if how == "one by one":
        columns = [engine._columns(batch, joins) for batch in engine._batches(reading, size)]  # noqa: SLF001
    else:
        columns = list(reading.batches(size, joins, budget))
    return [(c.count, c.findings, c.values) for c in columns], ctx.errors, ctx.warnings, reading.stopped


_AT = st.one_of(st.none(), st.integers(0, 40))


def _plans(most: int) -> st.SearchStrategy[dict[str, Any]]:
    """What a reading meets (see _read): up to `most` records, and where reading, matching, the rules
    or a sink fail."""
    return st.fixed_dictionaries({
        "count": st.integers(0, most), "parse_fail": _AT, "match_fail": _AT, "rule_fail": _AT,
        "sink_fail": st.tuples(_AT, _AT), "bad_times": st.sets(st.integers(0, 30).filter(lambda n: n % 3 == 1)),
        "hits": st.sets(st.integers(0, 30)), "rules": st.booleans(), "read": st.sampled_from([None, 0, 1]),
        "failure": _FAILURES,
    })


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(1, 9),
    plan=_plans(30),
)
def test_batches_read_what_one_by_one_reads(size: int, plan: dict[str, Any]) -> None:
    batched = _read("batches", size, plan)
    single = _read("one by one", size, plan)
    assert batched[0] == single[0]  # the records, rendered, in order
    assert batched[1] == single[1]  # the error that ended them
    assert batched[3] == single[3]
    # What the artifact warned of while its batch was read ahead is said too (and nothing else).
    assert single[2] == batched[2][: len(single[2])]


def test_a_batch_failing_at_one_record_keeps_those_before_it() -> None:
    plan = {"count": 10, "parse_fail": None, "match_fail": None, "rule_fail": None, "sink_fail": (None, 6),
            "bad_times": set(), "hits": {2}, "rules": False, "read": 1, "failure": ValueError}
    columns, errors, warnings, stopped = _read("batches", 4, plan)
    assert [c[0] for c in columns] == [4, 2]
    assert columns[0][1][0][0] == 2 and columns[0][1][0][1][0].explanation == "hit 2"
    assert columns[1][2][1] == b"(4, [], ['t0'])(5, [], ['t0'])"  # (the first timestamp only)
    assert errors == ["/x.db: TypeError: cannot render 6"]
    assert warnings == ["row 4 is odd"]  # (row 9's came after the batch that failed)
    assert stopped


def test_a_library_error_of_a_damaged_file_ends_the_artifact_in_words() -> None:
    """csv and struct name their exception `Error` and `error`: the module is said with it."""
    said = []
    for failure in (lambda n: csv.Error(f"bad row {n}"), lambda n: struct.error("unpack requires a buffer of 4 bytes"),
                    lambda n: zipfile.BadZipFile(f"bad member {n}")):
        plan = {"count": 10, "parse_fail": 3, "match_fail": None, "rule_fail": None, "sink_fail": (None, None),
                "bad_times": set(), "hits": set(), "rules": False, "read": 1, "failure": failure}
        columns, errors, _warnings, stopped = _read("batches", 4, plan)
        assert [c[0] for c in columns] == [3] and stopped
        said += errors
    assert said == ["/x.db: csv error: bad row 3", "/x.db: struct error: unpack requires a buffer of 4 bytes",
                    "/x.db: BadZipFile: bad member 3"]


def _flat(columns: list[Any]) -> tuple[int, list[Any], list[Any], bytes]:
    """Batches as one: how many records, their findings by place in the whole, what the first sink
    rendered of each, and the second's as one byte string (each batch's value joined, or each of its
    records' values: bytes as they are, others as their repr)."""
    count, found, first, second = 0, [], [], b""
    for batch_count, batch_found, (values, joined) in columns:
        found += [(count + place, [f.explanation for f in hits]) for place, hits in batch_found]
        first += list(values)
        second += joined if isinstance(joined, bytes) else b"".join(
            v if isinstance(v, bytes) else repr(v).encode() for v in joined
        )
        count += batch_count
    return count, found, first, second


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(1, 40),
    budget=st.integers(1, 400),
    plan=_plans(60),
)
def test_batches_within_a_budget_read_the_same_records(size: int, budget: int, plan: dict[str, Any]) -> None:
    """Batches sized by what they hold as rendered: the same records, findings, errors and `stopped` as
    one by one, in batches of other sizes (the first of one record)."""
    batched = _read("batches", size, plan, budget)
    single = _read("one by one", 1, plan)
    counts = [c[0] for c in batched[0]]
    assert _flat(batched[0]) == _flat(single[0])
    assert batched[1] == single[1]
    assert batched[3] == single[3]
    assert single[2] == batched[2][: len(single[2])]
    assert all(count <= size for count in counts)
    if counts:
        assert counts[0] == 1


def test_the_next_batch_s_size() -> None:
    """Four times the last at most, no more than the budget holds at the last batch's bytes a record,
    never more than the size asked for, never none."""
    limit = 1
    sizes = []
    for _ in range(8):  # records of 100 bytes, a budget of 1 MB: 1, 4, 16... up to 4096
        limit = engine._next_limit(limit, 4096, 1 << 20, 100 * limit, limit)  # noqa: SLF001
        sizes.append(limit)
    assert sizes == [4, 16, 64, 256, 1024, 4096, 4096, 4096]
    assert engine._next_limit(4096, 4096, 32 << 20, 4096 * 60_000_000, 4096) == 1  # noqa: SLF001 - 60 MB records
    assert engine._next_limit(16, 4096, 32 << 20, 16 * 3_000_000, 16) == 11  # noqa: SLF001 - 3 MB records
    assert engine._next_limit(16, 4096, 32 << 20, None, 16) == 64  # noqa: SLF001 - nothing measured
    assert engine._next_limit(16, 4096, 32 << 20, 0, 0) == 64  # noqa: SLF001 - nothing rendered


class _Growing:
    """A stand-in for the memory gauge (run/memory.py): from its `after`-th look on, the process has
    grown by a gigabyte since the mark. Each look moves `clock` (when given) by `cost` seconds, as
    mallinfo2 walking malloc's free lists takes time."""

    def __init__(self, after: int = 1, clock: _Clock | None = None, cost: float = 0.0) -> None:
        self.after, self.clock, self.cost = after, clock, cost
        self.looks = 0
        self.measures = True

    def mark(self) -> None:
        pass

    def grown(self) -> int:
        self.looks += 1
        if self.clock is not None:
            self.clock.now += self.cost
        return 1 << 30 if self.looks >= self.after else 0

    def close(self) -> None:
        pass


class _Clock:
    """A clock for the engine that moves by `step` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


_GROWING_PLAN: dict[str, Any] = {"count": 400, "parse_fail": None, "match_fail": None, "rule_fail": None, "sink_fail": (None, None),
                 "bad_times": set(), "hits": {3, 250}, "rules": True, "read": 1, "failure": ValueError}


def test_a_batch_whose_memory_grows_is_cut(monkeypatch: Any) -> None:
    """Small records make batches grow; when memory then grows while one is read (records turned big),
    it is cut at the next look, which comes once _LOOK_AFTER has passed since the last (here: after
    every record): the same records, in batches of one."""
    plan = _GROWING_PLAN
    steady = _read("batches", 4096, plan, 1 << 20)
    monkeypatch.setattr(engine, "Gauge", _Growing)
    monkeypatch.setattr(engine, "_CLOCK", _Clock(1.0))
    growing = _read("batches", 4096, plan, 1 << 20)
    single = _read("one by one", 1, plan)
    assert _flat(steady[0]) == _flat(growing[0]) == _flat(single[0])
    assert [c[0] for c in steady[0]] == [1, 4, 16, 64, 256, 59]
    assert [c[0] for c in growing[0]] == [1] * 400


def test_memory_is_looked_at_by_time_not_by_count(monkeypatch: Any) -> None:
    """Records read faster than _LOOK_AFTER apart are not looked at, however many: memory that grows
    then cuts nothing. With time passing, the batch is cut at the first look that sees the growth (the
    gauge's fifth), and every batch after it at its first look."""
    plan = _GROWING_PLAN
    steady = _read("batches", 4096, plan, 1 << 20)
    monkeypatch.setattr(engine, "Gauge", lambda: _Growing(after=5))
    monkeypatch.setattr(engine, "_CLOCK", _Clock(0.0))
    frozen = _read("batches", 4096, plan, 1 << 20)
    assert [c[0] for c in frozen[0]] == [1, 4, 16, 64, 256, 59]
    monkeypatch.setattr(engine, "_CLOCK", _Clock(engine._LOOK_AFTER * 0.75))  # noqa: SLF001
    monkeypatch.setattr(engine, "_LOOK_SHARE", 1)  # (a look here seems to take a read's 1.5 ms: see below)
    timed = _read("batches", 4096, plan, 1 << 20)
    assert _flat(timed[0]) == _flat(steady[0])
    # The clock moves 1.5 ms a read, and is read once a record, and once more to set the next look
    # after one: the batch of 4 is looked at after its 2nd and 4th records; that of 16 after its 2nd,
    # 4th and 6th (the gauge's fifth look, a gigabyte: cut at 6); from then on every look sees the
    # growth, and each batch is cut at its first, after its 2nd record.
    assert [c[0] for c in timed[0]] == [1, 4, 6] + [2] * 194 + [1]
    assert sum(c[0] for c in timed[0]) == 400


@pytest.mark.parametrize(("cost", "looks"), [(0.0, 19), (0.0001, 5), (0.001, 4), (1.0, 4)])
def test_a_costly_look_is_made_less_often(monkeypatch: Any, cost: float, looks: int) -> None:
    """The next look comes _LOOK_AFTER after the last, or _LOOK_SHARE times what the last took when
    that is longer, but never more than _LOOK_MOST after it: the same records in the same batches,
    with looks a hundredth of the reading at most, and memory still looked at every 20 ms.

    The clock moves 10 µs a read; the batches of 256, 1,024 and 2,635 records are looked at, each
    first after 200 reads (2 ms). Looks that cost nothing come every 2 ms: 1 + 5 + 13. Looks of
    100 µs (110 with the read after one) put the next 11 ms (1,100 reads) away: 1 + 1 + 3. Looks of
    1 ms, or of a second, would put it 101 ms or 100 s away, and _LOOK_MOST puts it 20 ms (2,000
    reads) away: 1 + 1 + 2."""
    plan = {**_GROWING_PLAN, "count": 4000}
    steady = _read("batches", 4096, plan, 1 << 30)
    clock = _Clock(0.00001)
    gauges: list[_Growing] = []

    def gauge() -> _Growing:  # (memory never grows here)
        gauges.append(_Growing(after=1 << 62, clock=clock, cost=cost))
        return gauges[-1]

    monkeypatch.setattr(engine, "Gauge", gauge)
    monkeypatch.setattr(engine, "_CLOCK", clock)
    timed = _read("batches", 4096, plan, 1 << 30)
    assert timed == steady
    assert [c[0] for c in timed[0]] == [1, 4, 16, 64, 256, 1024, 2635]
    assert sum(g.looks for g in gauges) == looks
