"""Fleet throughput: devices checked per minute with 1 and 2 local workers (and a Dask LocalCluster).

Usage: python3 benchmarks/fleet.py [--devices 24] [--messages 2000] [--iocs ../shared/iocs] [--dask]

Builds N synthetic backups (each with M messages and a DataUsage database),
then runs `run_fleet` into a fresh case for each worker count, and prints
devices per minute (median of --repeat runs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from preuve.builders.ios_backup import BackupBuilder  # noqa: E402
from preuve.builders.ios_dbs import Message, Process, fill_datausage, fill_sms  # noqa: E402
from preuve.fleet.runner import run_fleet  # noqa: E402


def build(folder: Path, devices: int, messages: int) -> list[Path]:
    out = []
    start = datetime(2023, 1, 1, tzinfo=UTC)
    for d in range(devices):
        builder = BackupBuilder(folder / f"device{d:03d}")
        msgs = [
            Message(text=f"msg {i} https://site{i % 500}.example.org/p{i}", date=start + timedelta(minutes=i))
            for i in range(messages)
        ]
        builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c, m=msgs: fill_sms(c, m))
        procs = [Process(i + 1, f"daemon{i}d", None, start, start) for i in range(50)]
        builder.add_sqlite("WirelessDomain", "Library/Databases/DataUsage.sqlite",
                           lambda c, p=procs: fill_datausage(c, p))
        out.append(builder.finish())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=24)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--iocs", type=Path, default=ROOT.parent / "shared" / "iocs")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dask", action="store_true", help="also a Dask LocalCluster with 2 workers")
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
    with tempfile.TemporaryDirectory(prefix="preuve-fleet-") as tmp:
        devices = build(Path(tmp) / "devices", args.devices, args.messages)
        modes: list[tuple[str, dict[str, object]]] = [("1 worker", {"workers": 1}), ("2 workers", {"workers": 2})]
        if args.dask:
            from distributed import LocalCluster

            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
            modes.append(("dask, 2 workers", {"scheduler": cluster}))
        for label, kwargs in modes:
            rates = []
            for run in range(args.repeat):
                case = Path(tmp) / f"case-{label.replace(' ', '_')}-{run}.db"
                started = time.perf_counter()
                outcomes = run_fleet(devices, case, Path(tmp) / f"out-{run}", [args.iocs], resume=False,
                                     **kwargs)  # type: ignore[arg-type]
                elapsed = time.perf_counter() - started
                assert all(o.status == "done" for o in outcomes)
                rates.append(len(devices) / elapsed * 60)
            print(f"{label:16} {statistics.median(rates):8.1f} devices/min (median of {args.repeat}; "
                  f"{args.devices} devices x {args.messages} messages)")
        if args.dask:
            cluster.close()


if __name__ == "__main__":
    main()
