"""URL caches of apps and system services (``Cache.db``: ``cfurl_cache_response``).

Every app using NSURLCache keeps the URLs it fetched (``request_key``) with a
time stamp, in its own container or under ``Library/Caches``. Exploit and
command-and-control URLs fetched by a compromised process can remain here.
Usually present only in a filesystem dump.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.rows import container_of, integer, pick, text
from preuve.evidence.fs import ACQUISITION_PREFIX, DeviceFS
from preuve.evidence.sqlite import iter_rows, table_columns
from preuve.model import Kind, Locator, Observable, Record, Timestamp


def _cache_time(value: object) -> datetime | None:
    """``YYYY-MM-DD HH:MM:SS`` in UTC, as CFNetwork writes it."""
    raw = text(value, 64)
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@dataclass(kw_only=True)
class CachedUrl(Record):
    record_type: ClassVar[str] = "ios:cache:url"
    owner: str | None
    url: str | None
    when: datetime | None

    def observables(self) -> Iterator[Observable]:
        if self.url:
            yield Observable(Kind.URL, self.url)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.when is not None:
            yield Timestamp(self.when, "URL fetched into a cache")

    def summary(self) -> str:
        return f"Cached by {self.owner or 'a system service'}: {self.url or '?'}"


class CacheDb(SqliteArtifact):
    name = "cache_db"
    platform = "ios"
    title = "URLs in app caches (Cache.db)"
    paths = (
        "/private/var/mobile/Containers/Data/Application/*/Library/Caches/**/Cache.db",
        "/private/var/mobile/Containers/Data/PluginKitPlugin/*/Library/Caches/**/Cache.db",
        "/private/var/mobile/Library/Caches/**/Cache.db",
        "/private/var/root/Library/Caches/**/Cache.db",
    )

    def locate(self, fs: DeviceFS) -> list[str]:
        """Every file named Cache.db, wherever it is (MVT walks the whole dump for them): app groups,
        extensions and system services keep URL caches outside the usual ``Library/Caches`` too."""
        found = set(super().locate(fs))
        for path in fs.paths():
            if path.endswith("/Cache.db") and not path.startswith(ACQUISITION_PREFIX + "/") and fs.is_file(path):
                found.add(path)
        return sorted(found)

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        columns = table_columns(conn, "cfurl_cache_response")
        if "request_key" not in columns:
            ctx.error(path, "no cfurl_cache_response table with request_key")
            return
        key = "entry_ID" if "entry_ID" in columns else "rowid"
        sql = (f"SELECT r.{key} AS rid, {pick(columns, 'r', ('request_key', 'time_stamp'))} "  # noqa: S608
               f"FROM cfurl_cache_response r ORDER BY r.{key}")
        owner = container_of(path)
        if owner is None:
            parts = path.split("/Library/Caches/", 1)
            owner = parts[1].split("/", 1)[0] if len(parts) == 2 else None
        for row in iter_rows(conn, sql):
            yield CachedUrl(
                locator=Locator(path, sha256, "cfurl_cache_response", integer(row["rid"])),
                owner=owner,
                url=text(row["request_key"]),
                when=_cache_time(row["time_stamp"]),
            )
