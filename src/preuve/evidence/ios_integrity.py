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

This is a check of the backup kind itself (:class:`BackupIntegrity`), not an
artifact: Manifest.db is read once, by the listing of the backup's source
(:class:`~preuve.evidence.sources.backup.BackupSource`, found among the
acquisition's mounts), which keeps what the check needs in :class:`ListedFiles`
(compact arrays: a file id in 20 bytes, its expected size, its row; a few
bytes per file, never a Python object per file). The check lists the hashed-name folders, one at a time, and
compares the two by file id, folder by folder. Only the rows it reports are
read again from Manifest.db, for their domain and path.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import repeat
from typing import ClassVar

from preuve.evidence.acquisition import AcquisitionCheck
from preuve.evidence.backup_folders import HEX_ID as _HEX_ID
from preuve.evidence.backup_folders import INTEGRITY_CHECK, StoredFolders
from preuve.evidence.backup_folders import NOT_REGULAR as _NOT_REGULAR
from preuve.evidence.errors import EvidenceError
from preuve.evidence.fs import DeviceFS, MountFS
from preuve.model import Locator, Record

MANIFEST_DB = "/.acquisition/backup/Manifest.db"
MANIFEST_PLIST = "/.acquisition/backup/Manifest.plist"
_AES_BLOCK = 16
_NO_SIZE = -1  # in the size arrays: no expected size (no MBFile, or one without a whole-number Size)
_WIDE_SIZE = -2  # in the size arrays: a size no 64-bit integer holds (in ListedFiles.wide_sizes)
_INT64 = 1 << 63


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


@dataclass(slots=True)
class ListedFiles:
    """What Manifest.db lists as files (flags 1), gathered by the backup's listing for the integrity
    check, in the order of the rows: per file its id (20 bytes; ids that are not 40 hex digits aside,
    by position), the row's place in the listing query and its rowid, and the expected size.

    Whether each row's id was made from its domain and path is decided while the row is at hand
    (``name_mismatches``); a row whose name cannot be compared from its decoded text (not text, or
    text with a backslash, which the lenient decoder also writes) is compared on its stored bytes
    when the check runs (``names_to_check``)."""

    ids: bytearray = field(default_factory=bytearray)
    scan_rows: array[int] = field(default_factory=lambda: array("q"))
    rowids: array[int] = field(default_factory=lambda: array("q"))
    sizes: array[int] = field(default_factory=lambda: array("q"))
    odd_ids: dict[int, str] = field(default_factory=dict)  # index: a file id that is not 40 hex digits
    wide_sizes: dict[int, int] = field(default_factory=dict)  # index: an expected size beyond 64 bits
    no_rowid: set[int] = field(default_factory=set)  # indexes whose row has no rowid (a view)
    name_mismatches: list[int] = field(default_factory=list)
    names_to_check: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sizes)

    def add(self, scan_row: int, rowid: object, file_id: str, raw: bytes | None, domain: object,
            relative: object, size: int | None) -> None:
        """One row with flags 1 and a text fileID (lower-cased; `raw` its 20 bytes when it is 40 hex
        digits), as the listing reads it."""
        index = len(self.sizes)
        if raw is None:
            raw = bytes(20)
            self.odd_ids[index] = file_id
        self.ids += raw
        self.scan_rows.append(scan_row)
        if isinstance(rowid, int):
            self.rowids.append(rowid)
        else:
            self.rowids.append(0)
            self.no_rowid.add(index)
        if size is not None and size >= _INT64:  # (a hostile MBFile: no file is that large)
            self.wide_sizes[index] = size
            size = _WIDE_SIZE
        self.sizes.append(_NO_SIZE if size is None else size)
        if isinstance(domain, str) and isinstance(relative, str) and "\\" not in domain and "\\" not in relative:
            # Text read without the lenient decoder is valid UTF-8: its encoding is the stored bytes.
            named = hashlib.sha1(f"{domain}-{relative}".encode()).digest()  # noqa: S324 - Apple's naming
            if index in self.odd_ids or named != raw:
                self.name_mismatches.append(index)
        else:
            self.names_to_check.append(index)

    def extend(self, other: ListedFiles, places: int) -> None:
        """Add what the listing gathered from a later range of rows (`places`: the rows read before it,
        by which its places are counted on)."""
        start = len(self.sizes)
        self.ids += other.ids
        self.scan_rows.extend(other.scan_rows if not places else array("q", [row + places for row in other.scan_rows]))
        self.rowids.extend(other.rowids)
        self.sizes.extend(other.sizes)
        self.odd_ids.update({index + start: name for index, name in other.odd_ids.items()})
        self.wide_sizes.update({index + start: size for index, size in other.wide_sizes.items()})
        self.no_rowid.update(index + start for index in other.no_rowid)
        self.name_mismatches.extend(index + start for index in other.name_mismatches)
        self.names_to_check.extend(index + start for index in other.names_to_check)

    def file_id(self, index: int) -> str:
        odd = self.odd_ids.get(index)
        return odd if odd is not None else self.ids[20 * index : 20 * index + 20].hex()

    def locator(self, index: int, sha256: str) -> Locator:
        return Locator(MANIFEST_DB, sha256, "Files", self.rowid(index))

    def rowid(self, index: int) -> int | None:
        return None if index in self.no_rowid else self.rowids[index]

    def expected(self, index: int) -> int | None:
        size = self.sizes[index]
        if size == _WIDE_SIZE:
            return self.wide_sizes[index]
        return None if size == _NO_SIZE else size


