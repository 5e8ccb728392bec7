"""Device files an acquisition carries (a bugreport's FS/ copies, a backup's app data): a file timeline.

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
