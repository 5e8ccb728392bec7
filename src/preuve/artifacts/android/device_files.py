"""Device files an acquisition carries (a bugreport's FS/ copies, a backup's app data, AndroidQF's tmp/).

Each file under /data yields an :class:`AndroidFile` record with its size,
its modification time as the archive recorded it, and its SHA-256, so file
hash and path indicators match them and the /data/local/tmp rule applies as
it does to AndroidQF's files.json. Zip archives store the device's local time
without a zone; it is reported as UTC, as recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import ClassVar

from preuve.artifacts.android._common import AQF, acquisition_value
from preuve.artifacts.android.files import AndroidFile
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.model import Record


class DeviceFiles(Artifact):
    name = "android_device_files"
    platform = "android"
    title = "Device files in the acquisition (bugreport FS/, backup)"
    paths: ClassVar[tuple[str, ...]] = ("/data/**",)

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        info = ctx.fs.stat(path)
        modified = None
        if info.mtime:
            try:
                modified = datetime.fromtimestamp(info.mtime, UTC)
            except (OverflowError, OSError, ValueError):
                modified = None
        sha = ctx.fs.sha256(path)
        yield AndroidFile(
            locator=ctx.locator(path), path=path, size=info.size, mode=None, owner=None, sha256=sha,
            modified=modified, changed=None,
        )


_TMP_COPIES = f"{AQF}/tmp/"
_DEFAULT_TMP = "/data/local/tmp/"


def _device_tmp_dir(ctx: ArtifactContext) -> str:
    """The phone's temporary folder AndroidQF copied (acquisition.json tmp_dir), /data/local/tmp/ by default."""
    value = acquisition_value(ctx, "tmp_dir")
    if not isinstance(value, str) or not value.startswith("/") or len(value) > 256 or not value.isprintable():
        return _DEFAULT_TMP
    parts = [p for p in value.split("/") if p]
    if any(p in (".", "..") for p in parts):
        return _DEFAULT_TMP
    return "/" + "".join(p + "/" for p in parts)


class AndroidQFTmpCopies(Artifact):
    """AndroidQF pulls every file of the phone's temporary folder into tmp/: the bytes, so their SHA-256.

    files.json lists the same files, usually without hashes; these copies give the hash that file
    indicators match, and the /data/local/tmp rule applies to them at their device path.
    """

    name = "android_tmp_copies"
    platform = "android"
    title = "Copies of the phone's /data/local/tmp files (AndroidQF tmp/)"
    paths: ClassVar[tuple[str, ...]] = (f"{_TMP_COPIES}**",)

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        if not path.startswith(_TMP_COPIES):
            return
        info = ctx.fs.stat(path)
        yield AndroidFile(
            locator=ctx.locator(path), path=_device_tmp_dir(ctx) + path[len(_TMP_COPIES):], size=info.size,
            mode=None, owner=None, sha256=ctx.fs.sha256(path), modified=None, changed=None,
        )
