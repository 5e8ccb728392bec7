"""The declared-tables builder: one schema read, one way of reporting what is missing, quoted SQL,
NULL for a missing optional column, the engine's row range, named rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from preuve.artifacts.base import ArtifactContext
from preuve.artifacts.tables import Absent, Aggregate, Database, Grouped, Join, Query, Table
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits
from preuve.evidence.sources.folder import folder_fs
from preuve.evidence.sqlite import open_readonly

WEIRD = Table('we"ird', required=('co"l',), optional=("select", "gone"))


def _write(path: Path, script: str) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(script)
    conn.commit()
    conn.close()
    return path


@contextmanager
def _db(tmp_path: Path, script: str) -> Iterator[Database]:
    file = _write(tmp_path / "x.db", script)
    ctx = ArtifactContext(fs=folder_fs(tmp_path, HashLedger(), Limits(), tmp_path), limits=Limits())
    with open_readonly(file, {}, Limits(), tmp_path) as conn:
        yield Database(ctx, conn, "/x.db", "0" * 64)


def test_hostile_names_are_quoted_and_missing_optional_columns_are_null(tmp_path: Path) -> None:
    script = """CREATE TABLE "we""ird" ("co""l" TEXT, "select" INTEGER, other BLOB);
                INSERT INTO "we""ird" VALUES ('a', 1, x'00'), ('b', 2, x'00');"""
    with _db(tmp_path, script) as db:
        rows = [(r["_key"], r['co"l'], r["select"], r["gone"]) for r in db.rows(Query(WEIRD))]
        sql, params = db.build(Query(WEIRD)) or ("", ())
    assert rows == [(1, "a", 1, None), (2, "b", 2, None)]
    assert (db.ctx.errors, db.ctx.warnings) == ([], [])
    # Only the declared columns are read ("other" is not); NULL stands for the missing one.
    assert sql == ('SELECT "t"."rowid" AS "_key", "t"."co""l" AS "co""l", "t"."select" AS "select", NULL AS "gone" '
                   'FROM "we""ird" "t" ORDER BY "t"."rowid"')
    assert params == ()


def test_a_missing_required_table_or_column_is_one_error_naming_them(tmp_path: Path) -> None:
    with _db(tmp_path, "CREATE TABLE t (a INTEGER PRIMARY KEY, b); INSERT INTO t VALUES (1, 'x');") as db:
        assert list(db.rows(Query(Table("t", required=("a", "c", "d"))))) == []
        assert list(db.rows(Query(Table("absent", required=("a",))))) == []
        assert [r["A"] for r in db.rows(Query(Table("t", required=("A", "b"))))] == [1]  # names match in any case
    assert db.ctx.errors == ["/x.db: table 't' has no column 'c', 'd'", "/x.db: no table 'absent'"]
    assert db.ctx.warnings == []


def test_joins_are_left_out_when_their_table_or_key_is_missing(tmp_path: Path) -> None:
    script = """CREATE TABLE msg (id INTEGER PRIMARY KEY, chat INTEGER, body TEXT);
                CREATE TABLE chat (id INTEGER PRIMARY KEY, name TEXT);
                CREATE TABLE media (msg INTEGER, url TEXT);
                INSERT INTO msg VALUES (1, 10, 'a'), (2, NULL, 'b'), (3, 11, 'c');
                INSERT INTO chat VALUES (10, 'ten');
                INSERT INTO media VALUES (1, 'u1'), (1, 'u2'), (3, NULL);"""
    messages = Table("msg", required=("id",), optional=("body",), key=("id",))
    urls = Grouped(Table("media", required=("msg",), optional=("url",)), "g", by="msg", to="m.id",
                   aggregates=(Aggregate("urls", "group_concat", ("g.url",), " "),))
    query = Query(messages, "m", joins=(
        Join(Table("chat", required=("id",), optional=("name",)), "c", on="id", to="m.chat"),
        Join(Table("nothing", required=("id",)), "n", on="id", to="m.chat"),
        Join(Table("chat", required=("id",)), "x", on="id", to="m.no_such_column"),
        urls,
    ), where=(Absent("m.id", "deleted", "id"),))
    with _db(tmp_path, script) as db:
        got = [(r["_key"], r["body"], r["c.name"], r["n.id"], r["x.id"], r["g.urls"]) for r in db.rows(query)]
        inner = Query(messages, "m", joins=(Join(Table("nothing", required=("id",)), "n", on="id", to="m.chat",
                                                 inner=True),))
        assert list(db.rows(inner)) == []
    assert got == [(1, "a", "ten", None, None, "u1 u2"), (2, "b", None, None, None, None),
                   (3, "c", None, None, None, None)]
    assert (db.ctx.errors, db.ctx.warnings) == ([], [])


def test_absent_keeps_rows_not_referenced(tmp_path: Path) -> None:
    script = """CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE u (id INTEGER PRIMARY KEY, p INTEGER);
                INSERT INTO p VALUES (1); INSERT INTO u VALUES (1, 1), (2, 2), (3, NULL);"""
    usage = Table("u", required=("p",), key=("id",))
    with _db(tmp_path, script) as db:
        plain = [r["_key"] for r in db.rows(Query(usage, "x", where=(Absent("x.p", "p", "id"),)))]
        with_null = [r["_key"] for r in db.rows(Query(usage, "x", where=(Absent("x.p", "p", "id", or_null=True),)))]
    assert (plain, with_null) == ([2], [2, 3])


def test_grouped_texts_are_one_line_per_present_column(tmp_path: Path) -> None:
    script = """CREATE TABLE m (id INTEGER PRIMARY KEY); CREATE TABLE d (m INTEGER, a TEXT, c TEXT);
                INSERT INTO m VALUES (1), (2); INSERT INTO d VALUES (1, 'x', NULL), (1, 'y', 'z');"""
    texts = Grouped(Table("d", required=("m",), optional=("a", "b", "c")), "g", by="m", to="t.id", aggregates=(
        Aggregate("texts", "group_concat", ("g.a", "g.b", "g.c"), "|", "lines"),
        Aggregate("first", "min", ("g.b", "g.a"))))
    with _db(tmp_path, script) as db:
        got = [(r["_key"], r["g.texts"], r["g.first"]) for r in db.rows(Query(Table("m"), joins=(texts,)))]
    assert got == [(1, "x\n|y\nz", "x"), (2, None, None)]
