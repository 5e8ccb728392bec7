"""A damaged database's readable rows are copied, table by table with their rowids, into a private
database (evidence.salvage), and what was lost is told per table.

The databases are written with plain sqlite3 and damaged by writing zeros over their pages; which page
holds which rows is asked of SQLite's own dbstat table, never of preuve."""

from __future__ import annotations

import hashlib
import random
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from preuve.evidence.limits import Limits
from preuve.evidence.salvage import Salvage, TableLoss, affinity, index_values, salvaged
from preuve.evidence.sqlite import LostRows, open_readonly
from tests.builders.sqlite_pages import leaves, zero_pages

PAGE = 4096
MALFORMED = "database disk image is malformed"


def _database(path: Path) -> Path:
    """Tables as a phone's databases have them: t (a plain rowid table, 600 rows of about 200 bytes),
    msg (its key an INTEGER PRIMARY KEY named ROWID, as sms.db's message), kv (WITHOUT ROWID), with an
    index, a view, a trigger and a full-text table beside them."""
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA page_size={PAGE}")
    conn.execute("CREATE TABLE t (name TEXT NOT NULL, value BLOB, n INTEGER, score REAL, odd VARCHAR(5))")
    conn.executemany(
        "INSERT INTO t (rowid, name, value, n, score, odd) VALUES (?, ?, ?, ?, ?, ?)",
        [(r, f"row{r}", bytes([r % 251]) * 200, r * 3, r / 4, str(r)) for r in range(1, 601)],
    )
    conn.execute("CREATE INDEX t_name ON t (name)")
    conn.execute("CREATE TABLE msg (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, text TEXT, date INTEGER)")
    conn.executemany("INSERT INTO msg (ROWID, text, date) VALUES (?, ?, ?)",
                     [(r, f"message {r} " + "x" * 150, 700_000_000 + r) for r in range(10, 4010, 10)])
    conn.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID")
    conn.executemany("INSERT INTO kv VALUES (?, ?)", [(f"key{r:04d}", "v" * 100) for r in range(300)])
    conn.execute("CREATE VIEW every_name AS SELECT name FROM t")
    conn.execute("CREATE TRIGGER t_added AFTER INSERT ON t BEGIN DELETE FROM msg; END")
    conn.execute("CREATE VIRTUAL TABLE search USING fts5(body)")
    conn.execute("INSERT INTO search VALUES ('hello')")
    conn.commit()
    conn.close()
    return path


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@contextmanager
def _salvage_of(path: Path, work: Path) -> Iterator[Salvage]:
    """The salvage of the database at `path`, made under `work` (it has one)."""
    work.mkdir(exist_ok=True)
    with open_readonly(path, {}, Limits(), work) as evidence, salvaged(evidence, work, Limits()) as found:
        assert found is not None
        yield found


