"""An iOS backup folder (iTunes, Finder, libimobiledevice) as a source, plain or encrypted.

A backup folder holds ``Manifest.db`` (one row per file: fileID, domain,
relativePath, flags, and an archived MBFile), the files themselves at
``<fileID[:2]>/<fileID>``, and ``Info.plist``, ``Manifest.plist`` and
``Status.plist``. Manifest.db is often left in WAL mode by the tool that made
the backup; its WAL is replayed on a private copy so its rows are not lost.

The source's members are named by their device paths (mount it at the device's
root) and listed from Manifest.db, read once: the rows placed under
:data:`BACKUP_PREFIX` for the backup's own files, a member per row with a safe
path, the later of two rows for one path standing (:attr:`Source.last_wins`).
What the source keeps per member is compact and in the order of its listing, so
a member is found again by its `ref`: the 20-byte file id (and, encrypted, the
wrapped key and plaintext size). A file's size is that of the file stored,
looked up when asked for. What the backup's integrity check needs of each row is
gathered on the way (:class:`~preuve.evidence.ios_integrity.ListedFiles`).

An encrypted backup (:class:`EncryptedBackupSource`) is decrypted on the fly:
only what an artifact opens, as a stream (or, for SQLite, as a private copy in
the run's workdir, removed with it). Manifest.db is decrypted once into the
workdir. Nothing decrypted is ever written in or beside the evidence. The
SHA-256 recorded for a file is that of its plaintext (the file as it was on the
phone), so a finding in an encrypted backup has the same locator as in a plain
backup of the same phone; the encrypted Manifest.db is recorded as it lies,
under ``/.acquisition/backup/encrypted/Manifest.db``.
"""

from __future__ import annotations

import io
import re
import shutil
import sqlite3
import stat as statmod
import tempfile
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, ClassVar

from preuve.evidence.crypto.ios_keybag import KeybagError, decrypt_stream, file_key
from preuve.evidence.errors import EvidenceError, LimitExceeded
from preuve.evidence.fs import ACQUISITION_PREFIX, FileInfo
from preuve.evidence.ios_domains import device_path
from preuve.evidence.ios_encrypted import BackupKeys
from preuve.evidence.ios_integrity import ListedFiles
from preuve.evidence.ledger import EvidenceFile, HashLedger, sha256_stream
from preuve.evidence.limits import Limits
from preuve.evidence.mbfile import MBFileDecoder
from preuve.evidence.policy import DIR, FILE, LINK, open_regular_file
from preuve.evidence.sources.base import Member, Source
from preuve.evidence.sqlite import iter_rows, open_readonly, table_columns

BACKUP_PREFIX = ACQUISITION_PREFIX + "/backup"
ENCRYPTED_MANIFEST = BACKUP_PREFIX + "/encrypted/Manifest.db"
_META_NAME = BACKUP_PREFIX[1:] + "/"  # the member names of the backup's own files
_FILE_ID = re.compile(r"[0-9a-f]{40}\Z")
_FLAG_FILE, _FLAG_DIR, _FLAG_LINK = 1, 2, 4
_NO_ID = bytes(20)
_NOT_A_FILE, _A_FILE, _A_META = 0, 1, 2  # what a ref is (see BackupSource._kinds)


