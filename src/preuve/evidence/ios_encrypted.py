"""Encrypted iOS backups, decrypted on the fly behind the same device paths as a plain backup.

Only what an artifact opens is decrypted, as a stream (or, for SQLite, as a
private copy in the run's workdir, removed with it). Manifest.db is
decrypted once into the workdir. Nothing decrypted is ever written in or
beside the evidence. The SHA-256 recorded for a file is that of its
plaintext (the file as it was on the phone), so a finding in an encrypted
backup has the same locator as in a plain backup of the same phone; the
encrypted Manifest.db is recorded as it lies, under
``/.acquisition/backup/encrypted/Manifest.db``.
"""

from __future__ import annotations

import io
import shutil
import sqlite3
import tempfile
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from preuve.evidence.crypto.ios_keybag import (
    KeybagError,
    WrongPassword,
    decrypt_stream,
    derive_password_key,
    file_key,
    parse_keybag,
    unlock_class_keys,
)
from preuve.evidence.errors import AcquisitionError, EvidenceError, LimitExceeded
from preuve.evidence.formats.plists import load_plist
from preuve.evidence.fs import FileInfo
from preuve.evidence.kinds.ios_backup import BACKUP_PREFIX, BackupFS
from preuve.evidence.ledger import EvidenceFile, HashLedger, sha256_stream
from preuve.evidence.limits import Limits
from preuve.evidence.policy import open_regular_file
from preuve.evidence.sqlite import open_readonly

_PLAIN_META = ("Info.plist", "Manifest.plist", "Status.plist")
ENCRYPTED_MANIFEST = BACKUP_PREFIX + "/encrypted/Manifest.db"


@dataclass(frozen=True, slots=True)
class BackupKeys:
    """The unlocked class keys and the key of Manifest.db (never printed)."""

    class_keys: dict[int, bytes] = field(repr=False)
    manifest_key: bytes = field(repr=False)


def _manifest_plist(root: Path, limits: Limits) -> dict[str, object]:
    path = root / "Manifest.plist"
    try:
        with open_regular_file(path, str(path)) as stream:
            data = stream.read(limits.max_plist_bytes + 1)
        value = load_plist(data, str(path), limits)
    except EvidenceError as exc:
        raise AcquisitionError(f"{path}: {exc.reason}") from exc
    if not isinstance(value, dict):
        raise AcquisitionError(f"{path}: not a dictionary")
    return value


def derive_backup_key(root: Path, password: str, limits: Limits) -> bytes:
    """The 32-byte key the password stands for, checked against the keybag (for `preuve backup-key`)."""
    manifest = _manifest_plist(root, limits)
    bag = manifest.get("BackupKeyBag")
    if not isinstance(bag, bytes):
        raise AcquisitionError(f"{root / 'Manifest.plist'}: no BackupKeyBag; the backup is not encrypted")
    try:
        keybag = parse_keybag(bag)
        key = derive_password_key(keybag, password)
        unlock_class_keys(keybag, key)
    except WrongPassword:
        raise AcquisitionError(f"{root}: wrong password for this encrypted backup") from None
    except KeybagError as exc:
        raise AcquisitionError(f"{root / 'Manifest.plist'}: damaged keybag ({exc})") from None
    return key


def unlock_backup(root: Path, password: str | None, key: bytes | None, limits: Limits) -> BackupKeys:
    """Unlock the keybag with a derived key (preferred: instant) or the password."""
    manifest = _manifest_plist(root, limits)
    bag, manifest_key = manifest.get("BackupKeyBag"), manifest.get("ManifestKey")
    if not isinstance(bag, bytes) or not isinstance(manifest_key, bytes):
        raise AcquisitionError(
            f"{root / 'Manifest.plist'}: marked encrypted but BackupKeyBag or ManifestKey is missing"
        )
    if key is None and password is None:
        raise AcquisitionError(
            f"{root}: this backup is encrypted; give its password (--password-file, the "
            "PREUVE_BACKUP_PASSWORD variable, or at the prompt) or a key from `preuve backup-key` (--key-file)"
        )
    try:
        keybag = parse_keybag(bag)
        password_key = key if key is not None else derive_password_key(keybag, password or "")
        class_keys = unlock_class_keys(keybag, password_key)
    except WrongPassword:
        what = "key" if key is not None else "password"
        raise AcquisitionError(f"{root}: wrong {what} for this encrypted backup") from None
    except KeybagError as exc:
        raise AcquisitionError(f"{root / 'Manifest.plist'}: damaged keybag ({exc})") from None
    try:
        return BackupKeys(class_keys, file_key(class_keys, manifest_key))
    except KeybagError as exc:
        raise AcquisitionError(f"{root / 'Manifest.plist'}: ManifestKey cannot be unwrapped ({exc})") from None