def _salvage(path: Path, work: Path) -> tuple[dict[str, list[tuple[object, ...]]], int, int, tuple[TableLoss, ...], str]:
    """What the salvage of `path` holds: rows per table (with rowid and typeof of each value), the rows
    and tables it tells, its losses, and its summary; the evidence hashed before and after."""
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with _salvage_of(path, work) as found:
        copy = sqlite3.connect(found.path)
        try:
            names = [n for (n,) in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            held = {
                "t": copy.execute("SELECT rowid, name, typeof(n), n, typeof(score), typeof(odd), odd FROM t "
                                  "ORDER BY rowid").fetchall(),
                "msg": copy.execute("SELECT ROWID, rowid, text FROM msg ORDER BY ROWID").fetchall(),
                "kv": copy.execute("SELECT k FROM kv ORDER BY k").fetchall(),
                "names": [(n,) for n in names],
                "other": copy.execute("SELECT type, name FROM sqlite_master WHERE type != 'table'").fetchall(),
            }
        finally:
            copy.close()
        told = (found.rows, found.tables, found.losses, found.summary(MALFORMED))
        assert found.path.parent.parent == work
    assert list(work.iterdir()) == []  # the copy is removed when the block ends
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    return held, *told


def _t_rows(rowids: list[int]) -> list[tuple[object, ...]]:
    return [(r, f"row{r}", "integer", r * 3, "real", "text", str(r)) for r in rowids]


def test_a_sound_database_is_copied_whole(tmp_path: Path) -> None:
    path = _database(tmp_path / "db")
    held, rows, tables, losses, summary = _salvage(path, tmp_path / "work")
    assert held["t"] == _t_rows(list(range(1, 601)))
    assert held["msg"] == [(r, r, f"message {r} " + "x" * 150) for r in range(10, 4010, 10)]
    assert held["kv"] == [(f"key{r:04d}",) for r in range(300)]
    # Every stored table (the full-text table's own tables too), never the virtual table, SQLite's own
    # tables, the index, the view or the trigger.
    assert held["names"] == [("kv",), ("msg",), ("search_config",), ("search_content",), ("search_data",),
                             ("search_docsize",), ("search_idx",), ("t",)]
    assert held["other"] == []
    stored = sum(_rows(path, f'SELECT count(*) FROM "{name}"')[0][0] for (name,) in held["names"])  # type: ignore[misc]  # noqa: S608
    assert (rows, tables, losses) == (stored, 8, ())
    assert summary == f"damaged ({MALFORMED}): read around the damage, {stored:,} rows of 8 table(s) read; no row was lost"


def test_damaged_leaves_lose_only_their_rows(tmp_path: Path) -> None:
    path = _database(tmp_path / "db")
    t_leaves, msg_leaves = leaves(path, "t"), leaves(path, "msg")
    t_page, t_lost = t_leaves[10]
    msg_page, msg_lost = msg_leaves[3]
    zero_pages(path, t_page, msg_page)
    with pytest.raises(sqlite3.DatabaseError, match=MALFORMED):
        _rows(path, "SELECT sum(length(value)) FROM t")
    held, rows, tables, losses, summary = _salvage(path, tmp_path / "work")
    kept_t = [r for r in range(1, 601) if r not in t_lost]
    assert held["t"] == _t_rows(kept_t)
    kept_msg = [r for r in range(10, 4010, 10) if r not in msg_lost]
    assert held["msg"] == [(r, r, f"message {r} " + "x" * 150) for r in kept_msg]
    assert held["kv"] == [(f"key{r:04d}",) for r in range(300)]
    t_loss = LostRows(int(t_lost[0]) - 1, int(t_lost[-1]) + 1, MALFORMED)  # type: ignore[call-overload]
    msg_loss = LostRows(int(msg_lost[0]) - 10, int(msg_lost[-1]) + 10, MALFORMED)  # type: ignore[call-overload]
    assert losses == (TableLoss("t", len(kept_t), (t_loss,)), TableLoss("msg", len(kept_msg), (msg_loss,)))
    assert (rows, tables) == (len(kept_t) + len(kept_msg) + 300 + 7, 8)  # (kv, and the full-text table's 7 rows)
    assert summary == (
        f"damaged ({MALFORMED}): read around the damage, {rows:,} rows of 8 table(s) read; "
        f"the rows after rowid {t_loss.after} and before rowid {t_loss.before} of t could not be read ({MALFORMED}); "
        f"the rows after rowid {msg_loss.after} and before rowid {msg_loss.before} of msg could not be read "
        f"({MALFORMED})"
    )


def test_a_table_without_rowids_is_read_up_to_its_damage(tmp_path: Path) -> None:
    path = _database(tmp_path / "db")
    conn = sqlite3.connect(path)
    [(page,)] = conn.execute(
        "SELECT pageno FROM dbstat WHERE name = 'kv' AND pagetype = 'leaf' ORDER BY path LIMIT 1 OFFSET 1"
    ).fetchall()
    conn.close()
    zero_pages(path, page)
    held, _, _, losses, _ = _salvage(path, tmp_path / "work")
    # (a b-tree without rowids keeps records in its inner pages too: the rows read are those of the
    # first leaf and of the inner cell after it, in key order)
    read = len(held["kv"])
    assert 0 < read < 300
    assert held["kv"] == [(f"key{r:04d}",) for r in range(read)]
    assert losses == (TableLoss("kv", read, after_rows=MALFORMED),)
    assert losses[0].describe() == f"the rows of kv after its first {read:,} could not be read ({MALFORMED})"


def test_many_stretches_are_told_once(tmp_path: Path) -> None:
    path = _database(tmp_path / "db")
    pages = leaves(path, "t")
    zero_pages(path, pages[3][0], pages[7][0], pages[20][0])
    _, _, _, losses, _ = _salvage(path, tmp_path / "work")
    assert [loss.table for loss in losses] == ["t"]
    assert len(losses[0].lost) == 3
    assert losses[0].describe() == (
        f"3 stretches of rows of t could not be read; the first: {losses[0].lost[0].describe('t')}"
    )


def test_names_and_columns_a_hostile_schema_gives(tmp_path: Path) -> None:
    """Names with quotes and spaces are quoted; a declared column named rowid that is not the key has
    its table read in its own order; a column computed when read is left out; the declared types are
    never run as SQL."""
    path = tmp_path / "db"
    conn = sqlite3.connect(path)
    conn.execute('CREATE TABLE "we""ird name" ("a col" TEXT, "rowid" TEXT, "b" INT)')
    conn.executemany('INSERT INTO "we""ird name" VALUES (?, ?, ?)', [("x", "not a key", 1), ("y", "z", 2)])
    conn.execute('CREATE TABLE g (a INTEGER, twice INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL, '
                 'kept INTEGER GENERATED ALWAYS AS (a + 1) STORED, "t" "DROP TABLE g")')
    conn.execute("INSERT INTO g (a, t) VALUES (5, 'q')")
    conn.commit()
    conn.close()
    with _salvage_of(path, tmp_path / "work") as found:
        assert (found.rows, found.tables, found.losses) == (3, 2, ())
        copy = sqlite3.connect(found.path)
        assert copy.execute('SELECT "a col", "rowid", "b" FROM "we""ird name"').fetchall() == [
            ("x", "not a key", 1), ("y", "z", 2)
        ]
        assert [r[1] for r in copy.execute("PRAGMA table_info(g)")] == ["a", "kept", "t"]
        assert copy.execute("SELECT a, kept, t, typeof(t) FROM g").fetchall() == [(5, 6, "q", "text")]
        copy.close()


@pytest.mark.parametrize("declared", [
    "", "INTEGER", "int", "BIGINT", "TINYINT", "CHARACTER(20)", "VARCHAR(255)", "NCHAR(55)", "TEXT", "CLOB",
    "BLOB", "REAL", "DOUBLE", "DOUBLE PRECISION", "FLOAT", "NUMERIC", "DECIMAL(10,5)", "BOOLEAN", "DATE",
    "DATETIME", "FLOATING POINT", "STRING", "TIMESTAMP", "POINT", "CHARINT", "BLOBTEXT", "NSDATE",
])
def test_affinity_is_sqlites_own(tmp_path: Path, declared: str) -> None:
    """A column made with affinity(declared) stores each kind of value as a column declared so does."""
    conn = sqlite3.connect(":memory:")
    conn.execute(f'CREATE TABLE a (v "{declared}")' if declared else "CREATE TABLE a (v)")
    made = affinity(declared)
    conn.execute(f"CREATE TABLE b (v {made})")
    values = ["12", "12.5", "1e3", "abc", 7, 7.0, 7.5, b"\x01", None, " 12 ", "0x10"]
    for table in ("a", "b"):
        conn.executemany(f"INSERT INTO {table} VALUES (?)", [(v,) for v in values])  # noqa: S608
    assert conn.execute("SELECT typeof(v), v FROM b").fetchall() == conn.execute("SELECT typeof(v), v FROM a").fetchall()


def test_two_tables_whose_names_differ_only_in_case(tmp_path: Path) -> None:
    """A schema written by hand can name two tables alike but for case, which SQLite itself refuses to
    make: the first is copied, the second told as not copied."""
    path = tmp_path / "db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE a (x)")
    conn.execute("CREATE TABLE b (y)")
    conn.execute("INSERT INTO a VALUES (1)")
    conn.execute("INSERT INTO b VALUES (2)")
    conn.commit()
    conn.execute("PRAGMA writable_schema=ON")
    conn.execute("UPDATE sqlite_master SET name = 'A', tbl_name = 'A', sql = 'CREATE TABLE A (y)' WHERE name = 'b'")
    conn.commit()
    conn.close()
    with _salvage_of(path, tmp_path / "work") as found:
        assert (found.rows, found.tables) == (1, 1)
        assert found.losses == (TableLoss("A", 0, reason="not copied: table \"A\" already exists"),)


