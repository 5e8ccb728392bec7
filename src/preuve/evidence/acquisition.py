"""Acquisition kinds: how preuve recognises and opens what the analyst brings.

Each kind is a class in a module of :mod:`preuve.evidence.kinds`; it answers
:meth:`AcquisitionKind.detect` and :meth:`AcquisitionKind.open`. Adding a
kind is adding one module there. When several kinds recognise a path, the one
with the highest ``specificity`` wins (a backup folder is also a folder).
"""

from __future__ import annotations

import fnmatch
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from preuve.discovery import shipped_classes
from preuve.evidence.backup_folders import EarlyListing, is_backup_folder
from preuve.evidence.early_tar import EarlyHeaders
from preuve.evidence.errors import AcquisitionError
from preuve.evidence.fs import DeviceFS
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits
from preuve.model import Record

if TYPE_CHECKING:
    from preuve.evidence.sources.archive import ArchiveNames


@dataclass(frozen=True, slots=True)
class Secrets:
    """What the analyst gave to open protected acquisitions (never written to any output)."""

    password: str | None = field(default=None, repr=False)
    key: bytes | None = field(default=None, repr=False)
    age_identity: str | None = field(default=None, repr=False)  # AGE-SECRET-KEY-… lines (AndroidQF .zip.age)


@dataclass(slots=True)
class OpenContext:
    ledger: HashLedger
    limits: Limits
    workdir: Path
    secrets: Secrets = field(default_factory=Secrets)
    warn: Callable[[str], None] = lambda message: None
    jobs: int = 1  # processes that may list the acquisition (see preuve.evidence.parallel)
    # The artifacts (by name) the run will read, None for all: work an open starts for one of them
    # alone (a backup's folders listed beside for its integrity check) is left out when it will not run.
    runs: frozenset[str] | None = None
    # Work begun for the open when the run began, which it takes rather than start again: a backup's
    # folders being listed (backup_folders.list_folders_early), a tar's headers being read
    # (early_tar.scan_headers_early).
    early: EarlyListing | EarlyHeaders | None = None
    # The device paths (globs) the run's artifacts of a platform read: what an open whose listing was
    # damaged looks for where the acquisition keeps a file whatever its listing says (a backup's
    # folder, by the name a file id is made from). Asked only then.
    wants: Callable[[str], tuple[str, ...]] = lambda platform: ()
    # The archive's member names as they were read to recognise it, with the limits of this open
    # (see ArchiveNames), for an open that looks at them again; None: read them if needed.
    names: ArchiveNames | None = None

    def will_run(self, name: str) -> bool:
        """Whether the artifact (or kind check) `name` is among those the run reads."""
        return self.runs is None or name in self.runs


@dataclass(frozen=True, slots=True)
class Opened:
    """An opened acquisition: its kind, the platform, where it is, and its DeviceFS."""

    kind: str
    platform: str
    path: Path
    fs: DeviceFS


class AcquisitionCheck(ABC):
    """A check of the acquisition itself, owned by its kind (a backup's folder against its
    Manifest.db): it reads what the kind gathered while listing the acquisition and yields typed
    records located in the acquisition file it checks (under ``/.acquisition/``).

    The run reports it as an artifact of its name (with coverage, findings and `preuve verify`
    as for any artifact), reading where :meth:`locate` says; it never reaches into a DeviceFS it
    does not know."""

    name: ClassVar[str]
    platform: ClassVar[str]
    title: ClassVar[str]
    paths: ClassVar[tuple[str, ...]]  # the acquisition files it checks (globs)
    # A fact about what it reads, when it holds: at each place it locates, each record is made from one
    # entry of the listing (`DeviceFS.iter_files`), in its order, and from no other (see
    # Artifact.record_entries).
    record_entries: ClassVar[bool] = False

    def locate(self, fs: DeviceFS) -> list[str]:
        """Where the check reads in `fs`, sorted: by default the regular files matching `paths`. A
        check that reads what the kind gathered rather than a file (the listing of a filesystem
        dump) says so here, and declares no `paths`: when it locates nothing, the run reports it as
        not collected by this kind of acquisition, never as a gap."""
        return fs.regular_files(self.paths)

    @abstractmethod
    def records(self, fs: DeviceFS, path: str, warn: Callable[[str], None]) -> Iterator[Record]:
        """Records of the check of `path` (one that :meth:`locate` gave); nothing when `fs` is not
        an acquisition of its kind. EvidenceError when the check cannot be made."""


