"""The readable rows of a damaged SQLite database, copied table by table into a private database that
a reader then queries as it would the original.

A phone's databases are acquired while the phone writes them, and a page can come out damaged; one
damaged page stops every query that reaches it, and with it every record after it. MVT, on a
database whose schema cannot be read (and on sms.db whatever the error), runs the sqlite3 shell's
``.clone``, which copies each table in order up to the damage and then again from its other end:
it needs the shell installed, and loses whatever lies between two damaged pages. Here each table is
read around every damaged page by :func:`preuve.evidence.sqlite.readable_rows` (in rowid order, each
stretch that cannot be read kept with the rowids read on either side), and its rows are written with
their rowids into a private copy. A reader's queries, joins and locators then work on the copy as on
the original, and what was lost is told per table.

The copy is built from what SQLite says of each table's columns (names and the affinity of their
declared types), never by running SQL text found in the evidence: a hostile schema's text can be any
statement. What it does not keep, on purpose: virtual tables (their module is the phone's), columns
computed when read (refused on evidence too), SQLite's own tables, indexes, views and triggers (a
reader's joins use the indexes SQLite builds for them by itself), and declared collations (columns
compare as BINARY).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from preuve.evidence.limits import Limits
from preuve.evidence.sqlite import LostRows, corrupt, iter_rows, quoted, readable_rows, schema_rows

# At most this many tables are copied (a phone's biggest databases have a few hundred); the others are
# told as not read.
MAX_TABLES = 2_000
_BATCH = 512  # rows written to the copy at a time


@dataclass(frozen=True, slots=True)
class TableLoss:
    """What could not be copied of one table: the stretches of rows lost (read in rowid order), or the
    rows after the `read` first (`after_rows`, a table read in its own order), or the whole table
    (`reason`)."""

    table: str
    read: int
    lost: tuple[LostRows, ...] = ()
    after_rows: str | None = None  # SQLite's reason, for a table read in its own order
    reason: str | None = None  # why no row of the table could be copied

    def describe(self) -> str:
        if self.reason is not None:
            return f"table {self.table} could not be read ({self.reason})"
        if self.after_rows is not None:
            return f"the rows of {self.table} after its first {self.read:,} could not be read ({self.after_rows})"
        first = self.lost[0].describe(self.table)
        if len(self.lost) == 1:
            return first
        return f"{len(self.lost):,} stretches of rows of {self.table} could not be read; the first: {first}"


@dataclass(frozen=True, slots=True)
class Salvage:
    """A private database holding every row of the original that could be read (`path`), the rows
    copied, the tables copied, and what was lost (tables with nothing lost are not listed)."""

    path: Path
    rows: int
    tables: int
    losses: tuple[TableLoss, ...]

    def lost_rows(self) -> dict[str, tuple[LostRows, ...]]:
        """The rows lost, by table (its name lower-cased), in rowid terms: every row of a table that was
        read in its own order or not at all may be lost."""
        return {
            loss.table.lower(): loss.lost if loss.lost else (LostRows(None, None, loss.reason or loss.after_rows or ""),)
            for loss in self.losses
        }

    def summary(self, failure: str) -> str:
        """One sentence: why the database was read around its damage, and what could not be read."""
        if not self.losses:
            told = "no row was lost"
        else:
            shown = [loss.describe() for loss in self.losses[:3]]
            more = len(self.losses) - len(shown)
            told = "; ".join(shown) + (f"; and in {more:,} more table(s)" if more else "")
        return (
            f"damaged ({failure}): read around the damage, {self.rows:,} rows of {self.tables:,} table(s) "
            f"read; {told}"
        )


@contextmanager
def salvaged(conn: sqlite3.Connection, workdir: Path, limits: Limits) -> Iterator[Salvage | None]:
    """The readable rows of the database open on `conn` (a connection of ``open_readonly``), copied into
    a private database under `workdir` (removed when the block ends); None when not even its schema can
    be read. Errors other than damage (a bound of the connection) are raised."""
    try:
        schema = schema_rows(conn, "SELECT type, name, sql FROM main.sqlite_master")
    except sqlite3.DatabaseError as exc:
        if not corrupt(exc):
            raise
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="salvage-", dir=workdir))
    try:
        path = folder / "db"
        out = sqlite3.connect(path)
        losses: list[TableLoss] = []
        rows = copied = 0
        try:
            out.execute("PRAGMA journal_mode=OFF")
            out.execute("PRAGMA synchronous=OFF")
            out.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limits.max_sqlite_cell_bytes)
            names = [
                str(name) for kind, name, sql in schema
                if kind == "table" and isinstance(name, str) and not name.lower().startswith("sqlite_")
                and not (isinstance(sql, str) and sql.lstrip()[:14].upper() == "CREATE VIRTUAL")
            ]
            for number, name in enumerate(names):
                if number >= MAX_TABLES:
                    losses.append(TableLoss(name, 0, reason=f"more than {MAX_TABLES:,} tables; not read"))
                    continue
                loss, count = _copy_table(conn, out, name)
                rows += count
                copied += loss is None or loss.reason is None
                if loss is not None:
                    losses.append(loss)
            out.commit()
        finally:
            out.close()
        yield Salvage(path, rows, copied, tuple(losses))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_AFFINITIES = (("INT", "INTEGER"), ("CHAR", "TEXT"), ("CLOB", "TEXT"), ("TEXT", "TEXT"), ("BLOB", ""),
               ("REAL", "REAL"), ("FLOA", "REAL"), ("DOUB", "REAL"))


def affinity(declared: str) -> str:
    """The type that gives a column the affinity SQLite gives `declared` (its rules, in their order)."""
    upper = declared.upper()
    if not upper:
        return ""
    for part, kind in _AFFINITIES:
        if part in upper:
            return kind
    return "NUMERIC"


def _copy_table(conn: sqlite3.Connection, out: sqlite3.Connection, name: str) -> tuple[TableLoss | None, int]:
    """Copy what can be read of table `name` into `out`: what was lost (None: nothing), and the rows copied."""
    try:
        info = schema_rows(conn, "SELECT name, type, pk, hidden FROM pragma_table_xinfo(?, 'main')", (name,))
    except sqlite3.DatabaseError as exc:
        if not corrupt(exc):
            raise
        return TableLoss(name, 0, reason=str(exc)), 0
    # Stored columns (hidden 0; 3: generated and stored, read as stored); a column computed when read is
    # left out, as a query on evidence refuses it.
    columns = [(str(c), str(t or ""), pk if type(pk) is int else 0) for c, t, pk, hidden in info if hidden in (0, 3)]
    if not columns:
        return TableLoss(name, 0, reason="its columns cannot be told"), 0
    keys = [c for c in columns if c[2]]
    # The column that is the rowid itself (a lone INTEGER PRIMARY KEY, as sms.db's ROWID), when there is one.
    alias = keys[0][0] if len(keys) == 1 and keys[0][1].upper() == "INTEGER" else None
    declared = {c.lower() for c, _, _ in columns}
    has_rowid = _has_rowid(conn, name)
    if alias is not None and not has_rowid:
        alias = None  # (a WITHOUT ROWID table's key is no rowid)
    # readable_rows names the rowid "rowid": a declared column of that name must be the rowid itself.
    by_rowid = has_rowid and ("rowid" not in declared or alias is not None and alias.lower() == "rowid")
    definitions = [
        f"{quoted(c)} INTEGER PRIMARY KEY" if c == alias else f"{quoted(c)} {affinity(t)}".rstrip()
        for c, t, _ in columns
    ]
    try:
        out.execute(f"CREATE TABLE {quoted(name)} ({', '.join(definitions)})")
    except sqlite3.Error as exc:  # (a hostile schema: two tables whose names differ only in case)
        return TableLoss(name, 0, reason=f"not copied: {exc}"), 0
    selected = ", ".join(quoted(c) for c, _, _ in columns)
    into = ", ".join(quoted(c) for c, _, _ in columns)
    source = f"main.{quoted(name)}"
    count = 0
    if by_rowid:
        # Rows with their rowids (a locator names a row by it), the rowid column itself when there is one.
        lost: list[LostRows] = []
        found = readable_rows(conn, source, selected, None, None, lost)
        if alias is not None:
            insert = f"INSERT OR IGNORE INTO {quoted(name)} ({into}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
            rows = (row[1:] for row in found)
        else:
            insert = (f"INSERT OR IGNORE INTO {quoted(name)} (rowid, {into}) "  # noqa: S608 - quoted names
                      f"VALUES ({', '.join('?' * (len(columns) + 1))})")
            rows = (row for row in found)
        count = _write(out, insert, rows)
        return (TableLoss(name, count, tuple(lost)) if lost else None), count
    # A table without rowids (or whose rowid a declared column hides): read in its own order, up to the damage.
    insert = f"INSERT INTO {quoted(name)} ({into}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
    reason: str | None = None
    batch: list[tuple[object, ...]] = []
    try:
        for row in cast(Iterator[tuple[object, ...]], iter_rows(conn, f"SELECT {selected} FROM {source}", named=False)):  # noqa: S608
            batch.append(tuple(row))
            if len(batch) >= _BATCH:
                count += _write(out, insert, iter(batch))
                batch.clear()
    except sqlite3.DatabaseError as exc:
        if not corrupt(exc):
            raise
        reason = str(exc)
    count += _write(out, insert, iter(batch))
    return (TableLoss(name, count, after_rows=reason) if reason is not None else None), count


def _has_rowid(conn: sqlite3.Connection, name: str) -> bool:
    try:
        conn.execute(f"SELECT rowid FROM main.{quoted(name)} LIMIT 0")  # noqa: S608 - a quoted name
        return True
    except sqlite3.OperationalError as exc:
        if corrupt(exc):
            raise
        return False  # (a table WITHOUT ROWID)


def _write(out: sqlite3.Connection, insert: str, rows: Iterator[tuple[object, ...]]) -> int:
    """Write the rows into the copy, a batch at a time; the rows written."""
    before = out.total_changes
    batch: list[tuple[object, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            out.executemany(insert, batch)
            batch.clear()
    if batch:
        out.executemany(insert, batch)
    return out.total_changes - before


# The rowid ranges an index read asks SQLite for at most (each two bounds in its WHERE): stretches beyond
# are merged where they lie closest, and the rows between them told apart here.
_MAX_RANGES = 64


def index_values(
    conn: sqlite3.Connection, table: str, column: str, within: Sequence[tuple[int | None, int | None]], limit: int,
) -> dict[int, object] | None:
    """The values of `column` of the rows whose rowid lies in one of the ranges `within` (each open: above
    its first bound and below its second, None for no bound; in rowid order, apart), read from an index
    of `table` whose first column it is (rowid: value), or None when no index has it first. A table's
    rows can be lost to damage while its indexes, b-trees of their own pages, still hold each row's key
    and rowid: the index is read in order up to its own damage, then from its other end, covering the
    entries (no row of the table is read; the ranges are compared by SQLite, so an index of half a
    million entries costs no Python step per entry). At most `limit` entries are read from each end."""
    index = _index_on(conn, table, column)
    if index is None or not within:
        return None if index is None else {}
    asked = _merged(list(within), _MAX_RANGES)
    exact = len(asked) == len(within)
    lows = [low if low is not None else -(1 << 63) for low, _ in within]
    tests, params = [], []
    for low, high in asked:
        bounds = [f"rowid {op} ?" for op, bound in ((">", low), ("<", high)) if bound is not None]
        tests.append("(" + (" AND ".join(bounds) or "1") + ")")
        params += [bound for bound in (low, high) if bound is not None]
    found: dict[int, object] = {}
    source = f"main.{quoted(table)} INDEXED BY {quoted(index)}"
    name = quoted(column)

    def keep(value: object, rowid: object) -> None:
        if type(rowid) is not int:
            return
        if not exact:  # (in a merged range: in one of the ranges asked for?)
            at = bisect_right(lows, rowid - 1) - 1
            if at < 0 or (within[at][1] is not None and rowid >= cast(int, within[at][1])):
                return
        found[rowid] = value

    for descending in (False, True):
        direction, past = (" DESC", "<") if descending else ("", ">")
        select = f"SELECT {name}, rowid FROM {source} WHERE ({' OR '.join(tests)})"  # noqa: S608 - quoted names
        order = f" ORDER BY {name}{direction}, rowid{direction}"
        last: tuple[object, object] | None = None
        read = 0
        try:
            for value, rowid in cast(Iterator[tuple[object, object]],
                                     iter_rows(conn, select + order, tuple(params), named=False)):
                read += 1
                if read > limit or (descending and rowid in found):
                    break  # (read back to where the first read stopped)
                keep(value, rowid)
                last = (value, rowid)
            else:
                if not descending:
                    return found  # (the whole index read: nothing to read from its other end)
            continue
        except sqlite3.DatabaseError as exc:
            if not corrupt(exc):
                raise
        # Python's cursor steps a row ahead: the row it stepped past when the damage stopped it, and any
        # other up to the damage, are read one at a time (a read of one row stops without a step more).
        while read <= limit:
            after = "" if last is None else f" AND ({name}, rowid) {past} (?, ?)"
            try:
                row = conn.execute(select + after + order + " LIMIT 1", (*params, *(last or ()))).fetchone()
            except sqlite3.DatabaseError as exc:
                if not corrupt(exc):
                    raise
                break
            if row is None or (descending and row[1] in found):
                break
            read += 1
            keep(row[0], row[1])
            last = (row[0], row[1])
    return found


def _merged(ranges: list[tuple[int | None, int | None]], most: int) -> list[tuple[int | None, int | None]]:
    """At most `most` ranges covering `ranges` (in order, apart): those closest to the next are joined to
    it, the closest first (sorted once: a damaged Manifest.db can lose ten thousand stretches)."""
    if len(ranges) <= most:
        return list(ranges)
    gaps = sorted(range(len(ranges) - 1), key=lambda n: (cast(int, ranges[n + 1][0]) - cast(int, ranges[n][1]), n))
    joined = set(gaps[: len(ranges) - most])  # (range n is joined to range n + 1)
    out: list[tuple[int | None, int | None]] = []
    low = ranges[0][0]
    for n, (_, high) in enumerate(ranges):
        if n in joined:
            continue
        out.append((low, high))
        if n + 1 < len(ranges):
            low = ranges[n + 1][0]
    return out


def _index_on(conn: sqlite3.Connection, table: str, column: str) -> str | None:
    """An index of `table` whose first column is `column` (case as SQLite compares names), not partial."""
    try:
        indexes = schema_rows(conn, "SELECT name, partial FROM pragma_index_list(?)", (table,))
        for name, partial in indexes:
            if partial:
                continue
            first = schema_rows(conn, "SELECT name FROM pragma_index_info(?) WHERE seqno = 0", (str(name),))
            if first and isinstance(first[0][0], str) and first[0][0].lower() == column.lower():
                return str(name)
    except sqlite3.DatabaseError as exc:
        if not corrupt(exc):
            raise
    return None
