"""Cost of the HTML report sink on a large synthetic backup (time and peak memory), with and without it.

    PYTHONPATH=src:. python3 benchmarks/report_scale.py --messages 200000

Each mode runs in its own process so that peak RSS is its own. The HTML
sink keeps per-day counters only, so its memory should not grow with the
number of records.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FEED = ROOT / "src" / "preuve" / "data" / "2021-07-18_nso" / "pegasus.stix2"


def build(root: Path, count: int) -> Path:
    from preuve.builders.ios_backup import BackupBuilder
    from preuve.builders.ios_dbs import Message, fill_sms

    start = datetime(2020, 1, 1, tzinfo=UTC)
    step = timedelta(days=4 * 365) / count
    messages = [
        Message(text=f"message {n} https://example.org/{n}", handle=f"+4179{n % 9000000 + 1000000}",
                date=start + step * n)
        for n in range(count)
    ]
    messages.append(Message(text="https://tookcheckout.com/r/1", date=start + timedelta(days=700)))
    builder = BackupBuilder(root)
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda conn: fill_sms(conn, messages))
    return builder.finish()


def run(backup: Path, out: Path, html: bool) -> dict[str, object]:
    from preuve.report.formats.html import HtmlReport
    from preuve.report.outdir import OutputFolder
    from preuve.run.engine import run_check
    from preuve.run.results import CheckOptions

    sink = OutputFolder(out, backup)
    sinks: list[object] = [sink] + ([HtmlReport(out / "report.html")] if html else [])
    began = time.perf_counter()
    result = run_check(backup, CheckOptions(iocs=(FEED,)), sinks=sinks)  # type: ignore[arg-type]
    seconds = time.perf_counter() - began
    sink.close()
    report = out / "report.html"
    return {
        "html": html,
        "records": sum(r.records for r in result.artifacts),
        "findings": len(result.findings),
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "report_kib": round(report.stat().st_size / 1024, 1) if report.exists() else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--child", nargs=3, metavar=("BACKUP", "OUT", "HTML"))
    args = parser.parse_args()
    if args.child:
        backup, out, html = args.child
        print(json.dumps(run(Path(backup), Path(out), html == "1")))
        return
    with tempfile.TemporaryDirectory(prefix="preuve-bench-") as tmp:
        backup = build(Path(tmp) / "backup", args.messages)
        for html in ("0", "1"):
            child = subprocess.run(
                [sys.executable, __file__, "--child", str(backup), str(Path(tmp) / f"out{html}"), html],
                capture_output=True, text=True,
            )
            if child.returncode != 0:
                sys.exit(child.stderr)
            print(child.stdout.strip())


if __name__ == "__main__":
    main()
