"""Whole `preuve check` runs of two or more source trees, side by side: what a change did to a run.

Usage (from the repository root; see benchmarks/README.md, "The twentieth session")::

    python3 benchmarks/compare_runs.py --evidence BENCH/phone-200k --src BEFORE/src --src src --rounds 6
    python3 benchmarks/compare_runs.py --evidence BENCH/phone-200k --src BEFORE/src --src src --rounds 3 --busy 2
    python3 benchmarks/compare_runs.py --evidence BENCH/phone-20k --minus BENCH/phone-2k \\
        --src BEFORE/src --src src --instructions

Every tree's bytecode is compiled first, into a private folder of its own (``PYTHONPYCACHEPREFIX``),
and every run of it uses that bytecode, as an installed preuve does. A tree whose bytecode is not
written (a fresh checkout, ``PYTHONDONTWRITEBYTECODE`` set) compiles every module it imports on every
run: about 3,700 M instructions, a third of a second on the machines of this folder's README. A
comparison made by hand against such a checkout once counted that against the older tree, and a
change that saved 3 % looked like one that saved 10 %.

- **Timed** (the default): ``--rounds`` rounds, the trees in turn within each (A, B, A, B…), each run
  a process of its own (``python -m preuve check EVIDENCE -o TMP -q --iocs …`` plus what follows
  ``--``). Printed per tree: the medians of wall time, of CPU time (user and system, the run and the
  processes it waited for) and the peak resident memory; and the median, over the rounds, of each
  tree's wall and CPU time over the first tree's in the same round. The machines these run on are
  shared: take several rounds, and read a ratio, not a time.
- **On a busy machine** (``--busy N``, with the timed mode): N other programs keep the CPUs busy
  (each a Python loop that never waits) for the whole of the rounds, as an analyst's laptop runs a
  browser, a video call or a build beside preuve. A run that waits on a process of the lowest
  priority is seen here: that process gets almost no share of a core while they run.
- **Instructions** (``--instructions``, needs valgrind): each tree runs once with one job under
  ``valgrind --tool=callgrind``, which counts the instructions the interpreter executes; counts vary
  by about 0.1 % from one run to the next, where times vary by tens of percent. With ``--minus
  EVIDENCE``, the count of a run on that smaller acquisition is subtracted (start-up, feeds and the
  report, which do not grow with the evidence). One job: the forked processes of a run with more
  would be counted apart, and their idle time is what the timed mode measures.

This is a script, not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ios_backup import default_iocs  # the script's own folder is on sys.path


@dataclass(frozen=True)
class Tree:
    """A source tree compared, with the private folder its bytecode is written to."""

    src: Path
    pycache: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPATH"] = str(self.src)
        env["PYTHONPYCACHEPREFIX"] = str(self.pycache)
        return env


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    peak_mib: float


def compile_tree(tree: Tree) -> None:
    """Write the tree's bytecode to its private folder (what every run of it then reads)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree.src)], env=tree.env(), check=True,
                   stdout=subprocess.DEVNULL)


def check_command(evidence: Path, out: Path, feeds: Sequence[Path], extra: Sequence[str]) -> list[str]:
    command = [sys.executable, "-m", "preuve", "check", str(evidence), "-o", str(out), "-q"]
    for feed in feeds:
        command += ["--iocs", str(feed)]
    return command + list(extra)


