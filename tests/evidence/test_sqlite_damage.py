"""A damaged SQLite database is read around its damage (evidence.sqlite.readable_rows), and one cut
short is read up to the cut.

The databases are written with plain sqlite3 and damaged by writing bytes over their pages; which page
holds which rows is asked of SQLite's own dbstat table (pages in the order of the b-tree), never of
preuve."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from preuve.evidence.limits import Limits
from preuve.evidence.sqlite import LostRows, damage_summary, open_readonly, readable_rows
from tests.builders.sqlite_pages import leaves as table_leaves
from tests.builders.sqlite_pages import zero_pages

PAGE = 4096
MALFORMED = "database disk image is malformed"


def _database(path: Path, rows: int = 600, big: tuple[int, ...] = ()) -> Path:
    """A table t of `rows` rows (rowids 1..rows, each about 200 bytes: about 18 to a leaf), the rows in
    `big` holding 10,000 bytes (spilled to overflow pages)."""
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA page_size={PAGE}")
    conn.execute("CREATE TABLE t (name TEXT, value BLOB)")
    conn.executemany(
        "INSERT INTO t (rowid, name, value) VALUES (?, ?, ?)",
        [(n, f"row{n}", bytes([n % 251]) * (10_000 if n in big else 200)) for n in range(1, rows + 1)],
    )
    conn.commit()
    conn.close()
    return path


def _overflow_page(path: Path) -> int:
    conn = sqlite3.connect(path)
    [(page,)] = conn.execute(
        "SELECT pageno FROM dbstat WHERE name = 't' AND pagetype = 'overflow' ORDER BY path LIMIT 1"
    ).fetchall()
    conn.close()
    return int(page)


def _read(path: Path, low: int | None = None, high: int | None = None) -> tuple[list[int], list[LostRows]]:
    lost: list[LostRows] = []
    with open_readonly(path, {}, Limits(), path.parent) as conn:
        rows = [row for row in readable_rows(conn, "t", "name, value", low, high, lost)]
    for row in rows:
        assert row[1] == f"row{row[0]}"
    return [int(row[0]) for row in rows], lost  # type: ignore[call-overload]


def test_an_undamaged_table_is_read_whole(tmp_path: Path) -> None:
    path = _database(tmp_path / "db")
    assert _read(path) == (list(range(1, 601)), [])
    assert _read(path, 100, 200) == (list(range(100, 200)), [])


def test_a_damaged_leaf_loses_its_rows_alone(tmp_path: Path) -> None:
    path = _database(tmp_path / "db")
    leaves = table_leaves(path, "t")
    assert len(leaves) > 20
    page, gone = leaves[10]
    before, after = leaves[9][1][-1], leaves[11][1][0]
    data = path.read_bytes()
    zero_pages(path, page)
    rows, lost = _read(path)
    assert rows == [n for n in range(1, 601) if n not in gone]
    assert lost == [LostRows(before, after, MALFORMED)]
    assert damage_summary(lost, "t", len(rows)) == (
        f"the rows after rowid {before} and before rowid {after} of t could not be read ({MALFORMED}); "
        f"{len(rows):,} rows were read"
    )
    assert path.read_bytes() != data  # (the damage is there: the read did not mend anything)


def test_leaves_damaged_apart_are_stretches_apart_and_together_one(tmp_path: Path) -> None:
    path = _database(tmp_path / "db")
    leaves = table_leaves(path, "t")
    zero_pages(path, leaves[3][0], leaves[4][0], leaves[20][0])
    rows, lost = _read(path)
    gone = set(leaves[3][1] + leaves[4][1] + leaves[20][1])
    assert rows == [n for n in range(1, 601) if n not in gone]
    assert lost == [
        LostRows(leaves[2][1][-1], leaves[5][1][0], MALFORMED),
        LostRows(leaves[19][1][-1], leaves[21][1][0], MALFORMED),
    ]
    assert damage_summary(lost, "t", len(rows)).startswith(
        f"2 stretches of rows of t could not be read, {len(rows):,} rows were; the first: the rows after rowid "
        f"{leaves[2][1][-1]} and before rowid {leaves[5][1][0]} of t"
    )


def test_the_first_and_the_last_leaf(tmp_path: Path) -> None:
    path = _database(tmp_path / "db")
    leaves = table_leaves(path, "t")
    zero_pages(path, leaves[0][0], leaves[-1][0])
    rows, lost = _read(path)
    assert rows == [n for n in range(1, 601) if n not in set(leaves[0][1] + leaves[-1][1])]
    assert lost == [LostRows(None, leaves[1][1][0], MALFORMED), LostRows(leaves[-2][1][-1], None, MALFORMED)]
    assert lost[0].describe("t") == f"the rows before rowid {leaves[1][1][0]} of t could not be read ({MALFORMED})"
    assert lost[1].describe("t") == f"the rows after rowid {leaves[-2][1][-1]} of t could not be read ({MALFORMED})"


def test_a_range_stops_at_its_bound_in_damage(tmp_path: Path) -> None:
    path = _database(tmp_path / "db")
    leaves = table_leaves(path, "t")
    zero_pages(path, leaves[10][0])
    inside = leaves[10][1][len(leaves[10][1]) // 2]  # a bound in the middle of the damaged leaf
    rows, lost = _read(path, leaves[9][1][0], inside)
    assert rows == leaves[9][1]
    assert lost == [LostRows(leaves[9][1][-1], None, MALFORMED)]  # (no row of the range after it)
    rows, lost = _read(path, inside, leaves[12][1][0])
    assert rows == leaves[11][1]
    assert lost == [LostRows(None, leaves[11][1][0], MALFORMED)]


def test_a_row_whose_record_is_damaged_is_lost_alone(tmp_path: Path) -> None:
    """Its key is on a sound leaf; its record spills onto a damaged overflow page."""
    path = _database(tmp_path / "db", big=(300,))
    zero_pages(path, _overflow_page(path))
    rows, lost = _read(path)
    assert rows == [n for n in range(1, 601) if n != 300]
    assert [(one.after, one.before) for one in lost] == [(299, 301)]


def test_a_damaged_root_loses_every_row(tmp_path: Path) -> None:
    path = _database(tmp_path / "db")
    conn = sqlite3.connect(path)
    [(root,)] = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 't'").fetchall()
    conn.close()
    zero_pages(path, root)
    assert _read(path) == ([], [LostRows(None, None, MALFORMED)])


def test_a_database_cut_short_is_read_up_to_the_cut(tmp_path: Path) -> None:
    path = _database(tmp_path / "db")
    leaves = table_leaves(path, "t")
    cut = leaves[15][0]  # pages from this leaf's on are gone
    path.write_bytes(path.read_bytes()[: (cut - 1) * PAGE])
    # Plain SQLite refuses even the schema of a file shorter than its header says.
    with pytest.raises(sqlite3.DatabaseError, match="malformed"):
        sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True).execute("SELECT * FROM sqlite_master").fetchall()
    data = path.read_bytes()
    rows, lost = _read(path)
    kept = [rowid for page, ids in leaves if page < cut for rowid in ids]
    assert rows == kept
    assert lost == [LostRows(kept[-1], None, MALFORMED)]
    assert path.read_bytes() == data


def test_other_errors_are_raised(tmp_path: Path) -> None:
    path = _database(tmp_path / "db")
    with open_readonly(path, {}, Limits(), tmp_path) as conn:
        lost: list[LostRows] = []
        with pytest.raises(sqlite3.OperationalError, match="no such column"):
            list(readable_rows(conn, "t", "missing", None, None, lost))
        assert lost == []
    # A bound of open_readonly stops a read of a damaged database as any other.
    path = _database(tmp_path / "big", rows=20_000)
    zero_pages(path, table_leaves(path, "t")[5][0])
    lost = []
    with (
        pytest.raises(sqlite3.OperationalError, match="stopped after 0 SQLite steps"),
        open_readonly(path, {}, Limits(min_sqlite_steps=0, sqlite_steps_per_byte=0), tmp_path) as conn,
    ):
        list(readable_rows(conn, "t", "name, value", None, None, lost))


def test_rows_a_damaged_page_gives_out_of_their_order_are_given_once(tmp_path: Path) -> None:
    """Two leaves' bytes swapped: each page is sound, but the scan meets rowids out of their order (the
    first leaf holds later rows). Each row is given once, in rowid order; the rows met out of order
    are told with the stretch, by count."""
    path = _database(tmp_path / "db")
    leaves = table_leaves(path, "t")
    (early, early_ids), (late, late_ids) = leaves[5], leaves[10]
    data = bytearray(path.read_bytes())
    first, second = data[(early - 1) * PAGE : early * PAGE], data[(late - 1) * PAGE : late * PAGE]
    data[(early - 1) * PAGE : early * PAGE], data[(late - 1) * PAGE : late * PAGE] = second, first
    path.write_bytes(bytes(data))
    # The order the scan meets them in: the leaves in the tree's order, their bytes swapped.
    met = [rowid for n, (_, ids) in enumerate(leaves) for rowid in (late_ids if n == 5 else early_ids if n == 10 else ids)]
    given, top = [], 0
    for rowid in met:
        if rowid > top:
            given.append(rowid)
            top = rowid
    rows, lost = _read(path)
    assert rows == given and len(set(rows)) == len(rows)
    skipped = len(met) - len(given)
    assert skipped == sum(len(ids) for _, ids in leaves[6:10]) + len(early_ids)
    assert lost == [LostRows(late_ids[-1], late_ids[-1] + 1, f"a damaged page gave {skipped:,} row(s) out of their order")]


def _raise_key(path: Path, cell: int, key: int) -> int:
    """Write `key` (two bytes of varint) as the key of the table root's cell `cell` (an inner page: its
    child's page number, then the largest rowid under it), as a damaged inner page holds; the child of
    cell `cell` + 2 is returned."""
    conn = sqlite3.connect(path)
    [(root,)] = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 't'").fetchall()
    conn.close()
    data = bytearray(path.read_bytes())
    at = (root - 1) * PAGE
    assert data[at] == 0x05  # (an inner page of a table's b-tree)
    pointer = at + int.from_bytes(data[at + 12 + 2 * cell : at + 14 + 2 * cell], "big")
    assert data[pointer + 4] & 0x80 and not data[pointer + 5] & 0x80  # (its key is a two-byte varint)
    data[pointer + 4 : pointer + 6] = bytes([0x80 | key >> 7, key & 0x7F])
    later = at + int.from_bytes(data[at + 12 + 2 * (cell + 2) : at + 14 + 2 * (cell + 2)], "big")
    path.write_bytes(bytes(data))
    return int.from_bytes(data[later : later + 4], "big")


def test_a_seek_a_damaged_inner_page_sends_back_is_not_followed(tmp_path: Path) -> None:
    """An inner page whose key is too large sends a seek for a rowid past it to rows before that rowid
    (SQLite trusts the keys). Taken as found, the read went back and gave the same rows again without end
    (a fuzzed Safari history ran into the bound of SQLite steps after more than a minute); now such a
    seek is failed as one that raises, and the read moves on in rowid order."""
    import itertools

    path = _database(tmp_path / "db")
    zero_pages(path, _raise_key(path, 11, 400))
    with sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True) as plain:
        back = plain.execute("SELECT rowid FROM t WHERE rowid >= 230 ORDER BY rowid LIMIT 1").fetchone()
    assert back is not None and back[0] < 230  # (the damage this test is about)
    lost: list[LostRows] = []
    with open_readonly(path, {}, Limits(), path.parent) as conn:
        rows = [int(row[0]) for row in itertools.islice(readable_rows(conn, "t", "name", None, None, lost), 10_000)]  # type: ignore[call-overload]
    assert len(rows) < 600 and rows == sorted(set(rows))
    assert rows[:200] == list(range(1, 201)) and rows[-1] == 600
    assert lost and all(stretch.reason for stretch in lost)
