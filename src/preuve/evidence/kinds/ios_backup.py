"""iTunes / Finder / libimobiledevice backups of an iPhone (plain; encrypted ones are recognised).

A backup folder holds ``Manifest.db`` (one row per file: fileID, domain,
relativePath, flags, and an archived MBFile), the files themselves at
``<fileID[:2]>/<fileID>``, and ``Info.plist``, ``Manifest.plist`` and
``Status.plist``. Manifest.db is often left in WAL mode by the tool that made
the backup; its WAL is replayed on a private copy so its rows are not lost.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat as statmod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import BinaryIO

from preuve.evidence.acquisition import AcquisitionKind, OpenContext
from preuve.evidence.errors import AcquisitionError, EvidenceError, LimitExceeded
from preuve.evidence.formats.plists import load_plist
from preuve.evidence.fs import ACQUISITION_PREFIX, DeviceFS, FileInfo
from preuve.evidence.ios_domains import device_path
from preuve.evidence.ledger import EvidenceFile, HashLedger, sha256_stream
from preuve.evidence.limits import Limits
from preuve.evidence.policy import open_regular_file
from preuve.evidence.sqlite import iter_rows, open_readonly, table_columns

BACKUP_PREFIX = ACQUISITION_PREFIX + "/backup"
_FILE_ID = re.compile(r"[0-9a-f]{40}\Z")
_SHARD = re.compile(r"[0-9a-fA-F]{2}\Z")
_META_FILES = ("Info.plist", "Manifest.plist", "Status.plist", "Manifest.db", "Manifest.db-wal")
_FLAG_FILE, _FLAG_DIR, _FLAG_LINK = 1, 2, 4
_NAME = attrgetter("name")


def _is_backup_folder(path: Path) -> bool:
    return path.is_dir() and ((path / "Manifest.db").is_file() or (path / "Manifest.plist").is_file())


def _backup_root(path: Path) -> Path | None:
    """The backup at `path`, or the single backup inside it."""
    if _is_backup_folder(path):
        return path
    if path.is_dir():
        inner = [child for child in sorted(path.iterdir()) if _is_backup_folder(child)]
        if len(inner) == 1:
            return inner[0]
        if len(inner) > 1:
            names = ", ".join(c.name for c in inner)
            raise AcquisitionError(f"{path}: holds {len(inner)} backups ({names}); give one of them")
    return None


def is_encrypted(root: Path, limits: Limits) -> bool:
    manifest = root / "Manifest.plist"
    if not manifest.is_file():
        return False
    try:
        value = load_plist(manifest.read_bytes()[: limits.max_plist_bytes + 1], str(manifest), limits)
    except EvidenceError:
        return False
    return isinstance(value, dict) and bool(value.get("IsEncrypted"))


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file found in a backup folder's two-character shard folders.

    A backup folder holds as many of these as files (500,000 in a big one): the shard's name is
    one string shared by its files, and the lower-cased name is the file's own name when that is
    lower-case already (as file ids are), so each costs one string."""

    shard: str  # "ab"
    file_name: str  # "ab12…", as stored
    name: str  # the file name, lower-cased (a file id when the backup is sound)
    size: int
    regular: bool

    @property
    def relative(self) -> str:
        """"ab/ab12…" inside the backup folder."""
        return f"{self.shard}/{self.file_name}"


