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
from datetime import UTC, datetime
from typing import ClassVar, cast

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.timeconv import UNIX_EPOCH, from_unix
from preuve.evidence.errors import EvidenceError
from preuve.evidence.fs import ACQUISITION_PREFIX
from preuve.evidence.ios_domains import device_path as to_device_path
from preuve.evidence.mbfile import MBFileDecoder, MBFileFields
from preuve.evidence.sources.backup import listed_mbfiles, manifest_rows_rebuilt
from preuve.evidence.sqlite import (
    LostRows,
    damage_summary,
    iter_rows,
    readable_rows,
    table_columns,
    true_rowid,
)
from preuve.model import Kind, Locator, Observable, Record, Timestamp

MANIFEST_PATH = ACQUISITION_PREFIX + "/backup/Manifest.db"
_KINDS = {1: "file", 2: "directory", 4: "symlink"}
_NO_FIELDS: MBFileFields = (None, None, None, None, None, None, None)
_BLOCK_ROWS = 512  # rows read together: their MBFile numbers are taken from the listing at once...
# ...and no more than this many characters of their domains, paths and file ids (see _row_blocks).
_BLOCK_CHARS = 4 << 20
# Whole seconds from 1990 up to 2100 (from_unix's bounds): from_unix's datetime, without its general
# checks (three per row of a Manifest). A test holds the two equal at and around the bounds.
_PLAIN_SECONDS = (
    int((datetime(1990, 1, 1, tzinfo=UTC) - UNIX_EPOCH).total_seconds()),
    int((datetime(2100, 1, 1, tzinfo=UTC) - UNIX_EPOCH).total_seconds()),
)


def _unix_time(value: int | None) -> datetime | None:
    """:func:`from_unix` of an MBFile's time. A time in whole seconds between 1990 and 2100 (nearly
    every file's) is made by one call, which makes the same datetime as the epoch plus a timedelta in
    half the time (a phone's files have hundreds of thousands of distinct times; tested)."""
    if type(value) is int and _PLAIN_SECONDS[0] <= value < _PLAIN_SECONDS[1]:
        return datetime.fromtimestamp(value, UTC)
    return None if value is None else from_unix(value)


def _row_blocks(rows: Iterator[tuple[object, ...]]) -> Iterator[list[tuple[object, ...]]]:
    """The rows of `sql` (rowid, domain, relative path, file id, ...) in blocks of _BLOCK_ROWS, each cut
    sooner after the row that brings the characters of its texts past _BLOCK_CHARS: a real row's texts
    are a few hundred characters, a hostile Manifest.db's can be 64 MB each, and a block of 512 such
    rows held at once made memory grow with the evidence (30 paths of 20 MB: 660 MB held). An error
    raised while reading comes after the rows read before it, as row by row."""
    while True:
        block: list[tuple[object, ...]] = []
        held = 0
        ended = True
        try:
            for row in rows:
                block.append(row)
                try:
                    held += len(row[1]) + len(row[2]) + len(row[3])  # type: ignore[arg-type]
                except TypeError:  # (a value that is not text: what text or bytes it holds)
                    held += sum(len(value) for value in row[1:4] if isinstance(value, (str, bytes)))
                if len(block) >= _BLOCK_ROWS or held > _BLOCK_CHARS:
                    ended = False
                    break
        except BaseException:
            if block:
                yield block
            raise
        if block:
            yield block
        if ended:
            return


def _with_rebuilt(rows: Iterator[tuple[object, ...]], rebuilt: list[tuple[object, ...]]) -> Iterator[tuple[object, ...]]:
    """The rows read (rowid, domain, relativePath, fileID, flags, file), with the rows the listing rebuilt
    (rowid, fileID, domain, relativePath, flags, None) each in its place in rowid order, as read rows."""
    given = iter(rebuilt)
    nxt = next(given, None)
    for row in rows:
        while nxt is not None and cast(int, nxt[0]) < cast(int, row[0]):
            yield (nxt[0], nxt[2], nxt[3], nxt[1], nxt[4], None)
            nxt = next(given, None)
        yield row
    while nxt is not None:
        yield (nxt[0], nxt[2], nxt[3], nxt[1], nxt[4], None)
        nxt = next(given, None)


class _Times(dict[int | None, datetime | None]):
    """:func:`_unix_time` of the times of one Manifest, each converted once: files share times (a
    file's three times are often one; a restore or an update writes many files in the same second).
    Bounded: cleared when it holds 4,096."""

    def __missing__(self, value: int | None) -> datetime | None:
        if len(self) >= 4096:
            self.clear()
        when = self[value] = _unix_time(value)
        return when