class AcquisitionKind(ABC):
    name: ClassVar[str]
    platform: ClassVar[str]
    specificity: ClassVar[int] = 10
    description: ClassVar[str] = ""
    # What this kind of acquisition can hold, as device-path globs (``*`` matches across folders), and
    # what it never holds even there: an artifact whose every path falls outside is "not collected by
    # this kind of acquisition" when absent, rather than a gap (a backup never holds a sysdiagnose's
    # ps.txt, nor the caches iOS leaves out of backups). Present files are always read.
    holds: ClassVar[tuple[str, ...]] = ("*",)
    lacks: ClassVar[tuple[str, ...]] = ()
    # Checks of the acquisition itself that this kind owns (see AcquisitionCheck).
    checks: ClassVar[tuple[type[AcquisitionCheck], ...]] = ()
    # Artifacts of which every acquisition of this kind made of a whole phone holds at least one, by name:
    # databases every phone keeps whatever its owner installed or used (Messages, call history, network
    # usage…). When none of them is found, the acquisition holds only part of a phone (an excerpt, a
    # folder of it, an acquisition stopped early): each is then told absent as such (Absence.PARTIAL), and
    # the check is not full. Empty: no such rule (a kind whose acquisitions are selective by nature, as an
    # Android backup of chosen apps).
    essentials: ClassVar[tuple[str, ...]] = ()

    @classmethod
    @abstractmethod
    def detect(cls, path: Path, names: ArchiveNames | None = None) -> bool:
        """Cheaply tell whether `path` is this kind of acquisition (reads a few bytes at most, or the
        member names of an archive: through `names`, shared by every kind that looks at them)."""

    @classmethod
    @abstractmethod
    def open(cls, path: Path, ctx: OpenContext) -> DeviceFS:
        """Open the acquisition read-only, or raise AcquisitionError saying why not."""


    @classmethod
    def can_hold(cls, device_pattern: str) -> bool:
        """Whether files matching `device_pattern` (an artifact's glob) can be in this kind of acquisition:
        it overlaps what the kind holds (either glob matches the other) and lies in nothing it lacks."""
        return any(
            fnmatch.fnmatchcase(device_pattern, glob) or fnmatch.fnmatchcase(glob, device_pattern)
            for glob in cls.holds
        ) and not any(fnmatch.fnmatchcase(device_pattern, glob) for glob in cls.lacks)


def kind_named(name: str) -> type[AcquisitionKind] | None:
    return next((kind for kind in acquisition_kinds() if kind.name == name), None)


def acquisition_kinds() -> list[type[AcquisitionKind]]:
    """Every acquisition kind shipped in :mod:`preuve.evidence.kinds`, most specific first."""
    from preuve.evidence import kinds

    return sorted(shipped_classes(kinds, AcquisitionKind), key=lambda k: (-k.specificity, k.name))


def acquisition_checks(platform: str | None = None) -> list[AcquisitionCheck]:
    """One instance of every check the acquisition kinds of `platform` (or all) own, by name (a
    check two kinds share is listed once)."""
    found: dict[str, type[AcquisitionCheck]] = {}
    for kind in acquisition_kinds():
        if platform is None or kind.platform == platform:
            for check in kind.checks:
                found.setdefault(check.name, check)
    return [found[name]() for name in sorted(found)]


def detect_kind(path: Path, names: ArchiveNames | None = None) -> type[AcquisitionKind]:
    """The kind of acquisition at `path`, or AcquisitionError explaining what was expected. An
    archive's member names are read once for every kind (`names`, made here when not given)."""
    from preuve.evidence.sources.archive import ArchiveNames

    if not path.exists():
        raise AcquisitionError(f"{path}: no such file or folder")
    if names is None:
        with closing(ArchiveNames(path)) as own:
            return detect_kind(path, own)
    kinds = acquisition_kinds()
    for kind in kinds:
        try:
            if kind.detect(path, names):
                return kind
        except OSError as exc:
            raise AcquisitionError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    expected = ", ".join(k.description or k.name for k in kinds)
    unreadable = _unreadable_archive(path, names)
    if unreadable is not None:
        # (a damaged zip or tar hides what it holds: saying so beats "not recognised")
        raise AcquisitionError(f"{unreadable}: its kind cannot be recognised (expected one of: {expected})")
    if path.is_file() and path.name in _BACKUP_OWN_FILES and is_backup_folder(path.parent):
        raise AcquisitionError(f"{path}: a file of the iOS backup {path.parent}: check the backup's folder")
    container = _unread_container(path)
    if container is not None and container.endswith(_DAMAGED):
        raise AcquisitionError(f"{path}: {container}")
    if container is not None:
        raise AcquisitionError(
            f"{path}: {container}, which preuve does not read: extract it with the tool that made it into a folder "
            "of its own, outside the evidence, and check what it holds (the archive stays the evidence)")
    raise AcquisitionError(f"{path}: not an acquisition preuve recognises (expected one of: {expected})")


