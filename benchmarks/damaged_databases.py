"""A backup one of whose databases has a damaged page: what preuve and MVT still find, side by side.

    python3 benchmarks/damaged_databases.py BACKUP --iocs FEED [--iocs FEED...] [--mvt-venv DIR]
                                            [--before SRC] [--workdir DIR]

BACKUP is a plain iOS backup folder (kept as it is: each case is a private copy, its files hard links
but for the database damaged). For each database below that the backup holds, in the table named:

- ``<db>:leaf``: the leaf page in the middle of the table zeroed;
- ``<db>:leaves``: every fifth leaf page of the table zeroed, from the second;
- ``<db>:last``: the table's last leaf page zeroed.

Databases: Safari's history (``history_visits``), DataUsage (``ZPROCESS``), sms.db (``message``).
The pages are found with SQLite's own dbstat table. preuve (this source tree; with ``--before``, a
second source tree too, such as a checkout of an earlier commit) and MVT (``mvt-ios check-backup``
from its own virtualenv, when given) run on each copy with the same STIX file. The table gives each
tool's exit code and what it raised (both given the same STIX files): preuve's findings by severity (the backup's integrity findings
apart), MVT's alerts (the entries of its ``*_detected.json`` files), and the damaged artifact's
error as preuve reports it. The original backup is hashed before and after: it must be unchanged.
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
from collections.abc import Callable
from pathlib import Path

from damaged_manifest import findings_raised, report, run_mvt, tree_digest  # noqa: E402 - beside this script

REPO = Path(__file__).resolve().parent.parent
# (name, the artifact that reads it, the table damaged, the (domain, relative path) a backup stores it under)
DATABASES = (
    ("safari", "safari_history", "history_visits", (
        ("HomeDomain", "Library/Safari/History.db"),
        ("AppDomain-com.apple.mobilesafari", "Library/Safari/History.db"),
    )),
    ("datausage", "datausage", "ZPROCESS", (("WirelessDomain", "Library/Databases/DataUsage.sqlite"),)),
    ("sms", "sms", "message", (("HomeDomain", "Library/SMS/sms.db"),)),
)


def stored(backup: Path, names: tuple[tuple[str, str], ...]) -> Path | None:
    """Where the backup stores the first of these files it holds (a file id is the SHA-1 of domain-path)."""
    for domain, relative in names:
        fid = hashlib.sha1(f"{domain}-{relative}".encode()).hexdigest()  # noqa: S324 - the backup's naming
        path = backup / fid[:2] / fid
        if path.is_file():
            return path
    return None


def leaves(database: Path, table: str) -> tuple[int, list[int]]:
    """(page size, the table's leaf pages in rowid order)."""
    conn = sqlite3.connect(f"file:{database}?mode=ro&immutable=1", uri=True)
    try:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = [page for (page,) in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY path", (table,))]
    finally:
        conn.close()
    return int(size), pages


def damages(database: Path, table: str) -> tuple[int, dict[str, list[int]]]:
    """(page size, the pages each case zeroes)."""
    size, pages = leaves(database, table)
    if len(pages) < 3:
        return size, {}
    return size, {"leaf": [pages[len(pages) // 2]], "leaves": pages[1::5], "last": [pages[-1]]}


def _feeds(iocs: list[Path]) -> list[str]:
    return [argument for feed in iocs for argument in ("--iocs", str(feed))]


def run_preuve(src: Path, backup: Path, iocs: list[Path], out: Path, artifact: str) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-m", "preuve", "check", str(backup), "-o", str(out), "-q", *_feeds(iocs)],
        capture_output=True, text=True, env=env, check=False,
    )
    findings_file = out / "findings.json"
    if not findings_file.is_file():
        return done.returncode, "-", (done.stderr.strip().splitlines() or ["-"])[-1]
    raised = findings_raised(findings_file)
    reports = json.loads((out / "run.json").read_text())["artifacts"]
    errors = [error for report in reports if report["name"] == artifact for error in report["errors"]]
    return done.returncode, raised, "; ".join(errors) or "-"


def copy_with(backup: Path, copy: Path, database: Path, damage: Callable[[bytearray], bytes]) -> None:
    """A copy of the backup (hard links) whose `database` is a damaged private copy."""
    shutil.copytree(backup, copy, copy_function=os.link)
    target = copy / database.relative_to(backup)
    data = bytearray(target.read_bytes())
    target.unlink()
    target.write_bytes(damage(data))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("backup", type=Path)
    parser.add_argument("--iocs", type=Path, required=True, action="append",
                        help="a STIX 2 file given to both tools (repeatable)")
    parser.add_argument("--mvt-venv", type=Path, help="MVT's virtualenv (MVT is left out without it)")
    parser.add_argument("--before", type=Path, help="another preuve source tree (its src folder), run too")
    parser.add_argument("--workdir", type=Path, help="where the copies go (default: a temporary folder)")
    args = parser.parse_args()
    before = tree_digest(args.backup)
    work = Path(tempfile.mkdtemp(prefix="damaged-", dir=args.workdir))
    trees = [("preuve", REPO / "src")] + ([("before", args.before)] if args.before is not None else [])
    rows = []
    try:
        cases: list[tuple[str, str, Path | None, int, list[int]]] = [("clean", "-", None, 0, [])]
        for name, artifact, table, names in DATABASES:
            database = stored(args.backup, names)
            if database is None:
                print(f"{name}: not in this backup", file=sys.stderr)
                continue
            size, chosen = damages(database, table)
            for kind, pages in chosen.items():
                cases.append((f"{name}:{kind}", artifact, database, size, pages))
        for case, artifact, database, size, pages in cases:
            copy = work / "copy"
            if database is None:
                shutil.copytree(args.backup, copy, copy_function=os.link)
            else:
                def zero(data: bytearray, pages: list[int] = pages, size: int = size) -> bytes:
                    for page in pages:
                        data[(page - 1) * size : page * size] = bytes(size)
                    return bytes(data)

                copy_with(args.backup, copy, database, zero)
            row = [case]
            problems = "-"
            for label, src in trees:
                code, raised, errors = run_preuve(src, copy, args.iocs, work / label, artifact)
                shutil.rmtree(work / label, ignore_errors=True)
                row += [str(code), raised]
                if label == "preuve":
                    problems = errors
            if args.mvt_venv is not None:
                mvt_code, alerts = run_mvt(copy, args.iocs, work / "mvt", args.mvt_venv)
                shutil.rmtree(work / "mvt", ignore_errors=True)
                row += [str(mvt_code), alerts]
            rows.append([*row, problems])
            shutil.rmtree(copy)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    head = ["case"]
    for label, _ in trees:
        head += [f"{label} exit", f"{label} findings"]
    if args.mvt_venv is not None:
        head += ["MVT exit", "MVT alerts"]
    head.append("the damaged artifact's error (preuve)")
    return report(head, rows, args.backup, before)


if __name__ == "__main__":
    sys.exit(main())
