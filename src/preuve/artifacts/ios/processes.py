"""Running processes from a sysdiagnose (``ps.txt``, ``ps_thread.txt``).

A sysdiagnose runs ``ps`` when it is taken; an implant running then is in
the list under its name and path. The columns are read from the header line
(their set varies between iOS versions); the command is the last column and
may hold spaces.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.evidence.kinds.ios_sysdiagnose import SYSDIAGNOSE_PREFIX
from preuve.model import Kind, Locator, Observable, Record

_COMMAND = ("COMMAND", "CMD", "COMM", "ARGS")


@dataclass(kw_only=True)
class RunningProcess(Record):
    """One process listed by ps when the sysdiagnose was taken."""

    record_type: ClassVar[str] = "ios:processes:process"
    pid: int | None
    ppid: int | None
    user: str | None
    command: str
    executable: str
    process_name: str

    def observables(self) -> Iterator[Observable]:
        if self.process_name:
            yield Observable(Kind.PROCESS, self.process_name)
        if self.executable.startswith("/"):
            yield Observable(Kind.FILE_PATH, self.executable)

    def summary(self) -> str:
        return f"Process {self.process_name} (pid {self.pid}) running: {self.command}"


def executable_of(command: str) -> str:
    """The program a command line runs: up to the first space, unless the path itself holds spaces (apps)."""
    command = command.strip()
    marker = command.find(".app/")
    if command.startswith("/") and marker > 0:
        rest = command[marker + 5 :]
        end = rest.find(" -")
        return command[: marker + 5] + (rest if end < 0 else rest[:end]).rstrip()
    return command.split(" ", 1)[0] if command else ""


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


class Processes(Artifact):
    name = "processes"
    platform = "ios"
    title = "Processes running when the sysdiagnose was taken (ps)"
    paths: ClassVar[tuple[str, ...]] = (f"{SYSDIAGNOSE_PREFIX}/ps.txt", f"{SYSDIAGNOSE_PREFIX}/ps_thread.txt")

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        sha = ctx.fs.sha256(path)
        columns: list[str] | None = None
        for number, line in ctx.fs.read_text_lines(path):
            if not line.strip():
                continue
            if columns is None:
                header = line.split()
                if not header or header[-1].upper() not in _COMMAND or "PID" not in header:
                    ctx.error(path, f"line {number}: not a ps header ({line[:80]!r})")
                    return
                columns = [c.upper() for c in header]
                continue
            if line[:1].isspace() and path.endswith("ps_thread.txt"):
                continue  # a thread line of the process above
            values = line.split(None, len(columns) - 1)
            if len(values) < len(columns):
                continue  # thread lines and truncated rows carry no command
            row = dict(zip(columns, values, strict=True))
            command = row[columns[-1]]
            executable = executable_of(command)
            yield RunningProcess(
                locator=Locator(path, sha, line=number),
                pid=_int(row.get("PID")),
                ppid=_int(row.get("PPID")),
                user=row.get("USER"),
                command=command,
                executable=executable,
                process_name=posixpath.basename(executable),
            )
        if columns is None:
            ctx.warn(f"{path}: empty")
