"""Mounted filesystems: AndroidQF mounts.json (a list of ``mount`` lines), a mounts text file, and
the ``/proc/<pid>/mountinfo`` files a bugreport holds (``FS/proc/<pid>/mountinfo``).

dumpstate copies the mountinfo of one process per mount namespace, and most namespaces repeat
the same mounts. The mountinfo of the lowest process id read (usually init's) is the baseline:
every mount of it is a record; another namespace's file yields only the mounts the baseline does
not have (same device numbers, root, mount point, source, type and options), so a read-write
system partition seen in one app's namespace is still reported, and the 300 copies of the same
read-only /system are not. Each record is a line of its own file.

AndroidQF's mounts.json holds the ``mount | grep /system`` lines and then the ``/proc/mounts``
lines of the same command (only byte-identical lines are dropped), so each mount is usually there
twice in two spellings: a mount with the same device, mount point and options as an earlier line
of the same file is that mount again, and only its first line is a record.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from preuve.artifacts.android._common import AQF, load_json
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.evidence.errors import EvidenceError
from preuve.evidence.fs import DeviceFS
from preuve.model import Kind, Locator, Observable, Record

# "/dev/block/dm-0 on /system type ext4 (ro,seclabel)" (mount) or "/dev/block/dm-0 /system ext4 ro,seclabel 0 0"
_MOUNT = re.compile(r"^(?P<dev>\S+) on (?P<point>\S+) type (?P<fs>\S+) \((?P<opts>[^)]*)\)")
_PROC = re.compile(r"^(?P<dev>\S+) (?P<point>/\S*) (?P<fs>\S+) (?P<opts>\S+)(?: \d+ \d+)?$")


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

    def observables(self) -> Iterator[Observable]:
        # An implant's folder mounted over a system path, or a loop device backed by its file.
        yield Observable(Kind.FILE_PATH, self.mount_point)
        if self.device.startswith("/") and self.device != self.mount_point:
            yield Observable(Kind.FILE_PATH, self.device)

    def summary(self) -> str:
        return f"{self.device} on {self.mount_point} ({self.fs_type}, {','.join(self.options)})"


def parse_mount_line(line: str) -> tuple[str, str, str, tuple[str, ...]] | None:
    match = _MOUNT.match(line.strip()) or _PROC.match(line.strip())
    if match is None:
        return None
    return match["dev"], match["point"], match["fs"], tuple(match["opts"].split(","))


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes (\\040…)."""
    if "\\" not in field:
        return field
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), field)


def parse_mountinfo_line(line: str) -> tuple[tuple[str, ...], tuple[str, str, str, tuple[str, ...]]] | None:
    """(identity, (source, mount point, type, options)) of a /proc/<pid>/mountinfo line, or None.

    The options are those ``mount`` would show for it: ``rw`` only when both the mount and its
    superblock are writable (the kernel's own rule for /proc/mounts), then the mount's flags,
    then the superblock's options.
    """
    fields = line.split()
    try:
        dash = fields.index("-", 6)
    except ValueError:
        return None
    if len(fields) < dash + 4 or not fields[0].isdigit() or not fields[1].isdigit():
        return None
    mount_opts = fields[5].split(",")
    super_opts = fields[dash + 3].split(",")
    writable = "rw" in mount_opts and "rw" in super_opts
    options = ["rw" if writable else "ro"]
    for option in mount_opts + super_opts:
        if option not in ("rw", "ro") and option not in options:
            options.append(option)
    point, source, fs_type = _unescape(fields[4]), _unescape(fields[dash + 2]), fields[dash + 1]
    identity = (fields[2], fields[3], point, source, fs_type, fields[5], fields[dash + 3])
    return identity, (source, point, fs_type, tuple(options))


def _pid_of(path: str) -> int:
    part = path.split("/")[-2] if path.count("/") >= 2 else ""
    return int(part) if part.isdigit() else -1


class Mounts(Artifact):
    name = "android_mounts"
    platform = "android"
    title = "Mounted filesystems"
    paths: ClassVar[tuple[str, ...]] = (f"{AQF}/mounts.json", f"{AQF}/mounts.txt", "/proc/*/mountinfo")

    def locate(self, fs: DeviceFS) -> list[str]:
        found = super().locate(fs)
        infos = sorted((p for p in found if p.endswith("/mountinfo")), key=lambda p: (_pid_of(p), p))
        return [p for p in found if not p.endswith("/mountinfo")] + infos

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        if path.endswith("/mountinfo"):
            yield from self._mountinfo(ctx, path)
            return
        lines: list[tuple[int | None, str | None, str]]
        if path.endswith(".json"):
            data = load_json(ctx, path)
            if not isinstance(data, list):
                raise EvidenceError(path, "expected a JSON list of mount lines")
            lines = [(None, f"[{i}]", v) for i, v in enumerate(data) if isinstance(v, str)]
        else:
            lines = [(n, None, v) for n, v in ctx.fs.read_text_lines(path)]
        seen: set[tuple[str, str, tuple[str, ...]]] = set()
        for number, key, line in lines:
            parsed = parse_mount_line(line)
            if parsed is None:
                continue
            dev, point, fs_type, opts = parsed
            if (dev, point, opts) in seen:  # AndroidQF lists `mount` and then /proc/mounts: the same mount twice
                continue
            seen.add((dev, point, opts))
            yield Mount(
                locator=ctx.locator(path, line=number, key_path=key),
                device=dev, mount_point=point, fs_type=fs_type, options=opts,
            )

    def _mountinfo(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        infos = [p for p in self.locate(ctx.fs) if p.endswith("/mountinfo")]
        baseline: set[tuple[str, ...]] = set()
        if infos and infos[0] != path:
            for _, line in ctx.fs.read_text_lines(infos[0]):
                parsed = parse_mountinfo_line(line)
                if parsed is not None:
                    baseline.add(parsed[0])
        sha = ctx.fs.sha256(path)
        for number, line in ctx.fs.read_text_lines(path):
            parsed = parse_mountinfo_line(line)
            if parsed is None:
                if line.strip():
                    ctx.warn(f"{path}:{number}: not a mountinfo line, skipped")
                continue
            identity, (dev, point, fs_type, opts) = parsed
            if identity in baseline:
                continue
            baseline.add(identity)  # the same mount twice in one namespace (stacked mounts) is one record
            yield Mount(locator=Locator(path, sha, line=number), device=dev, mount_point=point, fs_type=fs_type,
                        options=opts)
