"""Native crash reports (tombstones): which process crashed, with which signal, when.

Exploits against media and system services often crash them first; a
tombstone of a privileged process is worth a look. Read from the device's
/data/tombstones (a bugreport's FS/ copy) and from AndroidQF logs/.

Android 12 and later write each crash twice: ``tombstone_NN`` as text and ``tombstone_NN.pb`` as a
protocol buffer (AOSP's ``system/core/debuggerd/proto/tombstone.proto``). The text is read when it
is there; a ``.pb`` whose text is not (a copy that kept only it) is read from its fields, the same
ones the text gives.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.android._common import AQF, parse_date
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.evidence.errors import EvidenceError
from preuve.evidence.formats.protowire import LEN, VARINT, ProtoError, fields, signed32
from preuve.evidence.fs import DeviceFS
from preuve.model import Kind, Observable, Record, Timestamp

_PID = re.compile(r"^pid: (?P<pid>\d+), tid: (?P<tid>\d+), name: (?P<thread>.*?)\s+>>> (?P<proc>.+?) <<<")
_UID = re.compile(r"^uid: (?P<uid>\d+)")
_SIGNAL = re.compile(r"^signal (?P<num>\d+) \((?P<name>\w+)\)")
_TIME = re.compile(r"^Timestamp: (?P<when>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.\d+)?(?P<tz>[+-]\d{4})?")
_MAX_HEADER_LINES = 200
_MAX_PB_BYTES = 64 * 1024 * 1024  # a tombstone's protobuf holds memory dumps and logs: megabytes at most
# tombstone.proto's field numbers: Tombstone, and its Signal.
_PB_TIMESTAMP, _PB_PID, _PB_UID, _PB_COMMAND_LINE, _PB_SIGNAL, _PB_ABORT = 4, 5, 7, 9, 10, 14
_PB_SIGNAL_NUMBER, _PB_SIGNAL_NAME = 1, 2


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
        found = super().locate(fs)
        texts = {p for p in found if not p.endswith(".pb")}
        return [p for p in found if not p.endswith(".pb") or p[: -len(".pb")] not in texts]

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        if path.endswith(".pb"):
            yield from self._parse_pb(ctx, path)
            return
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

    def _parse_pb(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        """A tombstone's protobuf: the fields its text gives (the command line joined as the text's
        ``>>> … <<<`` shows it)."""
        data = ctx.fs.read_bytes(path, _MAX_PB_BYTES)
        process = pid = uid = signal = abort = when = None
        command: list[str] = []
        try:
            for number, wire, value in fields(data):
                if wire == VARINT and isinstance(value, int):
                    if number == _PB_PID:
                        pid = value & 0xFFFFFFFF
                    elif number == _PB_UID:
                        uid = value & 0xFFFFFFFF
                elif wire == LEN and isinstance(value, bytes):
                    if number == _PB_COMMAND_LINE:
                        command.append(value.decode("utf-8", "replace"))
                    elif number == _PB_TIMESTAMP:
                        found = _TIME.match("Timestamp: " + value.decode("utf-8", "replace").strip())
                        if found is not None:
                            when = parse_date(found["when"].replace(" ", "T") + (found["tz"] or "+0000"))
                    elif number == _PB_ABORT:
                        abort = value.decode("utf-8", "replace").strip() or None
                    elif number == _PB_SIGNAL:
                        signal = _pb_signal(value)
        except ProtoError as exc:
            raise EvidenceError(path, f"not a tombstone protobuf ({exc})") from exc
        process = " ".join(command).strip() or None
        if process is None and signal is None:
            ctx.warn(f"{path}: no crash header found")
            return
        yield Tombstone(
            locator=ctx.locator(path), process=process, pid=pid, uid=uid, signal=signal, abort_message=abort,
            when=when,
        )


def _pb_signal(message: bytes) -> str | None:
    """A Signal message as the text writes it: "SIGSEGV (11)"."""
    number: int | None = None
    name = ""
    for field, wire, value in fields(message):
        if field == _PB_SIGNAL_NUMBER and wire == VARINT and isinstance(value, int):
            number = signed32(value)
        elif field == _PB_SIGNAL_NAME and wire == LEN and isinstance(value, bytes):
            name = value.decode("utf-8", "replace").strip()
    if number is None and not name:
        return None
    return f"{name or '?'} ({number if number is not None else '?'})"
