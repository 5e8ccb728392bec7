"""Integrity of an iOS backup: does the folder hold exactly the files its Manifest.db lists?

Manifest.db has one row per backed-up file (fileID, domain, relativePath,
flags, and an archived MBFile whose ``Size`` is the file's size on the
phone). A sound backup stores each file at ``<fileID[:2]>/<fileID>`` with
that size. A file listed but absent (an interrupted or pruned backup), a size
that differs (a file replaced after the backup was made) or a file stored
but not listed (something added to the folder) all weaken what the analysis
can prove, and an analyst must know before trusting "nothing found". So does
a row whose domain and path are not the ones its file id was made from (a
file id is the SHA-1 of ``domain-relativePath``): the row was damaged or
altered, and its file is read under a wrong path, or not at all (a damaged
row can hide ``sms.db`` from every artifact).

The artifact reads Manifest.db through DeviceFS like any other database, and
the folder's inventory through the acquisition's ``stored_files()`` (only
backup folders have one; elsewhere there is nothing to compare and no record).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.evidence.errors import EvidenceError
from preuve.evidence.mbfile import MBFileDecoder
from preuve.evidence.sqlite import iter_rows, table_columns
from preuve.model import Locator, Record

MANIFEST_DB = "/.acquisition/backup/Manifest.db"
MANIFEST_PLIST = "/.acquisition/backup/Manifest.plist"
_FLAG_FILE = 1
_AES_BLOCK = 16


@dataclass(kw_only=True)
class BackupFileIssue(Record):
    """A disagreement between a backup's Manifest.db and the files in its folder."""

    record_type: ClassVar[str] = "ios:backup:integrity"
    issue: str  # "missing", "size_mismatch", "not_regular", "extra", "name_mismatch"
    file_id: str
    domain: str | None
    relative_path: str | None
    expected_size: int | None
    actual_size: int | None

    def summary(self) -> str:
        where = f"{self.domain}/{self.relative_path}" if self.domain is not None else self.file_id
        if self.issue == "missing":
            return f"Backup file listed in Manifest.db but absent: {where}"
        if self.issue == "size_mismatch":
            return f"Backup file {where} is {self.actual_size} bytes; Manifest.db says {self.expected_size}"
        if self.issue == "not_regular":
            return f"Backup file {where} is not a regular file (link, FIFO or device)"
        if self.issue == "name_mismatch":
            return (
                f"Backup file {self.file_id} is listed in Manifest.db as {where}, a name its id was not made "
                "from: the row was damaged or altered"
            )
        return f"File {self.file_id} lies in the backup folder but Manifest.db does not list it"


def _mbfile_size(blob: object, path: str, decoder: MBFileDecoder) -> int | None:
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        return None
    try:
        size = decoder.decode(bytes(blob), path).size
    except EvidenceError:
        return None
    return size if size is not None and size >= 0 else None


def _named_by(file_id: str, domain: object, relative: object) -> bool:
    """Whether `file_id` is the SHA-1 of ``domain-relativePath`` (their bytes as stored), as in every
    sound backup."""
    if not isinstance(domain, bytes) or not isinstance(relative, bytes):
        return False
    return hashlib.sha1(domain + b"-" + relative).hexdigest() == file_id  # noqa: S324 - Apple's naming, not security


def _size_agrees(expected: int, actual: int, encrypted: bool) -> bool:
    if actual == expected:
        return True
    # Encrypted backups store AES-CBC ciphertext: the plaintext size padded to the next 16-byte block.
    return encrypted and actual == (expected // _AES_BLOCK + 1) * _AES_BLOCK


class AcquisitionIntegrity(SqliteArtifact):
    name = "acquisition_integrity"
    platform = "ios"
    title = "Backup integrity (Manifest.db against the files present)"
    paths: ClassVar[tuple[str, ...]] = (MANIFEST_DB,)

    def parse_db(self, ctx: ArtifactContext, conn: sqlite3.Connection, path: str, sha256: str) -> Iterator[Record]:
        inventory = getattr(ctx.fs, "stored_files", None)
        if inventory is None:
            return
        stored = {item.name: item for item in inventory()}
        encrypted = False
        if ctx.fs.is_file(MANIFEST_PLIST):
            try:
                manifest = ctx.fs.plist(MANIFEST_PLIST)
                encrypted = isinstance(manifest, dict) and manifest.get("IsEncrypted") is True
            except EvidenceError as exc:
                ctx.warn(f"{MANIFEST_PLIST}: {exc.reason}")
        columns = table_columns(conn, "Files")
        if not {"fileID", "flags"} <= columns:
            ctx.error(path, "no Files table with fileID and flags")
            return
        optional = [c if c in columns else "NULL" for c in ("domain", "relativePath", "file")]
        # The name's bytes as stored, for its SHA-1 (the text columns may be decoded leniently).
        raw_name = ", ".join(f"CAST({c} AS BLOB)" if c in columns else "NULL" for c in ("domain", "relativePath"))
        sql = f"SELECT rowid, fileID, flags, {', '.join(optional)}, {raw_name} FROM Files ORDER BY rowid"  # noqa: S608
        listed: set[str] = set()
        decoder = MBFileDecoder(ctx.limits)
        for rowid, file_id, flags, domain, relative, blob, raw_domain, raw_relative in iter_rows(conn, sql):
            if flags != _FLAG_FILE or not isinstance(file_id, str):
                continue
            fid = file_id.lower()
            listed.add(fid)
            if not _named_by(fid, raw_domain, raw_relative):
                yield BackupFileIssue(
                    locator=Locator(path, sha256, "Files", rowid if isinstance(rowid, int) else None),
                    issue="name_mismatch",
                    file_id=fid,
                    domain=domain if isinstance(domain, str) else None,
                    relative_path=relative if isinstance(relative, str) else None,
                    expected_size=None,
                    actual_size=None,
                )
            expected = _mbfile_size(blob, path, decoder)
            found = stored.get(fid)
            issue: str | None = None
            actual: int | None = None
            if found is None:
                issue = "missing"
            elif not found.regular:
                issue = "not_regular"
            else:
                actual = found.size
                if expected is not None and not _size_agrees(expected, actual, encrypted):
                    issue = "size_mismatch"
            if issue is not None:
                yield BackupFileIssue(
                    locator=Locator(path, sha256, "Files", rowid if isinstance(rowid, int) else None),
                    issue=issue,
                    file_id=fid,
                    domain=domain if isinstance(domain, str) else None,
                    relative_path=relative if isinstance(relative, str) else None,
                    expected_size=expected,
                    actual_size=actual,
                )
        for name in sorted(set(stored) - listed):
            item = stored[name]
            yield BackupFileIssue(
                locator=Locator(path, sha256, key_path=f"folder:{item.relative}"),
                issue="extra",
                file_id=name,
                domain=None,
                relative_path=None,
                expected_size=None,
                actual_size=item.size,
            )