# Containers an acquisition is passed on in that preuve does not read, by their first bytes (and an
# Apple disk image by its trailer): named, with what to do, rather than "not recognised".
_UNREAD_MAGIC = (
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x28\xb5\x2f\xfd", "a Zstandard-compressed file (.zst)"),
)
_COMPRESSION_NAMES = {"gzip": "a gzip", "bz2": "a bzip2", "xz": "an xz"}
_DAMAGED = " damaged from its start: what it holds cannot be told"


def _unread_container(path: Path) -> str | None:
    """What container the file at `path` is, when it is one preuve does not read (see _UNREAD_MAGIC), or
    None."""
    import os

    if not path.is_file():
        return None
    try:
        with open(path, "rb") as stream:
            head = stream.read(8)
            size = os.fstat(stream.fileno()).st_size
            if size >= 512:
                stream.seek(size - 512)
                if stream.read(4) == b"koly":
                    return "an Apple disk image (.dmg)"
    except OSError:
        return None
    from preuve.evidence.sources.archive import compression_of, decompressed_head

    compressed = compression_of(head)
    if compressed is not None:
        what = f"{_COMPRESSION_NAMES[compressed]}-compressed file"
        if decompressed_head(path) is None:
            return f"{what}{_DAMAGED}"
        return f"{what} that holds no tar"
    return next((what for magic, what in _UNREAD_MAGIC if head.startswith(magic)), None)


# A backup's own files, at the top of its folder: the one an analyst may give for the backup itself.
_BACKUP_OWN_FILES = ("Manifest.db", "Manifest.plist", "Info.plist", "Status.plist")


def _unreadable_archive(path: Path, names: ArchiveNames) -> str | None:
    """Why the archive at `path` (a zip by its name or its first bytes, a tar by its name) cannot be
    listed at all, or None when it is no archive or can be listed."""
    from preuve.evidence.sources.archive import is_archive_file

    if not path.is_file():
        return None
    try:
        with open(path, "rb") as stream:
            zip_magic = stream.read(4) == b"PK\x03\x04"
    except OSError:
        return None
    if not (zip_magic or is_archive_file(path)):
        return None
    try:
        names.peek(max_entries=1, strict=True)
    except AcquisitionError as exc:
        return str(exc)
    return None


def open_acquisition(path: Path, ctx: OpenContext) -> Opened:
    from preuve.evidence.sources.archive import ArchiveNames

    with closing(ArchiveNames(path)) as names:
        try:
            kind = detect_kind(path, names)
        except AcquisitionError:
            carried = carried_file(path, names)
            if carried is None:
                raise
            return _open_carried(path, carried, names, ctx)
        # (the names read to recognise it, and the zip read for them, serve the open when they were
        # read within its limits)
        fs = kind.open(path, replace(ctx, names=names) if ctx.names is None and names.limits == ctx.limits else ctx)
    return Opened(kind.name, kind.platform, path, fs)


def recognised(path: Path) -> bool:
    """Whether preuve can open what is at `path` (a kind recognises it, or it is an archive carrying one
    file a kind recognises by its name)."""
    from preuve.evidence.sources.archive import ArchiveNames

    with closing(ArchiveNames(path)) as names:
        try:
            detect_kind(path, names)
        except AcquisitionError:
            return carried_file(path, names) is not None
    return True


# An archive made only to carry one file (a sysdiagnose's .tar.gz, a bugreport's .zip, an Android
# backup zipped again to be sent): what such an archive holds beside it that is not the evidence, as
# Finder (resource forks, folder settings) and Windows (thumbnails, folder settings) add it.
_CARRIER_NOISE = re.compile(r"(?:\A|/)(?:__MACOSX(?:/|\Z)|\.DS_Store\Z|\._[^/]*\Z|Thumbs\.db\Z|desktop\.ini\Z)")
_CARRIER_LOOK = 64  # names looked at (an archive of more is no carrier)


