"""Write sysdiagnose archives and the text files inside them (shutdown.log, ps.txt)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

SYSDIAGNOSE_NAME = "sysdiagnose_2023.06.01_12-00-00+0200_iPhone-OS_iPhone_20F66"
PS_HEADER = "USER               UID PRSNA   PID  PPID        F  %CPU %MEM PRI NI      VSZ    RSS WCHAN    TT  STAT STARTED      TIME COMMAND"


@dataclass
class Shutdown:
    """One shutdown: the clients still running at each wait, then SIGTERM at `reboot` (Unix seconds)."""

    reboot: int
    waits: Sequence[Sequence[tuple[int, str]]] = field(default_factory=list)  # per "still here" wait: clients


def shutdown_log(shutdowns: Sequence[Shutdown]) -> str:
    lines = []
    for shutdown in shutdowns:
        for number, clients in enumerate(shutdown.waits, start=1):
            lines.append(f"After {number * 1.25:.2f}s, these clients are still here:")
            for pid, path in clients:
                lines.append(f"\t\tremaining client pid: {pid} ({path})")
        lines.append(f"SIGTERM: [{shutdown.reboot}] (Shutting down)")
    return "\n".join(lines) + "\n"


def ps_txt(processes: Sequence[tuple[int, int, str, str]]) -> str:
    """(pid, ppid, user, command) rows in the layout of sysdiagnose's ps.txt."""
    lines = [PS_HEADER]
    for pid, ppid, user, command in processes:
        uid = 0 if user == "root" else 501
        lines.append(
            f"{user:<16} {uid:>5} -     {pid:>5} {ppid:>5} 4004004   0.0  0.1  31  0  4200000   5000 -        ??  Ss"
            f"    9:00AM   0:00.10 {command}"
        )
    return "\n".join(lines) + "\n"


def write_sysdiagnose(files: dict[str, bytes], out: Path, fmt: str = "tar.gz", name: str = SYSDIAGNOSE_NAME) -> Path:
    """`files` (paths inside the sysdiagnose) under a `name` folder, as a folder or `<name>.tar.gz` in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "folder":
        root = out / name
        for rel, data in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return root
    archive = out / f"{name}.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for rel, data in sorted(files.items()):
            member = tarfile.TarInfo(f"{name}/{rel}")
            member.size = len(data)
            member.mtime = 1685613600
            tf.addfile(member, io.BytesIO(data))
    return archive
