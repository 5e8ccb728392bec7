"""The backup's own file list (Manifest.db): every file the phone handed over, with its metadata.

One record per row of ``Files``: domain, relative path, the device path it
stands for, the kind (file, folder, link) and the size, times and mode decoded
from the archived ``MBFile``. File-path and file-name indicators match the
device path; domains that web storage puts in file and folder names
(``https_<domain>_0.localstorage``, ``IndexedDB/v1/https_<domain>_0``…) are
offered as domains, so a site visited in any app's web view is matched even
when no history of it is kept. A Manifest can list half a million files: rows
are streamed, never collected.
"""

from __future__ import annotations

import plistlib
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.timeconv import from_unix
from preuve.evidence.errors import EvidenceError
from preuve.evidence.fs import ACQUISITION_PREFIX
from preuve.evidence.ios_domains import device_path as to_device_path
from preuve.evidence.mbfile import MBFile, MBFileDecoder
from preuve.evidence.sqlite import iter_rows, table_columns
from preuve.model import Kind, Locator, Observable, Record, Timestamp

MANIFEST_PATH = ACQUISITION_PREFIX + "/backup/Manifest.db"
_KINDS = {1: "file", 2: "directory", 4: "symlink"}
_NO_MBFILE = MBFile()
# WebKit names web storage after the origin: scheme_host_port (port 0 when default).
_ORIGIN_NAME = re.compile(r"(?:https?|wss?|file)_([A-Za-z0-9.\-\[\]:]+?)_\d+(?:\.localstorage(?:-wal|-shm)?)?\Z")
_BARE_LOCALSTORAGE = re.compile(r"([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)\.localstorage\Z")
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9\-]{0,62})(?:\.[a-z0-9\-]{1,63})+\Z")


@dataclass(kw_only=True)
class BackupFile(Record):
    """One file, folder or link listed in the backup's Manifest.db."""

    record_type: ClassVar[str] = "ios:manifest:file"
    file_id: str | None
    domain: str | None
    relative_path: str | None
    device_path: str | None  # None when the entry would leave the device root
    flags: int | None
    kind: str
    size: int | None
    mode: str | None  # octal, as ls shows it
    modified: datetime | None
    changed: datetime | None
    birth: datetime | None
    link_target: str | None
    web_domains: tuple[str, ...]

    def observables(self) -> Iterator[Observable]:
        if self.device_path:
            yield Observable(Kind.FILE_PATH, self.device_path)
        for domain in self.web_domains:
            yield Observable(Kind.DOMAIN, domain)
        if self.relative_path and "_" in self.relative_path:
            for domain in underscore_domains(self.relative_path):
                if domain not in self.web_domains:
                    yield Observable(Kind.DOMAIN, domain)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.birth is not None:
            yield Timestamp(self.birth, "File created")
        if self.modified is not None:
            yield Timestamp(self.modified, "File modified")

    def summary(self) -> str:
        return f"Backup {self.kind} {self.domain}/{self.relative_path}"


# File name suffixes that are no top-level domain (MVT drops such parts by its list of domain suffixes).
_FILE_SUFFIXES = frozenset({
    "localstorage", "plist", "db", "sqlite", "sqlite3", "sqlitedb", "wal", "shm", "json", "png", "jpg", "jpeg",
    "gif", "txt", "log", "dat", "bin", "cache", "xml", "html", "htm", "js", "css", "mp4", "heic", "caf", "m4a",
    "pdf", "ips", "strings", "nib", "car", "db-wal", "db-shm",
})
_LEADING_HOST = re.compile(r"[a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*\.[a-z][a-z0-9\-]+(?=[/:]|\Z)")


def underscore_domains(relative_path: str) -> tuple[str, ...]:
    """Host names that begin a part of the path between underscores, as MVT's manifest check reads them.

    Apps name caches and stores after a site in many ways beyond WebKit's (``cache_<host>``,
    ``<prefix>_<host>/…``); MVT splits the path at underscores and matches each part that begins
    with a host name against domain indicators, and so does this.
    """
    found: dict[str, None] = {}
    for part in relative_path.lower().split("_")[1:]:
        match = _LEADING_HOST.match(part)
        if match and match.group(0).rsplit(".", 1)[1] not in _FILE_SUFFIXES:
            found.setdefault(match.group(0), None)
    return tuple(found)


def web_domains(relative_path: str) -> tuple[str, ...]:
    """Domains WebKit wrote into the names of the path's components (web storage of an origin)."""
    found: dict[str, None] = {}
    for part in relative_path.split("/"):
        if "_" not in part and not part.endswith(".localstorage"):
            continue
        match = _ORIGIN_NAME.match(part) or _BARE_LOCALSTORAGE.match(part)
        if match:
            host = match.group(1).lower().strip("[]")
            if _HOST.match(host) or ":" in host:
                found.setdefault(host, None)
    return tuple(found)


class Manifest(SqliteArtifact):
    name = "manifest"
    platform = "ios"
    title = "Backup file list (Manifest.db)"
    paths: ClassVar[tuple[str, ...]] = (MANIFEST_PATH,)
    record_table = "Files"  # one file per row, in rowid order

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        columns = table_columns(conn, "Files")
        if not {"domain", "relativePath"} <= columns:
            ctx.error(path, "no 'Files' table with domain and relativePath")
            return
        optional = ("fileID", "flags", "file")
        select = ["rowid", "domain", "relativePath"] + [c if c in columns else "NULL" for c in optional]
        sql = f"SELECT {', '.join(select)} FROM Files ORDER BY rowid"  # noqa: S608 - names from schema
        bad_blobs = 0
        decoder = MBFileDecoder(ctx.limits)
        for rowid, domain, relative, fid, flags, blob in iter_rows(conn, sql):
            domain_text = domain if isinstance(domain, str) else None
            relative_text = relative if isinstance(relative, str) else None
            device = to_device_path(domain_text or "", relative_text or "") if domain_text is not None else None
            meta = _NO_MBFILE
            if isinstance(blob, bytes) and blob:
                try:
                    meta = decoder.decode(blob, f"{path} (Files rowid {rowid})")
                except (EvidenceError, plistlib.InvalidFileException, ValueError) as exc:
                    bad_blobs += 1
                    if bad_blobs <= 20:
                        ctx.warn(f"{path}: Files rowid {rowid}: MBFile not decoded ({exc})")
            flag = flags if isinstance(flags, int) and not isinstance(flags, bool) else None
            yield BackupFile(
                locator=Locator(path, sha256, "Files", rowid if isinstance(rowid, int) else None),
                file_id=fid if isinstance(fid, str) else None,
                domain=domain_text,
                relative_path=relative_text,
                device_path=device,
                flags=flag,
                kind=_KINDS.get(flag, "unknown") if flag is not None else "unknown",
                size=meta.size,
                mode=None if meta.mode is None else f"{meta.mode:o}",
                modified=from_unix(meta.last_modified),
                changed=from_unix(meta.last_status_change),
                birth=from_unix(meta.birth),
                link_target=meta.target,
                web_domains=web_domains(relative_text or ""),
            )
        if bad_blobs > 20:
            ctx.warn(f"{path}: {bad_blobs} MBFile values in all could not be decoded")
