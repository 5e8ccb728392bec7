"""URL caches of apps and system services (``Cache.db``: ``cfurl_cache_response``).

Every app using NSURLCache keeps the URLs it fetched (``request_key``) with a
time stamp, in its own container or under ``Library/Caches``. Exploit and
command-and-control URLs fetched by a compromised process can remain here.
Usually present only in a filesystem dump.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from preuve.artifacts.base import SqliteArtifact
from preuve.artifacts.rows import container_of
from preuve.artifacts.tables import Database, Query, Table
from preuve.artifacts.values import as_text
from preuve.evidence.fs import ACQUISITION_PREFIX, DeviceFS
from preuve.model import Kind, Observable, Record, Timestamp


def _cache_time(value: object) -> datetime | None:
    """``YYYY-MM-DD HH:MM:SS`` in UTC, as CFNetwork writes it."""
    raw = as_text(value, 64)
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

    tables = (Table("cfurl_cache_response", required=("request_key",), optional=("time_stamp",), key=("entry_ID",)),)

    def read(self, db: Database) -> Iterator[Record]:
        owner = container_of(db.path)
        if owner is None:
            parts = db.path.split("/Library/Caches/", 1)
            owner = parts[1].split("/", 1)[0] if len(parts) == 2 else None
        for row in db.rows(Query(self.tables[0], "r")):
            yield CachedUrl(
                locator=db.locator("cfurl_cache_response", row["_key"]),
                owner=owner,
                url=as_text(row["request_key"]),
                when=_cache_time(row["time_stamp"]),
            )
