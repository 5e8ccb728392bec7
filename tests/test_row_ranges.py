"""How a run cuts a table in row ranges (evidence.sqlite.row_cuts) and reads one range under an artifact's own
query (evidence.sqlite.only_rows), without the artifact knowing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.evidence.sqlite import iter_rows, only_rows, open_readonly, row_cuts, table_columns


def _db(rowids: list[int]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(r, "x" * (r % 50)) for r in rowids])
    return conn


def test_cuts_are_the_rowids_at_even_offsets() -> None:
    conn = _db([2, 3, 5, 7, 11, 13, 17, 19, 23, 29])
    assert row_cuts(conn, "t", 4, 1) == [5, 13, 19]  # offsets 2, 5 and 7
    assert row_cuts(conn, "t", 2, 1) == [13]
    assert row_cuts(conn, "t", 10, 1) == [3, 5, 7, 11, 13, 17, 19, 23, 29]


def test_cuts_of_a_sparse_table() -> None:
    rowids = sorted({(i * 7919) % 100_003 + 1 for i in range(5_000)})
    count = len(rowids)
    assert row_cuts(_db(rowids), "t", 8, 4_000) == [rowids[count * i // 8] for i in range(1, 8)]


def test_norow_cuts() -> None:
    conn = _db(list(range(1, 11)))
    assert row_cuts(conn, "t", 4, 11) is None  # fewer rows than min_rows
    assert row_cuts(conn, "t", 1, 1) is None
    assert row_cuts(conn, "t", 20, 1) is None  # parts of no row: cuts would repeat
    conn.execute("DELETE FROM t")
    assert row_cuts(conn, "t", 4, 0) is None


def test_rows_per_part_sets_the_number_of_parts_within_the_maximum() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE message (ROWID INTEGER PRIMARY KEY)")
    conn.executemany("INSERT INTO message VALUES (?)", [(i,) for i in range(1, 10_001)])
    assert row_cuts(conn, "message", 128, 10, rows_per_part=2_500) == [2_501, 5_001, 7_501]
    assert row_cuts(conn, "message", 3, 10, rows_per_part=100) == [3_334, 6_667]
    assert row_cuts(conn, "message", 128, 10, rows_per_part=20_000) == [5_001]


@pytest.mark.parametrize("value", [None, "text", b"blob"])
def test_a_declared_rowid_column_that_is_not_an_integer_all_through_is_not_cut(value: object) -> None:
    """A column named rowid that is not the integer key: its NULL, text or blob values would fall in no
    integer range, so such a table is read in one piece."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (rowid, body)")
    conn.executemany("INSERT INTO t VALUES (?, 'x')", [(i,) for i in range(1, 100)])
    conn.execute("INSERT INTO t VALUES (?, 'odd')", (value,))
    assert row_cuts(conn, "t", 4, 1) is None