def carried_file(path: Path, names: ArchiveNames) -> str | None:
    """The member name of the one file the archive at `path` holds, when it holds one file (beside folders
    and what _CARRIER_NOISE names) and that file's name is one an acquisition file may bear (an archive,
    an Android backup); None otherwise. A folder likewise: the name of the one regular file it holds
    (beside what _CARRIER_NOISE names, and nothing else)."""
    from preuve.evidence.sources.archive import is_archive_file

    if path.is_dir() and not path.is_symlink():
        return _carried_in_folder(path)
    if not is_archive_file(path):
        return None
    try:
        listed = names.peek(_CARRIER_LOOK + 1)
    except (AcquisitionError, OSError):
        return None
    if len(listed) > _CARRIER_LOOK:
        return None
    kept = [name for name in listed if not _CARRIER_NOISE.search(name)]
    files = [name for name in kept if not any(other.startswith(name + "/") for other in kept)]
    if len(files) != 1:
        return None
    return files[0] if _carried_name(files[0].rpartition("/")[2]) else None


def _carried_name(name: str) -> bool:
    """Whether a file's name is one an acquisition file may bear (an archive, an Android backup)."""
    from preuve.evidence.sources.tar import TAR_SUFFIXES

    return name.lower().endswith((".zip", ".ab", ".zip.age", *TAR_SUFFIXES))


def _carried_in_folder(path: Path) -> str | None:
    import os
    import stat

    try:
        with os.scandir(path) as listing:
            entries = [entry for _, entry in zip(range(_CARRIER_LOOK + 1), listing, strict=False)]
    except OSError:
        return None
    kept = [entry for entry in entries if not _CARRIER_NOISE.search(entry.name)]
    if len(entries) > _CARRIER_LOOK or len(kept) != 1:
        return None
    try:
        regular = stat.S_ISREG(kept[0].stat(follow_symlinks=False).st_mode)
    except OSError:
        return None
    return kept[0].name if regular and _carried_name(kept[0].name) else None


def _open_carried(path: Path, member: str, names: ArchiveNames, ctx: OpenContext) -> Opened:
    """The acquisition file an archive carries (see carried_file), copied into the run's private folder
    (bounded by the file-size limit; never beside the evidence) and opened as what it is. One level
    only: an archive carried by the carried file is not opened in turn. Messages name it inside the
    archive (``archive!member``), not by its private copy."""
    import tempfile

    from preuve.evidence.errors import EvidenceError, LimitExceeded
    from preuve.evidence.sources.archive import archive_source

    if path.is_dir():  # (a folder's file is read where it lies)
        kind = detect_kind(path / member)
        fs = kind.open(path / member, replace(ctx, names=None, early=None))
        ctx.warn(f"{path}: holds one file, {member}, read as {kind.description}")
        return Opened(kind.name, kind.platform, path, fs)
    named = f"{path}!{member}"
    folder = Path(tempfile.mkdtemp(prefix="carried-", dir=ctx.workdir))
    inner = folder / member.rpartition("/")[2]
    source = names.take_zip() or archive_source(path, ctx.limits)
    limit = ctx.limits.max_file_bytes
    try:
        with source.open(member, named) as stream, open(inner, "xb") as out:
            copied = 0
            while chunk := stream.read(1 << 20):
                copied += len(chunk)
                if copied > limit:
                    raise LimitExceeded(named, f"more than {limit} bytes")
                out.write(chunk)
    except EvidenceError as exc:
        raise AcquisitionError(str(exc)) from exc
    except OSError as exc:
        raise AcquisitionError(f"{named}: cannot be read ({exc.strerror or exc})") from exc
    finally:
        source.close()

    def renamed(message: str) -> str:
        return message.replace(str(inner), named)

    try:
        kind = detect_kind(inner)
    except AcquisitionError as exc:
        raise AcquisitionError(f"{path}: carries one file, {member}, that preuve does not recognise "
                               f"({renamed(str(exc)).removeprefix(named + ': ')})") from None
    warn = ctx.warn
    try:
        fs = kind.open(inner, replace(ctx, names=None, early=None, warn=lambda message: warn(renamed(message))))
    except AcquisitionError as exc:
        raise AcquisitionError(renamed(str(exc))) from None
    warn(f"{path}: carries one file, {member}, read as {kind.description}")
    return Opened(kind.name, kind.platform, path, fs)
