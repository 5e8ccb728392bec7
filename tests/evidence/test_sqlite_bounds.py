"""What a hardened evidence connection refuses or stops, and says why: the database's own views, its
columns computed when read, recursive queries, and work beyond a budget that grows with the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from preuve.evidence.limits import DEFAULT_LIMITS, Limits
from preuve.evidence.sqlite import only_rows, open_readonly, row_cuts, table_columns
from tests.builders import snapshot

VIEW = (
    "'v' is a view, not a table: not read (no database a phone writes keeps its records in a view, and a view "
    "can make a read endless)"
)
COMPUTED = (
    "column 'Big' of 'T' is computed when read (a generated column), not stored: not read (a phone's databases "
    "store their values; a computed one can be made any size)"
)


def _database(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "x.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE T (a INTEGER PRIMARY KEY, doubled GENERATED ALWAYS AS (a * 2) STORED,
                        Big GENERATED ALWAYS AS (printf('%.*c', 1000, 'x')) VIRTUAL);
        CREATE TABLE u (x);
        CREATE VIEW v AS SELECT a FROM T;
        CREATE VIEW w AS SELECT hex(randomblob(4)) AS r;
        """
    )
    conn.executemany("INSERT INTO T (a) VALUES (?)", [(i,) for i in range(1, 4)])
    conn.executemany("INSERT INTO u VALUES (?)", [(i,) for i in range(300)])
    conn.commit()
    conn.close()
    return path


def _outcome(path: Path, sql: str, limits: Limits = DEFAULT_LIMITS) -> list[tuple[object, ...]] | str:
    with open_readonly(path, {}, limits, path.parent) as conn:
        try:
            return [tuple(row) for row in conn.execute(sql).fetchall()]
        except sqlite3.DatabaseError as exc:
            return f"{type(exc).__name__}: {exc}"


def _raised(path: Path, sql: str, limits: Limits = DEFAULT_LIMITS) -> str:
    """The error leaving the connection's `with` (where the reason replaces SQLite's word for it)."""
    try:
        with open_readonly(path, {}, limits, path.parent) as conn:
            conn.execute(sql).fetchall()
    except sqlite3.DatabaseError as exc:
        return f"{type(exc).__name__}: {exc}"
    return "no error"


def test_what_is_stored_is_read(tmp_path: Path) -> None:
    path = _database(tmp_path / "d")
    before = snapshot(path.parent)
    assert _outcome(path, "SELECT a, doubled FROM T ORDER BY a") == [(1, 2), (2, 4), (3, 6)]
    assert _outcome(path, "SELECT count(*) FROM T") == [(3,)]
    with open_readonly(path, {}, Limits(), tmp_path) as conn:
        # Generated columns are listed (table_info hides them: a reader would take one for absent).
        assert table_columns(conn, "T") == {"a", "doubled", "Big"}
        assert table_columns(conn, "v") == {"a"}  # (the schema is still answered for a view)
    assert snapshot(path.parent) == before


def test_views_computed_columns_and_recursion_refused_with_their_reason(tmp_path: Path) -> None:
    path = _database(tmp_path / "d")
    before = snapshot(path.parent)
    assert _raised(path, "SELECT * FROM v") == "OperationalError: " + VIEW
    assert _raised(path, "SELECT * FROM w") == "OperationalError: " + VIEW.replace("'v'", "'w'")  # a function in it
    assert _raised(path, "SELECT * FROM T") == "OperationalError: " + COMPUTED
    assert _raised(path, "SELECT big FROM t") == "OperationalError: " + COMPUTED  # (either case)
    assert _raised(path, "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r") == (
        "OperationalError: a recursive query: not run (preuve never asks for one; a hostile schema can)"
    )
    assert snapshot(path.parent) == before


def test_a_reason_belongs_to_its_statement(tmp_path: Path) -> None:
    """A refusal caught by the reader is forgotten at the next statement: an error of SQLite's own
    then keeps SQLite's words."""
    path = _database(tmp_path / "d")
    with pytest.raises(sqlite3.DatabaseError) as raised, open_readonly(path, {}, Limits(), tmp_path) as conn:
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute("SELECT * FROM v")
        assert conn.execute("SELECT count(*) FROM u").fetchone() == (300,)
        conn.execute("SELECT * FROM no_such_table")
    assert str(raised.value) == "no such table: no_such_table"


