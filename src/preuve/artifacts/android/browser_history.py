"""Browser history AndroidQF collected (``browser_history/``, on phones where it can read it).

AndroidQF copies each Chromium-based browser's ``History`` database into ``browser_history/`` and
describes them in ``browser_history/manifest.json``: ``{"schema_version": 1, "databases": [{"browser",
"package", "profile", "device_path", "archive_path"}]}``. Each database is read as Chrome's is on
iOS: ``urls`` and ``visits``, with the visit each one came from (a redirect through an exploit
server shows as the previous hop), times in microseconds since 1601. A database the manifest names
that is absent, unsafe to follow or unreadable fails alone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import ClassVar

from preuve.artifacts.android._common import AQF, load_json
from preuve.artifacts.base import Artifact, ArtifactContext, read_salvaging
from preuve.artifacts.tables import Database
from preuve.artifacts.web import VisitMethods, chromium_history
from preuve.evidence.errors import EvidenceError
from preuve.model import Record

MANIFEST = f"{AQF}/browser_history/manifest.json"
MAX_DATABASES = 1000


@dataclass(kw_only=True)
class AndroidBrowserVisit(VisitMethods, Record):
    """A page a browser on the phone visited (or a URL it kept with no visit left)."""

    record_type: ClassVar[str] = "android:browser:visit"
    browser: str  # as AndroidQF names it
    package: str
    profile: str
    database: str  # where the database lies on the phone
    visit_id: int | None
    url_id: int | None
    url: str | None
    title: str | None
    visit_time: datetime | None
    from_visit: int | None
    from_url: str | None
    transition: int | None


@dataclass(frozen=True)
class _Entry:
    browser: str
    package: str
    profile: str
    device_path: str
    archive_path: str


class AndroidBrowserHistory(Artifact):
    name = "android_browser_history"
    platform = "android"
    title = "Browser history (AndroidQF browser_history/)"
    paths: ClassVar[tuple[str, ...]] = (MANIFEST,)

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        for entry in _entries(ctx, path):
            database = f"{AQF}/{entry.archive_path}"
            if not ctx.fs.is_file(database):
                ctx.error(database, f"named by {path} but absent")
                continue
            try:
                with ctx.fs.sqlite(database) as conn:
                    yield from read_salvaging(ctx, conn, database, _reader(database, ctx.fs.sha256(database), entry))
            except EvidenceError as exc:
                ctx.error(exc.path, exc.reason)
            except sqlite3.Error as exc:
                ctx.error(database, f"cannot be read ({exc})")


def _reader(path: str, sha256: str, entry: _Entry) -> Callable[[ArtifactContext, sqlite3.Connection], Iterator[Record]]:
    """The visits of one browser's database, read on a connection (the database's own, or its salvage's)."""

    def read(ctx: ArtifactContext, conn: sqlite3.Connection) -> Iterator[Record]:
        return _visits(Database(ctx, conn, path, sha256), entry)

    return read


def _entries(ctx: ArtifactContext, path: str) -> Iterator[_Entry]:
    """The databases the manifest names, each checked (a bad entry is a warning, the others are read)."""
    data = load_json(ctx, path)
    if not isinstance(data, dict) or data.get("schema_version") != 1:
        raise EvidenceError(path, "not a browser history manifest of schema version 1")
    databases = data.get("databases")
    if not isinstance(databases, list):
        raise EvidenceError(path, "no list of databases")
    if len(databases) > MAX_DATABASES:
        ctx.warn(f"{path}: {len(databases)} databases listed; the first {MAX_DATABASES} are read")
    for number, raw in enumerate(databases[:MAX_DATABASES]):
        fields = [raw.get(key) if isinstance(raw, dict) else None
                  for key in ("browser", "package", "profile", "device_path", "archive_path")]
        if not all(isinstance(value, str) and value for value in fields):
            ctx.warn(f"{path}: database {number} is not described whole (browser, package, profile, device_path, "
                     "archive_path); not read")
            continue
        browser, package, profile, device_path, archive = (str(value) for value in fields)
        parts = PurePosixPath(archive).parts
        if "\\" in archive or archive.startswith("/") or ".." in parts or parts[:1] != ("browser_history",):
            ctx.warn(f"{path}: database {number} lies outside browser_history/ ({archive!r}); not read")
            continue
        yield _Entry(browser, package, profile, device_path, archive)


def _visits(db: Database, entry: _Entry) -> Iterator[Record]:
    for row in chromium_history(db):
        yield AndroidBrowserVisit(
            locator=db.locator(row.table, row.key), browser=entry.browser, package=entry.package,
            profile=entry.profile, database=entry.device_path, visit_id=row.visit_id, url_id=row.url_id, url=row.url,
            title=row.title, visit_time=row.visit_time, from_visit=row.from_visit, from_url=row.from_url,
            transition=row.transition,
        )