class BackupFS(DeviceFS):
    kind = "ios_backup"

    def __init__(self, source: Path, ledger: HashLedger, limits: Limits, workdir: Path) -> None:
        super().__init__(source, ledger, limits, workdir)
        # Device path -> file id, as its 20 bytes (a backup lists up to hundreds of thousands).
        self._file_ids: dict[str, bytes] = {}
        self.skipped: list[str] = []

    def _meta_path(self, device: str) -> Path | None:
        if device.startswith(BACKUP_PREFIX + "/"):
            name = device[len(BACKUP_PREFIX) + 1 :]
            if name in _META_FILES:
                return self.source / name
        return None

    def _iter_entries(self) -> Iterable[FileInfo]:
        yield from self._meta_entries(_META_FILES)
        manifest = self.source / "Manifest.db"
        if not manifest.is_file():
            return
        journals = {}
        self._hash_meta("Manifest.db")
        wal = self.source / "Manifest.db-wal"
        if wal.is_file() and not wal.is_symlink():
            journals["-wal"] = wal
            self._hash_meta("Manifest.db-wal")
        with open_readonly(manifest, journals, self.limits, self.workdir) as conn:
            yield from self._manifest_entries(conn)

    def _meta_entries(self, names: Iterable[str]) -> Iterator[FileInfo]:
        for name in names:
            meta = self.source / name
            try:
                st = meta.lstat()
            except OSError:
                continue
            if statmod.S_ISREG(st.st_mode):
                yield FileInfo(f"{BACKUP_PREFIX}/{name}", st.st_size, st.st_mtime, st.st_mode)

    def _manifest_entries(self, conn: sqlite3.Connection) -> Iterator[FileInfo]:
        """The files of the backup, from an open Manifest.db."""
        blob = "file" if self._wants_mbfile and "file" in table_columns(conn, "Files") else "NULL"
        sql = f"SELECT fileID, domain, relativePath, flags, {blob} FROM Files"  # noqa: S608 - fixed names
        for count, (file_id, domain, relative, flags, mbfile) in enumerate(iter_rows(conn, sql), 1):
            if count > self.limits.max_archive_entries:
                # A Files view can yield rows for ever; the listing must stay bounded in memory.
                raise LimitExceeded("Manifest.db", f"more than {self.limits.max_archive_entries} entries")
            device = device_path(str(domain or ""), str(relative or ""))
            if device is None:
                self.skipped.append(f"{domain}/{relative}: path would leave the device root")
                continue
            if flags == _FLAG_DIR:
                yield FileInfo(device, 0, is_dir=True)
            elif flags == _FLAG_LINK:
                yield FileInfo(device, 0, is_link=True)
            else:
                fid = str(file_id or "").lower()
                if not _FILE_ID.match(fid):
                    self.skipped.append(f"{domain}/{relative}: invalid file id {file_id!r}")
                    continue
                if not self._on_file(device, fid, mbfile if isinstance(mbfile, bytes) else None):
                    continue
                self._file_ids[device] = bytes.fromhex(fid)
                yield FileInfo(device, -1)

    _wants_mbfile = False

    def _on_file(self, device: str, fid: str, mbfile: bytes | None) -> bool:
        """Hook for subclasses that need the MBFile of each file; False leaves the file out."""
        return True

    def _hash_meta(self, name: str) -> None:
        with open_regular_file(self.source / name, f"{BACKUP_PREFIX}/{name}") as stream:
            digest, size = sha256_stream(stream, self.limits.max_file_bytes)
        self.ledger.add(EvidenceFile(f"{BACKUP_PREFIX}/{name}", name, size, digest))

    def _complete(self, entry: FileInfo) -> FileInfo:
        local = self._blob_path(entry.device_path)
        try:
            st = local.lstat()
        except OSError:
            return FileInfo(entry.device_path, 0, None, None, is_link=True)  # listed, absent: unreadable
        if not statmod.S_ISREG(st.st_mode):
            return FileInfo(entry.device_path, 0, st.st_mtime, st.st_mode, is_link=True)
        return FileInfo(entry.device_path, st.st_size, st.st_mtime, st.st_mode)

    def _blob_path(self, device: str) -> Path:
        meta = self._meta_path(device)
        if meta is not None:
            return meta
        raw = self._file_ids.get(device)
        if raw is None:
            raise EvidenceError(device, "not a file of this backup")
        fid = raw.hex()
        return self.source / fid[:2] / fid

    def listed_but_absent(self, device_path: str) -> bool:
        self._load()
        raw = self._file_ids.get(device_path)
        if raw is None:
            return False
        fid = raw.hex()
        try:
            (self.source / fid[:2] / fid).lstat()
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return False

    def stored_files(self) -> Iterator[StoredFile]:
        """What actually lies in the backup's hashed-name folders (``ab/ab12…``), for integrity checks.

        Never follows a link and never opens a file; bounded by the archive-entry limit.
        """
        count = 0
        try:
            with os.scandir(self.source) as listing:
                folders = sorted((entry.name, entry) for entry in listing)
        except OSError:
            return
        # Names sorted as strings (the order pathlib gave within one folder), without building a Path
        # per file: a backup folder holds hundreds of thousands.
        for name, folder in folders:
            if not _SHARD.match(name) or not folder.is_dir(follow_symlinks=False):
                continue
            try:
                with os.scandir(folder.path) as listing:
                    children = sorted(listing, key=_NAME)
            except OSError:
                continue
            for child in children:
                child_name = child.name
                count += 1
                if count > self.limits.max_archive_entries:
                    raise LimitExceeded(str(self.source), f"more than {self.limits.max_archive_entries} stored files")
                try:
                    st = child.stat(follow_symlinks=False)
                except OSError:
                    continue
                regular = statmod.S_ISREG(st.st_mode)
                lower = child_name.lower()
                yield StoredFile(name, child_name, child_name if lower == child_name else lower,
                                 st.st_size if regular else 0, regular)

    def file_id(self, device: str) -> str | None:
        self._load()
        raw = self._file_ids.get(device)
        return None if raw is None else raw.hex()

    def _local_file(self, device_path: str) -> Path | None:
        return self._blob_path(device_path)

    def _open_raw(self, device_path: str) -> BinaryIO:
        return open_regular_file(self._blob_path(device_path), device_path)

    def _source_name(self, device_path: str) -> str:
        meta = self._meta_path(device_path)
        if meta is not None:
            return meta.name
        fid = self._file_ids.get(device_path, b"").hex()
        return f"{fid[:2]}/{fid}"


