"""shutdown.log: the processes still running when the phone shut down, and each reboot.

When iOS shuts down it logs, at each wait, the clients that still hold it up
(``remaining client pid: N (path)``) and then ``SIGTERM: [unix time]``.
Kaspersky (iShutdown, 2024) showed that Pegasus, Reign and Predator leave
traces here: their implants ran from ``/private/var/db/`` or
``/private/var/tmp/`` and were "sticky", delaying reboots. This artifact
yields one record per client per shutdown (with the reboot time and how many
waits there were) and one record per reboot, for the rules and the timeline.

Recent iOS versions write a client as its program's path followed by a UUID
component (``/usr/sbin/filecoordinationd/<UUID>``); the program is that path
without it. iOS 26 also rotates the log (``shutdown.0.log``…): every rotation
is read, each as its own evidence file.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.artifacts.timeconv import from_unix
from preuve.evidence.kinds.ios_sysdiagnose import SYSDIAGNOSE_PREFIX
from preuve.model import Kind, Locator, Observable, Record, Timestamp

# The client is in brackets; anything a later version writes after them is not part of it.
_CLIENT = re.compile(r"remaining client pid:\s*(\d+)\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)")
_SIGTERM = re.compile(r"^\s*SIGTERM:\s*\[(\d+)\]")
_STILL_HERE = "these clients are still here"
_MAX_CLIENTS_PER_SHUTDOWN = 5000
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\Z")


def program_path(client: str) -> str:
    """The program a client names: the client without the ``/<UUID>`` component recent iOS versions add."""
    head, sep, last = client.rstrip("/").rpartition("/")
    return head if sep and head and _UUID.match(last) else client


@dataclass(kw_only=True)
class ShutdownClient(Record):
    """A process that was still running (holding up the shutdown) before a reboot."""

    record_type: ClassVar[str] = "ios:shutdown_log:client"
    pid: int
    client_path: str  # as logged, with the UUID component recent iOS versions add
    program_path: str  # the program: the client without that component
    process_name: str
    reboot_time: datetime | None
    times_listed: int
    waits_in_shutdown: int

    def observables(self) -> Iterator[Observable]:
        if self.program_path:
            yield Observable(Kind.FILE_PATH, self.program_path)
        # Every component of the path is compared with process names, as MVT does: an implant's
        # folder is often named after it (…/com.apple.xpc.roleaccountd.staging/…).
        if self.process_name:
            yield Observable(Kind.PROCESS, self.process_name)
        seen = {self.process_name}
        for part in self.program_path.split("/"):
            if part and part not in seen:
                seen.add(part)
                yield Observable(Kind.PROCESS, part)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.reboot_time is not None:
            yield Timestamp(self.reboot_time, f"Still running at shutdown: {self.process_name}")

    def summary(self) -> str:
        return f"{self.client_path} (pid {self.pid}) still running at shutdown, listed {self.times_listed} times"


@dataclass(kw_only=True)
class Reboot(Record):
    """One shutdown of the phone: when, how many waits for sticky clients, and which clients."""

    record_type: ClassVar[str] = "ios:shutdown_log:reboot"
    reboot_time: datetime | None
    waits: int
    clients: tuple[str, ...]

    def timestamps(self) -> Iterator[Timestamp]:
        if self.reboot_time is not None:
            yield Timestamp(self.reboot_time, "Reboot (shutdown.log)")

    def summary(self) -> str:
        return f"Reboot after {self.waits} waits for {len(self.clients)} clients"


class ShutdownLog(Artifact):
    name = "shutdown_log"
    platform = "ios"
    title = "Processes running at shutdown (shutdown.log)"
    paths: ClassVar[tuple[str, ...]] = (
        "/private/var/db/diagnostics/shutdown.log",
        "/private/var/db/diagnostics/shutdown.*.log",
        # rotations in a sysdiagnose (only shutdown.log itself is placed at its device path)
        SYSDIAGNOSE_PREFIX + "/system_logs.logarchive/Extra/shutdown.*.log",
    )

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        sha = ctx.fs.sha256(path)
        # Per shutdown: (pid, path) -> [first line, times listed]; kept in order of first sighting.
        clients: dict[tuple[int, str], list[int]] = {}
        waits = 0
        for number, line in ctx.fs.read_text_lines(path):
            if _STILL_HERE in line:
                waits += 1
                continue
            match = _CLIENT.search(line)
            if match:
                key = (int(match.group(1)), match.group(2).strip())
                seen = clients.get(key)
                if seen is not None:
                    seen[1] += 1
                elif len(clients) < _MAX_CLIENTS_PER_SHUTDOWN:
                    clients[key] = [number, 1]
                else:
                    ctx.warn(f"{path}: line {number}: more than {_MAX_CLIENTS_PER_SHUTDOWN} clients; rest skipped")
                continue
            term = _SIGTERM.search(line)
            if term:
                when = from_unix(int(term.group(1)))
                yield from self._block(path, sha, clients, waits, when)
                yield Reboot(
                    locator=Locator(path, sha, line=number),
                    reboot_time=when,
                    waits=waits,
                    clients=tuple(client for _, client in clients),
                )
                clients, waits = {}, 0
        if clients:  # clients logged after the last SIGTERM: a shutdown whose end was not written
            yield from self._block(path, sha, clients, waits, None)

    @staticmethod
    def _block(
        path: str, sha: str, clients: dict[tuple[int, str], list[int]], waits: int, when: datetime | None
    ) -> Iterator[ShutdownClient]:
        for (pid, client), (line, count) in clients.items():
            program = program_path(client)
            yield ShutdownClient(
                locator=Locator(path, sha, line=line),
                pid=pid,
                client_path=client,
                program_path=program,
                process_name=posixpath.basename(program.rstrip("/")),
                reboot_time=when,
                times_listed=count,
                waits_in_shutdown=waits,
            )