def timed_run(tree: Tree, command: list[str]) -> Run:
    """One run in a process of its own: its wall time, and its CPU time and peak memory with those of
    the processes it waited for (wait4)."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=tree.env(), stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode not in (0, 2, 3):  # (preuve's exit codes for a check that ran)
            errors.seek(0)
            raise SystemExit(f"{tree.src}: exit {process.returncode}\n{errors.read()[-2000:].decode('utf-8', 'replace')}")
    # ru_maxrss is in KiB on Linux: the largest of the run and the processes it waited for.
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def instructions(tree: Tree, command: list[str]) -> int:
    """The instructions a run executes (callgrind), the run's own process only."""
    with tempfile.TemporaryDirectory(prefix="callgrind-") as tmp:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", *command],
            env=tree.env(), capture_output=True, text=True, check=False,
        )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None or done.returncode not in (0, 2, 3):
        raise SystemExit(f"{tree.src}: no count (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


@contextmanager
def busy(count: int) -> Iterator[None]:
    """`count` other programs keeping the CPUs busy (a loop each) while the block runs."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        time.sleep(0.3 if loops else 0)  # (started and running)
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def timed_table(trees: Sequence[Tree], rounds: list[list[Run]]) -> list[str]:
    lines = ["| tree | wall s | CPU s | peak MiB | wall / first | CPU / first |", "|---|---:|---:|---:|---:|---:|"]
    for place, tree in enumerate(trees):
        runs = [round_[place] for round_ in rounds]
        walls = [run.wall / round_[0].wall for run, round_ in zip(runs, rounds, strict=True)]
        cpus = [run.cpu / round_[0].cpu for run, round_ in zip(runs, rounds, strict=True)]
        lines.append(
            f"| {tree.src} | {statistics.median(r.wall for r in runs):.3f} | {statistics.median(r.cpu for r in runs):.3f}"
            f" | {max(r.peak_mib for r in runs):.0f} | {statistics.median(walls):.3f} | {statistics.median(cpus):.3f} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--evidence", type=Path, required=True)
    parser.add_argument("--src", type=Path, action="append", required=True, help="a source tree (repeatable; the first is the reference)")
    parser.add_argument("--iocs", type=Path, default=None, help="STIX folder or file (default: the shared feeds)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--instructions", action="store_true", help="count instructions (callgrind, one job)")
    parser.add_argument("--minus", type=Path, default=None, help="with --instructions: an acquisition whose count is subtracted")
    parser.add_argument("--busy", type=int, default=0, help="timed: N other programs keep the CPUs busy meanwhile")
    parser.add_argument("extra", nargs="*", help="after --: more arguments of `preuve check`")
    args = parser.parse_args(argv)
    if args.minus is not None and not args.instructions:
        parser.error("--minus counts instructions: give --instructions")
    if args.instructions and shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    iocs = args.iocs or default_iocs()
    feeds = sorted(iocs.rglob("*.stix2")) if iocs.is_dir() else [iocs]
    extra = list(args.extra)
    with tempfile.TemporaryDirectory(prefix="compare-runs-") as work:
        trees = [Tree(src.resolve(), Path(work) / f"pycache-{place}") for place, src in enumerate(args.src)]
        for tree in trees:
            compile_tree(tree)
        out = Path(work) / "out"
        if args.instructions:
            one = [*extra, "--jobs", "1"]
            print(f"Instructions of `preuve check` with one job (callgrind), {args.evidence}"
                  + (f" less {args.minus}" if args.minus else ""))
            print("| tree | instructions | / first |\n|---|---:|---:|")
            first: int | None = None
            for tree in trees:
                counts = []
                for evidence in [args.evidence] + ([args.minus] if args.minus else []):
                    shutil.rmtree(out, ignore_errors=True)
                    counts.append(instructions(tree, check_command(evidence, out, feeds, one)))
                count = counts[0] - (counts[1] if len(counts) > 1 else 0)
                first = count if first is None else first
                print(f"| {tree.src} | {count:,} | {count / first:.4f} |")
            return 0
        rounds: list[list[Run]] = []
        with busy(args.busy):
            for number in range(args.rounds):
                runs = []
                for tree in trees:
                    shutil.rmtree(out, ignore_errors=True)
                    runs.append(timed_run(tree, check_command(args.evidence, out, feeds, extra)))
                    print(f"[round {number + 1}/{args.rounds}] {tree.src}: {runs[-1].wall:.2f} s, "
                          f"CPU {runs[-1].cpu:.2f} s", file=sys.stderr)
                rounds.append(runs)
        print(f"Medians of {args.rounds} interleaved rounds, {args.evidence}; {os.cpu_count()} CPUs"
              + (f"; {args.busy} other programs keeping the CPUs busy" if args.busy else ""))
        print("\n".join(timed_table(trees, rounds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
