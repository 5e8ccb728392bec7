"""An iOS backup folder (iTunes, Finder, libimobiledevice) as a source.

A backup folder holds ``Manifest.db`` (one row per file: fileID, domain,
relativePath, flags, and an archived MBFile), the files themselves at
``<fileID[:2]>/<fileID>``, and ``Info.plist``, ``Manifest.plist`` and
``Status.plist``. Manifest.db is often left in WAL mode by the tool that made
the backup; its WAL is replayed on a private copy so its rows are not lost.

The source's members are named by their device paths (mount it at the device's
root) and listed from Manifest.db, read once: the rows placed under
:data:`BACKUP_PREFIX` for the backup's own files, a member per row with a safe
path, the later of two rows for one path standing, and no folder added (the rows
list the folders: :attr:`Source.index_is_listing`).
What the source keeps per member is compact and in the order of its listing, so
a member is found again by its `ref`: the 20-byte file id (and, encrypted, the
wrapped key and plaintext size). A file's size is that of the file stored,
looked up when asked for. What the backup's integrity check needs of each row is
gathered on the way (:class:`~preuve.evidence.ios_integrity.ListedFiles`), and
every row's MBFile is decoded there once, for the Manifest artifact too
(:class:`~preuve.evidence.mbfile.DecodedMBFiles`, :func:`listed_mbfiles`).

A damaged Manifest.db is read around its damage (:func:`~preuve.evidence.sqlite.readable_rows`): the
rows lost are told as the source's damage, and the files the run reads are found in the folder by
their names where their rows were lost (:meth:`BackupSource._found_by_name`).

An encrypted backup is the same source decrypting on the fly
(:mod:`preuve.evidence.sources.encrypted_backup`).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import stat as statmod
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, ClassVar, cast

from preuve.evidence.backup_folders import (
    LIST_BESIDE_MIN_BYTES,
    FoldersLater,
    StoredFolders,
    list_folders,
    list_folders_later,
)
from preuve.evidence.errors import EvidenceError, LimitExceeded
from preuve.evidence.formats.plists import load_plist
from preuve.evidence.fs import ACQUISITION_PREFIX, MEMBER_TYPES, DeviceFS, FileInfo, MountFS
from preuve.evidence.ios_domains import backup_names, container_roots, device_path
from preuve.evidence.ios_integrity import ListedFiles
from preuve.evidence.ledger import EvidenceFile, HashLedger, sha256_stream
from preuve.evidence.limits import Limits
from preuve.evidence.mbfile import DecodedMBFiles, MBFileDecoder, MBFileFields
from preuve.evidence.parallel import can_fork, in_parts
from preuve.evidence.policy import DIR, FILE, LINK, open_regular_file, shown, too_long_note
from preuve.evidence.salvage import index_values
from preuve.evidence.sources.base import Member, MemberColumns, Source, members_of
from preuve.evidence.sqlite import (
    LostRows,
    damage_summary,
    iter_rows,
    open_readonly,
    readable_rows,
    refused,
    row_cuts,
    table_columns,
    true_rowid,
)

BACKUP_PREFIX = ACQUISITION_PREFIX + "/backup"
_META_NAME = BACKUP_PREFIX[1:] + "/"  # the member names of the backup's own files
_FILE_ID = re.compile(r"[0-9a-f]{40}\Z")
_FLAG_FILE, _FLAG_DIR, _FLAG_LINK = 1, 2, 4
_FINISHED = "finished"  # Status.plist's SnapshotState once a backup has ended (see BackupSource._read_status)
_STATE_CHARS = 64  # of a SnapshotState told (a hostile one can be megabytes long)
_NONE_LISTED = "Manifest.db lists no file: the backup was stopped at its start or its Manifest.db was emptied"
NO_ID = bytes(20)
NOTA_FILE, A_FILE, A_META = 0, 1, 2  # what a ref is (see BackupSource._kinds)
# A listed row's member type (see ListedRows), as its code among MEMBER_TYPES.
ROW_FILE, ROW_DIR, ROW_LINK = MEMBER_TYPES.index(FILE), MEMBER_TYPES.index(DIR), MEMBER_TYPES.index(LINK)
_KIND_OF_TYPE = bytes(A_FILE if kind == FILE else NOTA_FILE for kind in MEMBER_TYPES).ljust(256, b"\0")
# A row's member size (a file's is looked up when asked for: -1), as a signed byte.
_SIZE_OF_TYPE = bytes(0xFF if kind == FILE else 0 for kind in MEMBER_TYPES).ljust(256, b"\0")
# Manifest.db is read in ranges on the run's jobs only from this many rows: below, a forked process
# costs more than it saves.
PARALLEL_MIN_ROWS = 20_000
_BATCH_ROWS = 16_384  # rows listed a batch at a time (what a forked process hands over at a time)
# Apps whose containers a damaged Manifest.db's files are looked for in (a phone has hundreds; a hostile
# Info.plist could list millions, each costing a look-up per path a run reads).
_MAX_APPS = 4096


@dataclass(slots=True)
class ListedRows:
    """What one range of Manifest.db's rows lists, in the order of the rows (a picklable result of
    :meth:`BackupSource._read_rows`): the member of each row that stands for one (its name, its type
    as `ROW_DIR`, `ROW_FILE` or `ROW_LINK`, its 20-byte id, NO_ID for a folder or link), what the
    integrity check needs of the file rows (places counted from the range's first row), every row's
    MBFile as decoded, the notes, the stretches of rows a damaged Manifest.db could not give."""

    rows: int = 0  # rows read
    names: list[str] = field(default_factory=list)
    types: bytearray = field(default_factory=bytearray)
    ids: bytearray = field(default_factory=bytearray)
    listed: ListedFiles = field(default_factory=ListedFiles)
    decoded: DecodedMBFiles = field(default_factory=DecodedMBFiles)
    notes: list[str] = field(default_factory=list)
    links: dict[int, str] = field(default_factory=dict)  # a link's target, by its place among `names`
    lost: list[LostRows] = field(default_factory=list)  # rows of a damaged Manifest.db read around
    first_row: int | None = None  # the rowids of the first and last rows read (with `lost`: see _join_lost)
    last_row: int | None = None


class BackupSource(Source):
    """A plain backup's files, listed from its Manifest.db (see the module's docstring)."""

    index_is_listing = True
    meta_files: ClassVar[tuple[str, ...]] = ("Info.plist", "Manifest.plist", "Status.plist", "Manifest.db",
                                              "Manifest.db-wal")
    _wants_mbfile = False  # whether every file row's MBFile is decoded (not only those of flags 1)

    def __init__(
        self, root: Path, limits: Limits, ledger: HashLedger, workdir: Path, jobs: int = 1,
        folders: FoldersLater | None = None, integrity: bool = True,
        wants: Callable[[], tuple[str, ...]] | None = None,
    ) -> None:
        """`folders`: the hashed-name folders' listing, started before the source was made (see
        folders_beside); the source closes it. `integrity` False: the backup's integrity check will not
        run, and nothing is done for it alone (no listing of the folders beside the open, nothing
        gathered of each row: listed_files refuses). `wants`: the device paths (globs) the run reads,
        looked for by name when Manifest.db is damaged (see _found_by_name)."""
        super().__init__(root, limits)
        self.ledger = ledger
        self.workdir = workdir
        self.jobs = jobs  # processes that may read Manifest.db's rows (see _manifest_members)
        # Per member, in the order of the listing (by ref): what it is, and a file's 20-byte id.
        self._kinds = bytearray()
        self._ids = bytearray()
        self._links: dict[int, str] = {}  # ref: a link's target, as its row's MBFile names it
        self._meta: dict[int, Path] = {}  # ref: where a file of the backup itself lies
        self._mbfiles = MBFileDecoder(limits)
        # What the listing gathers for the integrity check of the kind (BackupIntegrity), and every
        # row's MBFile as it decoded it (for the Manifest artifact: see listed_mbfiles).
        self._listed = ListedFiles()
        self._decoded = DecodedMBFiles()
        self._listing_sql = ""
        self._lost: list[LostRows] = []  # the stretches of rows a damaged Manifest.db could not give
        self._rebuilt: list[tuple[object, ...]] = []  # of which those rebuilt from its indexes (_rebuilt_rows)
        self._open_lost: LostRows | None = None  # one whose end is not known yet (see _join_lost)
        self._last_row: int | None = None  # the rowid of the last row read
        self._folders = folders  # what the hashed-name folders hold (see stored_folders)
        self._integrity = integrity
        self._wants = wants
        self._unfinished: str | None = None  # Status.plist's SnapshotState, when the backup was not finished
        self._rows_listed = -1  # the rows Manifest.db's Files table gave (-1: not read through)

    # -- listing ------------------------------------------------------------------------------
    def members(self) -> Iterator[Member]:
        return members_of(self.member_batches())

    def member_batches(self) -> Iterator[Member | MemberColumns]:
        yield from self._meta_members(self.meta_files)
        self._read_status()
        manifest = self.path / "Manifest.db"
        if not manifest.is_file():
            # An incomplete backup: no file of it is listed. Those the run reads are looked for by name.
            self._lost.append(LostRows(None, None, "Manifest.db is missing"))
            self.damage.append("Manifest.db is missing: the backup is incomplete, and none of its files is listed")
            yield from self._found_by_name()
            return
        self._list_folders_beside()
        self._hash_meta("Manifest.db")
        wal = self.path / "Manifest.db-wal"
        if wal.is_file() and not wal.is_symlink():
            self._hash_meta("Manifest.db-wal")
        try:
            with self._manifest_db() as conn:
                yield from self._manifest_members(conn)
        except sqlite3.DatabaseError as exc:
            if refused(exc) or self._lost or len(self._kinds) > len(self._meta):
                raise  # (a hostile Manifest.db a bound refused, a view or an endless query, is refused)
            # Not a database at all, a schema SQLite cannot read, no table of files: no row can be read
            # (the damage is told as for rows lost, and the files the run reads are looked for by name).
            self._lost.append(LostRows(None, None, str(exc)))
            self.damage.append(f"Manifest.db is damaged: {damage_summary(self._lost, 'Files', 0)}")
        self._none_listed()
        yield from self._found_by_name()

    def _none_listed(self) -> None:
        """A Manifest.db read through whose Files table has no row: no backup of a phone lists no file
        (every one holds the Messages and network-usage databases, and thousands more). Such a backup
        was stopped at its start, or its Manifest.db was emptied: the acquisition is damaged, the files
        the run reads are looked for by their names in the folder (see _found_by_name), and the
        integrity check tells every file the folder holds as not listed. Without this, the run found
        no file to check and said "nothing found"."""
        if self._rows_listed == 0 and not self._lost:
            self.damage.append(_NONE_LISTED)

    # -- a backup that was not finished ---------------------------------------------------------
    def _read_status(self) -> None:
        """Whether the backup was finished, as its Status.plist says: the tool that makes a backup
        (Finder, iTunes, libimobiledevice's idevicebackup2) writes it first, with a ``SnapshotState``
        that becomes ``finished`` only when the backup ends (idevicebackup2 calls a backup successful
        only then). A backup stopped before (the cable pulled, the computer asleep) keeps another state
        ("uploading", "moving"…), and its folder may lack files, rows of Manifest.db or both: the
        acquisition is then damaged (a run on it is not a full check), and any file it lacks may have
        been lost (see may_have_lost). A Status.plist that is absent (copies of backups often leave it
        out, as MVT's test backup does), not a plist or without a state claims nothing either way.
        Hashed into the ledger as read."""
        name = "Status.plist"
        label = f"{BACKUP_PREFIX}/{name}"
        try:
            with open_regular_file(self.path / name, label) as stream:
                data = stream.read(self.limits.max_plist_bytes + 1)
                whole = not stream.read(1)
        except (OSError, EvidenceError):
            return
        if not whole:
            return  # (no tool writes a Status.plist of megabytes)
        self.ledger.add(EvidenceFile(label, self._meta_source(name), len(data), hashlib.sha256(data).hexdigest()))
        try:
            status = load_plist(data, label, self.limits)
        except EvidenceError:
            return
        state = status.get("SnapshotState") if isinstance(status, dict) else None
        if not isinstance(state, str) or state == _FINISHED:
            return
        self._unfinished = state
        told = state if len(state) <= _STATE_CHARS else state[:_STATE_CHARS] + "…"  # (Apple's states are one word)
        self.damage.append(
            f"the backup was not finished: its Status.plist gives the state {told!r} ('{_FINISHED}' once "
            "a backup ends), so files and rows of Manifest.db may be missing"
        )

    # -- a damaged Manifest.db -----------------------------------------------------------------
    _findable_by_name = True  # whether a file's bytes can be read knowing its name alone (not encrypted)

    def _found_by_name(self) -> Iterator[MemberColumns]:
        """After a damaged Manifest.db lost rows: the files the run reads, found in the folder where a
        backup stores them whatever Manifest.db says, at ``<id[:2]>/<id>``, the id the SHA-1 of
        ``domain-relativePath``. Each device path the run's artifacts name (an app container's ``*``
        taken as each app the backup lists in Manifest.plist and Info.plist) is tried under every
        domain that stands for it; a file already listed under its id is not listed again. Told in the
        notes: what was found this way is read without its row (no MBFile, no flags)."""
        if not (self._lost or self._rows_listed == 0) or self._wants is None or not self._findable_by_name:
            return
        added: set[bytes] = set()
        apps = self._app_ids()
        names: list[str] = []
        ids = bytearray()
        seen: set[str] = set()
        for pattern in self._wants():
            for path in _named_paths(pattern, apps):
                if path in seen or len(path) > self.limits.max_path_chars:
                    continue
                seen.add(path)
                for domain, relative in backup_names(path):
                    raw = hashlib.sha1(f"{domain}-{relative}".encode(), usedforsecurity=False).digest()
                    fid = raw.hex()
                    found = self._stored_regular(fid)
                    if found is None:
                        continue
                    if found and (raw in added or self._listed_id(raw)):
                        break  # (its row was read, or it was found under another path: it is listed)
                    if found:
                        names.append(path[1:])
                        ids += raw
                        added.add(raw)
                        self.notes.append(
                            f"{shown(path)}: found in the backup's folder by its name ({shown(f'{domain}-{relative}')}, "
                            f"{fid[:2]}/{fid}); its row of the damaged Manifest.db was not read"
                        )
                        break
        if names:
            self._kinds += bytes([A_FILE]) * len(names)
            self._ids += ids
            types = bytearray([ROW_FILE]) * len(names)
            yield MemberColumns(names, types, array("q", [-1]) * len(names))

    def _listed_id(self, raw: bytes) -> bool:
        """Whether a file id is among the listing's (asked of a few files found by name: a search of the
        ids as they are kept, not a set of half a million made for it)."""
        at = self._ids.find(raw)
        while at >= 0:
            if at % 20 == 0:
                return True
            at = self._ids.find(raw, at + 1)
        return False

    def _app_ids(self) -> list[str]:
        """The bundle ids of the apps the backup lists (Manifest.plist's Applications, Info.plist's
        Installed Applications), as an app container's name in a backup."""
        found: dict[str, None] = {}
        for name, key in (("Manifest.plist", "Applications"), ("Info.plist", "Installed Applications")):
            try:
                with open_regular_file(self.path / name, f"{BACKUP_PREFIX}/{name}") as stream:
                    value = load_plist(stream.read(self.limits.max_plist_bytes + 1), name, self.limits)
            except (EvidenceError, OSError):
                continue
            apps = value.get(key) if isinstance(value, dict) else None
            if isinstance(apps, dict | list):
                found.update((app, None) for app in apps if isinstance(app, str) and app)
        return list(found)[:_MAX_APPS]

    def unread_manifest(self) -> str | None:
        """Why no row of Manifest.db could be read, when none could (it is damaged all through, and no row
        was rebuilt from its indexes); None when it was read, whole or in part."""
        return self._lost[0].reason if self._lost and not len(self._decoded) and not self._rebuilt else None

    def rebuilt_rows(self) -> list[tuple[object, ...]]:
        """The rows lost to damage that the indexes gave back, as the listing read them: (rowid, fileID,
        domain, relativePath, flags, None), in rowid order (see _rebuilt_rows)."""
        return self._rebuilt

    def _rebuilt_rows(self, conn: sqlite3.Connection) -> list[tuple[object, ...]]:
        """The rows lost to damage that Manifest.db's indexes still name, as the listing reads rows (no
        MBFile), in rowid order. Each index (on fileID, domain, relativePath and flags, as iTunes and
        Finder write them) is read apart, around its own damage (salvage.index_values); a row is
        rebuilt only when its domain, path and flags are known and its file id, when an index gives
        it, is the SHA-1 of its domain and path: what a damaged index page could garble is not
        trusted. An encrypted backup's rows are not rebuilt (each file's key is in its MBFile)."""
        if not self._by_rowid or not self._findable_by_name or not self._lost:
            return []
        within = [(stretch.after, stretch.before) for stretch in self._lost]
        limit = self.limits.max_archive_entries
        domains = index_values(conn, "Files", "domain", within, limit)
        paths = index_values(conn, "Files", "relativePath", within, limit)
        flags = index_values(conn, "Files", "flags", within, limit)
        if not domains or not paths or not flags:
            return []
        ids = index_values(conn, "Files", "fileID", within, limit) or {}
        rows: list[tuple[object, ...]] = []
        for rowid in sorted(domains.keys() & paths.keys() & flags.keys()):
            domain, relative, flag = domains[rowid], paths[rowid], flags[rowid]
            if type(domain) is not str or type(relative) is not str or type(flag) is not int:
                continue
            named = hashlib.sha1(f"{domain}-{relative}".encode(), usedforsecurity=False).hexdigest()
            given = ids.get(rowid)
            if given is not None and (type(given) is not str or given.lower() != named):
                continue
            rows.append((rowid, named, domain, relative, flag, None))
        return rows

    def may_have_lost(self, pattern: str) -> bool:
        """A file at a path without a glob was looked for by name (see _found_by_name): when Manifest.db
        is damaged, only a glob's files may be among those lost, or any when files cannot be found by
        name (an encrypted backup's keys are in the lost rows)."""
        if not self.damage:
            return False
        if self._unfinished is not None:
            return True  # (a file the backup had not reached yet is in no row, under no name)
        return not self._findable_by_name or self._wants is None or any(c in pattern for c in "*?[")

    def _listed_one(self, kind: int, raw: bytes = NO_ID) -> None:
        """Keep what is known of the member about to be yielded (its ref is the count so far)."""
        self._kinds.append(kind)
        self._ids += raw

    def _meta_member(self, name: str, local: Path, st_size: int, mtime: float | None, mode: int | None) -> Member:
        self._meta[len(self._kinds)] = local
        self._listed_one(A_META)
        return Member(_META_NAME + name, FILE, st_size, mtime, mode)

    def _meta_members(self, names: Iterable[str]) -> Iterator[Member]:
        for name in names:
            found = self._meta_file(name)
            if found is not None:
                yield self._meta_member(name, *found)

    # -- where the backup's bytes lie (a folder here; an archive's members: see archived_backup) ----
    def _meta_file(self, name: str) -> tuple[Path, int, float | None, int | None] | None:
        """A file of the backup itself (Manifest.db, Info.plist…) as a regular file on disk: where, its
        size, time and mode; None when there is none."""
        meta = self.path / name
        try:
            st = meta.lstat()
        except OSError:
            return None
        return (meta, st.st_size, st.st_mtime, st.st_mode) if statmod.S_ISREG(st.st_mode) else None

    def _meta_source(self, name: str) -> str:
        """A file of the backup itself, as the ledger names where it lies."""
        return name

    def _stored_regular(self, fid: str) -> bool | None:
        """Whether the file stored under an id is a regular file (None: no file is stored under it)."""
        try:
            return statmod.S_ISREG((self.path / fid[:2] / fid).lstat().st_mode)
        except OSError:
            return None

    def _stored_stream(self, ref: int, label: str) -> BinaryIO:
        """A member's bytes as the backup stores them (a file's ciphertext, when it is encrypted)."""
        return open_regular_file(self._blob(ref, label), label)

    @contextmanager
    def _manifest_db(self) -> Iterator[sqlite3.Connection]:
        """Manifest.db, read-only (its WAL replayed on a private copy)."""
        journals = {}
        wal = self.path / "Manifest.db-wal"
        if wal.is_file() and not wal.is_symlink():
            journals["-wal"] = wal
        with open_readonly(self.path / "Manifest.db", journals, self.limits, self.workdir) as conn:
            yield conn

    def _manifest_members(self, conn: sqlite3.Connection) -> Iterator[MemberColumns]:
        """The files of the backup, from an open Manifest.db; what the integrity check needs of each
        file row is kept on the way (see ListedFiles), so Manifest.db is read once. A big Manifest.db
        is read in row ranges, the later ones in a forked process while this one reads the first and
        places its members (:func:`~preuve.evidence.parallel.in_parts`); the ranges together are the
        rows of one read, in its order."""
        columns = table_columns(conn, "Files")
        blob = "file" if "file" in columns else "NULL"
        try:
            conn.execute("SELECT rowid FROM Files LIMIT 0")
            rowid = "rowid"
        except sqlite3.Error:  # a table WITHOUT ROWID
            rowid = "NULL"
        self._listing_columns = f"fileID, domain, relativePath, flags, {blob}"
        self._listing_sql = f"SELECT {rowid}, {self._listing_columns} FROM Files"  # noqa: S608 - fixed names
        self._by_rowid = rowid == "rowid" and true_rowid(conn, "Files")
        ranges = self._row_ranges(conn, columns) if rowid == "rowid" else [None]
        if len(ranges) == 1:
            parts: Iterable[ListedRows] = self._read_rows(conn, None)
        else:
            def read(index: int) -> Iterator[ListedRows]:
                with self._manifest_db() as own:  # (a forked process never uses this one's connection)
                    yield from self._read_rows(own, ranges[index])

            parts = in_parts(read, len(ranges), self.jobs, self.workdir)
        places = 0
        for part in parts:
            self._merge(part, places)
            places += part.rows
            sizes = array("q", array("b", part.types.translate(_SIZE_OF_TYPE)))
            yield MemberColumns(part.names, part.types, sizes)
        self._rows_listed = places
        if self._open_lost is not None:
            self._lost.append(self._open_lost)
            self._open_lost = None
        if self._lost:
            told = f"Manifest.db is damaged: {damage_summary(self._lost, 'Files', places)}"
            rebuilt = self._rebuilt_rows(conn)
            if rebuilt:
                for part in self._listed_rows(iter(rebuilt), [], decode=False):
                    self._merge(part, places)
                    places += part.rows
                    sizes = array("q", array("b", part.types.translate(_SIZE_OF_TYPE)))
                    yield MemberColumns(part.names, part.types, sizes)
                self._rebuilt = rebuilt
                told += (f"; its indexes gave back {len(rebuilt):,} of the rows lost (their file, domain, path and "
                         "flags, each file's id checked against its name; not their metadata)")
            self.damage.append(told)

    def _row_ranges(self, conn: sqlite3.Connection, columns: set[str]) -> list[tuple[int | None, int | None] | None]:
        """Rowid ranges to read Manifest.db's Files in, two per job, or [None] (one read of it all) when
        it is small, when it is read on a private copy (a journal replayed), or when a range would not
        give its rows in the order of one read: that is a scan of the table in rowid order, and some
        hostile schemas (a column declared ``rowid``, an index covering every column) read otherwise."""
        whole: list[tuple[int | None, int | None] | None] = [None]
        if not can_fork(self.jobs) or {c.lower() for c in columns} & {"rowid", "oid", "_rowid_"}:
            return whole
        if self._copied_to_read():
            return whole
        try:
            plan = [row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + self._listing_sql)]
            if plan not in (["SCAN Files"], ["SCAN TABLE Files"]):
                return whole
            cuts = row_cuts(conn, "Files", 2 * self.jobs, PARALLEL_MIN_ROWS)
            count = conn.execute("SELECT count(*) FROM Files").fetchone()[0]
        except sqlite3.Error:  # (a damaged Manifest.db is read whole, around its damage: see _read_rows)
            return whole
        if not cuts or not isinstance(count, int) or count >= self.limits.max_archive_entries:
            return whole  # (one read raises when it comes to the bound, as it always has)
        edges: list[int | None] = [None, *cuts, None]
        return list(zip(edges[:-1], edges[1:], strict=True))

    def _copied_to_read(self) -> bool:
        """Whether Manifest.db is read on a private copy made when it is opened (a live WAL replayed):
        each range would copy it again."""
        wal = self.path / "Manifest.db-wal"
        return wal.is_file() and not wal.is_symlink() and wal.stat().st_size > 0

    def _read_rows(self, conn: sqlite3.Connection, rows: tuple[int | None, int | None] | None) -> Iterator[ListedRows]:
        """What the rows of a rowid range (None: every row) list, in the order of the rows, a batch of
        rows at a time. The rows of a damaged Manifest.db are read around its damaged pages, what could
        not be read kept in each part's `lost` (sqlite.readable_rows; a table without rowids is read
        up to its damage)."""
        lost: list[LostRows] = []
        if self._by_rowid:
            low, high = rows if rows is not None else (None, None)
            found = readable_rows(conn, "Files", self._listing_columns, low, high, lost)
        else:
            found = cast(Iterator[tuple[object, ...]], iter_rows(conn, self._listing_sql, named=False))
        yield from self._listed_rows(found, lost)

    def _listed_rows(self, found: Iterator[tuple[object, ...]], lost: list[LostRows],
                     decode: bool = True) -> Iterator[ListedRows]:
        """What rows (rowid, fileID, domain, relativePath, flags, file) list, a batch of rows at a time
        (`lost`: where their read keeps the stretches it could not read); `decode` False: rows rebuilt
        without their MBFile, which are not kept for the Manifest artifact."""
        file_size, wants_mbfile, read_fields = self._file_size, self._wants_mbfile, self._mbfiles.fields
        # The hooks are called only where a source gives its own: a plain backup's rows need nothing more
        # than the size the kernel read (_file_size's own first branch, inlined below).
        on_file = self._on_file if type(self)._on_file is not BackupSource._on_file else None
        plain_size = type(self)._file_size is BackupSource._file_size
        integrity = self._integrity  # (what the integrity check needs of each file row gathered for it)
        limit, max_chars = self.limits.max_archive_entries, self.limits.max_path_chars
        part = self._new_rows()
        listed, names, types, ids, notes, decoded, links = (
            part.listed, part.names, part.types, part.ids, part.notes, part.decoded, part.links
        )
        place, start = -1, 0  # the row's place in the range, that of the batch's first row
        last: int | None = None  # the rowid of the last row read
        for place, (row, file_id, domain, relative, flags, mbfile) in enumerate(found):
            if place >= limit:
                # A Files view can yield rows for ever; the listing must stay bounded in memory.
                raise LimitExceeded("Manifest.db", f"more than {limit} entries")
            if place - start == _BATCH_ROWS:
                part.rows, part.lost, part.last_row = _BATCH_ROWS, lost[:], last
                lost.clear()
                yield part
                start = place
                part = self._new_rows()
                listed, names, types, ids, notes, decoded, links = (
                    part.listed, part.names, part.types, part.ids, part.notes, part.decoded, part.links
                )
            if type(row) is int:
                if part.first_row is None:
                    part.first_row = row
                last = row
            # Every row's MBFile is decoded here once, by the full-field kernel (None: unsure of it).
            fields = read_fields(mbfile) if type(mbfile) is bytes and mbfile else None
            if decode:
                decoded.add(row, mbfile, fields)
            size = None
            if (flags == _FLAG_FILE or (wants_mbfile and flags not in (_FLAG_DIR, _FLAG_LINK))) and isinstance(
                mbfile, bytes
            ):
                if fields is not None and plain_size:
                    size = fields[0]
                    if size is not None and size < 0:
                        size = None
                else:
                    size = file_size(mbfile, fields)
            raw: bytes | None = None
            if flags == _FLAG_FILE and isinstance(file_id, str):
                fid = file_id.lower()
                raw = bytes.fromhex(fid) if _FILE_ID.match(fid) else None
                if integrity:
                    listed.add(place - start, row, fid, raw, domain, relative, size)
            device = device_path(
                domain if type(domain) is str else str(domain or ""),
                relative if type(relative) is str else str(relative or ""),
            )
            if device is None:
                notes.append(f"{shown(f'{domain}/{relative}')}: path would leave the device root")
                continue
            if len(device) > max_chars:  # (its row is still read by the integrity check and the Manifest artifact)
                notes.append(too_long_note(device, self.limits))
                continue
            if flags == _FLAG_DIR:
                names.append(device[1:])
                types.append(ROW_DIR)
                ids += NO_ID
            elif flags == _FLAG_LINK:
                target = self._link_of(mbfile, fields)
                if target:
                    links[len(names)] = target
                names.append(device[1:])
                types.append(ROW_LINK)
                ids += NO_ID
            else:
                if raw is None:
                    fid = str(file_id or "").lower()
                    if not _FILE_ID.match(fid):
                        notes.append(f"{shown(f'{domain}/{relative}')}: invalid file id {shown(repr(file_id))}")
                        continue
                    raw = bytes.fromhex(fid)
                if on_file is not None and not on_file(device, mbfile if isinstance(mbfile, bytes) else None, size, part):
                    continue
                # Its size is that of the file stored, looked up when asked for (see complete).
                names.append(device[1:])
                types.append(ROW_FILE)
                ids += raw
        part.rows, part.lost, part.last_row = place + 1 - start, lost, last
        yield part

    def _new_rows(self) -> ListedRows:
        return ListedRows()

    def _link_of(self, mbfile: object, fields: MBFileFields | None) -> str | None:
        """A link row's target, as its MBFile names it (None when it names none, cannot be read, or is
        longer than any path: such a link is not followed, and is told so where a run would read it)."""
        if fields is not None:
            target = fields[5]
        elif type(mbfile) is bytes and mbfile:
            try:
                target = self._mbfiles.decode(mbfile, "MBFile").target
            except (EvidenceError, ValueError):
                return None
        else:
            return None
        return target if target is not None and len(target) <= self.limits.max_path_chars else None

    def _merge(self, part: ListedRows, places: int) -> None:
        """Keep what a range of rows lists (`places`: the rows read before it), in the order of the
        listing: the members, then what the integrity check needs, then the notes."""
        first = len(self._kinds)  # the ref of the part's first member
        self._links.update({first + index: target for index, target in part.links.items()})
        self._kinds += part.types.translate(_KIND_OF_TYPE)
        self._ids += part.ids
        self._listed.extend(part.listed, places)
        self._decoded.extend(part.decoded)
        self.notes.extend(part.notes)
        self._join_lost(part)

    def _join_lost(self, part: ListedRows) -> None:
        """Keep the stretches of rows a part could not read, as one read of every row would tell them:
        each range is read on its own, so a stretch that begins a range (nothing read before it there)
        goes on from the last row read before the range, and one that ends a range (nothing read after
        it there) goes on to the first row read after it, the two one stretch when they meet."""
        lost = list(part.lost)
        if lost and lost[0].after is None:
            first, opened = lost.pop(0), self._open_lost
            self._open_lost = None
            lost.insert(0, LostRows(self._last_row if opened is None else opened.after, first.before,
                                    first.reason if opened is None else opened.reason))
        elif self._open_lost is not None and part.first_row is not None:
            self._lost.append(LostRows(self._open_lost.after, part.first_row, self._open_lost.reason))
            self._open_lost = None
        for stretch in lost:
            if stretch.before is None:
                self._open_lost = stretch  # (the last of its range)
            else:
                self._lost.append(stretch)
        if part.last_row is not None:
            self._last_row = part.last_row

    def _file_size(self, mbfile: bytes, fields: MBFileFields | None) -> int | None:
        """The expected size of a file from its MBFile (None when it has none), given what the kernel
        read of it (None: the size kernel, then the general decoder, read it)."""
        if fields is not None:
            size = fields[0]
            return size if size is not None and size >= 0 else None
        return self._mbfiles.size(mbfile, "MBFile")

    def _on_file(self, device: str, mbfile: bytes | None, size: int | None, part: ListedRows) -> bool:
        """Hook for sources that need the MBFile of each file (what they keep of it goes in `part`);
        False leaves the file out."""
        return True

    def _hash_meta(self, name: str) -> None:
        with open_regular_file(self.path / name, f"{BACKUP_PREFIX}/{name}") as stream:
            digest, size = sha256_stream(stream, self.limits.max_file_bytes)
        self.ledger.add(EvidenceFile(f"{BACKUP_PREFIX}/{name}", self._meta_source(name), size, digest))

    # -- what the integrity check reads -------------------------------------------------------
    def _list_folders_beside(self) -> None:
        """Start listing the hashed-name folders beside the listing of Manifest.db (a process of the
        lowest priority: it takes a core when the run leaves one idle). Independent of Manifest.db,
        the folders' listing (200,000 `stat` calls on a phone, most of a second) was made in the
        parallel part of the run, while the open leaves a core idle as it places its last members."""
        if self._folders is None and self._integrity:
            self._folders = self.folders_beside(self.path, self.limits, self.jobs, self.workdir)

    @staticmethod
    def folders_beside(root: Path, limits: Limits, jobs: int, workdir: Path) -> FoldersLater | None:
        """The listing of the backup's hashed-name folders, started now beside whatever comes next
        (see _list_folders_beside); None for a Manifest.db under LIST_BESIDE_MIN_BYTES (or none)."""
        try:
            small = (root / "Manifest.db").stat().st_size < LIST_BESIDE_MIN_BYTES
        except OSError:
            small = True
        return None if small else list_folders_later(root, limits, jobs, workdir)

    def stored_folders(self) -> StoredFolders:
        """What the backup's hashed-name folders hold (ios_integrity.list_folders): as listed beside
        the open, or listed now."""
        if self._folders is None:
            return list_folders(self.path, self.limits)
        return self._folders.result()

    def close(self) -> None:
        if self._folders is not None:
            self._folders.close()

    def listed_files(self) -> ListedFiles:
        """The files Manifest.db lists, as the listing gathered them for the integrity check (an
        EvidenceError when the source was made for a run without the check: nothing was gathered)."""
        if not self._integrity:
            raise EvidenceError("Manifest.db", "listed for a run without the backup's integrity check")
        return self._listed

    def decoded_mbfiles(self) -> DecodedMBFiles:
        """The MBFiles of Manifest.db's rows, as the listing decoded them (the rows it read)."""
        return self._decoded

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
        if not 0 <= ref < len(self._kinds) or self._kinds[ref] != A_FILE:
            return None
        return self._ids[20 * ref : 20 * ref + 20].hex()

    def link_target(self, ref: int, name: str) -> str | None:
        return self._links.get(ref)

    def _is_file(self, ref: int) -> bool:
        return 0 <= ref < len(self._kinds) and self._kinds[ref] == A_FILE

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
        return self._stored_stream(ref, label)

    def local_member(self, ref: int, name: str) -> Path | None:
        return self._blob(ref, "/" + name)

    def member_source_name(self, ref: int, name: str) -> str:
        meta = self._meta.get(ref)
        if meta is not None:
            return meta.name
        fid = self.file_id(ref) or ""
        return f"{fid[:2]}/{fid}"