def test_the_rows_lost_by_table_in_rowid_terms(tmp_path: Path) -> None:
    """Stretches stay stretches; a table read in its own order, or not at all, may have lost any row."""
    found = Salvage(tmp_path / "db", 10, 3, (
        TableLoss("T", 5, (LostRows(4, 9, MALFORMED),)),
        TableLoss("kv", 2, after_rows=MALFORMED),
        TableLoss("gone", 0, reason="cannot be told"),
    ))
    assert found.lost_rows() == {
        "t": (LostRows(4, 9, MALFORMED),),
        "kv": (LostRows(None, None, MALFORMED),),
        "gone": (LostRows(None, None, "cannot be told"),),
    }


def test_index_values_are_read_from_both_ends_of_a_damaged_index(tmp_path: Path) -> None:
    """An index holds each row's key and rowid apart from the table: read up to its own damage, then
    from its other end, it gives the keys of rows the table lost."""
    path = _database(tmp_path / "db")
    conn = sqlite3.connect(path)
    conn.execute("CREATE INDEX t_value ON t (value)")  # (200-byte keys: some thirty leaves)
    conn.commit()
    index_pages = [p for (p,) in conn.execute(
        "SELECT pageno FROM dbstat WHERE name = 't_value' AND pagetype = 'leaf' ORDER BY path")]
    conn.close()
    assert len(index_pages) > 10
    t_page, t_lost = leaves(path, "t")[10]
    zero_pages(path, t_page, index_pages[len(index_pages) // 2])
    every = {r: bytes([r % 251]) * 200 for r in range(1, 601)}
    in_order = sorted(every, key=lambda r: (every[r], r))  # (the index's order)
    with open_readonly(path, {}, Limits(), tmp_path) as evidence:
        found = index_values(evidence, "t", "value", [(None, None)], 10_000)
        assert found is not None and all(found[r] == every[r] for r in found)
        # Read in order up to the damage, then back from the other end: a prefix and a suffix of the keys.
        head = 0
        while head < len(in_order) and in_order[head] in found:
            head += 1
        tail = len(found) - head
        assert head > 200 and tail > 200
        assert set(found) == set(in_order[:head]) | set(in_order[len(in_order) - tail:])
        # Only the rows wanted (those the table lost) are kept.
        lost = index_values(evidence, "t", "value", [(t_lost[0] - 1, t_lost[-1] + 1)], 10_000)
        assert lost == {r: every[r] for r in t_lost if r in found}
        assert lost  # (the table's rows lost, their keys given back)
        # More ranges than SQLite is asked for (they are merged, and the rows between told apart here).
        some = [r for r in range(3, 600, 5) if r in found]
        assert len(some) > 64
        apart = index_values(evidence, "t", "value", [(r - 1, r + 1) for r in some], 10_000)
        assert apart == {r: every[r] for r in some}
        assert index_values(evidence, "t", "score", [(None, None)], 10_000) is None  # (no index on it)


def test_ranges_merged_where_closest_as_one_merge_at_a_time_would() -> None:
    """The ranges an index read asks SQLite for: the closest joined first, sorted once, as joining the
    closest pair again and again (the reference here) would; ten thousand in a few milliseconds."""
    from preuve.evidence.salvage import _merged

    def one_at_a_time(ranges: list[tuple[int, int]], most: int) -> list[tuple[int, int]]:
        out = list(ranges)
        while len(out) > most:
            _, n = min((out[n + 1][0] - out[n][1], n) for n in range(len(out) - 1))
            out[n : n + 2] = [(out[n][0], out[n + 1][1])]
        return out

    rng = random.Random(7)
    for _ in range(200):
        count = rng.randint(1, 150)
        points = sorted(rng.sample(range(1, 100_000), 2 * count))
        ranges = [(points[2 * n], points[2 * n + 1]) for n in range(count)]
        most = rng.randint(1, 70)
        assert _merged(list(ranges), most) == one_at_a_time(ranges, most)  # type: ignore[arg-type]
    assert _merged([(None, 5), (9, 12), (20, None)], 2) == [(None, 12), (20, None)]
    assert len(_merged([(n * 10, n * 10 + 5) for n in range(10_000)], 64)) == 64  # type: ignore[misc]
