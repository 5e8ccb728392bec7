"""Android scale: an AndroidQF zip with many packages and files and a large nested bugreport.

Usage: python3 benchmarks/android_scale.py [--packages 3000] [--files 200000] [--dumpsys-mb 100]
       [--iocs ../shared/iocs] [--repeat 3]

Builds the acquisition once (the bugreport's dumpstate padded with realistic
package-section lines up to --dumpsys-mb), converts the stalkerware feed, then
times `run_check` on it in a fresh process and prints records per second and
that process's peak memory (so building the fixture does not count).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]  # preuve, and the fixture builders in tests/builders

from tests.builders.android import (  # noqa: E402
    AndroidQFBuilder,
    DumpsysSpec,
    PackageSpec,
    bugreport_members,
    write_zip,
)

from preuve.indicators.stalkerware import convert_file  # noqa: E402
from preuve.run.engine import run_check  # noqa: E402
from preuve.run.results import CheckOptions  # noqa: E402


def build(folder: Path, packages: int, files: int, dumpsys_mb: int) -> Path:
    b = AndroidQFBuilder()
    b.packages += [PackageSpec(f"org.bench.app{i}", uid=10000 + i) for i in range(packages)]
    b.files = [{"path": f"/sdcard/DCIM/img{i}.jpg", "mode": "-rw-rw----", "size": i, "modified_time": 1699990000}
               for i in range(files)]
    spec = DumpsysSpec(accessibility=["com.spy.app/.A11y"], sms_receivers=["com.spy.app/.Sms"])
    # Package-section lines that vary like real ones (a real dumpstate compresses about 8:1).
    lines = []
    size = 0
    index = 0
    while size < dumpsys_mb * 1024 * 1024:
        digest = hashlib.sha256(str(index).encode()).hexdigest()
        line = (f"  Package [org.bench.app{index}] ({digest[:8]}):\n    userId={10000 + index}\n"
                f"    codePath=/data/app/~~{digest[8:30]}==/org.bench.app{index}-{digest[30:52]}==\n"
                f"    versionCode={index * 7} minSdk=24 targetSdk=33 signatures={digest[52:]}\n")
        lines.append(line)
        size += len(line)
        index += 1
    dumpsys = spec.text() + "DUMP OF SERVICE package:\nPackages:\n" + "".join(lines)
    br = write_zip(folder / "br.zip", bugreport_members({"ro.build.version.security_patch": "2023-01-01"}, dumpsys))
    b.extra["bugreport.zip"] = br.read_bytes()
    return b.zip(folder / "aqf.zip")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packages", type=int, default=3000)
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--dumpsys-mb", type=int, default=100)
    parser.add_argument("--iocs", type=Path, default=ROOT.parent / "shared" / "iocs")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        evidence = build(folder, args.packages, args.files, args.dumpsys_mb)
        feed = folder / "stalkerware.stix2"
        convert_file(args.iocs / "stalkerware-indicators" / "ioc.yaml", feed)
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            print(pool.apply(_measure, (evidence, feed, args.repeat)))


def _peak_mib() -> float:
    """Peak RSS of this process: VmHWM (ru_maxrss on Linux carries the parent's peak across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(evidence: Path, feed: Path, repeat: int) -> str:
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run_check(evidence, CheckOptions(iocs=(feed,)))
        times.append(time.perf_counter() - start)
    assert result is not None
    records = sum(a.records for a in result.artifacts)
    median = statistics.median(times)
    peak = _peak_mib()
    lines = [
        f"evidence {evidence.stat().st_size / 1e6:.1f} MB zip; {records} records, "
        f"{len(result.findings)} findings, {result.indicator_count} indicators",
        f"run_check median {median:.2f}s over {repeat} ({records / median:,.0f} records/s); "
        f"peak RSS of the checking process {peak:.0f} MiB",
    ]
    for a in sorted(result.artifacts, key=lambda a: -a.seconds)[:5]:
        lines.append(f"  {a.name:28} {a.seconds:6.2f}s {a.records:8} records")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
