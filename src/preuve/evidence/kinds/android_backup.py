"""Android backups: an ``adb backup`` .ab file (plain or password-encrypted) or its unpacked folder.

The .ab stream is decrypted (when a password is given) and inflated into a
tar in the run's workdir, never beside the evidence; its members
(``apps/<package>/<token>/…``) appear at their device paths. An unpacked
backup folder (``apps/…`` from ``abe`` or ``tar``) is mapped the same way.
"""

from __future__ import annotations

from pathlib import Path

from preuve.evidence.acquisition import AcquisitionKind, OpenContext
from preuve.evidence.fs import DeviceFS, MountFS, listed
from preuve.evidence.kinds.android_layout import backup_mapper, mount_backup
from preuve.evidence.policy import open_regular_file
from preuve.evidence.sources.ab import MAGIC
from preuve.evidence.sources.archive import ArchiveNames
from preuve.evidence.sources.folder import FolderSource


def _is_unpacked_backup(path: Path) -> bool:
    apps = path / "apps"
    if not path.is_dir() or not apps.is_dir():
        return False
    for index, child in enumerate(sorted(apps.iterdir())):
        if index > 200:
            break
        if (child / "_manifest").is_file() or any((child / t).is_dir() for t in ("r", "f", "db", "sp", "d_f")):
            return True
    return False


class AndroidBackup(AcquisitionKind):
    name = "android_backup"
    platform = "android"
    specificity = 55
    description = "an Android backup (.ab, plain or with --password-file, or its unpacked apps/ folder)"
    # The apps' own files at their device paths (adb backup keeps app data, never system files).
    holds = ("/data/data/*", "/data/user_de/*", "/storage/emulated/*", "/.acquisition/*backup*")

    @classmethod
    def detect(cls, path: Path, names: ArchiveNames | None = None) -> bool:
        if path.is_file():
            with open(path, "rb") as stream:
                return stream.read(len(MAGIC)) == MAGIC
        return _is_unpacked_backup(path)

    @classmethod
    def open(cls, path: Path, ctx: OpenContext) -> DeviceFS:
        fs = MountFS(path, ctx.ledger, ctx.limits, ctx.workdir, kind="android")
        if path.is_dir():
            fs.mount(FolderSource(path, ctx.limits, path.name), backup_mapper)
        else:
            mount_backup(
                fs, lambda: open_regular_file(path, str(path)), path.name, ctx.limits, ctx.workdir,
                ctx.secrets.password,
            )
        return listed(fs, path, ctx.warn)