class IosBackup(AcquisitionKind):
    name = "ios_backup"
    platform = "ios"
    specificity = 50
    description = "an iOS backup folder (iTunes, Finder, libimobiledevice)"
    # The domains a backup keeps (see ios_domains), less the caches iOS leaves out of every backup;
    # locationd's clients.plist is the one cache a backup keeps (RootDomain).
    holds = (
        BACKUP_PREFIX + "/*", "/private/var/mobile/*", "/private/var/wireless/*",
        "/private/var/root/Library/Caches/locationd/*", "/private/var/containers/Shared/SystemGroup/*",
        "/private/var/preferences/*", "/private/var/Managed Preferences/*",
    )
    lacks = ("/private/var/mobile/*/Caches/*", "/private/var/mobile/Library/Caches/*", "/private/var/mobile/*Image Cache/*")

    @classmethod
    def detect(cls, path: Path) -> bool:
        return _backup_root(path) is not None

    @classmethod
    def open(cls, path: Path, ctx: OpenContext) -> DeviceFS:
        root = _backup_root(path)
        if root is None:
            raise AcquisitionError(f"{path}: not an iOS backup")
        if is_encrypted(root, ctx.limits):
            return cls.open_encrypted(root, ctx)
        if not (root / "Manifest.db").is_file():
            if (root / "Manifest.mbdb").is_file():
                raise AcquisitionError(f"{root}: a backup from iOS 9 or older (Manifest.mbdb) is not supported")
            raise AcquisitionError(f"{root}: Manifest.db is missing; this backup is incomplete")
        fs = BackupFS(root, ctx.ledger, ctx.limits, ctx.workdir)
        try:
            fs.paths()
        except EvidenceError as exc:
            raise AcquisitionError(f"{root / 'Manifest.db'}: {exc.reason}") from exc
        except Exception as exc:  # sqlite3 errors on a damaged Manifest.db
            raise AcquisitionError(f"{root / 'Manifest.db'}: cannot be read ({exc})") from exc
        for message in fs.skipped[:50]:
            ctx.warn(f"{root / 'Manifest.db'}: {message}")
        return fs

    @classmethod
    def open_encrypted(cls, root: Path, ctx: OpenContext) -> DeviceFS:
        from preuve.evidence.ios_encrypted import EncryptedBackupFS, unlock_backup

        keys = unlock_backup(root, ctx.secrets.password, ctx.secrets.key, ctx.limits)
        fs = EncryptedBackupFS(root, ctx.ledger, ctx.limits, ctx.workdir, keys)
        try:
            fs.paths()
        except EvidenceError as exc:
            fs.close()
            raise AcquisitionError(f"{root / 'Manifest.db'}: {exc.reason}") from exc
        except Exception as exc:  # sqlite3 errors on a damaged Manifest.db
            fs.close()
            raise AcquisitionError(f"{root / 'Manifest.db'}: cannot be read ({exc})") from exc
        for message in fs.skipped[:50]:
            ctx.warn(f"{root / 'Manifest.db'}: {message}")
        return fs


def encrypted_backup_root(path: Path, limits: Limits) -> Path | None:
    """The encrypted backup at `path` (so the CLI knows to ask for a password), or None."""
    try:
        root = _backup_root(path)
    except (AcquisitionError, OSError):
        return None
    return root if root is not None and is_encrypted(root, limits) else None
