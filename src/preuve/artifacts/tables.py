# ruff: noqa: S608 - the one place SQL is built: every identifier goes through quote(), every value is a parameter
"""Declared tables: an SQLite artifact names the tables and columns it reads; the query is built here.

Apps and iOS versions add, rename and drop columns. Instead of writing SQL by
hand for each variant, an artifact declares, per table, the columns it
**requires** (without them the table means nothing) and the columns it would
like (**optional**: a version may lack them), and the joins it needs. This
module then, the same way for every artifact:

* reads the schema of each table once per database (:class:`Database`);
* reports what is missing: a missing required table or column of the main
  table of a query is one ``ctx.error`` naming the file, the table and the
  columns, and the query yields nothing;
* selects ``NULL`` for a missing optional column, **silently**: the optional
  columns are precisely those that differ between versions of the same
  database (TCC.db has ``allowed`` up to iOS 13 and ``auth_value`` from
  iOS 14), so a warning would fire on every phone and mean nothing;
* leaves out a join whose table lacks a column it requires, or whose key is
  ``NULL``-selected (its columns are then ``NULL``), silently for the same
  reason; an artifact that wants to say so checks :meth:`Database.has`;
* quotes every identifier (names come from the schema of a hostile file);
* selects only the declared columns (a huge column the artifact does not
  need costs nothing);
* yields named rows (``sqlite3.Row``): the main table's columns by their
  names, a joined table's as ``"alias.column"``, the row key as ``"_key"``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from preuve.evidence.sqlite import iter_rows, schema_rows, table_columns
from preuve.model import Locator

if TYPE_CHECKING:
    from preuve.artifacts.base import ArtifactContext

KEY = "_key"  # the output name of the main table's row key
_IMPLICIT = frozenset({"rowid", "oid", "_rowid_"})  # columns every rowid table has without declaring them


def quote(name: str) -> str:
    """An SQL identifier, quoted (any name a schema may hold, quotes included)."""
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True, slots=True)
class Table:
    """A table an artifact reads: the columns it needs, those it would like, and what orders its rows.

    `key` lists the columns that may locate a row, in order of preference; the
    first one the table has is used, else its ``rowid``.
    """

    name: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    key: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


@dataclass(frozen=True, slots=True)
class Join:
    """``LEFT JOIN table AS alias ON alias.on = to`` (or an inner join), ``to`` being ``"alias.column"``
    of a table or grouped join before it. Left out, its columns ``NULL``, when the table lacks a
    required column or ``to`` is not there; an inner join left out empties the query."""

    table: Table
    alias: str
    on: str
    to: str
    inner: bool = False


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One aggregate of a grouped join, output as ``"alias.name"``.

    `columns` are ``"alias.column"`` references inside the grouped join; more than
    one are combined: ``"coalesce"`` (the first that is not NULL) or ``"lines"``
    (the present ones as text, one per line). Columns that are missing are left
    out of the combination; when none is there the aggregate is ``NULL``.
    """

    name: str
    function: Literal["min", "max", "sum", "group_concat"]
    columns: tuple[str, ...]
    separator: str | None = None
    combine: Literal["coalesce", "lines"] = "coalesce"


@dataclass(frozen=True, slots=True)
class Grouped:
    """``LEFT JOIN (SELECT by, aggregates FROM table [joins] GROUP BY by) AS alias ON alias.by = to``:
    many rows of another table folded into one per row (grouped once, not a subquery per row).
    Left out when the table lacks a required column or `by`, when `to` is not there, or when no
    aggregate has a column to read."""

    table: Table
    alias: str
    by: str
    to: str
    aggregates: tuple[Aggregate, ...]
    joins: tuple[Join, ...] = ()


@dataclass(frozen=True, slots=True)
class Absent:
    """Keep only the rows whose `ref` is not among the values of `table`.`column` (``NOT IN``), or
    also those whose `ref` is NULL (`or_null`). No filter when `table` lacks `column`."""

    ref: str
    table: str
    column: str
    or_null: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    """Rows of one main table with what is joined to them, in the order of the main table's key
    (then of the keys of the joins named in `then_by`)."""

    table: Table
    alias: str = "t"
    joins: tuple[Join | Grouped, ...] = ()
    where: tuple[Absent, ...] = ()
    then_by: tuple[str, ...] = ()


