"""An iOS backup handed over packed in an archive (a zip, a tar, a compressed tar), read in place.

A backup's folder travels as an archive more often than as a folder: zipped by Finder's "Compress"
or by an analyst to send it, tarred off a laptop. Its members are the folder's files under the
folder's name (``<UDID>/Manifest.db``, ``<UDID>/ab/ab12…``). :class:`ArchivedFolder` lists the
archive once and keeps what the backup's source needs of it:

- the backup's own files (Manifest.db and its WAL, Info.plist, Manifest.plist, Status.plist) are
  copied into a private folder in the run's workdir, each bounded by the file-size limit: SQLite reads
  Manifest.db from there (as it reads any database an archive holds, on a private copy), and the
  backup's source is made on that folder as on a backup's own (:class:`BackupSource` and
  :class:`~preuve.evidence.sources.encrypted_backup.EncryptedBackupSource` unchanged);
- the hashed-name folders' files (``ab/ab12…``) are not copied: their ids, sizes and places in the
  archive are kept as columns (what :func:`~preuve.evidence.backup_folders.list_folders` gives for a
  folder, for the integrity check), and a file is read from the archive when an artifact reads it;
- what lies in the archive outside the backup's folder is told (counted), and not read.

The ledger names each file by its member in the archive. Nothing is extracted beside the evidence,
and the archive's own damage (a zip cut short, a member that cannot be read) is the backup's.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zlib
from array import array
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import BinaryIO

from preuve.evidence.backup_folders import HEX_ID, NOT_REGULAR, StoredFolders, _Stray
from preuve.evidence.errors import AcquisitionError, EvidenceError, LimitExceeded
from preuve.evidence.fs import FileInfo
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits
from preuve.evidence.policy import DIR, FILE, open_regular_file, shown
from preuve.evidence.sources.archive import ArchiveNames, is_archive_file
from preuve.evidence.sources.backup import BackupSource
from preuve.evidence.sources.base import Member, MemberColumns, Source
from preuve.messages import error_text

# The backup's own files, at the top of its folder.
META_FILES = ("Info.plist", "Manifest.plist", "Status.plist", "Manifest.db", "Manifest.db-wal")
_MANIFESTS = ("Manifest.db", "Manifest.plist")
# A backup's folder is at most this many folders deep in the archive: its own (a zip of the backup's
# folder), under Backup/ (of the folder of backups), MobileSync/Backup/ (of the folder iTunes and Finder
# keep them in), Apple Computer/MobileSync/Backup/ (as iTunes for Windows keeps them).
_MAX_TOP_FOLDERS = 4
# Only the first names of an archive are looked at to recognise a packed backup: nearly all of a
# backup's members are its hashed-name files, and one comes within its first few names (after its 256
# folders, in an archive that lists every folder first). No more: every archive is looked at so before
# the kinds after this one, and a file system's tar can begin with gigabytes of system files.
LOOK_AT_NAMES = 300
# A member that is a file stored under its id: `[top/[top/]]ab/ab<38 hex digits>`.
_STORED = re.compile(rf"(?:[^/]+/){{0,{_MAX_TOP_FOLDERS}}}([0-9a-f]{{2}})/\1[0-9a-f]{{38}}\Z")
_SHARD = re.compile(r"[0-9a-fA-F]{2}\Z")
_HEX_SHARD = re.compile(r"[0-9a-f]{2}\Z")
_COPY_CHUNK = 1 << 20


def _folder_of(name: str) -> str | None:
    """The backup folder a member's name shows ('' at the archive's top): the folder of a Manifest.db
    or Manifest.plist, or the folder above a file stored under its id; None when it shows none."""
    folder, _, leaf = name.rpartition("/")
    if leaf in _MANIFESTS:
        found = folder if folder.count("/") < _MAX_TOP_FOLDERS else None
    elif _STORED.match(name):
        found = name[:-43].rstrip("/")  # (less "ab/" and the 40 digits, and the slash before them)
    else:
        return None
    # (a phone's own tree, private/var/… or var/…, is a file system's dump, whatever its files are named)
    return None if found is None or {"private", "var"} & set(found.split("/")) else found


def _shows_backup(name: str) -> bool:
    return _folder_of(name) is not None


def backup_in_archive(path: Path, names: ArchiveNames) -> str | None:
    """The folder of the iOS backup the archive at `path` holds ('' at its top), from the first member
    among its first LOOK_AT_NAMES that shows one (a Manifest.db, a Manifest.plist or a file stored under
    its id, in a folder at most _MAX_TOP_FOLDERS deep); None when it shows none (or is no archive, or
    cannot be read)."""
    if not is_archive_file(path):
        return None
    try:
        first = names.peek(LOOK_AT_NAMES, until=_shows_backup)
    except (AcquisitionError, EvidenceError, OSError):
        return None
    return _folder_of(first[-1]) if first else None


class ArchivedFolder:
    """An iOS backup's folder in an archive, listed once (see the module's docstring): the backup's own
    files copied into `private`, and per hashed-name folder the ids, sizes and members of the files
    stored under their ids, with the other entries of those folders (strays), as StoredFolders."""

    def __init__(self, archive: Source, folder: str, limits: Limits, workdir: Path) -> None:
        self.archive = archive
        self.folder = folder
        self.limits = limits
        self.private = Path(tempfile.mkdtemp(prefix="backup-", dir=workdir))
        self.meta: dict[str, tuple[int, str, int, float | None, int | None]] = {}  # name: ref, member, size, time, mode
        self.stored = StoredFolders()
        self._where: list[dict[bytes, int] | None] = [None] * 256  # id: its place, made when first asked
        self.outside = 0  # members outside the backup's folder (not read)
        self.backups: list[str] = []  # the folders of other backups the archive holds
        self.unreadable: list[str] = []  # the backup's own files whose members could not be read
        self.broken: dict[str, str] = {}  # of which those still listed: why each cannot be read
        try:
            self._list()
            self._copy_meta()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        try:
            self.archive.close()
        finally:
            shutil.rmtree(self.private, ignore_errors=True)

    # -- the listing ----------------------------------------------------------------------------
    def _members(self) -> Iterator[tuple[int, Member]]:
        ref = 0
        for item in self.archive.member_batches():
            if isinstance(item, MemberColumns):
                for member in item.members():
                    yield ref, member
                    ref += 1
            else:
                yield ref, item
                ref += 1

    def _list(self) -> None:
        lead = self.folder + "/" if self.folder else ""
        cut = len(lead)
        strays: dict[str, _Stray] = {}
        others: dict[str, None] = {}
        ids = [bytearray() for _ in range(256)]
        for ref, member in self._members():
            name, kind = member.name, member.type
            if not name.startswith(lead):
                if name + "/" != lead:
                    other = _folder_of(name)
                    if other is not None and other != self.folder and kind == FILE and name.endswith(_MANIFESTS):
                        others.setdefault(other, None)
                    self.outside += 1
                continue
            rest = name[cut:]
            if rest in META_FILES:
                if kind == FILE:
                    self.meta[rest] = (ref, name, self._size(ref, member), member.mtime, member.mode)
                continue
            shard, slash, child = rest.partition("/")
            if not slash or not _SHARD.match(shard):
                if kind != DIR or "/" in rest:
                    self.outside += 1  # (the backup's folder holds nothing else a run reads)
                continue
            if not child:
                continue  # (the hashed-name folder itself)
            own = int(shard, 16) if _HEX_SHARD.match(shard) else None
            entry, deeper, _ = child.partition("/")
            if deeper:  # a member below an entry of the folder: the entry is a folder, not a file
                strays[entry.lower()] = _Stray(ref, f"{shard}/{entry}", NOT_REGULAR)
                continue
            size = self._size(ref, member) if kind == FILE else NOT_REGULAR
            if own is not None and size != NOT_REGULAR and child.startswith(shard) and HEX_ID.match(child):
                ids[own] += bytes.fromhex(child)
                self.stored.sizes[own].append(size)
                self.stored.orders[own].append(ref)  # (its place in the listing is its member's ref)
            elif kind != DIR or child.lower() not in strays:
                strays[child.lower()] = _Stray(ref, f"{shard}/{child}", size)
        for own in range(256):
            self.stored.ids[own] = _last_of_each(ids[own], self.stored.sizes[own], self.stored.orders[own])
        self.stored.strays = strays
        self.backups = list(others)

    def _size(self, ref: int, member: Member) -> int:
        """A file member's size (a tar's hard link has its size from the member it names)."""
        if member.size >= 0:
            return member.size
        done = self.archive.complete(ref, member.name, FileInfo(member.name, -1, member.mtime, member.mode))
        return NOT_REGULAR if done.is_link or done.size < 0 else done.size

    def _copy_meta(self) -> None:
        """The backup's own files copied into the private folder (from one pass over an archive read only
        forward), each at most the file-size limit."""
        if self.archive.reads_forward():
            self.archive.prefetch([member for _, member, *_ in self.meta.values()], self.private)
        limit = self.limits.max_file_bytes
        for name, (ref, member, size, _, _) in sorted(self.meta.items()):
            if size > limit:  # (as a backup's folder refuses a Manifest.db past the bound when hashing it)
                raise LimitExceeded(member, f"file of {size} bytes exceeds {limit}")
            label = self.archive.member_source_name(ref, member)
            try:
                with self.archive.open_member(ref, member, label) as stream, open(self.private / name, "xb") as out:
                    copied = 0
                    while chunk := stream.read(_COPY_CHUNK):
                        copied += len(chunk)
                        if copied > limit:
                            raise LimitExceeded(label, f"more than {limit} bytes")
                        out.write(chunk)
            except LimitExceeded:
                raise
            except (EvidenceError, OSError, EOFError, ValueError, zlib.error) as exc:
                # A damaged member (a bad CRC, a stream cut short): the file stays listed and reading it
                # fails with the reason (Manifest.db is then read as a folder's that lacks it: its files
                # looked for by name), and the run says it could not be read.
                (self.private / name).unlink(missing_ok=True)
                reason = exc.reason if isinstance(exc, EvidenceError) else error_text(exc)
                self.broken[name] = reason
                if name.startswith("Manifest.db"):
                    del self.meta[name]
                self.unreadable.append(f"{label}: {reason}")

    # -- a stored file --------------------------------------------------------------------------
    def find(self, raw: bytes) -> tuple[int, int] | None:
        """The member and size of the file stored under a 20-byte id, or None when there is none."""
        own = raw[0]
        where = self._where[own]
        if where is None:
            found = self.stored.ids[own]
            where = self._where[own] = {bytes(found[at : at + 20]): at // 20 for at in range(0, len(found), 20)}
        place = where.get(raw)
        return None if place is None else (self.stored.orders[own][place], self.stored.sizes[own][place])

    def member_name(self, raw: bytes) -> str:
        fid = raw.hex()
        return f"{self.folder}/{fid[:2]}/{fid}" if self.folder else f"{fid[:2]}/{fid}"


def _last_of_each(ids: bytearray, sizes: array[int], orders: array[int]) -> bytearray:
    """A folder's ids, each kept once, at the last member of its name (as extracting the archive leaves
    it); its sizes and orders (the members' refs) kept beside, in place."""
    count = len(sizes)
    last = {bytes(ids[20 * i : 20 * i + 20]): i for i in range(count)}
    if len(last) == count:
        return ids
    keep = sorted(last.values())
    kept = bytearray()
    for i in keep:
        kept += ids[20 * i : 20 * i + 20]
    for column in (sizes, orders):
        values = [column[i] for i in keep]
        del column[:]
        column.extend(values)
    return kept


class InArchive(BackupSource):
    """A backup's source reading its files from an ArchivedFolder: the backup's own files from their
    private copies (its `path`), the stored files from the archive's members. Subclassed with the plain
    or the encrypted backup's source (see ArchivedBackupSource)."""

    _archived: ArchivedFolder

    def _meta_file(self, name: str) -> tuple[Path, int, float | None, int | None] | None:
        found = self._archived.meta.get(name)
        if found is None:
            return None
        _, _, size, mtime, mode = found
        return self._archived.private / name, size, mtime, mode

    def _meta_source(self, name: str) -> str:
        ref, member, *_ = self._archived.meta[name]
        return self._archived.archive.member_source_name(ref, member)

    def _stored_member(self, ref: int, label: str) -> tuple[int, str, int]:
        raw = bytes(self._ids[20 * ref : 20 * ref + 20]) if self._is_file(ref) else None
        found = self._archived.find(raw) if raw is not None else None
        if raw is None or found is None:
            raise EvidenceError(label, "not a file of this backup")
        return found[0], self._archived.member_name(raw), found[1]

    def _stored_regular(self, fid: str) -> bool | None:
        found = self._archived.find(bytes.fromhex(fid))
        return None if found is None else found[1] != NOT_REGULAR

    def _stored_stream(self, ref: int, label: str) -> BinaryIO:
        meta = self._meta.get(ref)
        if meta is not None:
            broken = self._archived.broken.get(meta.name)
            if broken is not None:
                raise EvidenceError(label, f"cannot be read from the archive ({broken})")
            return open_regular_file(meta, label)
        member, name, size = self._stored_member(ref, label)
        if size == NOT_REGULAR:
            raise EvidenceError(label, "not a regular file")
        return self._archived.archive.open_member(member, name, label)

    def complete(self, ref: int, name: str, info: FileInfo) -> FileInfo:
        device = info.device_path
        meta = self._meta.get(ref)
        if meta is not None:
            return info
        try:
            _, _, size = self._stored_member(ref, device)
        except EvidenceError:
            return FileInfo(device, 0, None, None, is_link=True)  # listed, absent: unreadable
        if size == NOT_REGULAR:
            return FileInfo(device, 0, None, None, is_link=True)
        return FileInfo(device, size, None, None)

    def absent(self, ref: int, name: str) -> bool:
        if not self._is_file(ref):
            return False
        return self._archived.find(bytes(self._ids[20 * ref : 20 * ref + 20])) is None

    def local_member(self, ref: int, name: str) -> Path | None:
        meta = self._meta.get(ref)
        if meta is not None:
            return None if meta.name in self._archived.broken else meta
        try:
            member, member_name, _ = self._stored_member(ref, "/" + name)
        except EvidenceError:
            return None
        return self._archived.archive.local_member(member, member_name)

    def member_source_name(self, ref: int, name: str) -> str:
        meta = self._meta.get(ref)
        if meta is not None:
            return self._meta_source(meta.name)
        raw = bytes(self._ids[20 * ref : 20 * ref + 20])
        found = self._archived.find(raw) if self._is_file(ref) else None
        member = self._archived.member_name(raw)
        return member if found is None else self._archived.archive.member_source_name(found[0], member)

    def _list_folders_beside(self) -> None:
        pass  # (the archive's listing gave the stored files: see stored_folders)

    def stored_folders(self) -> StoredFolders:
        return self._archived.stored

    def reads_forward(self) -> bool:
        return self._archived.archive.reads_forward()

    def prefetch_members(self, members: Collection[tuple[int, str]], folder: Path) -> None:
        names = []
        for ref, name in members:
            try:
                names.append(self._stored_member(ref, "/" + name)[1])
            except EvidenceError:
                continue
        self._archived.archive.prefetch(names, folder)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._archived.close()

    def after_fork(self) -> None:
        self._archived.archive.after_fork()

    def _take_archive(self, archived: ArchivedFolder) -> None:
        """Keep the archived folder, and say what of the archive is not the backup, and the archive's damage."""
        self._archived = archived
        archive = archived.archive
        self.refused.extend(archive.refused)
        self.damage.extend(archive.damage)
        self.damaged.extend(archive.damaged)
        self.damaged.extend(archived.unreadable)
        self.notes.extend(archive.notes)
        if archived.outside:
            where = f"the backup's folder {shown(archived.folder)}" if archived.folder else "the backup's files"
            self.notes.append(f"{archived.outside:,} members of the archive lie outside {where}: not read")


class ArchivedBackupSource(InArchive):
    """A plain backup packed in an archive."""

    def __init__(
        self, archived: ArchivedFolder, limits: Limits, ledger: HashLedger, workdir: Path, jobs: int = 1,
        integrity: bool = True, wants: Callable[[], tuple[str, ...]] | None = None,
    ) -> None:
        super().__init__(archived.private, limits, ledger, workdir, jobs, None, integrity, wants)
        self._take_archive(archived)
