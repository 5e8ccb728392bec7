"""Mounted filesystems: AndroidQF mounts.json (a list of ``mount`` lines) or a mounts text file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from preuve.artifacts.android._common import AQF, load_json
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.evidence.errors import EvidenceError
from preuve.model import Record

# "/dev/block/dm-0 on /system type ext4 (ro,seclabel)" (mount) or "/dev/block/dm-0 /system ext4 ro,seclabel 0 0"
_MOUNT = re.compile(r"^(?P<dev>\S+) on (?P<point>\S+) type (?P<fs>\S+) \((?P<opts>[^)]*)\)")
_PROC = re.compile(r"^(?P<dev>\S+) (?P<point>/\S*) (?P<fs>\S+) (?P<opts>\S+)")


@dataclass(kw_only=True)
class Mount(Record):
    record_type: ClassVar[str] = "android:mounts:mount"
    device: str
    mount_point: str
    fs_type: str
    options: tuple[str, ...]

    @property
    def read_write(self) -> bool:
        return "rw" in self.options

    def summary(self) -> str:
        return f"{self.device} on {self.mount_point} ({self.fs_type}, {','.join(self.options)})"


def parse_mount_line(line: str) -> tuple[str, str, str, tuple[str, ...]] | None:
    match = _MOUNT.match(line.strip()) or _PROC.match(line.strip())
    if match is None:
        return None
    return match["dev"], match["point"], match["fs"], tuple(match["opts"].split(","))


class Mounts(Artifact):
    name = "android_mounts"
    platform = "android"
    title = "Mounted filesystems"
    paths: ClassVar[tuple[str, ...]] = (f"{AQF}/mounts.json", f"{AQF}/mounts.txt")

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        lines: list[tuple[int | None, str | None, str]]
        if path.endswith(".json"):
            data = load_json(ctx, path)
            if not isinstance(data, list):
                raise EvidenceError(path, "expected a JSON list of mount lines")
            lines = [(None, f"[{i}]", v) for i, v in enumerate(data) if isinstance(v, str)]
        else:
            lines = [(n, None, v) for n, v in ctx.fs.read_text_lines(path)]
        for number, key, line in lines:
            parsed = parse_mount_line(line)
            if parsed is None:
                continue
            dev, point, fs_type, opts = parsed
            yield Mount(
                locator=ctx.locator(path, line=number, key_path=key),
                device=dev, mount_point=point, fs_type=fs_type, options=opts,
            )
