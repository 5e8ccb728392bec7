"""Native crash reports (tombstones): which process crashed, with which signal, when.

Exploits against media and system services often crash them first; a
tombstone of a privileged process is worth a look. Read from the device's
/data/tombstones (a bugreport's FS/ copy) and from AndroidQF logs/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.android._common import AQF, parse_date
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.evidence.fs import DeviceFS
from preuve.model import Kind, Observable, Record, Timestamp

_PID = re.compile(r"^pid: (?P<pid>\d+), tid: (?P<tid>\d+), name: (?P<thread>.*?)\s+>>> (?P<proc>.+?) <<<")
_UID = re.compile(r"^uid: (?P<uid>\d+)")
_SIGNAL = re.compile(r"^signal (?P<num>\d+) \((?P<name>\w+)\)")
_TIME = re.compile(r"^Timestamp: (?P<when>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.\d+)?(?P<tz>[+-]\d{4})?")
_MAX_HEADER_LINES = 200


@dataclass(kw_only=True)
class Tombstone(Record):
    record_type: ClassVar[str] = "android:tombstones:tombstone"
    process: str | None
    pid: int | None
    uid: int | None
    signal: str | None
    abort_message: str | None
    when: datetime | None

    def observables(self) -> Iterator[Observable]:
        if self.process:
            yield Observable(Kind.PROCESS, self.process)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.when is not None:
            yield Timestamp(self.when, "Native crash")

    def summary(self) -> str:
        return f"Crash of {self.process or '?'} (uid {self.uid}, {self.signal or 'no signal'})"


class Tombstones(Artifact):
    name = "android_tombstones"
    platform = "android"
    title = "Native crash reports (tombstones)"
    paths: ClassVar[tuple[str, ...]] = (
        "/data/tombstones/tombstone_*",
        f"{AQF}/logs/**/tombstone_*",
    )

    def locate(self, fs: DeviceFS) -> list[str]:
        return [p for p in super().locate(fs) if not p.endswith(".pb")]

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        process = thread_pid = uid = signal = abort = when = None
        for number, line in ctx.fs.read_text_lines(path):
            if number > _MAX_HEADER_LINES:
                break
            if (m := _PID.match(line)) is not None:
                process, thread_pid = m["proc"].strip(), int(m["pid"])
            elif (m := _UID.match(line)) is not None:
                uid = int(m["uid"])
            elif (m := _SIGNAL.match(line)) is not None and signal is None:
                signal = f"{m['name']} ({m['num']})"
            elif line.startswith("Abort message: "):
                abort = line[len("Abort message: ") :].strip().strip("'")
            elif (m := _TIME.match(line)) is not None:
                when = parse_date(m["when"].replace(" ", "T") + (m["tz"] or "+0000"))
        if process is None and signal is None:
            ctx.warn(f"{path}: no crash header found")
            return
        yield Tombstone(
            locator=ctx.locator(path), process=process, pid=thread_pid, uid=uid, signal=signal,
            abort_message=abort, when=when,
        )
