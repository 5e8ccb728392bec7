"""Where a table's rows lie in an SQLite file, and damage written over its pages, for the tests of
reading around damage. Which page holds which rows is asked of SQLite's own dbstat table (pages in
the order of the b-tree), never of preuve; the damage is plain byte writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def page_size(path: Path) -> int:
    """The page size the file's header gives (bytes 16-17, big-endian; 1 stands for 65,536)."""
    with path.open("rb") as stream:
        stream.seek(16)
        size = int.from_bytes(stream.read(2), "big")
    return 65536 if size == 1 else size


def leaves(path: Path, table: str) -> list[tuple[int, list[int]]]:
    """(page number, rowids) of each leaf of `table`, in rowid order."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        pages = conn.execute(
            "SELECT pageno, ncell FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY path", (table,)
        ).fetchall()
        rowids = [r for (r,) in conn.execute(f'SELECT rowid FROM "{table}" ORDER BY rowid')]  # noqa: S608
    finally:
        conn.close()
    out, at = [], 0
    for page, cells in pages:
        out.append((int(page), rowids[at : at + cells]))
        at += cells
    assert at == len(rowids)
    return out


def zero_pages(path: Path, *pages: int) -> None:
    """Write zeros over whole pages of the file (numbered from 1, as SQLite numbers them)."""
    size = page_size(path)
    data = bytearray(path.read_bytes())
    for page in pages:
        data[(page - 1) * size : page * size] = bytes(size)
    path.write_bytes(bytes(data))
