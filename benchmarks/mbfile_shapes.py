"""The MBFile kernel on MBFiles spread as a real phone's are, against the few shapes a builder writes.

Usage (from the repository root; see benchmarks/README.md, "The nineteenth session")::

    python3 benchmarks/mbfile_shapes.py [--blobs 100000] [--repeat 3] [--src SRC ...]

Every row of an iOS backup's Manifest.db carries an archived MBFile. Its bytes are laid out by its
relative path's length and by the widths of its numbers (sizes from bytes to gigabytes, inode numbers
of 32 or 64 bits, times equal to each other or not: the writer keeps one object for equal numbers),
so a phone's 200,000 files come in thousands of shapes, where the benchmark phone's builder writes a
few dozen. Two sets of blobs, written with plistlib as Apple's archiver lays them out:

- ``builder``: paths of one length pattern, sizes of one width, the three times equal (as
  ``workloads.py``'s phone before the nineteenth session: 79 shapes in 220,000 rows);
- ``phone``: path lengths drawn log-normally (median 55 characters, 3 to 250), sizes of 1, 2, 4 and
  8 bytes, inode numbers of 32 and 64 bits, the times equal, two equal, or all different.

Each set is decoded by a fresh ``MBFileDecoder`` (the full-field kernel, as the backup's listing
calls it), in a process of its own per ``--src`` (a checkout's ``src`` folder: before/after), the
sets interleaved; printed: microseconds per blob, medians of the rounds, and plistlib's own cost for
scale. Standard library and preuve only.
"""

from __future__ import annotations

import argparse
import json
import os
import plistlib
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _blob(path: str, size: int, inode: int, birth: int, modified: int, changed: int) -> bytes:
    uid = plistlib.UID
    root = {"$class": uid(3), "Birth": birth, "Flags": 0, "GroupID": 501, "InodeNumber": inode,
            "LastModified": modified, "LastStatusChange": changed, "Mode": 0o100644, "ProtectionClass": 3,
            "RelativePath": uid(2), "Size": size, "UserID": 501}
    archive = {"$archiver": "NSKeyedArchiver", "$version": 100000, "$top": {"root": uid(1)},
               "$objects": ["$null", root, path, {"$classes": ["MBFile", "NSObject"], "$classname": "MBFile"}]}
    return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY, sort_keys=False)


def blobs(kind: str, count: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        if kind == "builder":
            out.append(_blob(f"Media/DCIM/{100 + n // 1000 % 900}APPLE/IMG_{n:07d}.HEIC", 200 + n % 700,
                             int(rng.getrandbits(31)), 1_685_620_800, 1_685_620_800, 1_685_620_800))
            continue
        length = max(3, min(250, int(rng.lognormvariate(4.0, 0.5))))
        size = rng.choice([rng.randint(0, 255), rng.randint(256, 65_535), rng.randint(65_536, 2**31),
                           rng.randint(2**32, 2**33)])
        inode = rng.choice([rng.randint(2**20, 2**31), rng.randint(2**32, 2**40)])
        when = 1_600_000_000 + rng.randint(0, 10**8)
        birth, modified, changed = rng.choice([(when, when, when), (when, when + 5, when + 5),
                                               (when, when + 5, when + 9)])
        out.append(_blob("x" * length, size, inode, birth, modified, changed))
    return out


def _measure(kind: str, count: int) -> None:
    """In the child: decode the set once with the kernel, once with plistlib; print JSON."""
    from preuve.evidence.limits import Limits
    from preuve.evidence.mbfile import MBFileDecoder

    data = blobs(kind, count)
    shapes = len({blob[int.from_bytes(blob[-8:], "big"):] for blob in data})
    decoder = MBFileDecoder(Limits())
    start = time.process_time()
    for blob in data:
        decoder.fields(blob)
    kernel = time.process_time() - start
    start = time.process_time()
    for blob in data[: count // 10]:
        plistlib.loads(blob)
    general = (time.process_time() - start) * 10
    print(json.dumps({"shapes": shapes, "kernel_us": kernel / count * 1e6, "plistlib_us": general / count * 1e6}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blobs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--src", action="append", type=Path, default=[],
                        help="a checkout's src folder (repeatable; default: this one's)")
    parser.add_argument("--child", choices=("builder", "phone"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _measure(args.child, args.blobs)
        return 0
    sources = args.src or [HERE.parent / "src"]
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    for _ in range(args.repeat):
        for kind in ("builder", "phone"):
            for src in sources:
                env = {**os.environ, "PYTHONPATH": str(src.resolve())}
                done = subprocess.run(  # noqa: S603 - this script, our own package
                    [sys.executable, __file__, "--child", kind, "--blobs", str(args.blobs)],
                    env=env, capture_output=True, text=True, check=True,
                )
                results.setdefault((kind, str(src)), []).append(json.loads(done.stdout))
    print(f"Medians of {args.repeat} rounds, {args.blobs} blobs a set, one process per set and source\n")
    print("| blobs | src | shapes | kernel us/blob | plistlib us/blob |")
    print("|---|---|---:|---:|---:|")
    for (kind, src), rounds in results.items():
        print(f"| {kind} | {src} | {rounds[0]['shapes']:.0f} | {statistics.median(r['kernel_us'] for r in rounds):.2f} "
              f"| {statistics.median(r['plistlib_us'] for r in rounds):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
