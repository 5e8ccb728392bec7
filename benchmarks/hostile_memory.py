"""Peak memory of `preuve check` on hostile backups whose records are big: does it grow with the evidence?

Usage (from the repository root; see benchmarks/README.md, "The eighteenth session")::

    python3 benchmarks/hostile_memory.py --workdir BENCH [--mb 30] [--jobs 1 --jobs 2] [--case NAME ...]

Each case is a backup built once in ``--workdir`` with the package's builders (kept and reused: the
big ones are gigabytes), then checked once per ``--jobs`` value, each run its own process; printed:
the case, its size on disk, the jobs, the seconds and the peak resident memory (the child's VmHWM).
Memory that does not grow with the evidence shows as the same peak for a case and its bigger twin.

- ``messages-20`` / ``messages-40``: 5,000 small messages, then 20 (40) of ``--mb`` MB each.
- ``clusters``: three times 5,000 small messages then a cluster of big ones (10, 20, then 40): the
  batches grow again between clusters.
- ``around-20``: 30,000 small messages, 20 big ones, 30,000 small ones (the rows average under
  64 KB: the table is read in parallel row ranges).
- ``paths-30`` / ``paths-60``: a small backup whose Manifest.db lists 30 (60) folders whose relative
  paths are two thirds of ``--mb`` MB long (20 MB for 30).
- ``findings-10k`` / ``findings-40k``: 70,000 (280,000) small messages, one in seven linking to a
  domain of a feed written beside the backups (``hostile-feed.stix2``, given with the others): 10,000
  (40,000) findings. The findings are held for the verdict and the report: these show what each costs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(BENCH))

from ios_backup import default_iocs, preuve_env  # noqa: E402

from preuve.builders.ios_backup import BackupBuilder, mbfile_blob  # noqa: E402
from preuve.builders.ios_dbs import Message, fill_sms  # noqa: E402
from preuve.indicators.stix import feed_files  # noqa: E402

SMS = ("HomeDomain", "Library/SMS/sms.db")


def _small(count: int, word: str) -> list[Message]:
    return [Message(text=f"{word} {n} https://example{n % 50}.com/x") for n in range(count)]


def _big(count: int, mb: int) -> list[Message]:
    return [Message(text="x" * (mb << 20) + f" {n}") for n in range(count)]


def _messages(root: Path, messages: list[Message]) -> None:
    builder = BackupBuilder(root)
    builder.add_sqlite(*SMS, lambda conn: fill_sms(conn, messages))
    builder.finish()


def _long_paths(root: Path, count: int, chars: int) -> None:
    builder = BackupBuilder(root)
    builder.add_sqlite(*SMS, lambda conn: fill_sms(conn, _small(100, "hello")))
    builder.finish()
    conn = sqlite3.connect(root / "Manifest.db")
    for n in range(count):
        relative = f"Library/{'a' * chars}{n}"
        file_id = hashlib.sha1(f"HomeDomain-{relative}".encode()).hexdigest()  # noqa: S324 - Apple's naming
        conn.execute(
            "INSERT INTO Files VALUES (?, ?, ?, ?, ?)",
            (file_id, "HomeDomain", relative, 2, mbfile_blob(relative, 0, 0, 0o40755, 2)),
        )
    conn.commit()
    conn.close()


_FEED_DOMAIN = "evil1.example"
_FEED = """{"type": "bundle", "id": "bundle--11111111-1111-4111-8111-111111111111", "objects": [
{"type": "malware", "spec_version": "2.1", "id": "malware--22222222-2222-4222-8222-222222222222",
 "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z", "name": "Spy", "is_family": true},
{"type": "indicator", "spec_version": "2.1", "id": "indicator--33333333-3333-4333-8333-333333333333",
 "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
 "pattern": "[domain-name:value='DOMAIN']", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"},
{"type": "relationship", "spec_version": "2.1", "id": "relationship--44444444-4444-4444-8444-444444444444",
 "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z", "relationship_type": "indicates",
 "source_ref": "indicator--33333333-3333-4333-8333-333333333333",
 "target_ref": "malware--22222222-2222-4222-8222-222222222222"}]}
""".replace("DOMAIN", _FEED_DOMAIN)


def _linking(count: int) -> list[Message]:
    """Small messages, one in seven linking to the feed's domain."""
    return [Message(text=f"see https://evil{n % 7}.example/x{n}") for n in range(count)]


def cases(mb: int) -> dict[str, Callable[[Path], None]]:
    path_chars = (mb << 20) * 2 // 3
    return {
        "messages-20": lambda root: _messages(root, _small(5_000, "hello") + _big(20, mb)),
        "messages-40": lambda root: _messages(root, _small(5_000, "hello") + _big(40, mb)),
        "clusters": lambda root: _messages(
            root, [m for cluster in (10, 20, 40) for m in _small(5_000, "hello") + _big(cluster, mb)]
        ),
        "around-20": lambda root: _messages(root, _small(30_000, "hello") + _big(20, mb) + _small(30_000, "bye")),
        "paths-30": lambda root: _long_paths(root, 30, path_chars),
        "paths-60": lambda root: _long_paths(root, 60, path_chars),
        "findings-10k": lambda root: _messages(root, _linking(70_000)),
        "findings-40k": lambda root: _messages(root, _linking(280_000)),
    }


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds and peak resident memory (MiB) of a command and the processes it forks and waits for
    (``ru_maxrss`` of wait4: the largest of them, the workers included; this script's own few tens
    of megabytes are the least it can show)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)  # noqa: S603
    _, _, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, required=True, help="where the backups are built once and kept")
    parser.add_argument("--mb", type=int, default=30, help="megabytes of each big message (default 30)")
    parser.add_argument("--jobs", type=int, action="append", default=None, help="preuve check --jobs (repeatable)")
    parser.add_argument("--case", action="append", default=None, help="only these cases (repeatable)")
    parser.add_argument("--iocs", type=Path, default=None, help="STIX folder (default: shared/iocs)")
    parser.add_argument("--build", type=Path, default=None, help=argparse.SUPPRESS)  # (a case built in a child)
    args = parser.parse_args(argv)
    known = cases(args.mb)
    if args.build is not None:
        known[args.case[0]](args.build)
        return 0
    chosen = args.case or list(known)
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        parser.error(f"--case {', '.join(unknown)}: the cases are {', '.join(known)}")
    work: Path = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    (work / "hostile-feed.stix2").write_text(_FEED, encoding="utf-8")
    feeds = [*sorted(feed_files([args.iocs or default_iocs()])), work / "hostile-feed.stix2"]
    env = preuve_env(work)
    print("| case | on disk MB | jobs | seconds | peak RSS MiB |\n|---|---:|---:|---:|---:|", flush=True)
    for name in chosen:
        root = work / f"hostile-{name}-{args.mb}"
        if not (root / "Manifest.db").is_file():
            # Built in a process of its own: a process forked from this one would start from the
            # resident memory the build left here (gigabytes of messages), and ru_maxrss counts it.
            shutil.rmtree(root, ignore_errors=True)
            subprocess.run(  # noqa: S603 - this script
                [sys.executable, __file__, "--workdir", str(work), "--mb", str(args.mb), "--case", name,
                 "--build", str(root)],
                check=True,
            )
        for jobs in args.jobs or [1, 2]:
            out = work / f"hostile-out-{name}"
            shutil.rmtree(out, ignore_errors=True)
            argv = [sys.executable, "-m", "preuve", "check", str(root), "-o", str(out), "-q", "--jobs", str(jobs)]
            for feed in feeds:
                argv += ["--iocs", str(feed)]
            seconds, peak = _run(argv, env)
            print(f"| {name} | {_size(root) / 1e6:.0f} | {jobs} | {seconds:.2f} | {peak:.0f} |", flush=True)
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
