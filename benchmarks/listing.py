"""Opening (listing) an acquisition with one process and with two: the listing's parts (evidence/parallel.py).

Usage (from the repository root; see benchmarks/README.md)::

    python3 benchmarks/listing.py BENCH/phone-200k BENCH/fs-100k/dump [--repeat 5]
    python3 benchmarks/listing.py BENCH/phone-200k-encrypted --key-file BENCH/phone-200k-encrypted.key

Each sample opens the acquisition in a fresh interpreter (``open_acquisition`` with ``jobs`` 1 or 2,
the way ``preuve check`` opens it before any artifact runs) and times the open alone, wall and CPU
(this process's, and the forked one's that it waited for). The two are taken in turn, round after
round, and the medians printed with their ratio. The listing (every path, and the notes) is
compared between the two in every round: a difference stops the script. This is a script, not a
test; the machine may be shared: take several rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import hashlib, json, os, resource, sys, tempfile, time
from pathlib import Path
from preuve.evidence.acquisition import OpenContext, Secrets, open_acquisition
from preuve.evidence.ledger import HashLedger
from preuve.commands.backup import read_key_file
from preuve.evidence.limits import DEFAULT_LIMITS

evidence, jobs, key = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
secrets = Secrets(key=read_key_file(Path(key))) if key else Secrets()
with tempfile.TemporaryDirectory() as workdir:
    ctx = OpenContext(ledger=HashLedger(), limits=DEFAULT_LIMITS, workdir=Path(workdir), secrets=secrets, jobs=jobs)
    before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    opened = open_acquisition(evidence, ctx)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(after, before))
    listing = hashlib.sha256()
    for path in opened.fs.paths():
        listing.update(path.encode("utf-8", "surrogateescape") + b"\0")
    for note in getattr(opened.fs, "notes", []):
        listing.update(note.encode("utf-8", "surrogateescape") + b"\1")
    print(json.dumps({"wall": wall, "cpu": cpu, "paths": len(opened.fs.paths()), "listing": listing.hexdigest()}))
    opened.fs.close()
"""


def _sample(evidence: Path, jobs: int, key: Path | None) -> dict[str, float | int | str]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(evidence), str(jobs), str(key) if key else ""],
        check=True, capture_output=True, text=True, env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("evidence", type=Path, nargs="+")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--key-file", type=Path, default=None, help="an encrypted backup's key (hex)")
    args = parser.parse_args(argv)
    print("| evidence | paths | 1 job s | 2 jobs s | 2/1 | 1 job CPU s | 2 jobs CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for evidence in args.evidence:
        samples: dict[int, list[dict[str, float | int | str]]] = {1: [], 2: []}
        _sample(evidence, 1, args.key_file)  # (bytecode written, caches warm)
        for _ in range(args.repeat):
            for jobs in (1, 2):
                samples[jobs].append(_sample(evidence, jobs, args.key_file))
            if samples[1][-1]["listing"] != samples[2][-1]["listing"]:
                print(f"{evidence}: the listings differ between one job and two", file=sys.stderr)
                return 1
        wall = {jobs: statistics.median(float(s["wall"]) for s in samples[jobs]) for jobs in samples}
        cpu = {jobs: statistics.median(float(s["cpu"]) for s in samples[jobs]) for jobs in samples}
        print(f"| {evidence.name} | {samples[1][0]['paths']} | {wall[1]:.2f} | {wall[2]:.2f} | {wall[2] / wall[1]:.2f} "
              f"| {cpu[1]:.2f} | {cpu[2]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
