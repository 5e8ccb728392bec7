"""Instructions per record of `preuve check`'s per-record path, stage by stage, counted by callgrind.

Usage (from the repository root; needs valgrind; see benchmarks/README.md)::

    python3 benchmarks/record_instructions.py --evidence BENCH/backup-10k
    python3 benchmarks/record_instructions.py --evidence BACKUP --src BEFORE/src --src src   # before/after
    python3 benchmarks/record_instructions.py --evidence BACKUP --artifact datausage

Wall and CPU times on a shared machine vary by tens of percent from one run to the next; the
number of instructions a run executes does not (to about 1 %). So changes to the per-record path
are compared here, and whole runs in ios_backup.py.

For one artifact of the backup (``sms`` by default), each stage is a fresh interpreter under
``valgrind --tool=callgrind``, reading the artifact's database sequentially in-process. Each stage
does what the previous one did and more, so the difference between two stages, divided by the
records read, is what the later stage costs per record:

- ``floor``: the same rows read with plain ``sqlite3`` and dropped (only for ``sms``: its query);
- ``parse``: the artifact's records (``Artifact.parse``: SQLite, decoding, the typed records);
- ``match``: and every record through the indicator matcher (the feeds under ``--iocs``);
- ``stamps``: and each record's timestamps;
- ``rules``: and the heuristic rules, through the engine's reading (``_Reading`` and ``_deliver``) with no sink;
- ``writer``: and the output folder's writer (artifact JSONL, timeline CSV and JSONL);
- ``sinks``: and the HTML report's and the bundle's sinks: everything `preuve check` does per record.

The baseline (``0``) opens the acquisition, loads the feeds and discovers rules, and stops; it is
subtracted from every stage. Bytecode is written once to a private folder (PYTHONPYCACHEPREFIX)
before counting, so no stage counts compiling. This is a script, not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ios_backup import default_iocs  # the script's own folder is on sys.path

REPO = Path(__file__).resolve().parent.parent
STAGES = ("floor", "parse", "match", "stamps", "rules", "writer", "sinks")

# The child: one stage of one artifact, in-process. Kept here as text so that the same code runs
# against any --src (it imports preuve from PYTHONPATH).
_CHILD = r"""
import sys, tempfile
from pathlib import Path
from preuve.artifacts.base import ArtifactContext, discover_artifacts
from preuve.run.engine import BATCH_BYTES, DELIVERY_BATCH, _deliver, _joins, _Reading, _renderings
from preuve.detect.match import Matcher
from preuve.detect.rules import RuleSet, discover_rules
from preuve.evidence.acquisition import OpenContext, open_acquisition
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.indicators.index import load_index
from preuve.report.formats.bundle import BundleSink
from preuve.report.formats.html import HtmlReport
from preuve.report.outdir import OutputFolder

evidence, iocs, name, stage = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
work = Path(tempfile.mkdtemp(prefix="preuve-instructions-"))
index = load_index([iocs], lambda message: None)
opened = open_acquisition(
    evidence, OpenContext(ledger=HashLedger(), limits=DEFAULT_LIMITS, workdir=work, warn=lambda m: None)
)
fs = opened.fs
artifact = next(a for a in discover_artifacts(opened.platform) if a.name == name)
path = artifact.locate(fs)[0]
fs.sha256(path)
matcher, rules = Matcher(index), RuleSet(discover_rules())
folder = OutputFolder(work / "out", evidence)
folder.artifact_started(artifact)
sinks = {"writer": [folder], "sinks": [folder, HtmlReport(work / "report.html"), BundleSink(work / "out")]}
ctx = ArtifactContext(fs=fs, limits=DEFAULT_LIMITS)
records = 0
if stage == "floor":
    import sqlite3
    from preuve.evidence.sqlite import open_readonly
    columns = ("m.ROWID, m.guid, m.text, m.service, m.is_from_me, m.date, m.date_read, m.attributedBody, "
               "m.payload_data, m.message_summary_info, m.balloon_bundle_id, m.account, "
               "m.destination_caller_id, m.handle_id, h.id")
    with open_readonly(fs._local_file(path), {}, DEFAULT_LIMITS, work) as conn:
        for row in conn.execute(f"SELECT {columns} FROM message m LEFT JOIN handle h ON h.ROWID = m.handle_id"):
            records += 1
elif stage == "parse":
    for record in artifact.parse(ctx, path):
        records += 1
elif stage in ("match", "stamps"):
    for record in artifact.parse(ctx, path):
        matcher.match(record, name, artifact.title)
        if stage == "stamps":
            tuple(record.timestamps())
        records += 1
elif stage in ("rules", "writer", "sinks"):
    renderings = _renderings(sinks.get(stage, []))
    reading = _Reading(artifact, ctx, path, matcher, rules, renderings)
    records = _deliver(artifact, reading.batches(DELIVERY_BATCH, _joins(renderings), BATCH_BYTES), renderings, [], None)
folder.close()
print(records)
"""


def count(src: Path, evidence: Path, iocs: Path, artifact: str, stage: str, env: dict[str, str]) -> tuple[int, int]:
    """(instructions, records) of one stage in a fresh interpreter under callgrind."""
    with tempfile.TemporaryDirectory(prefix="callgrind-") as tmp:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", sys.executable, "-c", _CHILD,
             str(evidence), str(iocs), artifact, stage],
            env=dict(env, PYTHONPATH=str(src)), capture_output=True, text=True, check=True,
        )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"callgrind gave no count:\n{done.stderr[-2000:]}")
    return int(found.group(1)), int(done.stdout.strip() or 0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--evidence", type=Path, required=True, help="an iOS backup (ios_backup.py builds them)")
    parser.add_argument("--iocs", type=Path, default=None, help="STIX folder (default: the shared feeds)")
    parser.add_argument("--artifact", default="sms")
    parser.add_argument("--src", type=Path, action="append", help="preuve sources to count (repeatable)")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    iocs = args.iocs or default_iocs()
    sources = [s.resolve() for s in (args.src or [REPO / "src"])]
    stages = [s for s in STAGES if s != "floor" or args.artifact == "sms"]
    with tempfile.TemporaryDirectory(prefix="pycache-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        table: dict[Path, dict[str, int]] = {}
        for src in sources:
            count(src, args.evidence, iocs, args.artifact, "sinks", env)  # writes the bytecode
            base, _ = count(src, args.evidence, iocs, args.artifact, "0", env)
            per_stage: dict[str, int] = {}
            previous = base
            for stage in stages:
                total, records = count(src, args.evidence, iocs, args.artifact, stage, env)
                if records == 0:
                    raise SystemExit(f"{src}: stage {stage} read no record of {args.artifact}")
                # The floor is beside the stages, not under them: parse is measured from the baseline.
                per_stage[stage] = (total - (base if stage in ("floor", "parse") else previous)) // records
                if stage != "floor":
                    previous = total
            per_stage["total"] = (previous - base) // records
            table[src] = per_stage
    print(f"{args.evidence} ({args.artifact}): instructions per record, by stage (callgrind)")
    print(f"{'stage':<8}" + "".join(f"{str(src)[-28:]:>30}" for src in sources))
    for stage in [*stages, "total"]:
        print(f"{stage:<8}" + "".join(f"{table[src][stage]:>30,}" for src in sources))
    return 0


if __name__ == "__main__":
    sys.exit(main())
