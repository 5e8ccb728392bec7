"""An encrypted iOS backup as a source: the plain backup's listing, each file decrypted when it is read.

Only what an artifact opens is decrypted, as a stream (or, for SQLite, as a
private copy in the run's workdir, removed with it). Manifest.db is decrypted
once into the workdir. Nothing decrypted is ever written in or beside the
evidence. The SHA-256 recorded for a file is that of its plaintext (the file as
it was on the phone), so a finding in an encrypted backup has the same locator
as in a plain backup of the same phone; the encrypted Manifest.db is recorded
as it lies, under ``/.acquisition/backup/encrypted/Manifest.db``. (A module of
its own: the AES library is loaded only for an encrypted backup.)
"""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import tempfile
from array import array
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast

from preuve.evidence.backup_folders import FoldersLater
from preuve.evidence.crypto.ios_keybag import KeybagError, decrypt_stream, file_key
from preuve.evidence.errors import EvidenceError, LimitExceeded
from preuve.evidence.fs import FileInfo
from preuve.evidence.ios_encrypted import BackupKeys
from preuve.evidence.ledger import EvidenceFile, HashBeside, HashingReader, HashLedger
from preuve.evidence.limits import Limits
from preuve.evidence.mbfile import MBFileFields
from preuve.evidence.policy import open_regular_file
from preuve.evidence.sources.backup import BACKUP_PREFIX, NO_ID, ROW_FILE, BackupSource, ListedRows
from preuve.evidence.sources.base import Member, MemberColumns
from preuve.evidence.sqlite import open_readonly

ENCRYPTED_MANIFEST = BACKUP_PREFIX + "/encrypted/Manifest.db"
_COPY_CHUNK = 1024 * 1024


@dataclass(slots=True)
class KeyedRows(ListedRows):
    """A range of rows listed, with the wrapped key (None for an empty file) and plaintext size (-1:
    unknown) of each file, in the order of the files."""

    keys: list[bytes | None] = field(default_factory=list)
    plain: array[int] = field(default_factory=lambda: array("q"))