@dataclass(frozen=True, slots=True)
class _Problem:
    index: int  # in ListedFiles
    issue: str
    expected: int | None = None
    actual: int | None = None


def _size_agrees(expected: int, actual: int, encrypted: bool) -> bool:
    if actual == expected:
        return True
    # Encrypted backups store AES-CBC ciphertext: the plaintext size padded to the next 16-byte block.
    return encrypted and actual == (expected // _AES_BLOCK + 1) * _AES_BLOCK


def compare(listed: ListedFiles, folders: StoredFolders, encrypted: bool,
            ) -> tuple[list[_Problem], list[tuple[str, str, int]]]:
    """The listed files against the folders, one hashed-name folder at a time: the problems of the
    listed files (in the order of their rows) and the files nobody lists (lower-cased name, place in
    the folder, size), by name."""
    problems: list[_Problem] = []
    extras: list[tuple[str, str, int]] = []
    by_folder: list[array[int]] = [array("q") for _ in range(256)]
    ids = bytes(listed.ids)
    for index in range(len(listed)):
        if index not in listed.odd_ids:
            by_folder[ids[20 * index]].append(index)
    strays_by_folder: dict[int, list[str]] = {}
    for name in folders.strays:
        if _HEX_ID.match(name):
            strays_by_folder.setdefault(int(name[:2], 16), []).append(name)
    mismatched = set(listed.name_mismatches)
    listed_sizes = listed.sizes
    seen_strays: set[str] = set()

    def check(index: int, found: tuple[int, str] | None) -> None:
        if index in mismatched:
            problems.append(_Problem(index, "name_mismatch"))
        expected = listed.expected(index)
        if found is None:
            problems.append(_Problem(index, "missing", expected))
        elif found[0] == _NOT_REGULAR:
            problems.append(_Problem(index, "not_regular", expected))
        elif expected is not None and not _size_agrees(expected, found[0], encrypted):
            problems.append(_Problem(index, "size_mismatch", expected, found[0]))

    for number in range(256):
        # This folder's files by id: (size, listing order, place); a stray of the same name listed
        # later stands for it, as the later of two same names does.
        raw, sizes, orders = bytes(folders.ids[number]), folders.sizes[number], folders.orders[number]
        shard = f"{number:02x}"
        present: dict[bytes, tuple[int, str]] = dict(
            zip([raw[at : at + 20] for at in range(0, len(raw), 20)], zip(sizes, repeat("")), strict=True)
        )
        for name in strays_by_folder.get(number, ()):
            stray = folders.strays[name]
            key = bytes.fromhex(name)
            own = present.get(key)
            if own is None or stray.order > orders[_position(raw, key)]:
                present[key] = (stray.size, stray.relative)
            seen_strays.add(name)
        used: set[bytes] = set()
        for index in by_folder[number]:
            key = ids[20 * index : 20 * index + 20]
            found = present.get(key)
            if found is not None:
                used.add(key)
                # Nearly every file: present, regular, of the size listed, its name agreeing (what
                # check finds nothing wrong with, without the call).
                if found[0] >= 0 and found[0] == listed_sizes[index] and index not in mismatched:
                    continue
            check(index, found)
        if len(used) == len(present):
            continue
        for key in sorted(present.keys() - used):
            size, relative = present[key]
            name = key.hex()
            extras.append((name, relative or f"{shard}/{name}", size))
    listed_odd: set[str] = set()
    for index, name in listed.odd_ids.items():
        match = folders.strays.get(name)
        if match is not None:
            listed_odd.add(name)
        check(index, None if match is None else (match.size, match.relative))
    for name, stray in folders.strays.items():
        if name not in seen_strays and name not in listed_odd:
            extras.append((name, stray.relative, stray.size))
    order = {"name_mismatch": 0}
    problems.sort(key=lambda p: (p.index, order.get(p.issue, 1)))
    extras.sort()
    return problems, extras


def _position(raw: bytes, key: bytes) -> int:
    """Where a 20-byte id lies in a folder's ids (it is there)."""
    at = 0
    while True:
        at = raw.find(key, at)
        if at % 20 == 0:
            return at // 20
        at += 1


class BackupIntegrity(AcquisitionCheck):
    name = INTEGRITY_CHECK
    platform = "ios"
    title = "Backup integrity (Manifest.db against the files present)"
    paths: ClassVar[tuple[str, ...]] = (MANIFEST_DB,)

    def records(self, fs: DeviceFS, path: str, warn: Callable[[str], None]) -> Iterator[Record]:
        from preuve.evidence.sources.backup import BackupSource

        backups = fs.sources(BackupSource) if isinstance(fs, MountFS) else []
        if len(backups) != 1 or path != MANIFEST_DB:
            return
        backup = backups[0]
        unread = backup.unread_manifest()
        if unread is not None:
            # Every file of the folder would be "not listed": the comparison would say nothing true.
            raise EvidenceError(path, f"no row could be read ({unread}): the folder cannot be compared with it")
        listed = backup.listed_files()
        sha256 = fs.sha256(path)
        folders = backup.stored_folders()
        encrypted = False
        if fs.is_file(MANIFEST_PLIST):
            try:
                manifest = fs.plist(MANIFEST_PLIST)
                encrypted = isinstance(manifest, dict) and manifest.get("IsEncrypted") is True
            except EvidenceError as exc:
                warn(f"{MANIFEST_PLIST}: {exc.reason}")
        problems, extras = compare(listed, folders, encrypted)
        # The rows with a name to compare on its stored bytes, and the names of the rows reported.
        wanted = {listed.scan_rows[i]: listed.rowid(i) for i in [p.index for p in problems] + listed.names_to_check}
        names = backup.manifest_names(wanted) if wanted else {}
        late: list[_Problem] = []
        for index in listed.names_to_check:
            _, _, raw_domain, raw_relative = names.get(listed.scan_rows[index], (None, None, None, None))
            if not isinstance(raw_domain, bytes) or not isinstance(raw_relative, bytes) or (
                hashlib.sha1(raw_domain + b"-" + raw_relative).hexdigest() != listed.file_id(index)  # noqa: S324
            ):
                late.append(_Problem(index, "name_mismatch"))
        if late:
            problems = sorted([*problems, *late], key=lambda p: (p.index, 0 if p.issue == "name_mismatch" else 1))
        for problem in problems:
            domain, relative, _, _ = names.get(listed.scan_rows[problem.index], (None, None, None, None))
            yield BackupFileIssue(
                locator=listed.locator(problem.index, sha256),
                issue=problem.issue,
                file_id=listed.file_id(problem.index),
                domain=domain if isinstance(domain, str) else None,
                relative_path=relative if isinstance(relative, str) else None,
                expected_size=problem.expected,
                actual_size=problem.actual,
            )
        for name, relative, size in extras:
            yield BackupFileIssue(
                locator=Locator(path, sha256, key_path=f"folder:{relative}"),
                issue="extra",
                file_id=name,
                domain=None,
                relative_path=None,
                expected_size=None,
                actual_size=size if size != _NOT_REGULAR else 0,
            )