class EncryptedBackupFS(BackupFS):
    kind = "ios_backup_encrypted"
    _wants_mbfile = True

    def __init__(self, source: Path, ledger: HashLedger, limits: Limits, workdir: Path, keys: BackupKeys) -> None:
        super().__init__(source, ledger, limits, workdir)
        self._keys = keys
        # Each file's wrapped key and plaintext size, kept compact in the order of the files (listing
        # order while listing, then sorted with them: see _files_sorted): the keys one after the
        # other, where each starts (-1: no key), the sizes (-1: unknown).
        self._wrapped = bytearray()
        self._key_at = array("q")
        self._sizes = array("q")
        self._row_key: bytes | None = None  # the wrapped key of the row being listed
        self._private = Path(tempfile.mkdtemp(prefix="manifest-", dir=workdir))
        self._manifest = self._private / "Manifest.db"

    def close(self) -> None:
        shutil.rmtree(self._private, ignore_errors=True)

    def _meta_path(self, device: str) -> Path | None:
        if device == f"{BACKUP_PREFIX}/Manifest.db":
            return self._manifest
        if device.startswith(BACKUP_PREFIX + "/"):
            name = device[len(BACKUP_PREFIX) + 1 :]
            if name in _PLAIN_META:
                return self.source / name
        return None

    def _decrypt_manifest(self) -> None:
        source = self.source / "Manifest.db"
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

    def _iter_entries(self) -> Iterable[FileInfo]:
        yield from self._meta_entries(_PLAIN_META)
        self._decrypt_manifest()
        yield FileInfo(f"{BACKUP_PREFIX}/Manifest.db", self._manifest.stat().st_size)
        with self._manifest_db() as conn:
            yield from self._manifest_entries(conn)

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

    def _on_file(self, device: str, fid: str, mbfile: bytes | None, size: int | None) -> bool:
        key = self._row_key if mbfile else None
        if key is None and size != 0:
            self.skipped.append(f"{device}: no EncryptionKey in its MBFile; cannot be decrypted")
            return False
        self._key_at.append(-1 if key is None else len(self._wrapped))
        if key is not None:
            self._wrapped += len(key).to_bytes(4, "big") + key
        self._sizes.append(-1 if size is None else size)
        return True

    def _files_sorted(self, kept: array[int]) -> None:
        keys, key_at, sizes = bytearray(), array("q"), array("q")
        for index in kept:
            at = self._key_at[index]
            if at < 0:
                key_at.append(-1)
            else:
                key_at.append(len(keys))
                keys += self._wrapped[at : at + 4 + int.from_bytes(self._wrapped[at : at + 4], "big")]
            sizes.append(self._sizes[index])
        self._wrapped, self._key_at, self._sizes = keys, key_at, sizes

    def _file_key(self, device: str) -> tuple[bytes | None, int | None] | None:
        """The wrapped key and plaintext size of a listed file (None when it is not one)."""
        index = self._file_index(device)
        if index < 0:
            return None
        at, size = self._key_at[index], self._sizes[index]
        wrapped = self._wrapped
        key = None if at < 0 else bytes(wrapped[at + 4 : at + 4 + int.from_bytes(wrapped[at : at + 4], "big")])
        return key, None if size < 0 else size

    def _completed(self, entry: FileInfo) -> FileInfo:
        done = super()._completed(entry)
        known = self._file_key(entry.device_path)
        if done.is_link or known is None:
            return done
        if done.size % 16:
            return FileInfo(entry.device_path, 0, done.mtime, done.mode, is_link=True)  # not ciphertext
        size = known[1]
        plain = done.size if size is None else min(size, done.size)
        return FileInfo(entry.device_path, plain, done.mtime, done.mode)

    def _local_file(self, device_path: str) -> Path | None:
        if self._file_index(device_path) >= 0:
            return None  # ciphertext: SQLite gets a decrypted private copy via _materialize
        return self._blob_path(device_path)

    def _open_raw(self, device_path: str) -> BinaryIO:
        known = self._file_key(device_path)
        if known is None:
            return open_regular_file(self._blob_path(device_path), device_path)
        wrapped, size = known
        raw = open_regular_file(self._blob_path(device_path), device_path)
        if wrapped is None:  # an empty file has no key
            raw.close()
            return io.BytesIO(b"")
        try:
            key = file_key(self._keys.class_keys, wrapped)
        except KeybagError as exc:
            raw.close()
            raise EvidenceError(device_path, f"cannot be decrypted ({exc})") from None
        if size is not None and size > self.limits.max_file_bytes:
            raw.close()
            raise LimitExceeded(device_path, f"file of {size} bytes exceeds {self.limits.max_file_bytes}")
        return decrypt_stream(raw, key, size)

    def _source_name(self, device_path: str) -> str:
        if device_path == f"{BACKUP_PREFIX}/Manifest.db":
            return "Manifest.db (decrypted)"
        name = super()._source_name(device_path)
        return f"{name} (decrypted)" if self._file_index(device_path) >= 0 else name

