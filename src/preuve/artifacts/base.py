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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from preuve.artifacts.tables import Database, Table
from preuve.discovery import shipped_classes
from preuve.evidence.acquisition import AcquisitionCheck
from preuve.evidence.fs import DeviceFS
from preuve.evidence.limits import Limits
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

    def warn(self, message: str) -> None:
        """Something odd but not fatal (a row skipped, a value that could not be decoded)."""
        if len(self.warnings) < self.MAX_WARNINGS:
            self.warnings.append(message)
        if self._on_warning is not None:
            self._on_warning(message)

    def error(self, path: str, reason: str) -> None:
        """Part of the artifact could not be read: the analysis is incomplete."""
        self.errors.append(f"{path}: {reason}")

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

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        with ctx.fs.sqlite(path) as conn:
            sha = ctx.fs.sha256(path)
            yield from self.parse_db(ctx, conn, path, sha)

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
