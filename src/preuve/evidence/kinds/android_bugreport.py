"""Android bugreports (``adb bugreport``): a zip, a zip whose files lie under one top folder, or
the unpacked folder.

Members under ``FS/`` are device files dumpstate copied (tombstones, ANR traces,
``/proc/<pid>/mountinfo``…) and appear at their device paths; the rest (the main
``bugreport-*.txt``, main_entry.txt, version.txt, dumpstate_log.txt…) at
``/.acquisition/bugreport/<name>``. A folder's file times are those the unpacking left, not the
device's: the run says so.
"""

from __future__ import annotations

from pathlib import Path

from preuve.evidence.acquisition import AcquisitionKind, OpenContext
from preuve.evidence.android_archive import FolderSource, MountFS
from preuve.evidence.android_layout import (
    aqf_zip_root,
    bugreport_folder_root,
    bugreport_mapper,
    bugreport_zip_root,
    mount_bugreport_zip,
    zip_names,
)
from preuve.evidence.errors import AcquisitionError, EvidenceError
from preuve.evidence.fs import DeviceFS


class AndroidBugreport(AcquisitionKind):
    name = "android_bugreport"
    platform = "android"
    specificity = 55
    description = "an Android bugreport (.zip or its unpacked folder)"

    @classmethod
    def detect(cls, path: Path) -> bool:
        if path.is_dir():
            return bugreport_folder_root(path) is not None
        if not path.is_file():
            return False
        names = zip_names(path, 100_000)
        return names is not None and aqf_zip_root(names) is None and bugreport_zip_root(names) is not None

    @classmethod
    def open(cls, path: Path, ctx: OpenContext) -> DeviceFS:
        fs = MountFS(path, ctx.ledger, ctx.limits, ctx.workdir)
        root = bugreport_folder_root(path)
        if root is not None:
            fs.mount(FolderSource(root, bugreport_mapper, ctx.limits, root.name))
            ctx.warn(f"{path}: an unpacked bugreport: file times are those the unpacking left, not the device's "
                     "(analyse the original zip to keep them)")
        else:
            mount_bugreport_zip(fs, path, path.name, ctx.limits)
        try:
            fs.paths()
        except EvidenceError as exc:
            raise AcquisitionError(f"{path}: {exc.reason}") from exc
        for note in fs.notes[:50]:
            ctx.warn(f"{path}: {note}")
        return fs
