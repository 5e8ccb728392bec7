"""iTunes / Finder / libimobiledevice backups of an iPhone (plain; encrypted ones are recognised).

A backup folder holds ``Manifest.db`` (one row per file: fileID, domain,
relativePath, flags, and an archived MBFile), the files themselves at
``<fileID[:2]>/<fileID>``, and ``Info.plist``, ``Manifest.plist`` and
``Status.plist``. Manifest.db is often left in WAL mode by the tool that made
the backup; its WAL is replayed on a private copy so its rows are not lost.
"""

from __future__ import annotations

import bisect
import re
import sqlite3
import stat as statmod
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from preuve.evidence.acquisition import AcquisitionKind, OpenContext
from preuve.evidence.errors import AcquisitionError, EvidenceError, LimitExceeded
from preuve.evidence.formats.plists import load_plist
from preuve.evidence.fs import ACQUISITION_PREFIX, DeviceFS, FileInfo
from preuve.evidence.ios_domains import device_path
from preuve.evidence.ios_integrity import BackupIntegrity, ListedFiles
from preuve.evidence.ledger import EvidenceFile, HashLedger, sha256_stream
from preuve.evidence.limits import Limits
from preuve.evidence.mbfile import MBFileDecoder
from preuve.evidence.policy import open_regular_file
from preuve.evidence.sqlite import iter_rows, open_readonly, table_columns

BACKUP_PREFIX = ACQUISITION_PREFIX + "/backup"
_FILE_ID = re.compile(r"[0-9a-f]{40}\Z")
_META_FILES = ("Info.plist", "Manifest.plist", "Status.plist", "Manifest.db", "Manifest.db-wal")
_FLAG_FILE, _FLAG_DIR, _FLAG_LINK = 1, 2, 4


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


class _Listing(dict[str, FileInfo]):
    """DeviceFS's map of device path to FileInfo for a backup: the folders, links, backup files and
    the files already looked at, as entries; every other file of the sorted `files`, a FileInfo of
    unknown size (completed by stat), made when asked for."""

    def __init__(self, entries: dict[str, FileInfo], files: list[str]) -> None:
        super().__init__(entries)
        self._files = files

    def _listed(self, device: str) -> bool:
        files = self._files
        index = bisect.bisect_left(files, device)
        return index < len(files) and files[index] == device

    def __missing__(self, device: str) -> FileInfo:
        if self._listed(device):
            return FileInfo(device, -1)
        raise KeyError(device)

    def __contains__(self, device: object) -> bool:
        return super().__contains__(device) or (isinstance(device, str) and self._listed(device))

    def get(self, device: str, default: FileInfo | None = None) -> FileInfo | None:  # type: ignore[override]
        found = super().get(device)
        if found is not None:
            return found
        return FileInfo(device, -1) if self._listed(device) else default


