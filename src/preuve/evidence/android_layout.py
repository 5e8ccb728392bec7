"""Where the parts of Android acquisitions appear in the device tree, and how they are mounted.

- AndroidQF files: ``/.acquisition/androidqf/<name>`` (packages.json, getprop.txt, dumpsys.txt…).
- A bugreport zip: ``FS/<path>`` members at ``/<path>`` (the device files dumpstate copied),
  everything else (the dumpstate text, version.txt…) at ``/.acquisition/bugreport/<name>``.
- An adb backup: app data at its device paths (see :func:`preuve.evidence.android_ab.device_path`).

The same artifact therefore reads the same path whether a bugreport or a
backup was given alone or found inside an AndroidQF acquisition.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from preuve.evidence.android_ab import AB_PREFIX, unpack_to_tar
from preuve.evidence.android_ab import device_path as ab_device_path
from preuve.evidence.android_archive import (
    MountFS,
    PathMapper,
    TarSource,
    ZipSource,
    materialize,
)
from preuve.evidence.errors import AcquisitionError, EvidenceError
from preuve.evidence.fs import open_regular_file
from preuve.evidence.limits import Limits

AQF_PREFIX = "/.acquisition/androidqf"
BUGREPORT_PREFIX = "/.acquisition/bugreport"

# Files whose presence at the top of a folder or zip says "AndroidQF".
AQF_MARKERS = ("acquisition.json", "packages.json", "getprop.txt", "processes.txt", "dumpsys.txt", "hashes.csv")


def aqf_mapper(strip: str = "") -> PathMapper:
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


def backup_mapper(name: str) -> str | None:
    return ab_device_path(name, AB_PREFIX)


def zip_names(path: Path, limit: int) -> list[str] | None:
    """Member names of a zip (at most `limit`), or None when it is not one."""
    try:
        with open_regular_file(path, str(path)) as stream:
            if stream.read(4) != b"PK\x03\x04":
                return None
            stream.seek(0)
            with zipfile.ZipFile(stream) as archive:
                names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EvidenceError, ValueError, EOFError):
        return None
    return names[:limit]


def aqf_zip_root(names: list[str]) -> str | None:
    """'' when AndroidQF files lie at the top of the zip, the folder name when under one folder, else None."""
    top = {n.split("/", 1)[0] for n in names}
    if any(m in top for m in AQF_MARKERS):
        return ""
    folders = {n.split("/", 1)[0] for n in names if "/" in n}
    if len(folders) == 1:
        folder = next(iter(folders))
        inner = {n.split("/", 2)[1] for n in names if n.startswith(folder + "/") and n.count("/") >= 1}
        if sum(m in inner for m in AQF_MARKERS) >= 2:
            return folder
    return None


def is_bugreport_names(names: list[str]) -> bool:
    tops = {n for n in names if "/" not in n}
    if "main_entry.txt" in tops:
        return True
    return any(n.startswith(("bugreport-", "bugreport_", "dumpstate")) and n.endswith(".txt") for n in tops) and (
        "version.txt" in tops or any(n.startswith("FS/") for n in names)
    )


def mount_backup(
    fs: MountFS, stream_opener: Callable[[], BinaryIO], label: str, limits: Limits, workdir: Path,
    password: str | None,
) -> None:
    """Decrypt/inflate a backup stream into the workdir and mount its tar members."""
    folder = workdir / f"backup-{len(fs.sources)}"
    folder.mkdir()
    target = folder / "backup.tar"
    try:
        with stream_opener() as stream:
            _, problem = unpack_to_tar(stream, target, limits, label, password)
    except EvidenceError as exc:  # a bound was exceeded: refuse the backup rather than fill the disk
        target.unlink(missing_ok=True)
        raise AcquisitionError(f"{label}: {exc.reason}") from exc
    if problem is not None:
        fs.notes.append(f"{label}: {problem}")
        fs.unreadable.append(f"{label}: {problem}")  # truncated or damaged: the run is incomplete
    fs.mount(TarSource(target, backup_mapper, limits, label))


def mount_bugreport_zip(fs: MountFS, path: Path, label: str, limits: Limits) -> None:
    fs.mount(ZipSource(path, bugreport_mapper, limits, label))


def mount_nested(fs: MountFS, limits: Limits, workdir: Path, password: str | None, warn: Callable[[str], None]) -> None:
    """Mount the bugreport.zip and backup.ab an AndroidQF acquisition holds, each failing alone."""
    primary = fs.sources[0]
    listed = {e.device_path for e in primary.entries()}
    for name in ("bugreport.zip",):
        device = f"{AQF_PREFIX}/{name}"
        if device not in listed:
            continue
        label = primary.source_name(device)
        try:
            local = primary.local_file(device)
            if local is None:
                with primary.open(device) as stream:
                    local = materialize(stream, workdir, limits.max_file_bytes, label, "bugreport.zip")
            mount_bugreport_zip(fs, local, label, limits)
        except (AcquisitionError, EvidenceError, OSError) as exc:
            warn(f"{label}: the bugreport inside the acquisition cannot be read ({exc}); analysed without it")
    device = f"{AQF_PREFIX}/backup.ab"
    if device in listed:
        label = primary.source_name(device)
        try:
            mount_backup(fs, lambda: primary.open(device), label, limits, workdir, password)
        except (AcquisitionError, EvidenceError, OSError) as exc:
            warn(f"{label}: the backup inside the acquisition cannot be read ({exc}); analysed without it")