def test_work_beyond_the_budget_stopped(tmp_path: Path) -> None:
    """A join that multiplies rows (27,000,000 from 300) is stopped at the budget: the larger of the floor
    and the steps per byte of the file; the bound is said with the file's size."""
    path = _database(tmp_path / "d")
    size = path.stat().st_size
    cross = "SELECT count(*) FROM u AS a, u AS b, u AS c"
    small = Limits(min_sqlite_steps=100_000, sqlite_steps_per_byte=1)
    assert _raised(path, cross, small) == (
        f"OperationalError: stopped after 100,000 SQLite steps (1 per byte of this {size:,}-byte database): "
        "real databases need about one; a hostile schema can make a query endless"
    )
    by_size = Limits(min_sqlite_steps=10_000, sqlite_steps_per_byte=20)
    assert _raised(path, cross, by_size) == (
        f"OperationalError: stopped after {20 * size:,} SQLite steps (20 per byte of this {size:,}-byte "
        "database): real databases need about one; a hostile schema can make a query endless"
    )
    assert _outcome(path, "SELECT count(*) FROM u AS a, u AS b", Limits()) == [(90_000,)]  # within the default


def test_only_rows_keeps_the_guard(tmp_path: Path) -> None:
    path = _database(tmp_path / "d")
    with open_readonly(path, {}, Limits(), tmp_path) as conn:
        only_rows(conn, "u", 2, 5)
        assert conn.execute("SELECT rowid, x FROM u").fetchall() == [(2, 1), (3, 2), (4, 3)]
        with pytest.raises(sqlite3.DatabaseError, match="prohibited"):
            conn.execute("SELECT Big FROM T")
        with pytest.raises(sqlite3.DatabaseError, match="prohibited"):
            conn.execute("SELECT * FROM v")
    plain = sqlite3.connect(path)
    try:
        with pytest.raises(TypeError, match="open_readonly"):
            only_rows(plain, "u", 1, 2)
    finally:
        plain.close()


def test_a_table_with_a_computed_column_is_not_cut(tmp_path: Path) -> None:
    """Cut in ranges, it would be read through a view naming every column, and refused, where one job
    reads it whole (naming only the columns its reader needs): it is read whole whatever the jobs."""
    path = _database(tmp_path / "d")
    with open_readonly(path, {}, Limits(), tmp_path) as conn:
        assert row_cuts(conn, "T", 2, 1) is None
        assert row_cuts(conn, "u", 2, 1) == [151]


def test_a_full_text_table_whose_tokenizer_only_the_phone_has(tmp_path: Path) -> None:
    """The address book keeps a full-text table made with Apple's own tokenizer: asking it about its
    columns fails anywhere but on the phone. Its other tables are read, and the table itself is not
    asked about (real acquisitions' address books were failed whole by that)."""
    folder = tmp_path / "d"
    folder.mkdir()
    path = folder / "AddressBook.sqlitedb"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE ABPerson (ROWID INTEGER PRIMARY KEY, First TEXT);
        INSERT INTO ABPerson (First) VALUES ('Ana');
        CREATE VIRTUAL TABLE ABPersonFullTextSearch USING fts4(First, tokenize=simple);
        """
    )
    conn.execute("PRAGMA writable_schema=ON")
    conn.execute(
        "UPDATE sqlite_master SET sql = replace(sql, 'tokenize=simple', 'tokenize=ab_cf_tokenizer') "
        "WHERE name = 'ABPersonFullTextSearch'"
    )
    conn.commit()
    conn.close()
    assert _outcome(path, "SELECT ROWID, First FROM ABPerson") == [(1, "Ana")]
    assert _outcome(path, "SELECT * FROM ABPersonFullTextSearch") == (
        "OperationalError: unknown tokenizer: ab_cf_tokenizer"
    )