class _Modes(dict[int | None, str | None]):
    """Modes in octal as ls shows them, each written once: a Manifest's files share a few modes.
    Bounded: cleared when it holds 4,096."""

    def __missing__(self, mode: int | None) -> str | None:
        if len(self) >= 4096:
            self.clear()
        text = self[mode] = None if mode is None else f"{mode:o}"
        return text


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

    def first_moment(self) -> datetime | None:
        return self.birth if self.birth is not None else self.modified

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
    # What every match needs somewhere in the path (a part that begins with a scheme and "_", or
    # ends in ".localstorage"): most paths of a Manifest have none of it, and need no split.
    text = relative_path
    if ".localstorage" not in text and ("_" not in text or not ("http" in text or "ws" in text or "file_" in text)):
        return ()
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
    reads_around_damage = True  # (readable_rows, as the listing reads it)

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        columns = table_columns(conn, "Files")
        if not {"domain", "relativePath"} <= columns:
            ctx.error(path, "no 'Files' table with domain and relativePath")
            return
        optional = ("fileID", "flags", "file")
        select = ["rowid", "domain", "relativePath"] + [c if c in columns else "NULL" for c in optional]
        # The MBFiles the backup's listing decoded from this very database: each row's numbers are
        # taken from there, and only a row it left (or did not read) has its blob read and decoded here.
        listed = listed_mbfiles(ctx.fs, path) if "file" in columns else None
        if listed is not None and listed.ordered and len(listed):
            select[-1] = "NULL"
        else:
            listed = None
        # Read around the damaged pages of a damaged Manifest.db, as the listing reads it (what could not
        # be read is an error of the artifact: its records are then incomplete).
        lost: list[LostRows] = []
        if true_rowid(conn, "Files"):
            rows = readable_rows(conn, "Files", ", ".join(select[1:]), None, None, lost)
        else:  # (a declared column named rowid: read in its order, as ever)
            sql = f"SELECT {', '.join(select)} FROM Files ORDER BY rowid"  # noqa: S608 - names from schema
            rows = cast(Iterator[tuple[object, ...]], iter_rows(conn, sql, named=False))
        read = 0
        bad_blobs = 0
        # Rows lost to damage that the listing gave back from Manifest.db's indexes (no MBFile): each is
        # read in its place in rowid order, as a row read would be, and made the same way.
        rebuilt = manifest_rows_rebuilt(ctx.fs, path)
        given_back = {cast(int, row[0]) for row in rebuilt}
        if rebuilt:
            rows = _with_rebuilt(rows, rebuilt)
        decoder = MBFileDecoder(ctx.limits)
        read_fields = decoder.fields
        times = _Times()
        modes = _Modes()
        hint = 0  # where the next rows lie among the listing's (rows come in rowid order)
        for block in _row_blocks(rows):
            read += len(block)
            metas: list[MBFileFields | None] | None = None
            if listed is not None:
                metas, hint = listed.fields_of([row[0] for row in block], hint)
            for place, (rowid, domain, relative, fid, flags, blob) in enumerate(block):
                # The types SQLite gives are exact (str, int, bytes, float, None): `type(x) is` stands for isinstance.
                domain_text = domain if type(domain) is str else None
                relative_text = relative if type(relative) is str else None
                meta = _NO_FIELDS
                if metas is not None:
                    found = metas[place]
                    if found is not None:
                        meta = found
                        blob = None
                    elif rowid not in given_back:  # (a row the listing left to this reader, or did not read)
                        again = conn.execute("SELECT file FROM Files WHERE rowid = ?", (rowid,)).fetchone()
                        blob = again[0] if again is not None else None
                if type(blob) is bytes and blob:
                    found = read_fields(blob)  # the kernel; None when it leaves the blob to plistlib
                    if found is not None:
                        meta = found
                    else:
                        try:
                            decoded = decoder.decode(blob, f"{path} (Files rowid {rowid})")
                            meta = (decoded.size, decoded.mode, decoded.last_modified, decoded.last_status_change,
                                    decoded.birth, decoded.target, None)
                        except (EvidenceError, plistlib.InvalidFileException, ValueError) as exc:
                            bad_blobs += 1
                            if bad_blobs <= 20:
                                ctx.warn(f"{path}: Files rowid {rowid}: MBFile not decoded ({exc})")
                size, mode, modified, changed, birth, target, _key = meta
                flag = flags if type(flags) is int else None
                yield BackupFile(
                    locator=Locator(path, sha256, "Files", rowid if type(rowid) is int else None),
                    file_id=fid if type(fid) is str else None,
                    domain=domain_text,
                    relative_path=relative_text,
                    device_path=to_device_path(domain_text, relative_text or "") if domain_text is not None else None,
                    flags=flag,
                    kind=_KINDS.get(flag, "unknown") if flag is not None else "unknown",
                    size=size,
                    mode=modes[mode],
                    modified=times[modified],
                    changed=times[changed],
                    birth=times[birth],
                    link_target=target,
                    web_domains=web_domains(relative_text) if relative_text else (),
                )
        if bad_blobs > 20:
            ctx.warn(f"{path}: {bad_blobs} MBFile values in all could not be decoded")
        if lost:
            told = damage_summary(lost, "Files", read - len(rebuilt))
            if rebuilt:
                told += f"; its indexes gave back {len(rebuilt):,} of the rows lost (listed without their metadata)"
            ctx.error(path, told)