class BackupSource(Source):
    """A plain backup's files, listed from its Manifest.db (see the module's docstring)."""

    last_wins = True
    meta_files: ClassVar[tuple[str, ...]] = ("Info.plist", "Manifest.plist", "Status.plist", "Manifest.db",
                                              "Manifest.db-wal")
    _wants_mbfile = False  # whether every file row's MBFile is decoded (not only those of flags 1)

    def __init__(self, root: Path, limits: Limits, ledger: HashLedger, workdir: Path) -> None:
        super().__init__(root, limits)
        self.ledger = ledger
        self.workdir = workdir
        # Per member, in the order of the listing (by ref): what it is, and a file's 20-byte id.
        self._kinds = bytearray()
        self._ids = bytearray()
        self._meta: dict[int, Path] = {}  # ref: where a file of the backup itself lies
        self._mbfiles = MBFileDecoder(limits)
        # What the listing gathers for the integrity check of the kind (BackupIntegrity).
        self._listed = ListedFiles()
        self._listing_sql = ""

    # -- listing ------------------------------------------------------------------------------
    def members(self) -> Iterator[Member]:
        yield from self._meta_members(self.meta_files)
        manifest = self.path / "Manifest.db"
        if not manifest.is_file():
            return
        self._hash_meta("Manifest.db")
        wal = self.path / "Manifest.db-wal"
        if wal.is_file() and not wal.is_symlink():
            self._hash_meta("Manifest.db-wal")
        with self._manifest_db() as conn:
            yield from self._manifest_members(conn)

    def _listed_one(self, kind: int, raw: bytes = _NO_ID) -> None:
        """Keep what is known of the member about to be yielded (its ref is the count so far)."""
        self._kinds.append(kind)
        self._ids += raw

    def _meta_member(self, name: str, local: Path, st_size: int, mtime: float | None, mode: int | None) -> Member:
        self._meta[len(self._kinds)] = local
        self._listed_one(_A_META)
        return Member(_META_NAME + name, FILE, st_size, mtime, mode)

    def _meta_members(self, names: Iterable[str]) -> Iterator[Member]:
        for name in names:
            meta = self.path / name
            try:
                st = meta.lstat()
            except OSError:
                continue
            if statmod.S_ISREG(st.st_mode):
                yield self._meta_member(name, meta, st.st_size, st.st_mtime, st.st_mode)

    @contextmanager
    def _manifest_db(self) -> Iterator[sqlite3.Connection]:
        """Manifest.db, read-only (its WAL replayed on a private copy)."""
        journals = {}
        wal = self.path / "Manifest.db-wal"
        if wal.is_file() and not wal.is_symlink():
            journals["-wal"] = wal
        with open_readonly(self.path / "Manifest.db", journals, self.limits, self.workdir) as conn:
            yield conn

    def _manifest_members(self, conn: sqlite3.Connection) -> Iterator[Member]:
        """The files of the backup, from an open Manifest.db; what the integrity check needs of each
        file row is kept on the way (see ListedFiles), so Manifest.db is read once."""
        blob = "file" if "file" in table_columns(conn, "Files") else "NULL"
        try:
            conn.execute("SELECT rowid FROM Files LIMIT 0")
            rowid = "rowid"
        except sqlite3.Error:  # a table WITHOUT ROWID
            rowid = "NULL"
        self._listing_sql = f"SELECT {rowid}, fileID, domain, relativePath, flags, {blob} FROM Files"  # noqa: S608 - fixed names
        listed, row_size, wants_mbfile = self._listed, self._row_size, self._wants_mbfile
        limit = self.limits.max_archive_entries
        for place, (row, file_id, domain, relative, flags, mbfile) in enumerate(
            iter_rows(conn, self._listing_sql, named=False)
        ):
            if place >= limit:
                # A Files view can yield rows for ever; the listing must stay bounded in memory.
                raise LimitExceeded("Manifest.db", f"more than {limit} entries")
            size = None
            if (flags == _FLAG_FILE or (wants_mbfile and flags not in (_FLAG_DIR, _FLAG_LINK))) and isinstance(
                mbfile, bytes
            ):
                size = row_size(mbfile)
            raw: bytes | None = None
            if flags == _FLAG_FILE and isinstance(file_id, str):
                fid = file_id.lower()
                raw = bytes.fromhex(fid) if _FILE_ID.match(fid) else None
                listed.add(place, row, fid, raw, domain, relative, size)
            device = device_path(str(domain or ""), str(relative or ""))
            if device is None:
                self.notes.append(f"{domain}/{relative}: path would leave the device root")
                continue
            if flags == _FLAG_DIR:
                self._listed_one(_NOT_A_FILE)
                yield Member(device[1:], DIR, 0, None, None)
            elif flags == _FLAG_LINK:
                self._listed_one(_NOT_A_FILE)
                yield Member(device[1:], LINK, 0, None, None)
            else:
                if raw is None:
                    fid = str(file_id or "").lower()
                    if not _FILE_ID.match(fid):
                        self.notes.append(f"{domain}/{relative}: invalid file id {file_id!r}")
                        continue
                    raw = bytes.fromhex(fid)
                if not self._on_file(device, mbfile if isinstance(mbfile, bytes) else None, size):
                    continue
                self._listed_one(_A_FILE, raw)
                # Its size is that of the file stored, looked up when asked for (see complete).
                yield Member(device[1:], FILE, -1, None, None)

    def _row_size(self, mbfile: bytes) -> int | None:
        """The expected size of a file from its MBFile (None when it has none)."""
        return self._mbfiles.size(mbfile, "MBFile")

    def _on_file(self, device: str, mbfile: bytes | None, size: int | None) -> bool:
        """Hook for sources that need the MBFile of each file; False leaves the file out."""
        return True

    def _hash_meta(self, name: str) -> None:
        with open_regular_file(self.path / name, f"{BACKUP_PREFIX}/{name}") as stream:
            digest, size = sha256_stream(stream, self.limits.max_file_bytes)
        self.ledger.add(EvidenceFile(f"{BACKUP_PREFIX}/{name}", name, size, digest))

    # -- what the integrity check reads -------------------------------------------------------
    def listed_files(self) -> ListedFiles:
        """The files Manifest.db lists, as the listing gathered them for the integrity check."""
        return self._listed

    def manifest_names(self, rows: dict[int, int | None]) -> dict[int, tuple[object, object, object, object]]:
        """Domain and path (as decoded text, and as stored bytes) of the Manifest.db rows the listing
        read at the places given (place: rowid, None when the row has none), read again."""
        names = "domain, relativePath, CAST(domain AS BLOB), CAST(relativePath AS BLOB)"
        out: dict[int, tuple[object, object, object, object]] = {}
        with self._manifest_db() as conn:
            by_rowid = {rowid: place for place, rowid in rows.items() if rowid is not None}
            if len(by_rowid) == len(rows):
                wanted = sorted(by_rowid)
                for start in range(0, len(wanted), 500):
                    chunk = wanted[start : start + 500]
                    marks = ", ".join("?" * len(chunk))
                    sql = f"SELECT rowid, {names} FROM Files WHERE rowid IN ({marks})"  # noqa: S608 - fixed names
                    for rowid, *values in iter_rows(conn, sql, tuple(chunk), named=False):
                        out[by_rowid[rowid]] = (values[0], values[1], values[2], values[3])
                return out
            # Rows without a rowid (a view): the listing's query again, in its order.
            sql = self._listing_sql.replace("SELECT ", f"SELECT {names}, ", 1)
            last = max(rows)
            for place, found in enumerate(iter_rows(conn, sql, named=False)):
                if place in rows:
                    out[place] = (found[0], found[1], found[2], found[3])
                if place >= last:
                    break
        return out

    # -- a member found by its ref ------------------------------------------------------------
    def file_id(self, ref: int) -> str | None:
        """The file id of a backup file (None for a folder, a link or a file of the backup itself)."""
        if not 0 <= ref < len(self._kinds) or self._kinds[ref] != _A_FILE:
            return None
        return self._ids[20 * ref : 20 * ref + 20].hex()

    def _is_file(self, ref: int) -> bool:
        return 0 <= ref < len(self._kinds) and self._kinds[ref] == _A_FILE

    def _blob(self, ref: int, label: str) -> Path:
        """Where a member's bytes lie: a file of the backup itself, or ``<id[:2]>/<id>``."""
        meta = self._meta.get(ref)
        if meta is not None:
            return meta
        fid = self.file_id(ref)
        if fid is None:
            raise EvidenceError(label, "not a file of this backup")
        return self.path / fid[:2] / fid

    def complete(self, ref: int, name: str, info: FileInfo) -> FileInfo:
        device = info.device_path
        try:
            st = self._blob(ref, device).lstat()
        except OSError:
            return FileInfo(device, 0, None, None, is_link=True)  # listed, absent: unreadable
        if not statmod.S_ISREG(st.st_mode):
            return FileInfo(device, 0, st.st_mtime, st.st_mode, is_link=True)
        return FileInfo(device, st.st_size, st.st_mtime, st.st_mode)

    def absent(self, ref: int, name: str) -> bool:
        fid = self.file_id(ref)
        if fid is None:
            return False
        try:
            (self.path / fid[:2] / fid).lstat()
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return False

    def open(self, name: str, label: str) -> BinaryIO:
        raise EvidenceError(label, "a backup's files are found by their place in Manifest.db")

    def open_member(self, ref: int, name: str, label: str) -> BinaryIO:
        return open_regular_file(self._blob(ref, label), label)

    def local_member(self, ref: int, name: str) -> Path | None:
        return self._blob(ref, "/" + name)

    def member_source_name(self, ref: int, name: str) -> str:
        meta = self._meta.get(ref)
        if meta is not None:
            return meta.name
        fid = self.file_id(ref) or ""
        return f"{fid[:2]}/{fid}"


