"""Android bugreport zips (``adb bugreport``): the dumpstate text, FS/ copies of device files.

Members under ``FS/`` are device files dumpstate copied (tombstones, ANR
traces…) and appear at their device paths; the rest (the main
``bugreport-*.txt``, version.txt, dumpstate_log.txt…) at
``/.acquisition/bugreport/<name>``.
"""

from __future__ import annotations

from pathlib import Path

from preuve.evidence.acquisition import AcquisitionKind, OpenContext
from preuve.evidence.android_archive import MountFS
from preuve.evidence.android_layout import aqf_zip_root, is_bugreport_names, mount_bugreport_zip, zip_names
from preuve.evidence.errors import AcquisitionError, EvidenceError
from preuve.evidence.fs import DeviceFS


class AndroidBugreport(AcquisitionKind):
    name = "android_bugreport"
    platform = "android"
    specificity = 55
    description = "an Android bugreport .zip"
    holds = ("/.acquisition/bugreport/*", "/data/*")  # its own files, and the device files dumpstate copied

    @classmethod
    def detect(cls, path: Path) -> bool:
        if not path.is_file():
            return False
        names = zip_names(path, 100_000)
        return names is not None and aqf_zip_root(names) is None and is_bugreport_names(names)

    @classmethod
    def open(cls, path: Path, ctx: OpenContext) -> DeviceFS:
        fs = MountFS(path, ctx.ledger, ctx.limits, ctx.workdir)
        mount_bugreport_zip(fs, path, path.name, ctx.limits)
        try:
            fs.paths()
        except EvidenceError as exc:
            raise AcquisitionError(f"{path}: {exc.reason}") from exc
        for note in fs.notes[:50]:
            ctx.warn(f"{path}: {note}")
        return fs