class Database:
    """One open database as an artifact sees it: its schema (read once), its rows, its locators."""

    def __init__(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> None:
        self.ctx = ctx
        self.conn = conn
        self.path = path
        self.sha256 = sha256
        self._schema: dict[str, dict[str, str]] = {}

    # -- schema ------------------------------------------------------------------------------
    def columns(self, table: str) -> dict[str, str]:
        """The columns of a table (lower-case name -> name as declared); empty when there is no table."""
        found = self._schema.get(table.lower())
        if found is None:
            found = {name.lower(): name for name in table_columns(self.conn, table)}
            self._schema[table.lower()] = found
        return found

    def is_rowid(self, table: str, column: str) -> bool:
        """Whether `column` of `table` is the table's rowid (named so, or its lone INTEGER PRIMARY KEY)."""
        if column.lower() in _IMPLICIT and column.lower() not in self.columns(table):
            return True
        keys = [row for row in schema_rows(self.conn, "SELECT name, type, pk FROM pragma_table_info(?)", (table,))
                if row[2]]
        return (len(keys) == 1 and str(keys[0][0]).lower() == column.lower()
                and str(keys[0][1]).upper() == "INTEGER")

    def has_column(self, table: str, column: str) -> bool:
        columns = self.columns(table)
        return bool(columns) and (column.lower() in columns or column.lower() in _IMPLICIT)

    def missing(self, table: Table) -> list[str]:
        """The required columns `table` lacks (all of them, or ``[""]`` for no columns, when there
        is no such table)."""
        if not self.columns(table.name):
            return [""]
        return [c for c in table.required if not self.has_column(table.name, c)]

    def has(self, table: Table) -> bool:
        """The table is there with every required column (nothing is reported)."""
        return not self.missing(table)

    def key_of(self, table: Table) -> str:
        """The column that locates a row of `table`: the first of its `key` it has, else rowid."""
        return next((c for c in table.key if self.has_column(table.name, c)), "rowid")

    def report_missing(self, table: Table) -> bool:
        """One ``ctx.error`` when the table, or required columns of it, are missing; True if so."""
        missing = self.missing(table)
        if not missing:
            return False
        if missing == [""]:
            self.ctx.error(self.path, f"no table {table.name!r}")
        else:
            names = ", ".join(repr(c) for c in missing)
            self.ctx.error(self.path, f"table {table.name!r} has no column {names}")
        return True

    def report_none_of(self, *tables: Table) -> None:
        """One ``ctx.error`` when a database holds none of the layouts an artifact knows."""
        layouts = "; ".join(f"{t.name!r} ({', '.join(t.required)})" for t in tables)
        self.ctx.error(self.path, f"none of the tables {layouts}")

    # -- rows ----------------------------------------------------------------------------------
    def rows(self, query: Query) -> Iterator[sqlite3.Row]:
        """The rows of a declared query; nothing (and one error) when its main table is unusable."""
        if self.report_missing(query.table):
            return
        built = self.build(query)
        if built is None:
            return
        sql, params = built
        yield from iter_rows(self.conn, sql, params)

    def spelled(self, table: str, column: str) -> str:
        """A column as the schema spells it (SQLite matches names in any case)."""
        return self.columns(table).get(column.lower(), column)

    def _join(self, join: Join, scope: _Scope) -> str | None:
        """The JOIN clause of `join` in `scope` (which it then extends), or None when it is left out."""
        target = scope.ref(join.to)
        if target == "NULL" or not self.has(join.table) or not self.has_column(join.table.name, join.on):
            return None
        scope.aliases[join.alias.lower()] = join.table.name
        return (f"{'JOIN' if join.inner else 'LEFT JOIN'} {quote(join.table.name)} {quote(join.alias)} "
                f"ON {quote(join.alias)}.{quote(self.spelled(join.table.name, join.on))} = {target}")

    def build(self, query: Query) -> tuple[str, tuple[object, ...]] | None:
        """The SQL and parameters of a query over this schema (None when an inner join is impossible
        or the run's row range leaves this query out)."""
        main, alias = query.table, query.alias
        scope = _Scope(self, {alias.lower(): main.name})
        main_key = self.key_of(main)
        select = [f"{quote(alias)}.{quote(main_key)} AS {quote(KEY)}"]
        select += [f"{scope.ref(f'{alias}.{c}')} AS {quote(c)}" for c in main.columns]
        joins: list[str] = []
        order = [f"{quote(alias)}.{quote(main_key)}"]
        outputs: list[tuple[str, str]] = []  # (output name, expression) of the joins, NULL when left out
        for join in query.joins:
            if isinstance(join, Join):
                clause = self._join(join, scope)
                if clause is None and join.inner:
                    return None
                if clause is not None:
                    joins.append(clause)
                    if join.alias in query.then_by:
                        order.append(f"{quote(join.alias)}.{quote(self.key_of(join.table))}")
                outputs += [(f"{join.alias}.{c}", scope.ref(f"{join.alias}.{c}")) for c in join.table.columns]
            else:
                clause = self._grouped(join, scope.ref(join.to))
                if clause is not None:
                    joins.append(clause)
                for aggregate in join.aggregates:
                    name = f"{join.alias}.{aggregate.name}"
                    expression = f"{quote(join.alias)}.{quote(aggregate.name)}" if clause else "NULL"
                    if clause:
                        scope.outputs[name.lower()] = expression
                    outputs.append((name, expression))
        select += [f"{expression} AS {quote(name)}" for name, expression in outputs]
        names = [KEY, *main.columns, *(name for name, _ in outputs)]
        if len({n.lower() for n in names}) != len(names):
            raise ValueError(f"two outputs of the query over {main.name!r} share a name")
        where: list[str] = []
        params: list[object] = []
        for absent in query.where:
            if self.has_column(absent.table, absent.column):
                column, ref = quote(self.spelled(absent.table, absent.column)), scope.ref(absent.ref)
                test = f"{ref} NOT IN (SELECT {column} FROM {quote(absent.table)} WHERE {column} IS NOT NULL)"
                where.append(f"({ref} IS NULL OR {test})" if absent.or_null else test)
        sql = f"SELECT {', '.join(select)} FROM {quote(main.name)} {quote(alias)}"
        if joins:
            sql += " " + " ".join(joins)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY " + ", ".join(order)
        return sql, tuple(params)

    def _grouped(self, grouped: Grouped, target: str) -> str | None:
        """The LEFT JOIN of a grouped subquery, or None when it is left out."""
        table, alias = grouped.table, quote(grouped.alias)
        if target == "NULL" or not self.has(table) or not self.has_column(table.name, grouped.by):
            return None
        scope = _Scope(self, {grouped.alias.lower(): table.name})
        joins: list[str] = []
        for join in grouped.joins:
            clause = self._join(join, scope)
            if clause is None and join.inner:
                return None
            if clause is not None:
                joins.append(clause)
        parts: list[str] = []
        for aggregate in grouped.aggregates:
            present = [r for r in (scope.ref(c) for c in aggregate.columns) if r != "NULL"]
            if not present:
                parts.append(f"NULL AS {quote(aggregate.name)}")
                continue
            if aggregate.combine == "lines":
                value = " || '\n' || ".join(f"coalesce({p}, '')" for p in present)
            else:
                value = present[0] if len(present) == 1 else f"coalesce({', '.join(present)})"
            args = value if aggregate.separator is None else f"{value}, {_literal(aggregate.separator)}"
            parts.append(f"{aggregate.function}({args}) AS {quote(aggregate.name)}")
        if all(part.startswith("NULL AS ") for part in parts):
            return None  # nothing to fold: the join would only cost time
        by = f"{alias}.{quote(self.spelled(table.name, grouped.by))}"
        body = " ".join((f"SELECT {by} AS {quote(KEY)}, {', '.join(parts)} FROM {quote(table.name)} {alias}", *joins,
                         f"GROUP BY {by}"))
        return f"LEFT JOIN ({body}) {alias} ON {alias}.{quote(KEY)} = {target}"

    # -- locators ------------------------------------------------------------------------------
    def locator(self, table: str, rowid: object, key_path: str | None = None) -> Locator:
        """Where a record is: this file, a table, and a row key (None when not an integer)."""
        key = rowid if isinstance(rowid, int) and not isinstance(rowid, bool) else None
        return Locator(self.path, self.sha256, table, key, key_path)


class _Scope:
    """The tables of a query (or of a grouped subquery) by alias, to turn ``"alias.column"`` into SQL."""

    def __init__(self, db: Database, aliases: dict[str, str]) -> None:
        self.db = db
        self.aliases = aliases  # alias (lower case) -> table name
        self.outputs: dict[str, str] = {}  # "alias.name" (lower case) of a grouped join -> SQL

    def ref(self, text: str) -> str:
        """A column of a table joined so far (declared, or only named in a join condition, then
        never selected), a grouped output, or ``NULL`` when it is not there."""
        found = self.outputs.get(text.lower())
        if found is not None:
            return found
        alias, _, column = text.partition(".")
        table = self.aliases.get(alias.lower())
        if table is None or not self.db.has_column(table, column):
            return "NULL"
        return f"{quote(alias)}.{quote(self.db.spelled(table, column))}"