class EncryptedBackupSource(BackupSource):
    """An encrypted backup's files: Manifest.db decrypted once into the workdir, each file decrypted
    when it is read (see the module's docstring)."""

    meta_files = ("Info.plist", "Manifest.plist", "Status.plist")
    _findable_by_name = False  # (a file's key is in its row of Manifest.db)
    _wants_mbfile = True

    def __init__(
        self, root: Path, limits: Limits, ledger: HashLedger, workdir: Path, keys: BackupKeys, jobs: int = 1,
        folders: FoldersLater | None = None, integrity: bool = True,
    ) -> None:
        super().__init__(root, limits, ledger, workdir, jobs, folders, integrity)
        self._keys = keys
        # Each member's wrapped key and plaintext size, by ref: the keys one after the other, where
        # each starts (-1: no key), the sizes (-1: unknown).
        self._wrapped = bytearray()
        self._key_at = array("q")
        self._sizes = array("q")
        self._row_key: bytes | None = None
        self._private = Path(tempfile.mkdtemp(prefix="manifest-", dir=workdir))
        self._manifest = self._private / "Manifest.db"
        self._copy_digest: tuple[str, int] | None = None  # the decrypted Manifest.db's, as written

    def close(self) -> None:
        try:
            super().close()
        finally:
            shutil.rmtree(self._private, ignore_errors=True)

    def member_batches(self) -> Iterator[Member | MemberColumns]:
        yield from self._meta_members(self.meta_files)
        self._read_status()
        if (self.path / "Manifest.db").is_file():
            self._list_folders_beside()
        self._decrypt_manifest()
        yield self._meta_member("Manifest.db", self._manifest, self._manifest.stat().st_size, None, None)
        with self._manifest_db() as conn:
            yield from self._manifest_members(conn)
        self._none_listed()

    def _decrypt_manifest(self) -> None:
        """Manifest.db read once: hashed as it lies (into the ledger), decrypted into the private copy,
        and the copy's bytes hashed as they are written (see member_digest). Both hashes run on a
        thread beside the decryption (HashBeside): on a phone's 170 MB Manifest.db, reading it twice
        and hashing its copy again in each process cost about half a second of CPU."""
        source = self.path / "Manifest.db"
        limit = self.limits.max_file_bytes
        with ExitStack() as stack:
            raw = stack.enter_context(open_regular_file(source, ENCRYPTED_MANIFEST))
            lying = os.fstat(raw.fileno()).st_size
            if lying > limit:
                raise ValueError(f"larger than {limit} bytes")  # (as hashing it first raised)
            if lying % 16:
                raise EvidenceError(ENCRYPTED_MANIFEST, "not a whole number of AES blocks")
            pool = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="preuve-hash"))
            as_lying, as_copied = HashBeside(pool, limit), HashBeside(pool)
            read = HashingReader(raw, as_lying)
            with decrypt_stream(cast(BinaryIO, read), self._keys.manifest_key, None) as plain, open(self._manifest, "wb") as out:
                while chunk := plain.read(_COPY_CHUNK):
                    as_copied.update(chunk)
                    out.write(chunk)
                while read.read(_COPY_CHUNK):  # (to the end, whatever the decryption took)
                    pass
            digest, size = as_lying.result()
            if size % 16:
                raise EvidenceError(ENCRYPTED_MANIFEST, "not a whole number of AES blocks")
            self.ledger.add(EvidenceFile(ENCRYPTED_MANIFEST, self._meta_source("Manifest.db"), size, digest))
            self._copy_digest = as_copied.result()
        with open(self._manifest, "rb") as check:
            if check.read(16) != b"SQLite format 3\x00":
                raise EvidenceError(ENCRYPTED_MANIFEST, "does not decrypt to a SQLite database (damaged?)")

    def member_digest(self, ref: int, name: str) -> tuple[str, int] | None:
        if self._meta.get(ref) == self._manifest:
            return self._copy_digest
        return None

    @contextmanager
    def _manifest_db(self) -> Iterator[sqlite3.Connection]:
        """The decrypted Manifest.db (the private copy), read-only."""
        with open_readonly(self._manifest, {}, self.limits, self.workdir) as conn:
            yield conn

    def _copied_to_read(self) -> bool:
        return False  # (the decrypted copy is read in place)

    def _file_size(self, mbfile: bytes, fields: MBFileFields | None) -> int | None:
        # Each file's MBFile is decoded once: its size, and its wrapped key kept for _on_file.
        if fields is not None:
            self._row_key = fields[6]
            size = fields[0]
            return size if size is not None and size >= 0 else None
        try:
            meta = self._mbfiles.decode(mbfile, "MBFile")
        except EvidenceError:
            self._row_key = None
            return None
        self._row_key = meta.encryption_key
        return meta.size if meta.size is not None and meta.size >= 0 else None

    def _on_file(self, device: str, mbfile: bytes | None, size: int | None, part: ListedRows) -> bool:
        key = self._row_key if mbfile else None
        if key is None and size != 0:
            part.notes.append(f"{device}: no EncryptionKey in its MBFile; cannot be decrypted")
            return False
        assert isinstance(part, KeyedRows)  # noqa: S101 - made by _new_rows
        part.keys.append(key)
        part.plain.append(-1 if size is None or size >= 1 << 63 else size)  # (no file is that large: unknown)
        return True

    def _new_rows(self) -> ListedRows:
        return KeyedRows()

    def _merge(self, part: ListedRows, places: int) -> None:
        assert isinstance(part, KeyedRows)  # noqa: S101 - made by _new_rows
        super()._merge(part, places)
        keys, plain = iter(part.keys), iter(part.plain)
        for code in part.types:
            if code != ROW_FILE:
                self._key_at.append(-1)
                self._sizes.append(-1)
                continue
            key = next(keys)
            self._key_at.append(-1 if key is None else len(self._wrapped))
            if key is not None:
                self._wrapped += len(key).to_bytes(4, "big") + key
            self._sizes.append(next(plain))

    def _listed_one(self, kind: int, raw: bytes = NO_ID) -> None:  # (a file of the backup itself)
        super()._listed_one(kind, raw)
        self._key_at.append(-1)
        self._sizes.append(-1)

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
            return self._stored_stream(ref, label)
        wrapped, size = self._file_key(ref)
        raw = self._stored_stream(ref, label)
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
