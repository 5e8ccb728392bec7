"""The fixed start-up cost of `preuve check`: everything before the first artifact reads a record.

Usage (from the repository root; see benchmarks/README.md)::

    python3 benchmarks/startup.py --evidence BENCH/backup-100k [--repeat 7] [--iocs DIR]
    python3 benchmarks/startup.py --evidence BACKUP --src BEFORE/src --src src   # before/after

Each sample is a fresh interpreter running the real CLI (``preuve check EVIDENCE -o TMP -q --iocs …``
for every ``.stix2`` file under ``--iocs``), with the phases of :func:`preuve.run.engine.run_check`
timed by wrapping the functions it calls (they are looked up in the module when called). The run
is stopped when the first artifact starts, so the sample costs only the start-up. Phases:

- ``interpreter``: from spawning the process to the first line of the child script;
- ``import``: ``import preuve.run.engine`` and ``preuve.cli``;
- ``cli``: building the command line and resolving ``check`` (its module's imports included), up
  to loading the indicators;
- ``indicators``: ``load_indicators`` (every feed parsed and indexed);
- ``open``: opening the acquisition, starting the sinks;
- ``rules``, ``artifacts``: ``discover_rules``, ``discover_artifacts``;
- ``splitter``: forking the worker and finding where the big databases are cut;
- ``total``: spawn to the first artifact.

Medians over ``--repeat`` samples are printed (the machine may be shared: take several). The
children write and use bytecode (``PYTHONDONTWRITEBYTECODE`` is dropped for them; a first, untimed
sample writes it); set ``PYTHONPYCACHEPREFIX`` to a writable folder when the source tree cannot
hold it, or every sample recompiles. This is a script, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PHASES = ("interpreter", "import", "cli", "indicators", "open", "rules", "artifacts", "splitter", "total")

# Run in the child: wrap the functions run_check calls, run the CLI, stop at the first artifact.
CHILD = r"""
import json, sys, time
started = time.time()
marks = {"start": time.perf_counter()}
import preuve.run.engine as check
import preuve.cli
marks["imported"] = time.perf_counter()


class Stop(BaseException):
    pass


def timed(name):
    real = getattr(check, name)

    def wrapper(*args, **kwargs):
        marks.setdefault(name + ":in", time.perf_counter())
        try:
            return real(*args, **kwargs)
        finally:
            marks.setdefault(name + ":out", time.perf_counter())

    setattr(check, name, wrapper)


for name in ("load_indicators", "open_evidence", "discover_rules", "discover_artifacts", "_workers"):
    timed(name)


def first_artifact(*args, **kwargs):
    marks["first"] = time.perf_counter()
    raise Stop


check._run_artifact = first_artifact
sys.argv = ["preuve", *sys.argv[1:]]
try:
    preuve.cli.main()
except Stop:
    pass
m = marks
print(json.dumps({
    "started": started,
    "import": m["imported"] - m["start"],
    "cli": m["load_indicators:in"] - m["imported"],
    "indicators": m["load_indicators:out"] - m["load_indicators:in"],
    "open": m["discover_rules:in"] - m["load_indicators:out"],
    "rules": m["discover_rules:out"] - m["discover_rules:in"],
    "artifacts": m["discover_artifacts:out"] - m["discover_artifacts:in"],
    "splitter": m["_workers:out"] - m["_workers:in"],
    "after_start": m["first"] - m["start"],
}), file=sys.stderr)
"""


def default_iocs() -> Path:
    for candidate in (REPO.parent / "shared" / "iocs",):
        if candidate.is_dir():
            return candidate
    raise SystemExit("no --iocs folder given and no shared/iocs found")


def sample(evidence: Path, feeds: Sequence[Path], env: dict[str, str]) -> dict[str, float]:
    out = Path(tempfile.mkdtemp(prefix="preuve-startup-"))
    try:
        argv = [sys.executable, "-c", CHILD, "check", str(evidence), "-o", str(out / "out"), "-q"]
        for feed in feeds:
            argv += ["--iocs", str(feed)]
        spawned = time.time()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    try:
        timings = json.loads(done.stderr.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise SystemExit(f"the child failed (exit {done.returncode}):\n{done.stderr}") from None
    timings["interpreter"] = timings.pop("started") - spawned
    timings["total"] = timings["interpreter"] + timings.pop("after_start")
    return timings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evidence", type=Path, required=True, help="acquisition to check (read only)")
    parser.add_argument("--iocs", type=Path, default=None, help="STIX folder (default: shared/iocs)")
    parser.add_argument("--repeat", type=int, default=7, help="samples (the median is reported)")
    parser.add_argument("--src", type=Path, action="append", default=None,
                        help="source tree to run (default: this checkout's src); repeat it to compare "
                             "trees, sampled in turn so that a busy machine weighs on each alike")
    parser.add_argument("--json", type=Path, default=None, help="also write every sample here")
    args = parser.parse_args(argv)
    feeds = sorted((args.iocs or default_iocs()).rglob("*.stix2"))
    sources: list[Path] = args.src or [REPO / "src"]
    envs = []
    for src in sources:
        env = dict(os.environ, PYTHONPATH=str(src))
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # measured with bytecode, as an installed package runs
        envs.append(env)
        sample(args.evidence, feeds, env)  # writes the bytecode, warms the page cache
    samples: list[list[dict[str, float]]] = [[] for _ in sources]
    for _ in range(args.repeat):
        for taken, env in zip(samples, envs, strict=True):
            taken.append(sample(args.evidence, feeds, env))
    print(f"{args.evidence}, {len(feeds)} feeds, median of {args.repeat} (seconds)")
    print(f"  {'':12}" + "".join(f" {str(src)[-24:]:>24}" for src in sources))
    for phase in PHASES:
        medians = [statistics.median(s[phase] for s in taken) for taken in samples]
        print(f"  {phase:12}" + "".join(f" {m:24.3f}" for m in medians))
    if args.json is not None:
        doc = {str(src): taken for src, taken in zip(sources, samples, strict=True)}
        args.json.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
