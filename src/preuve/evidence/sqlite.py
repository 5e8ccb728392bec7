"""Read-only, bounded access to SQLite databases from evidence.

A database with no journal beside it is opened in place with
``mode=ro&immutable=1``: SQLite then never writes, locks or creates files.
A database with a ``-wal`` or ``-journal`` beside it is copied with its
journal into a private temporary folder and opened there, so that rows still
in the WAL are read (and a hot journal rolled back) without touching the
evidence. Either way the connection is hardened: ``trusted_schema`` off, an
authorizer that allows reads only, a cap on the size of any value, and a
deadline enforced by a progress handler.

A hostile schema can make a read endless without writing anything: a view
standing where a phone's database has a table (a recursive one, or a join that
multiplies rows a million times), or tables whose keys repeat so that a join
multiplies them. So a connection also refuses to read through the database's
own views (no database preuve reads keeps its records in a view, and
``pragma_table_info`` still answers), refuses recursive queries (preuve never
writes one), and stops a query past a budget of work that grows with the
database's size (``Limits.sqlite_steps_per_byte``): real databases need about
one SQLite step per byte, a row-multiplying join needs without end. The error
then says why.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from preuve.evidence.limits import Limits

# Authorizer action codes (sqlite3 exposes them as module constants).
_ALLOWED_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
}
_SCHEMA_PRAGMAS = {"table_info", "table_xinfo", "index_list", "index_info"}
_VALUE_PRAGMAS = {"user_version", "page_count", "journal_mode"}
_ALLOWED_FUNCTIONS = {
    "count", "max", "min", "sum", "total", "avg", "coalesce", "ifnull", "length", "lower", "upper",
    "substr", "substring", "cast", "typeof", "instr", "trim", "ltrim", "rtrim", "replace", "abs",
    "round", "group_concat", "hex", "printf", "json_extract", "nullif", "iif", "datetime", "unixepoch",
}


# Measured (each connection's steps over the bytes of its database, all the queries of a run on it):
# a phone's databases, a backup's 170 MB Manifest.db, a 100,000-message sms.db and every database of
# the real acquisitions tested took at most about one step per byte (a network-usage database's
# grouped sums, 1.02); Limits.sqlite_steps_per_byte (64) leaves a wide margin above that.
_STEPS_PER_CALL = 10_000  # the progress handler is called once per this many steps


_REFUSED = "refused or stopped by a bound of preuve.evidence.sqlite"


def refused(exc: BaseException) -> bool:
    """Whether an error is a query on an evidence database refused or stopped by a bound of this module
    (its message says which, and why): the database is hostile, not damaged."""
    return _REFUSED in getattr(exc, "__notes__", ())


class EvidenceConnection(sqlite3.Connection):
    """A connection to an evidence database (made by :func:`open_readonly`): `stopped` says why its
    last refused or interrupted query was, when a bound of this module did it (None otherwise)."""

    stopped: str | None = None
    authorizer: Callable[[int, str | None, str | None, str | None, str | None], int] | None = None


def _view_refused(name: str) -> str:
    return (
        f"{name!r} is a view, not a table: not read (no database a phone writes keeps its records in a view, "
        "and a view can make a read endless)"
    )


def _guard(conn: EvidenceConnection, views: frozenset[str], computed: frozenset[tuple[str, str]]) -> Callable[
    [int, str | None, str | None, str | None, str | None], int
]:
    """The authorizer of `conn`: reads only, of what the database stores and of this connection's TEMP
    views (see only_rows). Refused: its own `views` and its `computed` columns (table, column), all
    lowercased (SQLite names are case-insensitive)."""
    def authorize(action: int, arg1: str | None, arg2: str | None, db: str | None, inner: str | None) -> int:
        if action == sqlite3.SQLITE_SELECT and inner is None:
            conn.stopped = None  # a statement begins (a reason given before was for an earlier one)
        if action == sqlite3.SQLITE_READ:
            if db == "main" and arg1 is not None and arg1.lower() in views:
                conn.stopped = _view_refused(arg1)
                return sqlite3.SQLITE_DENY
            if computed and db == "main" and arg1 is not None and (arg1.lower(), (arg2 or "").lower()) in computed:
                conn.stopped = (
                    f"column {arg2!r} of {arg1!r} is computed when read (a generated column), not stored: not "
                    "read (a phone's databases store their values; a computed one can be made any size)"
                )
                return sqlite3.SQLITE_DENY
            return sqlite3.SQLITE_OK
        if action in _ALLOWED_ACTIONS:
            if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() not in _ALLOWED_FUNCTIONS:
                if inner is not None and inner.lower() in views:  # (met before the view's columns are read)
                    conn.stopped = _view_refused(inner)
                return sqlite3.SQLITE_DENY
            return sqlite3.SQLITE_OK
        if action == getattr(sqlite3, "SQLITE_RECURSIVE", 33):
            conn.stopped = "a recursive query: not run (preuve never asks for one; a hostile schema can)"
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_UPDATE and arg1 in ("sqlite_master", "sqlite_schema"):
            # SQLite reports reading the schema for pragma_table_info() this way; no write can
            # happen anyway (query_only is on and the file is opened read-only).
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            if name in _SCHEMA_PRAGMAS or (name in _VALUE_PRAGMAS and arg2 is None):
                return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY

    return authorize


# What a generated column's declaration has and no other column's can: "AS (" (GENERATED ALWAYS is optional).
_MAY_GENERATE = re.compile(r"\bAS\s*\(", re.IGNORECASE)


def _computed_columns(conn: sqlite3.Connection) -> frozenset[tuple[str, str]]:
    """(table, column), lowercased, of each column computed when read (a VIRTUAL generated column).
    Only the tables whose declaration may have one are asked, never a virtual table: asking a full-text
    table of the phone's (the address book's) about its columns needs its tokenizer, which only the
    phone has, and fails."""
    found: set[tuple[str, str]] = set()
    for name, sql in schema_rows(conn, "SELECT name, sql FROM main.sqlite_master WHERE type = 'table'"):
        if not isinstance(sql, str) or sql.lstrip()[:14].upper() == "CREATE VIRTUAL" or not _MAY_GENERATE.search(sql):
            continue
        try:
            columns = schema_rows(conn, "SELECT name FROM pragma_table_xinfo(?, 'main') WHERE hidden = 2", (name,))
        except sqlite3.DatabaseError:
            continue  # (a table SQLite cannot describe cannot be read either: its reader says so)
        found.update((str(name).lower(), str(column[0]).lower()) for column in columns)
    return frozenset(found)


def _harden(conn: EvidenceConnection, limits: Limits, size: int) -> None:
    """Bound what `conn`, on a database of `size` bytes (with its journal), may do (see the module)."""
    conn.execute("PRAGMA trusted_schema=OFF")
    conn.execute("PRAGMA query_only=ON")
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limits.max_sqlite_cell_bytes)
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, 1_000_000)
    conn.setlimit(sqlite3.SQLITE_LIMIT_EXPR_DEPTH, 200)
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    # The database's own views, and its columns computed when read (VIRTUAL generated columns: hidden
    # 2), read before any authorizer (a hostile schema's names need not be UTF-8).
    views = frozenset(
        str(row[0]).lower()
        for row in schema_rows(conn, "SELECT name FROM main.sqlite_master WHERE type = 'view'")
    )
    computed = _computed_columns(conn)
    deadline = time.monotonic() + limits.sqlite_seconds
    per_byte = limits.sqlite_steps_per_byte
    steps = max(limits.min_sqlite_steps, per_byte * size)
    calls_left = [steps // _STEPS_PER_CALL]  # for the whole connection: every query on it counts

    def _progress() -> int:
        calls_left[0] -= 1
        if calls_left[0] < 0:
            conn.stopped = (
                f"stopped after {steps:,} SQLite steps ({per_byte} per byte of this {size:,}-byte "
                "database): real databases need about one; a hostile schema can make a query endless"
            )
            return 1
        if time.monotonic() > deadline:
            conn.stopped = f"stopped after {limits.sqlite_seconds:g} s (the limit on one database's queries)"
            return 1
        return 0

    conn.set_progress_handler(_progress, _STEPS_PER_CALL)
    conn.authorizer = _guard(conn, views, computed)
    conn.set_authorizer(conn.authorizer)


def _decode_text(raw: bytes) -> str:
    # Evidence text is not always valid UTF-8: keep every byte visible (as \xNN) rather than fail the query.
    return raw.decode("utf-8", "backslashreplace")


def _uri(path: Path, params: str) -> str:
    return "file:" + urllib.parse.quote(str(path.absolute()), safe="/") + "?" + params


@contextmanager
def open_readonly(
    database: Path, journals: dict[str, Path], limits: Limits, workdir: Path
) -> Iterator[sqlite3.Connection]:
    """Open `database` without any possibility of changing it.

    `journals` maps a suffix (``-wal``, ``-journal``, ``-shm``) to the file that
    holds it; `workdir` is a private folder (never inside the evidence) used for
    the copy when a journal must be replayed.
    """
    live = {k: v for k, v in journals.items() if k in ("-wal", "-journal") and v.stat().st_size > 0}
    private: Path | None = None
    try:
        if live:
            private = Path(tempfile.mkdtemp(prefix="sqlite-", dir=workdir))
            copy = private / "db"
            shutil.copyfile(database, copy)
            for suffix, source in live.items():
                shutil.copyfile(source, private / ("db" + suffix))
            # Opened read-write on our own copy: SQLite must be able to build the
            # WAL index or roll back the hot journal; the evidence is not involved.
            conn = sqlite3.connect(
                _uri(copy, "mode=rw"), uri=True, check_same_thread=False, factory=EvidenceConnection
            )
            size = sum(_size(path) for path in (copy, *(private / ("db" + suffix) for suffix in live)))
        else:
            conn = sqlite3.connect(
                _uri(database, "mode=ro&immutable=1"), uri=True, check_same_thread=False, factory=EvidenceConnection
            )
            size = _size(database)
        try:
            try:
                _harden(conn, limits, size)
            except sqlite3.DatabaseError as exc:
                if not corrupt(exc):
                    raise
                # A database cut short (an interrupted copy) counts more pages in its header than the
                # file holds, and SQLite then refuses even its schema. With writable_schema it reads
                # the pages there are, and says "malformed" only where a read needs a page past the cut
                # (see readable_rows). Nothing can be written either way: the file is opened read-only
                # (or is a private copy) and query_only is on.
                conn.execute("PRAGMA writable_schema=ON")
                _harden(conn, limits, size)
            try:
                yield conn
            except sqlite3.DatabaseError as exc:
                # Refused or interrupted by a bound of this module: the error says which, and why.
                if conn.stopped is not None:  # (the reason is reset as each statement begins)
                    error = sqlite3.OperationalError(conn.stopped)
                    error.add_note(_REFUSED)
                    raise error from exc
                raise
        finally:
            conn.close()
    finally:
        if private is not None:
            shutil.rmtree(private, ignore_errors=True)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def schema_rows(conn: sqlite3.Connection, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    # Names in a hostile schema need not be valid UTF-8; decode them leniently (these queries are small).
    previous = conn.text_factory
    conn.text_factory = _decode_text
    try:
        return [tuple(row) for row in conn.execute(sql, params).fetchall()]
    finally:
        conn.text_factory = previous


def table_columns(conn: sqlite3.Connection, table: str) -> set[str]:
    """The columns a table has, or an empty set when the table does not exist. Generated columns are
    among them (``table_info`` hides them, so a reader would take one for absent and read nothing,
    silently): a stored one is read as any column, one computed when read is refused with its reason
    when a query names it (see _guard)."""
    rows = schema_rows(conn, "SELECT name FROM pragma_table_xinfo(?) WHERE hidden IN (0, 2, 3)", (table,))
    return {str(r[0]) for r in rows}


def tables(conn: sqlite3.Connection) -> set[str]:
    rows = schema_rows(conn, "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
    return {str(r[0]) for r in rows}


def iter_rows(
    conn: sqlite3.Connection, sql: str, params: tuple[object, ...] = (), *, named: bool = True
) -> Iterator[sqlite3.Row]:
    """Stream the rows of a query, surviving text that is not valid UTF-8.

    The default text decoding is the fast C path. If a row carries invalid
    UTF-8 the query is run again with a lenient decoder (every byte kept as
    ``\\xNN``), skipping the rows already given, so nothing is lost or repeated.
    Rows are ``sqlite3.Row`` (by name or position); with ``named=False`` they
    are plain tuples, for artifacts that read many rows by position.
    """
    conn.row_factory = sqlite3.Row if named else None
    given = 0
    try:
        for row in conn.execute(sql, params):
            yield row
            given += 1
        return
    except UnicodeDecodeError:
        pass
    except sqlite3.OperationalError as exc:
        if "decode" not in str(exc).lower():
            raise
    conn.text_factory = _decode_text
    try:
        for index, row in enumerate(conn.execute(sql, params)):
            if index >= given:
                yield row
    finally:
        conn.text_factory = str


_ROWID_NAMES = ("rowid", "oid", "_rowid_")


def quoted(name: str) -> str:
    """An SQL identifier in double quotes (its own quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def only_rows(conn: sqlite3.Connection, table: str, low: int | None, high: int | None) -> None:
    """From now on, `table` named without its schema on this connection (a private one) holds only
    its rows with ``low <= rowid < high`` (None: no bound): a TEMP VIEW of that name shadows it, as
    SQLite looks a name up in ``temp`` before ``main``. Queries, joins and ``pragma_table_info``
    read the view unchanged; the view names the table's rowid under each of rowid, oid and
    _rowid_ the table does not declare itself (a view has no rowid of its own). A simple view
    is flattened into the query, so a range is a seek on the table, never a scan.

    This is how a run reads a big table in parts without the reading code knowing: it is the only
    thing written on a hardened connection, in its in-memory ``temp`` schema, never in the file.
    """
    declared = {name.lower() for name in table_columns(conn, table)}
    source = f"main.{quoted(table)}"
    aliases = [f"{source}.rowid AS {alias}" for alias in _ROWID_NAMES if alias not in declared]
    conditions = [f"{source}.rowid {op} {int(bound)}" for op, bound in ((">=", low), ("<", high)) if bound is not None]
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    if not isinstance(conn, EvidenceConnection) or conn.authorizer is None:
        raise TypeError("only_rows shadows a table on a connection made by open_readonly")
    authorizer = conn.authorizer
    conn.set_authorizer(None)
    try:
        conn.execute("PRAGMA query_only=OFF")
        try:
            conn.execute(
                f"CREATE TEMP VIEW {quoted(table)} AS SELECT {', '.join([*aliases, '*'])} FROM {source}{where}"  # noqa: S608 - quoted name, integer bounds
            )
        finally:
            conn.execute("PRAGMA query_only=ON")
    finally:
        conn.set_authorizer(authorizer)


def row_cuts(conn: sqlite3.Connection, table: str, parts: int, min_rows: int, rows_per_part: int | None = None) -> list[int] | None:
    """Rowids cutting `table` into `parts` parts of about the same number of rows (each cut starts a
    part), or None when the table is absent, smaller than `min_rows`, or its rowids are not plain
    integers all through (a declared column named rowid that is not its integer key).

    With `rows_per_part`, `parts` is a maximum: fewer parts of about that many rows each."""
    if parts < 2:
        return None
    if schema_rows(conn, "SELECT 1 FROM pragma_table_xinfo(?) WHERE hidden = 2 LIMIT 1", (table,)):
        # A column computed when read: the view only_rows makes would name it, and be refused, where a
        # reader that never names it reads the table whole. Read whole, as one job reads it.
        return None
    name = quoted(table)
    count = conn.execute(f"SELECT count(*) FROM main.{name}").fetchone()[0]  # noqa: S608 - a quoted name
    if not isinstance(count, int) or count < min_rows:
        return None
    # Rows whose "rowid" is NULL, text or a blob would sort outside every integer range.
    ends: list[int] = []
    for order in ("", " DESC"):
        first = conn.execute(f"SELECT rowid FROM main.{name} ORDER BY rowid{order} LIMIT 1").fetchone()  # noqa: S608
        if first is None or type(first[0]) is not int:
            return None
        ends.append(first[0])
    if rows_per_part is not None:
        parts = max(2, min(parts, count // max(1, rows_per_part)))
    low, high = ends
    if high - low + 1 == count and true_rowid(conn, table):
        # Every rowid from the first to the last is there (as in a table only ever appended to): the
        # rowid at offset k is low + k, and the cuts are known without stepping through the table.
        # (Stepping through a phone's Manifest.db, 170 MB, took 50 ms, twice, on the run's one
        # busy core.) The same cuts as the walk below, which a test holds it to.
        dense = [low + count * part // parts for part in range(1, parts)]
        if any(cut <= before for before, cut in zip(dense, dense[1:], strict=False)):
            return None
        return dense or None
    return _walked_cuts(conn, name, count, parts)


def true_rowid(conn: sqlite3.Connection, table: str) -> bool:
    """Whether `rowid` names the table's own integer key (unique), not a declared column of that name."""
    rows = schema_rows(conn, "SELECT name FROM pragma_table_info(?, 'main')", (table,))
    return bool(rows) and not {str(r[0]).lower() for r in rows} & {"rowid", "oid", "_rowid_"}


def _walked_cuts(conn: sqlite3.Connection, name: str, count: int, parts: int) -> list[int] | None:
    """The cuts of row_cuts found by stepping through the rowids (`name`: the table, quoted)."""
    # Cut i is the rowid at offset count*i//parts. Each is counted on from the one before (a seek to
    # that rowid, then the rows between): OFFSET steps through every row it skips, so counting each
    # from the start read the table about parts/2 times over instead of once.
    cuts: list[int] = []
    offset = 0
    for part in range(1, parts):
        target = count * part // parts
        if cuts:
            row = conn.execute(
                f"SELECT rowid FROM main.{name} WHERE rowid >= ? ORDER BY rowid LIMIT 1 OFFSET ?",  # noqa: S608
                (cuts[-1], target - offset),
            ).fetchone()
        else:
            row = conn.execute(
                f"SELECT rowid FROM main.{name} ORDER BY rowid LIMIT 1 OFFSET ?", (target,)  # noqa: S608
            ).fetchone()
        if row is None or type(row[0]) is not int or (cuts and row[0] <= cuts[-1]):
            return None
        cuts.append(row[0])
        offset = target
    return cuts or None


_CORRUPT, _NOTADB = 11, 26  # SQLite's primary result codes for a damaged page and a file that is none
_LOWEST, _HIGHEST = -(1 << 63), (1 << 63) - 1  # the rowids SQLite can hold
MAX_GAPS = 10_000  # damaged stretches stepped over in one read before the rest is given up as lost
_DISORDER = "a damaged page gave rows out of their order"
_SEEK_BACK = "a damaged page sent a seek to rows before the one sought"


def corrupt(exc: BaseException) -> bool:
    """Whether a SQLite error says the database is damaged (a malformed page, not a database), rather
    than a query refused or stopped by a bound of this module."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (_CORRUPT, _NOTADB)


@dataclass(frozen=True, slots=True)
class LostRows:
    """Rows of a table that could not be read: those whose rowid is above `after` and below `before`,
    the rows read on either side (None: no row read on that side), and SQLite's reason."""

    after: int | None
    before: int | None
    reason: str

    def describe(self, table: str) -> str:
        if self.after is None and self.before is None:
            where = "every row"
        elif self.after is None:
            where = f"the rows before rowid {self.before}"
        elif self.before is None:
            where = f"the rows after rowid {self.after}"
        else:
            where = f"the rows after rowid {self.after} and before rowid {self.before}"
        return f"{where} of {table} could not be read ({self.reason})"


def damage_summary(lost: list[LostRows], table: str, read: int) -> str:
    """One sentence for the stretches of `table` a read lost (`read`: the rows it gave): a damaged
    database can lose thousands, and each would bury the rest of a report under the same words."""
    if len(lost) == 1:
        return f"{lost[0].describe(table)}; {read:,} rows were read"
    return (
        f"{len(lost):,} stretches of rows of {table} could not be read, {read:,} rows were; the first: "
        f"{lost[0].describe(table)}"
    )


def readable_rows(
    conn: sqlite3.Connection, table: str, columns: str, low: int | None, high: int | None, lost: list[LostRows],
) -> Iterator[tuple[object, ...]]:
    """The rows of `table` with ``low <= rowid < high`` (None: no bound) as plain tuples ``(rowid,
    *columns)``, in rowid order, read around the damaged pages of the database: each stretch of rows
    that cannot be read is added to `lost` (its bounds: the rowids this read gave on either side of
    it, None where it gave none), and the read goes on at the next row that can be. `table` is a name
    as the reader's queries give it (the view of only_rows stands for it), `columns` the text of the
    columns after rowid. Only for a table whose `rowid` is its own integer key (:func:`true_rowid`): a
    declared column of that name is no key.

    Hand-written (SQLite's own recovery is not in Python's sqlite3): a table's rows lie in the leaves of
    a b-tree whose inner pages hold rowids, so a seek to a rowid reads only the pages on the way to
    its leaf. Past a damaged leaf, the next readable row is found by seeks from the last row read at
    steps doubling (a damaged inner page hides a whole subtree, stepped over the same way), then
    halving back to the first rowid a seek reads without error: at most 128 seeks of a few pages each
    for a stretch, whatever its size. The row found is read alone before the read goes on after it:
    Python's cursor steps one row ahead, so the row before a damaged page fails with it when read in
    a scan, and a row whose own record is damaged (its key readable) is lost alone. Errors other than
    damage (a bound of open_readonly, an interrupt) are raised."""
    scan_sql = (
        f"SELECT rowid, {columns} FROM {table} WHERE rowid >= ?"  # noqa: S608 - a reader's fixed names
        + ("" if high is None else " AND rowid < ?") + " ORDER BY rowid"
    )
    one_sql = f"SELECT rowid, {columns} FROM {table} WHERE rowid = ?"  # noqa: S608
    seek_sql = f"SELECT rowid FROM {table} WHERE rowid >= ? ORDER BY rowid LIMIT 1"  # noqa: S608
    top = _HIGHEST if high is None else high - 1  # the highest rowid wanted
    first = _LOWEST if low is None else low  # the lowest
    start = first  # the next rowid wanted
    given = first - 1  # the rowid of the last row given (below `first`: none yet)
    gap: str | None = None  # rows after the last given were lost (SQLite's reason), told once a row comes after

    def damaged(call: Callable[[], object]) -> tuple[bool, object]:
        try:
            return False, call()
        except sqlite3.DatabaseError as exc:
            if not corrupt(exc):
                raise
            return True, str(exc)

    def seek(at: int) -> tuple[bool, object]:
        bad, found = damaged(lambda: conn.execute(seek_sql, (at,)).fetchone())
        if not bad and isinstance(found, tuple) and type(found[0]) is int and found[0] < at:
            # A damaged inner page can send a seek to rows before the one sought: such a seek is failed
            # like one that raises, so the rows given stay in rowid order and the read always moves on
            # (taken as found, it went back, and gave the same rows again without end).
            return True, _SEEK_BACK
        return bad, found[0] if not bad and isinstance(found, tuple) else (None if not bad else found)

    def after() -> int | None:
        return None if given < first else given

    disorder = 0  # rows a scan gave out of their order since the last stretch was told

    def told(reason: str) -> str:
        """The reason of a stretch, with the rows a damaged page gave out of their order (not given)."""
        nonlocal disorder
        if disorder:
            count, disorder = disorder, 0
            shuffled = f"a damaged page gave {count:,} row(s) out of their order"
            return shuffled if reason == _DISORDER else f"{reason}; {shuffled}"
        return reason

    gaps = 0
    while start <= top:
        # A scan from `start`. A damaged page can give rows out of their order (its cells point anywhere),
        # and a scan begun again after it would give them again: a row is given only after the last one
        # given, so each is given once and every scan begins after the last.
        try:
            params = (start,) if high is None else (start, high)
            for row in cast(Iterator[tuple[int, ...]], iter_rows(conn, scan_sql, params, named=False)):
                rowid = row[0]
                if rowid > given:
                    if gap is not None:
                        lost.append(LostRows(after(), rowid, told(gap)))
                        gap = None
                    given = rowid
                    yield row
                else:
                    gap = gap or _DISORDER
                    disorder += 1
            break
        except sqlite3.DatabaseError as exc:
            if not corrupt(exc):
                raise
            reason = str(exc)
        start = max(start, given + 1)
        # The next row a seek finds, read alone; a gap opens where a seek or a row fails.
        while start <= top:
            bad, found = seek(start)
            if bad:
                gap = gap or reason
                gaps += 1
                if gaps > MAX_GAPS:
                    break
                # Steps doubling from `start` to a seek that reads, then halving back to the first that does.
                # Before any row is read, from rowid 1 first (where tables begin): from the lowest rowid,
                # the steps would pass over a table's rows before they reach them (rows below rowid 1,
                # which no phone's database writes, are then told lost with the stretch).
                good = None
                for origin in ((1, start) if given < first and start < 1 else (start,)):
                    failed, step = origin - (origin != start), 1  # (the seek at `start` failed)
                    while good is None:
                        probe = min(failed + step, top)
                        bad, result = seek(probe)
                        if not bad:
                            good, found = probe, result
                        elif probe >= top:
                            break
                        else:
                            failed, step = probe, step * 2
                    if good is not None:
                        break
                if good is None:
                    break
                while failed + 1 < good:
                    middle = (failed + good) // 2
                    bad, result = seek(middle)
                    if bad:
                        failed = middle
                    else:
                        good, found = middle, result
            if type(found) is not int or found > top:
                start = top + 1  # (no row after: the read is done)
                break
            bad, one = damaged(lambda at=found: conn.execute(one_sql, (at,)).fetchone())  # type: ignore[misc]
            if bad or not isinstance(one, tuple):
                gap = gap or (one if isinstance(one, str) else reason)
                start = found + 1
                continue
            if gap is not None:
                lost.append(LostRows(after(), found, told(gap)))
                gap = None
            yield one
            given, start = found, found + 1
            break
        else:
            break
        if gap is not None or gaps > MAX_GAPS:
            break
    if gap is not None:
        lost.append(LostRows(after(), None, told(gap)))