def listed_mbfiles(fs: DeviceFS, path: str) -> DecodedMBFiles | None:
    """The MBFiles of the Manifest.db at `path` as the backup's listing decoded them, when `path` is
    the Manifest.db of the one backup the acquisition mounts (the database its listing read: the
    same file, its journal replayed the same way); None otherwise (read them from the database)."""
    if path != BACKUP_PREFIX + "/Manifest.db" or not isinstance(fs, MountFS):
        return None
    backups = fs.sources(BackupSource)
    return backups[0].decoded_mbfiles() if len(backups) == 1 else None


def manifest_rows_rebuilt(fs: DeviceFS, path: str) -> list[tuple[object, ...]]:
    """The rows of the Manifest.db at `path` that the backup's listing rebuilt from its indexes (see
    BackupSource.rebuilt_rows), when `path` is the Manifest.db of the one backup the acquisition mounts;
    none otherwise."""
    if path != BACKUP_PREFIX + "/Manifest.db" or not isinstance(fs, MountFS):
        return []
    backups = fs.sources(BackupSource)
    return backups[0].rebuilt_rows() if len(backups) == 1 else []


def _named_paths(pattern: str, apps: list[str]) -> list[str]:
    """The device paths a glob of an artifact's names, to be looked for by name: itself without a glob;
    with its only glob an app container's ``*`` (``.../Containers/Data/Application/*/...``), that path
    in each app's container; otherwise none (a name cannot be guessed)."""
    if not any(c in pattern for c in "*?["):
        return [pattern]
    for prefix, root in container_roots():
        if prefix == "AppDomain-" and pattern.startswith(root + "*/"):
            rest = pattern[len(root) + 2 :]
            if not any(c in rest for c in "*?["):
                return [f"{root}{app}/{rest}" for app in apps]
    return []
