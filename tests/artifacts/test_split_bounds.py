"""SqliteArtifact.split_bounds: the rowids at offsets count*i//parts of the split table."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.model import Record


class _Table(SqliteArtifact):
    name = "test_table"
    platform = "ios"
    title = "Test table"
    paths = ()
    split_table = "t"

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        yield from ()


def _db(rowids: list[int]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(r, "x" * (r % 50)) for r in rowids])
    return conn


def test_bounds_are_the_rowids_at_even_offsets() -> None:
    conn = _db([2, 3, 5, 7, 11, 13, 17, 19, 23, 29])
    assert _Table().split_bounds(conn, 4, 1) == [5, 13, 19]  # offsets 2, 5 and 7
    assert _Table().split_bounds(conn, 2, 1) == [13]
    assert _Table().split_bounds(conn, 10, 1) == [3, 5, 7, 11, 13, 17, 19, 23, 29]


def test_bounds_of_a_sparse_table() -> None:
    rowids = sorted({(i * 7919) % 100_003 + 1 for i in range(5_000)})
    conn = _db(rowids)
    count = len(rowids)
    assert _Table().split_bounds(conn, 8, 4_000) == [rowids[count * i // 8] for i in range(1, 8)]


def test_no_bounds() -> None:
    conn = _db(list(range(1, 11)))
    assert _Table().split_bounds(conn, 4, 11) is None  # fewer rows than min_rows
    assert _Table().split_bounds(conn, 1, 1) is None
    assert _Table().split_bounds(conn, 20, 1) is None  # parts of no row: bounds would repeat
    conn.execute("DELETE FROM t")
    assert _Table().split_bounds(conn, 4, 0) is None


def test_rows_per_part_sets_the_number_of_parts_within_the_maximum() -> None:
    import sqlite3

    from preuve.artifacts.ios.sms import Sms

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE message (ROWID INTEGER PRIMARY KEY)")
    conn.executemany("INSERT INTO message VALUES (?)", [(i,) for i in range(1, 10_001)])
    assert Sms().split_bounds(conn, 128, 10, rows_per_part=2_500) == [2_501, 5_001, 7_501]
    assert Sms().split_bounds(conn, 3, 10, rows_per_part=100) == [3_334, 6_667]
    assert Sms().split_bounds(conn, 128, 10, rows_per_part=20_000) == [5_001]