def _database(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE handle (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT);
        CREATE TABLE message (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, text TEXT, handle_id INTEGER);
        CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT);
        INSERT INTO handle (id) VALUES ('+33100000000'), ('someone@example.org');
        """
    )
    conn.executemany("INSERT INTO message (text, handle_id) VALUES (?, ?)", [(f"m{i}", 1 + i % 2) for i in range(10)])
    conn.executemany("INSERT INTO Files VALUES (?, 'HomeDomain', ?)", [(f"{i:040x}", f"f{i}") for i in range(10)])
    conn.commit()
    conn.close()
    return path


def test_only_rows_shadows_a_table_with_an_explicit_rowid_column_under_a_join(tmp_path: Path) -> None:
    database = _database(tmp_path / "sms.db")
    query = "SELECT m.ROWID, m.text, h.id FROM message m LEFT JOIN handle h ON h.ROWID = m.handle_id ORDER BY m.ROWID"
    with open_readonly(database, {}, DEFAULT_LIMITS, tmp_path) as conn:
        only_rows(conn, "message", 4, 7)
        assert [tuple(r) for r in iter_rows(conn, query)] == [
            (4, "m3", "someone@example.org"), (5, "m4", "+33100000000"), (6, "m5", "someone@example.org"),
        ]
        # the table's own columns, the rowid already under its name: the others name it too
        assert table_columns(conn, "message") == {"ROWID", "text", "handle_id", "oid", "_rowid_"}
        assert tuple(conn.execute("SELECT count(*) FROM handle").fetchone()) == (2,)  # other tables unchanged


def test_only_rows_gives_an_implicit_rowid_its_names(tmp_path: Path) -> None:
    database = _database(tmp_path / "Manifest.db")
    with open_readonly(database, {}, DEFAULT_LIMITS, tmp_path) as conn:
        only_rows(conn, "Files", None, 3)
        assert [tuple(r) for r in iter_rows(conn, "SELECT rowid, oid, _rowid_, relativePath FROM Files ORDER BY rowid")] == [
            (1, 1, 1, "f0"), (2, 2, 2, "f1"),
        ]
    with open_readonly(database, {}, DEFAULT_LIMITS, tmp_path) as conn:
        only_rows(conn, "Files", 9, None)
        assert [tuple(r) for r in iter_rows(conn, "SELECT rowid, relativePath FROM Files")] == [(9, "f8"), (10, "f9")]


def test_only_rows_leaves_the_connection_hardened(tmp_path: Path) -> None:
    database = _database(tmp_path / "sms.db")
    before = database.read_bytes()
    with open_readonly(database, {}, DEFAULT_LIMITS, tmp_path) as conn:
        only_rows(conn, "message", 1, 2)
        for statement in ("DELETE FROM main.message", "CREATE TEMP TABLE x (a)", "DROP VIEW temp.message",
                          "PRAGMA query_only=OFF"):
            with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
                conn.execute(statement)
    assert database.read_bytes() == before


def _walked(conn: sqlite3.Connection, table: str, parts: int, rows_per_part: int | None = None) -> list[int] | None:
    """The reference: the rowid at each offset count*i//parts, stepped to with OFFSET (no shortcut)."""
    count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - a test's own name
    if rows_per_part is not None:
        parts = max(2, min(parts, count // max(1, rows_per_part)))
    cuts: list[int] = []
    for part in range(1, parts):
        cuts.append(
            conn.execute(f"SELECT rowid FROM {table} ORDER BY rowid LIMIT 1 OFFSET ?", (count * part // parts,))  # noqa: S608
            .fetchone()[0]
        )
    if any(b <= a for a, b in zip(cuts, cuts[1:], strict=False)):
        return None
    return cuts or None


@given(
    low=st.integers(-(2**40), 2**40),
    count=st.integers(1, 300),
    holes=st.sets(st.integers(0, 299), max_size=3),
    parts=st.integers(2, 40),
    rows_per_part=st.one_of(st.none(), st.integers(1, 50)),
)
@settings(max_examples=300, deadline=None)
def test_cuts_are_those_of_stepping_through_the_rowids(
    low: int, count: int, holes: set[int], parts: int, rows_per_part: int | None
) -> None:
    """Dense rowids (every one from the first to the last) are cut without stepping through the table:
    the cuts are those the rowids at the offsets give, dense or with holes, at every number of parts."""
    rowids = [low + k for k in range(count) if k not in holes or k in (0, count - 1)]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, 'x')", [(r,) for r in rowids])
    assert row_cuts(conn, "t", parts, 1, rows_per_part) == _walked(conn, "t", parts, rows_per_part)


def test_a_declared_rowid_column_of_repeated_integers_is_cut_where_its_values_lie() -> None:
    """A column named rowid whose integers repeat, as many as from its least to its greatest: not
    the table's key, so the shortcut of dense rowids is not taken and the cuts are the values at the
    offsets."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (rowid INTEGER, body TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, 'x')", [(v,) for v in (1, 1, 1, 2, 2, 6)])  # 6 rows from 1 to 6
    assert row_cuts(conn, "t", 2, 1) == [2] == _walked(conn, "t", 2)


@settings(max_examples=80)
@given(
    texts=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(0, 9), st.text(max_size=12)), st.text(max_size=40),
                  st.one_of(st.text(max_size=12), st.binary(max_size=12))),
        max_size=23,
    ),
    size=st.integers(1, 7), chars=st.integers(0, 60), bad=st.one_of(st.none(), st.integers(0, 23)),
)
def test_manifest_rows_in_blocks_are_the_rows_and_an_error_comes_after_those_before_it(
    texts: list[tuple[object, str, object]], size: int, chars: int, bad: int | None,
) -> None:
    """The Manifest artifact reads iter_rows' rows in blocks of _BLOCK_ROWS, each cut sooner after the
    row that brings the characters (or bytes) of its domain, path and file id past _BLOCK_CHARS (values
    of other types count nothing); a row that cannot be read (a function raising on it, as a damaged
    page would) ends them after the rows read before it."""
    from preuve.artifacts.ios import manifest

    rows = len(texts)
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (n INTEGER, a, b, c)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", [(n, *values) for n, values in enumerate(texts)])

    def probe(n: int) -> int:
        if n == bad:
            raise ValueError("damaged")
        return n

    conn.create_function("probe", 1, probe)
    sql = "SELECT probe(n), a, b, c FROM t"  # (in rowid order; no sort, which would compute every row first)
    expected: list[tuple[object, ...]] = []  # what iter_rows gives before it raises
    try:
        expected.extend(tuple(row) for row in iter_rows(conn, sql, named=False))
    except sqlite3.OperationalError:
        pass
    assert len(expected) >= (rows if bad is None else min(bad, rows) - 1)
    got: list[tuple[object, ...]] = []
    blocks: list[list[tuple[object, ...]]] = []
    failed = False
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest, "_BLOCK_ROWS", size)
        patch.setattr(manifest, "_BLOCK_CHARS", chars)
        try:
            for block in manifest._row_blocks(iter_rows(conn, sql, named=False)):  # noqa: SLF001
                blocks.append(block)
                got.extend(block)
        except sqlite3.OperationalError:
            failed = True
    assert got == expected
    assert failed == (bad is not None and bad < rows)

    def weight(row: tuple[object, ...]) -> int:
        return sum(len(v) for v in row[1:4] if isinstance(v, str | bytes))

    for number, block in enumerate(blocks):
        assert 0 < len(block) <= size
        held = [sum(weight(row) for row in block[: n + 1]) for n in range(len(block))]
        assert all(h <= chars for h in held[:-1])  # (cut at the first row past the bound, not before)
        if number < len(blocks) - 1:
            assert len(block) == size or held[-1] > chars
