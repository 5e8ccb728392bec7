"""The listing of a filesystem dump: every path and name against indicators, times on the timeline.

Implants leave files with published names and paths (Pegasus'
``/private/var/db/com.apple.xpc.roleaccountd.staging/``, Predator's and
Triangulation's files under ``/private/var/tmp/``…). This check walks the
listing of a dump — never the files' content, so it streams over millions of
entries at the cost of one record each — and offers each path for matching;
every entry also offers its name as a process name (an implant's binary is
named like its process, and its folder often too).

Only a filesystem acquisition has a complete listing: a backup lists what
iTunes chose to keep, already read by the other artifacts. The listing is
what the kind gathered while opening the acquisition, not a file: this is a
check of the kinds whose listing is the device's own file tree
(:class:`FileListing`, in their ``checks``), located at ``/`` when the
DeviceFS says so (``whole_filesystem``). The records are of the listing, not
of the files' bytes: their locator names the file and carries no content hash
(hashing every file of a dump would read it whole).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.evidence.acquisition import AcquisitionCheck
from preuve.evidence.fs import ACQUISITION_PREFIX, DeviceFS, FileInfo
from preuve.model import Kind, Locator, Observable, Record, Timestamp
from preuve.model.timeconv import from_unix

LISTING = "/"
_FILE_PATH, _PROCESS = Kind.FILE_PATH, Kind.PROCESS
_INSIDE_ACQUISITION = ACQUISITION_PREFIX + "/"


@dataclass(kw_only=True)
class FileEntry(Record):
    """One entry of a filesystem dump's listing. Its path is its locator's device path, written once
    (a dump lists hundreds of thousands of entries: the path is most of each record)."""

    record_type: ClassVar[str] = "ios:filesystem:entry"
    entry_type: str  # file, dir, link (links, devices, FIFOs: listed, never followed)
    size: int
    modified: datetime | None

    @property
    def path(self) -> str:
        return self.locator.device_path

    # These run once per entry of the listing (a dump has hundreds of thousands): iterators over
    # tuples rather than generators, the name cut at the last "/" (posixpath.basename, without its
    # generic checks).
    def observables(self) -> Iterator[Observable]:
        path = self.locator.device_path
        # Every name is compared with process names, folders included, so that every component of
        # every path is (MVT's check_file_path_process), each once, on the entry that bears it.
        name = path[path.rfind("/") + 1 :]
        if name:
            return iter((Observable(_FILE_PATH, path), Observable(_PROCESS, name)))
        return iter((Observable(_FILE_PATH, path),))

    def timestamps(self) -> Iterator[Timestamp]:
        if self.modified is None:
            return iter(())
        return iter((Timestamp(self.modified, "File modified"),))

    def summary(self) -> str:
        return f"{self.entry_type} {self.path} ({self.size} bytes)"


class FileListing(AcquisitionCheck):
    name = "filesystem"
    platform = "ios"
    title = "Files of the filesystem dump"
    paths: ClassVar[tuple[str, ...]] = ()
    record_entries = True  # one record per entry, in the listing's order (the entry at a path, alone)

    def locate(self, fs: DeviceFS) -> list[str]:
        # The check reads the listing, not a file: it runs once, on acquisitions whose listing is
        # the device's whole file tree (a backup's own file list is read by the manifest artifact).
        return [LISTING] if fs.whole_filesystem else []

    def records(self, fs: DeviceFS, path: str, warn: Callable[[str], None]) -> Iterator[Record]:
        """Every entry of the listing at ``/``; at the path of one entry, that entry alone (how
        `preuve verify` reads a finding's entry again, without listing the whole dump for each)."""
        if not fs.whole_filesystem:
            return
        if path != LISTING:
            if fs.exists(path) and not _of_acquisition(path):
                yield _entry(fs.stat(path))
            return
        for info in fs.iter_files():
            # (the first test alone decides for the device's own paths)
            if info.device_path.startswith(ACQUISITION_PREFIX) and _of_acquisition(info.device_path):
                continue
            yield _entry(info)


def _of_acquisition(device_path: str) -> bool:
    """Whether a path is one of the acquisition's own files (its notes, a tool's log), not the device's."""
    return device_path == ACQUISITION_PREFIX or device_path.startswith(_INSIDE_ACQUISITION)


def _entry(info: FileInfo) -> FileEntry:
    mtime = info.mtime
    return FileEntry(
        locator=Locator(info.device_path, "", None, None, "listing"),
        entry_type="dir" if info.is_dir else "link" if info.is_link else "file",
        size=info.size,
        modified=from_unix(mtime) if mtime else None,
    )
