"""A backup whose Manifest.db is damaged: what preuve and MVT still find, side by side.

    python3 benchmarks/damaged_manifest.py BACKUP --iocs FEED [--mvt-venv DIR] [--workdir DIR]

BACKUP is a plain iOS backup folder (kept as it is: each case is a private copy). Each case copies
it and damages the copy's Manifest.db, as a disk or an interrupted copy damages one:

- ``clean``: no damage (the reference);
- ``leaf``: one leaf page of the Files table zeroed, in the middle of the table;
- ``leaves``: every 25th leaf page of the Files table zeroed;
- ``root``: the Files table's root page zeroed (no row can be found from it);
- ``header``: the file's first 100 bytes zeroed (no longer a SQLite database);
- ``cut``: the file cut at half its length;
- ``missing``: no Manifest.db at all (an incomplete backup).

The pages are found with SQLite's own dbstat table. preuve (this source tree) and MVT (``mvt-ios
check-backup`` from its own virtualenv, when given) run on each copy with the same STIX file. The
table gives each tool's exit code and what it raised: preuve's findings by severity (the backup's
integrity findings apart), MVT's alerts (the entries of its ``*_detected.json`` files), and the
damage preuve reports. The original backup is hashed before and after: it must be unchanged.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LEVELS = ("critical", "high", "medium", "low", "info")


def _pages(database: Path) -> tuple[int, list[int], int]:
    """(page size, the Files table's leaf pages in rowid order, its root page)."""
    conn = sqlite3.connect(f"file:{database}?mode=ro&immutable=1", uri=True)
    try:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        leaves = [page for (page,) in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = 'Files' AND pagetype = 'leaf' ORDER BY path")]
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'Files'").fetchone()
    finally:
        conn.close()
    return int(size), leaves, int(root)


def _zero(data: bytearray, size: int, pages: list[int]) -> bytes:
    for page in pages:
        data[(page - 1) * size : page * size] = bytes(size)
    return bytes(data)


def damages(manifest: Path) -> dict[str, Callable[[bytes], bytes | None]]:
    size, leaves, root = _pages(manifest)
    if len(leaves) < 3:
        raise SystemExit(f"{manifest}: the Files table has {len(leaves)} leaf pages; at least 3 are needed")
    return {
        "clean": lambda data: data,
        "leaf": lambda data: _zero(bytearray(data), size, [leaves[len(leaves) // 2]]),
        "leaves": lambda data: _zero(bytearray(data), size, leaves[1::25]),
        "root": lambda data: _zero(bytearray(data), size, [root]),
        "header": lambda data: bytes(100) + data[100:],
        "cut": lambda data: data[: len(data) // 2],
        "missing": lambda data: None,
    }


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            with path.open("rb") as stream:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def run_preuve(backup: Path, iocs: Path, out: Path) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "preuve", "check", str(backup), "-o", str(out), "-q", "--iocs", str(iocs)],
        capture_output=True, text=True, env=env, check=False,
    )
    findings_file = out / "findings.json"
    if not findings_file.is_file():
        return done.returncode, "-", (done.stderr.strip().splitlines() or ["-"])[-1]
    problems = json.loads((out / "run.json").read_text())["coverage"]["acquisition"]["problems"]
    return done.returncode, findings_raised(findings_file), "; ".join(problems) or "-"


def findings_raised(findings_file: Path) -> str:
    """preuve's findings by severity, the backup's integrity findings apart."""
    document = json.loads(findings_file.read_text())
    counts = Counter(f["severity"] for f in document["findings"] if f["artifact"] != "acquisition_integrity")
    return ", ".join(f"{counts[level]} {level}" for level in LEVELS if counts[level]) or "none"


def run_mvt(backup: Path, iocs: list[Path], out: Path, venv: Path) -> tuple[int, str]:
    """MVT's exit code and its alerts by module (the entries of its *_detected.json files)."""
    feeds = [argument for feed in iocs for argument in ("--iocs", str(feed))]
    done = subprocess.run(
        [str(venv / "bin" / "mvt-ios"), "check-backup", *feeds, "-o", str(out), str(backup)],
        capture_output=True, text=True, check=False,
    )
    alerts = Counter()
    for detected in sorted(out.glob("*_detected.json")):
        entries = json.loads(detected.read_text())
        alerts[detected.name.removesuffix("_detected.json")] += len(entries) if isinstance(entries, list) else 1
    return done.returncode, ", ".join(f"{count} {module}" for module, count in sorted(alerts.items())) or "none"


def print_table(head: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")


def report(head: list[str], rows: list[list[str]], backup: Path, before: str) -> int:
    """Print the table; 1 when the original backup is no longer what it was (`before`: its digest)."""
    print_table(head, rows)
    if tree_digest(backup) != before:
        print(f"{backup}: CHANGED by a run", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("backup", type=Path)
    parser.add_argument("--iocs", type=Path, required=True, help="a STIX 2 file given to both tools")
    parser.add_argument("--mvt-venv", type=Path, help="MVT's virtualenv (MVT is left out without it)")
    parser.add_argument("--workdir", type=Path, help="where the copies go (default: a temporary folder)")
    args = parser.parse_args()
    manifest = args.backup / "Manifest.db"
    before = tree_digest(args.backup)
    work = Path(tempfile.mkdtemp(prefix="damaged-", dir=args.workdir))
    rows = []
    try:
        for case, damage in damages(manifest).items():
            copy = work / case / "backup"
            shutil.copytree(args.backup, copy)
            damaged = damage(manifest.read_bytes())
            if damaged is None:
                (copy / "Manifest.db").unlink()
            else:
                (copy / "Manifest.db").write_bytes(damaged)
            code, raised, problems = run_preuve(copy, args.iocs, work / case / "preuve")
            row = [case, str(code), raised]
            if args.mvt_venv is not None:
                mvt_code, alerts = run_mvt(copy, [args.iocs], work / case / "mvt", args.mvt_venv)
                row += [str(mvt_code), alerts]
            rows.append([*row, problems])
            shutil.rmtree(work / case)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    head = ["case", "preuve exit", "preuve findings"]
    if args.mvt_venv is not None:
        head += ["MVT exit", "MVT alerts"]
    head.append("damage preuve reports")
    return report(head, rows, args.backup, before)


if __name__ == "__main__":
    sys.exit(main())