class EncryptedBackupSource(BackupSource):
    """An encrypted backup's files: Manifest.db decrypted once into the workdir, each file decrypted
    when it is read (see the module's docstring)."""

    meta_files = ("Info.plist", "Manifest.plist", "Status.plist")
    _wants_mbfile = True

    def __init__(self, root: Path, limits: Limits, ledger: HashLedger, workdir: Path, keys: BackupKeys) -> None:
        super().__init__(root, limits, ledger, workdir)
        self._keys = keys
        # Each member's wrapped key and plaintext size, by ref: the keys one after the other, where
        # each starts (-1: no key), the sizes (-1: unknown).
        self._wrapped = bytearray()
        self._key_at = array("q")
        self._sizes = array("q")
        self._row: tuple[bytes | None, int | None] | None = None  # the key and size of the row being listed
        self._row_key: bytes | None = None
        self._private = Path(tempfile.mkdtemp(prefix="manifest-", dir=workdir))
        self._manifest = self._private / "Manifest.db"

    def close(self) -> None:
        shutil.rmtree(self._private, ignore_errors=True)

    def members(self) -> Iterator[Member]:
        yield from self._meta_members(self.meta_files)
        self._decrypt_manifest()
        yield self._meta_member("Manifest.db", self._manifest, self._manifest.stat().st_size, None, None)
        with self._manifest_db() as conn:
            yield from self._manifest_members(conn)

    def _decrypt_manifest(self) -> None:
        source = self.path / "Manifest.db"
        with open_regular_file(source, ENCRYPTED_MANIFEST) as stream:
            digest, size = sha256_stream(stream, self.limits.max_file_bytes)
        if size % 16:
            raise EvidenceError(ENCRYPTED_MANIFEST, "not a whole number of AES blocks")
        self.ledger.add(EvidenceFile(ENCRYPTED_MANIFEST, "Manifest.db", size, digest))
        with open_regular_file(source, ENCRYPTED_MANIFEST) as raw, decrypt_stream(
            raw, self._keys.manifest_key, None
        ) as plain, open(self._manifest, "wb") as out:
            shutil.copyfileobj(plain, out, 1024 * 1024)
        with open(self._manifest, "rb") as check:
            if check.read(16) != b"SQLite format 3\x00":
                raise EvidenceError(ENCRYPTED_MANIFEST, "does not decrypt to a SQLite database (damaged?)")

    @contextmanager
    def _manifest_db(self) -> Iterator[sqlite3.Connection]:
        """The decrypted Manifest.db (the private copy), read-only."""
        with open_readonly(self._manifest, {}, self.limits, self.workdir) as conn:
            yield conn

    def _row_size(self, mbfile: bytes) -> int | None:
        # Each file's MBFile is decoded once: its size, and its wrapped key kept for _on_file.
        try:
            meta = self._mbfiles.decode(mbfile, "MBFile")
        except EvidenceError:
            self._row_key = None
            return None
        self._row_key = meta.encryption_key
        return meta.size if meta.size is not None and meta.size >= 0 else None

    def _on_file(self, device: str, mbfile: bytes | None, size: int | None) -> bool:
        key = self._row_key if mbfile else None
        if key is None and size != 0:
            self.notes.append(f"{device}: no EncryptionKey in its MBFile; cannot be decrypted")
            return False
        self._row = (key, size)
        return True

    def _listed_one(self, kind: int, raw: bytes = _NO_ID) -> None:
        super()._listed_one(kind, raw)
        key, size = self._row if kind == _A_FILE and self._row is not None else (None, None)
        self._row = None
        self._key_at.append(-1 if key is None else len(self._wrapped))
        if key is not None:
            self._wrapped += len(key).to_bytes(4, "big") + key
        self._sizes.append(-1 if size is None else size)

    def _file_key(self, ref: int) -> tuple[bytes | None, int | None]:
        """The wrapped key and plaintext size of a backup file."""
        at, size = self._key_at[ref], self._sizes[ref]
        wrapped = self._wrapped
        key = None if at < 0 else bytes(wrapped[at + 4 : at + 4 + int.from_bytes(wrapped[at : at + 4], "big")])
        return key, None if size < 0 else size

    def complete(self, ref: int, name: str, info: FileInfo) -> FileInfo:
        done = super().complete(ref, name, info)
        if done.is_link or not self._is_file(ref):
            return done
        if done.size % 16:
            return FileInfo(info.device_path, 0, done.mtime, done.mode, is_link=True)  # not ciphertext
        size = self._file_key(ref)[1]
        plain = done.size if size is None else min(size, done.size)
        return FileInfo(info.device_path, plain, done.mtime, done.mode)

    def local_member(self, ref: int, name: str) -> Path | None:
        if self._is_file(ref):
            return None  # ciphertext: SQLite gets a decrypted private copy (DeviceFS._materialize)
        return self._blob(ref, "/" + name)

    def open_member(self, ref: int, name: str, label: str) -> BinaryIO:
        if not self._is_file(ref):
            return open_regular_file(self._blob(ref, label), label)
        wrapped, size = self._file_key(ref)
        raw = open_regular_file(self._blob(ref, label), label)
        if wrapped is None:  # an empty file has no key
            raw.close()
            return io.BytesIO(b"")
        try:
            key = file_key(self._keys.class_keys, wrapped)
        except KeybagError as exc:
            raw.close()
            raise EvidenceError(label, f"cannot be decrypted ({exc})") from None
        if size is not None and size > self.limits.max_file_bytes:
            raw.close()
            raise LimitExceeded(label, f"file of {size} bytes exceeds {self.limits.max_file_bytes}")
        return decrypt_stream(raw, key, size)

    def member_source_name(self, ref: int, name: str) -> str:
        if self._meta.get(ref) == self._manifest:
            return "Manifest.db (decrypted)"
        named = super().member_source_name(ref, name)
        return f"{named} (decrypted)" if self._is_file(ref) else named