class BackupFS(DeviceFS):
    kind = "ios_backup"

    def __init__(self, source: Path, ledger: HashLedger, limits: Limits, workdir: Path) -> None:
        super().__init__(source, ledger, limits, workdir)
        # The backup's files (up to hundreds of thousands), kept compact: their device paths, sorted,
        # and their file ids, 20 bytes each in the same order (see _load); while listing, in the
        # order of the rows, with the place of each among all entries.
        self._file_paths: list[str] = []
        self._file_raw = bytearray()
        self._file_places = array("q")
        self._entries_seen = 0
        self.skipped: list[str] = []
        self._mbfiles = MBFileDecoder(limits)
        # What the listing gathers for the integrity check of the kind (BackupIntegrity).
        self._listed = ListedFiles()
        self._listing_sql = ""
        self._paths: list[str] | None = None
        self._info: dict[str, FileInfo] = {}

    def _entry(self, device_path: str) -> FileInfo | None:
        self._load()
        return self._info.get(device_path)

    def iter_files(self) -> Iterator[FileInfo]:
        for path in self._load():
            yield self._info[path]

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
        self._hash_meta("Manifest.db")
        wal = self.source / "Manifest.db-wal"
        if wal.is_file() and not wal.is_symlink():
            self._hash_meta("Manifest.db-wal")
        with self._manifest_db() as conn:
            yield from self._manifest_entries(conn)

    @contextmanager
    def _manifest_db(self) -> Iterator[sqlite3.Connection]:
        """Manifest.db, read-only (its WAL replayed on a private copy)."""
        journals = {}
        wal = self.source / "Manifest.db-wal"
        if wal.is_file() and not wal.is_symlink():
            journals["-wal"] = wal
        with open_readonly(self.source / "Manifest.db", journals, self.limits, self.workdir) as conn:
            yield conn

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
                self.skipped.append(f"{domain}/{relative}: path would leave the device root")
                continue
            if flags == _FLAG_DIR:
                yield FileInfo(device, 0, is_dir=True)
            elif flags == _FLAG_LINK:
                yield FileInfo(device, 0, is_link=True)
            else:
                if raw is None:
                    fid = str(file_id or "").lower()
                    if not _FILE_ID.match(fid):
                        self.skipped.append(f"{domain}/{relative}: invalid file id {file_id!r}")
                        continue
                    raw = bytes.fromhex(fid)
                if not self._on_file(device, fid, mbfile if isinstance(mbfile, bytes) else None, size):
                    continue
                # Listed without a FileInfo of its own (one is made when asked for; see _load).
                self._file_paths.append(device)
                self._file_raw += raw
                self._file_places.append(self._entries_seen)
                self._entries_seen += 1

    _wants_mbfile = False

    def _row_size(self, mbfile: bytes) -> int | None:
        """The expected size of a file from its MBFile (None when it has none)."""
        return self._mbfiles.size(mbfile, "MBFile")

    def _on_file(self, device: str, fid: str, mbfile: bytes | None, size: int | None) -> bool:
        """Hook for subclasses that need the MBFile of each file; False leaves the file out."""
        return True

    def listed_files(self) -> ListedFiles:
        """The files Manifest.db lists, as the listing gathered them for the integrity check."""
        self._load()
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

    def _load(self) -> list[str]:
        """The listing, as DeviceFS keeps it, but with a FileInfo only for the folders, links and
        backup files (Info.plist…): a plain file is its device path in a sorted list and its id in
        20 bytes, its FileInfo made when asked for. An entry listed again under the same path
        replaces the one before, as in DeviceFS."""
        if self._paths is not None:
            return self._paths
        explicit: dict[str, FileInfo] = {}
        places: dict[str, int] = {}
        for entry in self._iter_entries():
            explicit[entry.device_path] = entry
            places[entry.device_path] = self._entries_seen
            self._entries_seen += 1
        listed, raw, seen = self._file_paths, self._file_raw, self._file_places
        order = sorted(range(len(listed)), key=listed.__getitem__)
        paths: list[str] = []
        ids = bytearray()
        kept = array("q")
        for at, index in enumerate(order):
            path = listed[index]
            if at + 1 < len(order) and listed[order[at + 1]] == path:
                continue  # listed again below: the later row stands
            if path in explicit:
                if places[path] > seen[index]:
                    continue
                del explicit[path]
            paths.append(path)
            ids += raw[20 * index : 20 * index + 20]
            kept.append(index)
        del order
        self._file_paths, self._file_raw, self._file_places = paths, ids, array("q")
        self._files_sorted(kept)
        self._info = _Listing(explicit, paths)
        self._paths = sorted([*explicit, *paths]) if explicit else list(paths)
        return self._paths

    def _files_sorted(self, kept: array[int]) -> None:
        """Hook for subclasses keeping something per file in the order the files were listed: the
        files kept, in sorted order, by their place in that order."""

    def _file_index(self, device: str) -> int:
        """Where a listed file lies in the sorted files, or -1."""
        paths = self._file_paths
        index = bisect.bisect_left(paths, device)
        return index if index < len(paths) and paths[index] == device else -1

    def _raw_id(self, device: str) -> bytes | None:
        """The 20-byte file id of a listed file."""
        index = self._file_index(device)
        return None if index < 0 else bytes(self._file_raw[20 * index : 20 * index + 20])

    def _hash_meta(self, name: str) -> None:
        with open_regular_file(self.source / name, f"{BACKUP_PREFIX}/{name}") as stream:
            digest, size = sha256_stream(stream, self.limits.max_file_bytes)
        self.ledger.add(EvidenceFile(f"{BACKUP_PREFIX}/{name}", name, size, digest))

    def _complete(self, entry: FileInfo) -> FileInfo:
        done = self._completed(entry)
        self._info[entry.device_path] = done
        return done

    def _completed(self, entry: FileInfo) -> FileInfo:
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
        raw = self._raw_id(device)
        if raw is None:
            raise EvidenceError(device, "not a file of this backup")
        fid = raw.hex()
        return self.source / fid[:2] / fid

    def listed_but_absent(self, device_path: str) -> bool:
        self._load()
        raw = self._raw_id(device_path)
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

    def file_id(self, device: str) -> str | None:
        self._load()
        raw = self._raw_id(device)
        return None if raw is None else raw.hex()

    def _local_file(self, device_path: str) -> Path | None:
        return self._blob_path(device_path)

    def _open_raw(self, device_path: str) -> BinaryIO:
        return open_regular_file(self._blob_path(device_path), device_path)

    def _source_name(self, device_path: str) -> str:
        meta = self._meta_path(device_path)
        if meta is not None:
            return meta.name
        fid = (self._raw_id(device_path) or b"").hex()
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
    checks = (BackupIntegrity,)

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
