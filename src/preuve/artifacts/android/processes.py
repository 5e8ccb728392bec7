"""Running processes: ``ps -A`` text (AndroidQF processes.txt) or the collector's processes.json.

The JSON form (androidqf's android-collector ``ps``) gives pid, ppid, uid,
the stat name in parentheses, the command line and the SELinux context.

:class:`PsReader` reads ``ps`` text a line at a time, whichever columns it was asked for: it
serves processes.txt here and the PROCESSES AND THREADS section of a bugreport's dumpstate
(``ps -A -T -Z -O …``: a LABEL column first, one row per thread). A thread row (TID differs from
PID) is no process: it is an AndroidThread record, once per distinct thread name (the first row
bearing it), so its name is matched against process indicators as MVT matches every row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from preuve.artifacts.android._common import AQF, load_json
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.artifacts.values import as_int_digits, text_or_number
from preuve.evidence.errors import EvidenceError
from preuve.model import Kind, Locator, Observable, Record


@dataclass(kw_only=True)
class AndroidProcess(Record):
    record_type: ClassVar[str] = "android:processes:process"
    user: str
    pid: int
    ppid: int | None
    name: str
    context: str | None = None

    def observables(self) -> Iterator[Observable]:
        yield Observable(Kind.PROCESS, self.name)
        base = self.name.split(":", 1)[0]
        if "." in base and "/" not in base:  # an app process: com.app or com.app:service
            yield Observable(Kind.APP_ID, base)
        if "/" in self.name:
            yield Observable(Kind.PROCESS, self.name.rsplit("/", 1)[-1])

    def summary(self) -> str:
        return f"Process {self.name} (pid {self.pid}, user {self.user})"


@dataclass(kw_only=True)
class AndroidThread(Record):
    """A thread of a process in ``ps -T`` output, the first row bearing its name."""

    record_type: ClassVar[str] = "android:processes:thread"
    user: str
    pid: int
    tid: int
    name: str

    def observables(self) -> Iterator[Observable]:
        yield Observable(Kind.PROCESS, self.name)
        base = self.name.split(":", 1)[0]
        if "." in base and "/" not in base and " " not in base:
            yield Observable(Kind.APP_ID, base)
        if "/" in self.name:
            yield Observable(Kind.PROCESS, self.name.rsplit("/", 1)[-1])

    def summary(self) -> str:
        return f"Thread {self.name} (tid {self.tid}) of process {self.pid}"


_STATES = frozenset("RSDTtZXxKWPI")
MAX_THREAD_NAMES = 200_000  # distinct thread names remembered; past it every thread row is a record


class PsReader:
    """``ps`` text in, one AndroidProcess per process row out; the header line names the columns."""

    def __init__(self, path: str, sha256: str, warn: Callable[[str], None]) -> None:
        self.path = path
        self.sha256 = sha256
        self.warn = warn
        self.columns: list[str] | None = None
        self.threads = 0  # thread rows seen
        self._thread_names: set[str] = set()

    def line(self, number: int, line: str) -> AndroidProcess | AndroidThread | None:
        parts = line.split()
        if not parts:
            return None
        columns = self.columns
        if columns is None:
            if "PID" in parts:
                self.columns = parts
            return None
        if len(parts) < len(columns) - 1:
            self.warn(f"{self.path}:{number}: short line skipped")
            return None
        row = dict(zip(columns, parts, strict=False))
        # NAME (or CMD) is last and may hold spaces; the state column S may be missing on old ps, and
        # old toolbox ps prints the state before NAME without a header for it ("… 0000000000 S /init").
        first = len(columns) - 1
        if "S" not in columns and len(parts) > len(columns) and parts[first] in _STATES:
            first += 1
        name = " ".join(parts[first:]) if len(parts) >= len(columns) else parts[-1]
        pid = row.get("PID", "")
        if not pid.isdigit():
            self.warn(f"{self.path}:{number}: no process id, skipped")
            return None
        tid = row.get("TID")
        if tid is not None and tid != pid:
            self.threads += 1
            if not tid.isdigit() or name in self._thread_names:
                return None
            if len(self._thread_names) < MAX_THREAD_NAMES:
                self._thread_names.add(name)
            return AndroidThread(locator=Locator(self.path, self.sha256, line=number), user=row.get("USER", ""),
                                 pid=int(pid), tid=int(tid), name=name)
        ppid = row.get("PPID", "")
        return AndroidProcess(
            locator=Locator(self.path, self.sha256, line=number),
            user=row.get("USER", ""),
            pid=int(pid),
            ppid=int(ppid) if ppid.isdigit() else None,
            name=name,
            context=row.get("LABEL"),
        )


class Processes(Artifact):
    name = "android_processes"
    platform = "android"
    title = "Running processes (ps)"
    paths: ClassVar[tuple[str, ...]] = (f"{AQF}/processes.txt", f"{AQF}/ps.txt", f"{AQF}/processes.json")

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        sha = ctx.fs.sha256(path)
        # With its collector on the phone, AndroidQF writes the JSON list into processes.txt too.
        with ctx.fs.open(path) as stream:
            head = stream.read(4096).lstrip()[:1]
        if path.endswith(".json") or head in (b"[", b"{"):
            yield from self._json(ctx, path, sha)
            return
        reader = PsReader(path, sha, ctx.warn)
        for number, line in ctx.fs.read_text_lines(path):
            process = reader.line(number, line)
            if process is not None:
                yield process
        if reader.columns is None:
            ctx.warn(f"{path}: no ps header line (USER PID …) was found: no process was read")
    def _json(self, ctx: ArtifactContext, path: str, sha: str) -> Iterator[Record]:
        data = load_json(ctx, path)
        if not isinstance(data, list):
            raise EvidenceError(path, "expected a JSON list of processes")
        for index, item in enumerate(data):
            pid = as_int_digits(item.get("pid")) if isinstance(item, dict) else None
            if not isinstance(item, dict) or pid is None:
                continue
            command = item.get("command_line")
            first = command[0] if isinstance(command, list) and command and isinstance(command[0], str) else None
            stat_name = (text_or_number(item.get("filename")) or "").strip("()")
            uid = as_int_digits(item.get("uid"))
            yield AndroidProcess(
                locator=Locator(path, sha, key_path=f"[{index}]"),
                user=str(uid) if uid is not None else "",
                pid=pid,
                ppid=as_int_digits(item.get("ppid")),
                name=first or stat_name or "?",
                context=text_or_number(item.get("context")) or None,
            )
