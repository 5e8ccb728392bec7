"""Where the parts of Android acquisitions appear in the device tree, and how they are mounted.

- AndroidQF files: ``/.acquisition/androidqf/<name>`` (packages.json, getprop.txt, dumpsys.txt…).
- A bugreport zip: ``FS/<path>`` members at ``/<path>`` (the device files dumpstate copied),
  everything else (the dumpstate text, version.txt…) at ``/.acquisition/bugreport/<name>``.
- An adb backup: app data at its device paths (see :func:`preuve.evidence.sources.ab.device_path`).

The same artifact therefore reads the same path whether a bugreport or a
backup was given alone or found inside an AndroidQF acquisition.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from preuve.evidence.errors import AcquisitionError, EvidenceError
from preuve.evidence.fs import MountFS
from preuve.evidence.limits import Limits
from preuve.evidence.policy import materialize
from preuve.evidence.sources.ab import AB_PREFIX, AbSource
from preuve.evidence.sources.ab import device_path as ab_device_path
from preuve.evidence.sources.archive import zip_names
from preuve.evidence.sources.base import Mapper
from preuve.evidence.sources.zip import ZipSource

AQF_PREFIX = "/.acquisition/androidqf"
BUGREPORT_PREFIX = "/.acquisition/bugreport"

# Files whose presence at the top of a folder or zip says "AndroidQF" (any one of them: an
# acquisition that holds only some of its files is still read). Names AndroidQF's modules write.
AQF_MARKERS = ("acquisition.json", "packages.json", "getprop.txt", "processes.txt", "dumpsys.txt", "hashes.csv")
AQF_FILES = (*AQF_MARKERS, "processes.json", "settings_global.txt", "settings_secure.txt", "settings_system.txt",
             "backup.ab", "bugreport.zip", "files.json", "mounts.json", "mounts.txt", "root_binaries.json",
             "selinux.txt", "services.txt", "env.txt", "logcat.txt", "adb_host_key.pub", "command.log")
AQF_FILE_PATTERNS = ("settings_*.txt",)
# Names AndroidQF writes that other acquisitions share (a sysdiagnose has ps.txt and logs/): they
# never say "AndroidQF" alone.
AQF_SHARED = ("ps.txt", "logs", "tmp")


def aqf_mapper(strip: str = "") -> Mapper:
    def mapper(name: str) -> str | None:
        if strip:
            if not name.startswith(strip + "/"):
                return None
            name = name[len(strip) + 1 :]
        return f"{AQF_PREFIX}/{name}"

    return mapper


def bugreport_mapper(name: str) -> str | None:
    if name.startswith("FS/") and len(name) > 3:
        return "/" + name[3:]
    return f"{BUGREPORT_PREFIX}/{name}"


def bugreport_mapper_under(strip: str) -> Mapper:
    """The bugreport mapper for members under one top folder (the others are left out)."""
    if not strip:
        return bugreport_mapper

    def mapper(name: str) -> str | None:
        if not name.startswith(strip + "/"):
            return None
        return bugreport_mapper(name[len(strip) + 1 :])

    return mapper


def backup_mapper(name: str) -> str | None:
    return ab_device_path(name, AB_PREFIX)


def is_aqf_top(top: Iterable[str]) -> bool:
    """Whether these top-level names (files and folders) are those of an AndroidQF acquisition."""
    names = set(top)
    if is_bugreport_names(list(names)):
        return False
    return any(n in AQF_FILES or any(fnmatch.fnmatchcase(n, p) for p in AQF_FILE_PATTERNS) for n in names)


def _single_folder(names: list[str]) -> str | None:
    """The one folder every member lies under, or None. (A member lies under folder F when it is F or
    begins with "F/": one test a name, not a split; a phone's file system as a zip lists hundreds of
    thousands of names, all under one folder, and every kind's detection looks at them.)"""
    first = next((n for n in names if n), None)
    if first is None:
        return None
    folder = first.split("/", 1)[0]
    under = folder + "/"
    for n in names:
        if n and n != folder and not n.startswith(under):
            return None
    return folder


def _inner_tops(names: list[str], folder: str) -> set[str]:
    """The first part of each name under `folder` (those of _inner), each cut once."""
    cut = len(folder) + 1
    tops: set[str] = set()
    for n in names:
        if len(n) > cut and n.startswith(folder) and n[cut - 1] == "/":
            end = n.find("/", cut)
            tops.add(n[cut:end] if end >= 0 else n[cut:])
    return tops


def aqf_zip_root(names: list[str]) -> str | None:
    """'' when AndroidQF files lie at the top of the zip, the folder name when under one folder, else None."""
    if is_aqf_top({n[:end] if (end := n.find("/")) >= 0 else n for n in names}):
        return ""
    folder = _single_folder(names)
    if folder is not None and is_aqf_top(_inner_tops(names, folder)):
        return folder
    return None


def is_bugreport_names(names: list[str]) -> bool:
    """Whether these member names (relative to the bugreport's top) are those of ``adb bugreport``."""
    return _bugreport_top({n for n in names if "/" not in n}, lambda: any(n.startswith("FS/") or n == "FS" for n in names))


def _bugreport_top(tops: set[str], has_fs: Callable[[], bool]) -> bool:
    """is_bugreport_names of the names at the top (`tops`); `has_fs` tells whether one is FS or under it."""
    if "main_entry.txt" in tops:
        return True
    if any(n.startswith("dumpState_") and n.endswith(".log") for n in tops):  # Samsung's name for the main text
        return True
    return any(n.startswith(("bugreport-", "bugreport_", "dumpstate")) and n.endswith(".txt") for n in tops) and (
        "version.txt" in tops or has_fs()
    )


def _is_bugreport_under(names: list[str], folder: str) -> bool:
    """is_bugreport_names of the names under `folder` (those of _inner), with no name cut but those at its top."""
    cut = len(folder) + 1
    under = folder + "/"
    tops = {n[cut:] for n in names if len(n) > cut and n.startswith(under) and n.find("/", cut) < 0}
    fs_folder = under + "FS"
    return _bugreport_top(tops, lambda: any(n == fs_folder or n.startswith(fs_folder + "/") for n in names))


def bugreport_zip_root(names: list[str]) -> str | None:
    """'' when the bugreport's files lie at the top of the zip, the folder name when all lie under
    one folder (a bugreport zipped again from its unpacked folder), else None."""
    if is_bugreport_names(names):
        return ""
    folder = _single_folder(names)
    if folder is not None and _is_bugreport_under(names, folder):
        return folder
    return None


def folder_names(path: Path, limit: int = 10_000) -> list[str]:
    """Names at the top of a folder (folders as ``name/``), at most `limit`; [] when unreadable."""
    out: list[str] = []
    try:
        for child in sorted(path.iterdir())[:limit]:
            out.append(child.name + "/" if child.is_dir() and not child.is_symlink() else child.name)
    except OSError:
        return []
    return out


def bugreport_folder_root(path: Path) -> Path | None:
    """The folder holding an unpacked bugreport: `path` itself or its only subfolder."""
    if not path.is_dir():
        return None
    names = folder_names(path)
    if is_bugreport_names(names):
        return path
    folders = [n for n in names if n.endswith("/")]
    if len(folders) == 1 and len(names) == 1:
        inner = path / folders[0].rstrip("/")
        if is_bugreport_names(folder_names(inner)):
            return inner
    return None


def mount_backup(
    fs: MountFS, opener: Callable[[], BinaryIO], label: str, limits: Limits, workdir: Path, password: str | None,
) -> None:
    """Mount an Android backup's members (its stream decrypted and inflated into the workdir)."""
    fs.mount(AbSource(opener, workdir / f"backup-{len(fs.mounts)}", limits, label, password), backup_mapper)


def mount_bugreport_zip(fs: MountFS, path: Path, label: str, limits: Limits) -> None:
    names = zip_names(path, limits.max_archive_entries, limits)
    strip = bugreport_zip_root(names) if names is not None else None
    fs.mount(ZipSource(path, limits, label), bugreport_mapper_under(strip or ""))


def mount_nested(fs: MountFS, limits: Limits, workdir: Path, password: str | None, warn: Callable[[str], None]) -> None:
    """Mount the bugreport.zip and backup.ab an AndroidQF acquisition holds, each failing alone."""
    fs.paths()  # the acquisition's own files, listed first: they win over the same path in a nested part
    device = f"{AQF_PREFIX}/bugreport.zip"
    if device in fs:
        source, name = fs.member(device)
        label = source.source_name(name)
        try:
            local = source.local_file(name)
            if local is None:
                with source.open(name, device) as stream:
                    local = materialize(stream, workdir, limits.max_file_bytes, label, "bugreport.zip")
            mount_bugreport_zip(fs, local, label, limits)
        except (AcquisitionError, EvidenceError, OSError) as exc:
            warn(f"{label}: the bugreport inside the acquisition cannot be read ({exc}); analysed without it")
    device = f"{AQF_PREFIX}/backup.ab"
    if device in fs:
        source, name = fs.member(device)
        label = source.source_name(name)
        try:
            mount_backup(fs, lambda: source.open(name, device), label, limits, workdir, password)
        except (AcquisitionError, EvidenceError, OSError) as exc:
            warn(f"{label}: the backup inside the acquisition cannot be read ({exc}); analysed without it")
