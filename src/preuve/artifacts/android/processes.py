"""Running processes: ``ps -A`` text (AndroidQF processes.txt) or the collector's processes.json.

The JSON form (androidqf's android-collector ``ps``) gives pid, ppid, uid,
the stat name in parentheses, the command line and the SELinux context.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from preuve.artifacts.android._common import AQF, integer, load_json, text
from preuve.artifacts.base import Artifact, ArtifactContext
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


class Processes(Artifact):
    name = "android_processes"
    platform = "android"
    title = "Running processes (ps)"
    paths: ClassVar[tuple[str, ...]] = (f"{AQF}/processes.txt", f"{AQF}/ps.txt", f"{AQF}/processes.json")

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        sha = ctx.fs.sha256(path)
        if path.endswith(".json"):
            yield from self._json(ctx, path, sha)
            return
        columns: list[str] | None = None
        for number, line in ctx.fs.read_text_lines(path):
            parts = line.split()
            if not parts:
                continue
            if columns is None:
                if "PID" in parts:
                    columns = parts
                continue
            if len(parts) < len(columns) - 1:
                ctx.warn(f"{path}:{number}: short line skipped")
                continue
            row = dict(zip(columns, parts, strict=False))
            # NAME is last and may hold spaces; the state column S may be missing on old ps.
            name = " ".join(parts[len(columns) - 1 :]) if len(parts) >= len(columns) else parts[-1]
            pid = row.get("PID", "")
            if not pid.isdigit():
                ctx.warn(f"{path}:{number}: no process id, skipped")
                continue
            ppid = row.get("PPID", "")
            yield AndroidProcess(
                locator=Locator(path, sha, line=number),
                user=row.get("USER", ""),
                pid=int(pid),
                ppid=int(ppid) if ppid.isdigit() else None,
                name=name,
            )

    def _json(self, ctx: ArtifactContext, path: str, sha: str) -> Iterator[Record]:
        data = load_json(ctx, path)
        if not isinstance(data, list):
            raise EvidenceError(path, "expected a JSON list of processes")
        for index, item in enumerate(data):
            pid = integer(item.get("pid")) if isinstance(item, dict) else None
            if not isinstance(item, dict) or pid is None:
                continue
            command = item.get("command_line")
            first = command[0] if isinstance(command, list) and command and isinstance(command[0], str) else None
            stat_name = (text(item.get("filename")) or "").strip("()")
            uid = integer(item.get("uid"))
            yield AndroidProcess(
                locator=Locator(path, sha, key_path=f"[{index}]"),
                user=str(uid) if uid is not None else "",
                pid=pid,
                ppid=integer(item.get("ppid")),
                name=first or stat_name or "?",
                context=text(item.get("context")) or None,
            )
