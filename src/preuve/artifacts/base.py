"""The artifact contract: declared device paths, typed records, per-file fault isolation.

An artifact is a class in a module under ``artifacts/ios`` or
``artifacts/android``. It declares the device paths (globs) it reads and
yields typed records from :meth:`Artifact.parse`, one evidence file at a
time. Discovery finds it by being there: adding an artifact touches its own
module, its test and perhaps a fixture builder.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import ClassVar

from preuve.artifacts.tables import Database, Table
from preuve.discovery import shipped_classes
from preuve.evidence.acquisition import AcquisitionCheck
from preuve.evidence.fs import DeviceFS
from preuve.evidence.limits import Limits
from preuve.evidence.salvage import salvaged
from preuve.evidence.sqlite import LostRows, corrupt, only_rows, open_readonly, refused
from preuve.model import Locator, Record


@dataclass(slots=True)
class ArtifactContext:
    """What an artifact gets while it parses: the evidence, bounds, and a place for problems."""

    # Warnings kept (each is still shown as it comes): a damaged database can warn once per row.
    MAX_WARNINGS: ClassVar[int] = 1000

    fs: DeviceFS
    limits: Limits
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _on_warning: Callable[[str], None] | None = None
    # Reading a salvage of a damaged database (read_salvaging): the rows each table lost (its name
    # lower-cased), in rowid terms. A row missing there is no sign that it was deleted.
    lost_rows: dict[str, tuple[LostRows, ...]] = field(default_factory=dict)

    def warn(self, message: str) -> None:
        """Something odd but not fatal (a row skipped, a value that could not be decoded)."""
        if len(self.warnings) < self.MAX_WARNINGS:
            self.warnings.append(message)
        if self._on_warning is not None:
            self._on_warning(message)

    def error(self, path: str, reason: str) -> None:
        """Part of the artifact could not be read: the analysis is incomplete."""
        self.errors.append(f"{path}: {reason}")

    def maybe_lost(self, table: str, low: int, high: int) -> bool:
        """Whether a row of `table` with a rowid from `low` to `high` may have been lost to damage (then
        its absence tells nothing of a deletion)."""
        return any(
            (stretch.after is None or stretch.after < high) and (stretch.before is None or stretch.before > low)
            for stretch in self.lost_rows.get(table.lower(), ())
        )

    def locator(self, path: str, **where: str | int | None) -> Locator:
        return Locator(path, self.fs.sha256(path), **where)  # type: ignore[arg-type]


class Artifact(ABC):
    """Base of every artifact."""

    name: ClassVar[str]
    platform: ClassVar[str]
    title: ClassVar[str]
    paths: ClassVar[tuple[str, ...]]
    description: ClassVar[str] = ""
    # A fact about the data, when it holds: read at a place it locates, each record is made from one
    # entry of the acquisition's listing (`DeviceFS.iter_files`), in its order, and from no other
    # entry. The engine may then read the listing in ranges (`DeviceFS.only_entries`), as it reads a
    # `SqliteArtifact.record_table` in row ranges; the artifact never knows.
    record_entries: ClassVar[bool] = False

    def locate(self, fs: DeviceFS) -> list[str]:
        """The evidence files this artifact will read (regular files matching its paths)."""
        return fs.regular_files(self.paths)

    @abstractmethod
    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        """Records of one evidence file. Raise EvidenceError when the file cannot be read."""


class SqliteArtifact(Artifact):
    """An artifact over one SQLite database per located file.

    `record_table` states a fact about the data, when it holds: each record is made from one row
    of that table, in rowid order, and from no other row of it (lookups by key in other tables
    are fine). Artifacts whose records need many rows at once (DataUsage's `ProcessIdGap`) leave
    it None.
    """

    record_table: ClassVar[str | None] = None
    # Whether parse_db reads around a damaged page itself (the Manifest artifact): otherwise a damaged
    # page that stops it has the database read again from a salvage of its readable rows (read_salvaging).
    reads_around_damage: ClassVar[bool] = False

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        with ctx.fs.sqlite(path) as conn:
            yield from self.parse_open(ctx, conn, path)

    def parse_open(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str,
                   rows: tuple[int | None, int | None] | None = None) -> Iterator[Record]:
        """parse_db on a database open on `conn`: only the rows of `record_table` with ``low <= rowid <
        high`` when `rows` is given (see sqlite.only_rows); read again from its salvage when a damaged
        page stops the read (see read_salvaging)."""
        sha = ctx.fs.sha256(path)
        table = self.record_table
        prepare = None if rows is None or table is None else (lambda c: only_rows(c, table, *rows))
        if prepare is not None:
            prepare(conn)
        if self.reads_around_damage:
            yield from self.parse_db(ctx, conn, path, sha)
            return
        yield from read_salvaging(ctx, conn, path, lambda c, on: self.parse_db(c, on, path, sha), prepare)

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        """Records from an open, read-only database (by default: :meth:`read` over declared tables)."""
        yield from self.read(Database(ctx, conn, path, sha256))

    # -- declared tables (artifacts/tables.py) ------------------------------------------------
    # The tables the artifact reads, each with its required and optional columns (what the
    # tests drop one by one); `read` builds its queries from them through the Database.
    tables: ClassVar[tuple[Table, ...]] = ()

    def read(self, db: Database) -> Iterator[Record]:
        """Records from a database, read through declared queries (``db.rows(Query(...))``)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither read nor parse_db")
        yield  # pragma: no cover - makes this a generator
    # -- end of declared tables ---------------------------------------------------------------


def _given(locator: Locator) -> int:
    """What tells a record given by a read apart from the others of the same database (a hash)."""
    return hash((locator.device_path, locator.table, locator.rowid, locator.key_path, locator.line, locator.offset))


def _given_again(ctx: ArtifactContext, conn: sqlite3.Connection,
                 read: Callable[[ArtifactContext, sqlite3.Connection], Iterator[Record]], count: int) -> array[int]:
    """What tells apart the first `count` records `read` gives on `conn` (its warnings not kept)."""
    keys: array[int] = array("q")
    if not count:
        return keys
    records = read(replace(ctx, warnings=[], errors=[], _on_warning=None), conn)
    try:
        for record in records:
            keys.append(_given(record.locator))
            if len(keys) == count:
                break
    except sqlite3.DatabaseError as exc:
        if not corrupt(exc):
            raise
    finally:
        close = getattr(records, "close", None)
        if close is not None:
            close()
    return keys


def read_salvaging(
    ctx: ArtifactContext, conn: sqlite3.Connection, path: str,
    read: Callable[[ArtifactContext, sqlite3.Connection], Iterator[Record]],
    prepare: Callable[[sqlite3.Connection], None] | None = None,
) -> Iterator[Record]:
    """The records `read` gives from the database open on `conn`. When a damaged page stops it, the rows
    that can be read are copied into a private database (evidence.salvage), `prepare` is applied to it
    as it was to `conn`, and `read` runs again there: the records the first read gave are not given
    again (each is told by its locator), the warnings it gave are not repeated, and what could not be
    read is the artifact's error. A database whose schema cannot be read raises the first error.

    A sound database costs a count a record: the records given before the damage are told apart only
    once it is met, by the same read of the same database given them again (the salvage has no index,
    so its rows can come in another order than the damaged database's)."""
    given = 0
    try:
        for record in read(ctx, conn):
            given += 1
            yield record
        return
    except sqlite3.DatabaseError as exc:
        if not corrupt(exc) or refused(exc):
            raise
        failure = exc
    # The records given, sorted, each skipped once when the read of the salvage gives it (a set of a
    # million hashes would take 60 MB; the sorted array takes 8, and a flag a record).
    ordered = array("q", sorted(_given_again(ctx, conn, read, given)))
    with salvaged(conn, ctx.fs.workdir, ctx.limits) as salvage:
        if salvage is None:
            raise failure
        warned = set(ctx.warnings)
        again = replace(ctx, warnings=[], errors=[], _on_warning=None, lost_rows=salvage.lost_rows())
        skipped = bytearray(len(ordered))
        left = len(ordered)
        with open_readonly(salvage.path, {}, ctx.limits, ctx.fs.workdir) as copy:
            if prepare is not None:
                prepare(copy)
            for record in read(again, copy):
                if left:
                    key = _given(record.locator)
                    at = bisect_left(ordered, key)
                    while at < len(ordered) and ordered[at] == key and skipped[at]:
                        at += 1
                    if at < len(ordered) and ordered[at] == key:
                        skipped[at] = 1
                        left -= 1
                        continue
                yield record
        for message in again.warnings:
            if message not in warned:
                ctx.warn(message)
        ctx.errors.extend(again.errors)
        told = salvage.summary(str(failure))
        if f"{path}: {told}" not in ctx.errors:  # (the engine's chunks of one file each meet the same damage)
            ctx.error(path, told)


class PlistArtifact(Artifact):
    """An artifact over one property list per located file."""

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        value = ctx.fs.plist(path)
        yield from self.parse_plist(ctx, value, path, ctx.fs.sha256(path))

    @abstractmethod
    def parse_plist(self, ctx: ArtifactContext, value: object, path: str, sha256: str) -> Iterator[Record]:
        """Records from a decoded plist."""


def kind_check_artifact(check: AcquisitionCheck) -> Artifact:
    """An acquisition kind's own check, run and reported as an artifact of its name."""

    class KindCheck(Artifact):
        name = check.name
        platform = check.platform
        title = check.title
        paths = check.paths
        record_entries = check.record_entries

        def locate(self, fs: DeviceFS) -> list[str]:
            return check.locate(fs)

        def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
            return check.records(ctx.fs, path, ctx.warn)

    return KindCheck()


def discover_artifacts(platform: str | None = None) -> list[Artifact]:
    """One instance of every artifact shipped for `platform` (or all), and of every check the
    acquisition kinds own (evidence.acquisition.AcquisitionCheck), sorted by name."""
    from preuve.artifacts import android, ios
    from preuve.evidence.acquisition import acquisition_checks

    packages = {"ios": ios, "android": android}
    chosen = [packages[platform]] if platform else list(packages.values())
    found: dict[str, Artifact] = {}
    for package in chosen:
        for artifact in shipped_classes(package, Artifact):
            if artifact.name in found:
                raise RuntimeError(f"two artifacts are named {artifact.name!r}")
            found[artifact.name] = artifact()
    for check in acquisition_checks(platform):
        if check.name in found:
            raise RuntimeError(f"two artifacts are named {check.name!r}")
        found[check.name] = kind_check_artifact(check)
    return [found[name] for name in sorted(found)]
