"""iOS sysdiagnose archives (``sysdiagnose_<date>_<device>_<build>.tar.gz``, or the folder it unpacks to).

A sysdiagnose holds copies of some device files and the output of commands
run when it was taken. Files that are copies of a device file are mapped to
that device path, so the artifacts that read them on a dump read them here
too (``system_logs.logarchive/Extra/shutdown.log`` is the device's
``/private/var/db/diagnostics/shutdown.log``). Everything else keeps its
place under ``/.acquisition/sysdiagnose/<relative path>`` (``ps.txt``,
``ps_thread.txt``…), where the artifacts that read command output look.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from preuve.evidence.acquisition import AcquisitionKind, OpenContext
from preuve.evidence.errors import AcquisitionError
from preuve.evidence.fs import ACQUISITION_PREFIX, DeviceFS, MountFS, listed, normalize_device_path
from preuve.evidence.sources.archive import ArchiveNames, archive_source, is_archive_file
from preuve.evidence.sources.base import Mapper
from preuve.evidence.sources.folder import FolderSource

SYSDIAGNOSE_PREFIX = ACQUISITION_PREFIX + "/sysdiagnose"

# Files of a sysdiagnose that are copies of a device file: (path in the sysdiagnose, device path).
# A trailing '/' maps a whole folder.
DEVICE_COPIES: tuple[tuple[str, str], ...] = (
    ("system_logs.logarchive/Extra/shutdown.log", "/private/var/db/diagnostics/shutdown.log"),
    ("crashes_and_spins/", "/private/var/mobile/Library/Logs/CrashReporter/"),
    ("logs/MobileInstallation/", "/private/var/installd/Library/Logs/MobileInstallation/"),
    ("logs/Accessibility/TCC.db", "/private/var/mobile/Library/TCC/TCC.db"),
)
_MARKERS = ("ps.txt", "sysdiagnose.log", "system_logs.logarchive", "remotectl_dumpstate.txt")
_PEEK_NAMES = 2000  # an archive's first names read to recognise a sysdiagnose (see archive_top)


def sysdiagnose_device_path(relative: str) -> str | None:
    """The device path of a file at `relative` inside a sysdiagnose (top folder already removed)."""
    for inside, device in DEVICE_COPIES:
        if inside.endswith("/"):
            if relative.startswith(inside):
                return normalize_device_path(device + relative[len(inside) :])
        elif relative == inside:
            return device
    return normalize_device_path(posixpath.join(SYSDIAGNOSE_PREFIX, relative))


def _top_folder(names: list[str]) -> str | None:
    """The sysdiagnose_* folder at the top of an archive ('' when the files are at the top), or None."""
    seen: set[tuple[str, str]] = set()
    for name in names:
        parts = name.split("/", 2)
        seen.add((parts[0], parts[1] if len(parts) > 1 else ""))
    for top, second in sorted(seen):
        if top.lower().startswith("sysdiagnose_") and second in _MARKERS:
            return top
    if any(top in _MARKERS for top, _ in seen):
        return ""
    return None


def archive_top(names: ArchiveNames, strict: bool = False) -> str | None:
    """The sysdiagnose's top folder in the archive whose names are `names` (see _top_folder), from its first
    _PEEK_NAMES names; when every one of those lies in one ``sysdiagnose_*`` folder without a marker yet
    (a sysdiagnose's logs can come first, thousands of them), from every name until a marker shows."""
    first = names.peek(max_entries=_PEEK_NAMES, strict=strict)
    top = _top_folder(first)
    if top is not None or len(first) < _PEEK_NAMES:
        return top
    folder = first[0].split("/", 1)[0]
    if not folder.lower().startswith("sysdiagnose_") or any(name.split("/", 1)[0] != folder for name in first):
        return None
    marked = names.first(_marks, strict)
    return folder if marked is not None and marked.split("/", 1)[0] == folder else None


def _marks(name: str) -> bool:
    """Whether a member is one of a sysdiagnose's markers, one folder down."""
    parts = name.split("/", 2)
    return len(parts) > 1 and parts[1] in _MARKERS


def sysdiagnose_mapper(top: str) -> Mapper:
    def mapper(name: str) -> str | None:
        if top:
            if not name.startswith(top + "/"):
                return normalize_device_path(posixpath.join(SYSDIAGNOSE_PREFIX, "outside-top-folder", name))
            name = name[len(top) + 1 :]
        return sysdiagnose_device_path(name)

    return mapper


def _folder_root(path: Path) -> Path | None:
    if not path.is_dir() or path.is_symlink():
        return None

    def looks(folder: Path) -> bool:
        return any((folder / marker).exists() for marker in _MARKERS)

    if path.name.lower().startswith("sysdiagnose_") and looks(path):
        return path
    inner = [c for c in sorted(path.iterdir())[:64] if c.name.lower().startswith("sysdiagnose_") and c.is_dir()]
    if len(inner) == 1 and not inner[0].is_symlink() and looks(inner[0]):
        return inner[0]
    return None


class IosSysdiagnose(AcquisitionKind):
    name = "ios_sysdiagnose"
    platform = "ios"
    specificity = 40
    description = "an iOS sysdiagnose (sysdiagnose_*.tar.gz or its folder)"
    # Its own files, and the device files it keeps a copy of.
    holds = (SYSDIAGNOSE_PREFIX + "/*", *(device + "*" if device.endswith("/") else device for _, device in DEVICE_COPIES))
    # Every sysdiagnose lists the processes running (ps.txt) and keeps the shutdown log.
    essentials = ("processes", "shutdown_log")

    @classmethod
    def detect(cls, path: Path, names: ArchiveNames | None = None) -> bool:
        if path.is_dir():
            return _folder_root(path) is not None
        if not is_archive_file(path):
            return False
        top = archive_top(names if names is not None else ArchiveNames(path))
        # A renamed archive is still recognised by its sysdiagnose_* top folder; files at the top of
        # an archive only count when the archive itself is named like a sysdiagnose.
        return top is not None and (bool(top) or path.name.lower().startswith("sysdiagnose"))

    @classmethod
    def open(cls, path: Path, ctx: OpenContext) -> DeviceFS:
        fs = MountFS(path, ctx.ledger, ctx.limits, ctx.workdir, kind="ios_sysdiagnose")
        if path.is_dir():
            root = _folder_root(path)
            if root is None:
                raise AcquisitionError(f"{path}: not a sysdiagnose folder")
            fs.mount(FolderSource(root, ctx.limits), sysdiagnose_mapper(""))
            return listed(fs, path, ctx.warn)
        top = archive_top(ctx.names if ctx.names is not None else ArchiveNames(path, ctx.limits), strict=True)
        if top is None:
            raise AcquisitionError(f"{path}: no ps.txt or system_logs.logarchive inside; not a sysdiagnose")
        fs.mount(archive_source(path, ctx.limits), sysdiagnose_mapper(top))
        return listed(fs, path, ctx.warn)
