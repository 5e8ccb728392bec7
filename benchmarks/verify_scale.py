"""Time `check`, `verify`, `export` and verify-from-package on a synthetic backup of N messages.

    PYTHONPATH=src:. python3 benchmarks/verify_scale.py --messages 200000 --every 1000

One message in `--every` carries a link to an indicator's domain, so findings grow with N.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from tests.builders.stix import IndicatorSpec, write_bundle

from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.ios_dbs import Message, fill_sms
from preuve.proof.verify import export_proof, verify
from preuve.report.formats.bundle import BundleSink
from preuve.report.outdir import OutputFolder
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=1000)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="preuve-bench-"))
    messages = [
        Message(text=f"https://x{i}.bad.example/p" if i % args.every == 0 else f"message {i} with https://ok.example/{i}")
        for i in range(args.messages)
    ]
    builder = BackupBuilder(base / "backup")
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, messages))
    backup = builder.finish()
    feed = write_bundle(base / "f.stix2", [IndicatorSpec("[domain-name:value='bad.example']", "Bench")])
    out = base / "out"

    def timed(label: str, func):  # noqa: ANN001, ANN202
        start = time.perf_counter()
        value = func()
        print(f"{label:28} {time.perf_counter() - start:8.2f} s")
        return value

    def do_check():  # noqa: ANN202
        sink = OutputFolder(out, backup)
        try:
            return run_check(backup, CheckOptions(iocs=(feed,)), sinks=[sink, BundleSink(out)])
        finally:
            sink.close()

    result = timed("check (with bundle)", do_check)
    print(f"{'messages / findings':28} {args.messages} / {len(result.findings)}")
    confirmed = timed("verify from evidence", lambda: verify(out / "bundle.json", backup, [feed]))
    assert confirmed.confirmed
    count = timed("export", lambda: export_proof(out / "bundle.json", backup, base / "proof.zip"))
    again = timed("verify from proof package", lambda: verify(out / "bundle.json", base / "proof.zip", [feed]))
    assert again.confirmed
    print(f"{'records exported':28} {count}  ({(base / 'proof.zip').stat().st_size} bytes)")
    print(f"{'peak RSS':28} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")


if __name__ == "__main__":
    main()
