"""Filesystem-dump speed: `preuve check` on a tar of N files (default 100 000) vs `mvt-ios check-fs`.

Usage: python3 benchmarks/ios_dump.py [--files 100000] [--iocs FEED] [--repeat 1] [--keep DIR]

It writes a synthetic iOS filesystem dump (app containers, caches, a few
planted Pegasus file names) as a folder and as a .tar, then times, as
separate processes:

- `preuve check DUMP.tar` and `DUMP.tar.gz` (read in place, never extracted),
- `preuve check DUMP/` (the folder),
- `mvt-ios check-fs DUMP/` when MVT is installed (PATH; MVT reads folders only),

with the same STIX feed, and prints the times and the ratio MVT / preuve.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FEED = ROOT.parent / "shared" / "iocs" / "amnesty-investigations" / "2021-07-18_nso" / "pegasus.stix2"
PLANTED = (
    "private/var/db/com.apple.xpc.roleaccountd.staging/roleaccountd.plist",
    "private/var/tmp/roleaccountd.plist",
)


def write_dump(folder: Path, count: int) -> None:
    apps = max(1, count // 200)
    made = 0
    for app in range(apps):
        container = f"private/var/mobile/Containers/Data/Application/{uuid.UUID(int=app + 1)}"
        for n in range(200):
            if made >= count - len(PLANTED):
                break
            sub = ("Library/Caches", "Library/Preferences", "Documents", "tmp")[n % 4]
            target = folder / container / sub / f"file{n:04d}.dat"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"x" * (n % 64))
            made += 1
    for rel in PLANTED:
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"<plist/>")


def find_mvt() -> str | None:
    return shutil.which("mvt-ios")


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started, done.returncode


def _count(path: Path, key: str | None) -> int | None:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    items = doc.get(key, []) if key and isinstance(doc, dict) else doc
    return len(items) if isinstance(items, list) else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--iocs", type=Path, default=DEFAULT_FEED)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="Work in this folder and keep it.")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="preuve-bench-dump-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        folder = base / "dump"
        tar = base / "dump.tar"
        if not folder.is_dir():
            write_dump(folder, args.files)
        if not tar.is_file():
            with tarfile.open(tar, "w") as tf:
                tf.add(folder / "private", arcname="private")
        tar_gz = base / "dump.tar.gz"
        if not tar_gz.is_file():
            with open(tar, "rb") as src, gzip.open(tar_gz, "wb", compresslevel=1) as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        preuve = [sys.executable, "-m", "preuve", "check", "--iocs", str(args.iocs), "-q"]
        runs: dict[str, list[float]] = {
            "preuve tar": [], "preuve tar.gz": [], "preuve folder": [], "mvt-ios check-fs folder": []
        }
        codes: dict[str, int] = {}
        mvt = find_mvt()
        for index in range(args.repeat):
            for name, target in (("preuve tar", tar), ("preuve tar.gz", tar_gz), ("preuve folder", folder)):
                seconds, codes[name] = timed([*preuve, str(target), "-o", str(base / f"out-{name[7:]}-{index}")], env)
                runs[name].append(seconds)
            if mvt:
                out = base / f"out-mvt-{index}"
                seconds, codes["mvt"] = timed([mvt, "check-fs", "--iocs", str(args.iocs), "-o", str(out), str(folder)])
                runs["mvt-ios check-fs folder"].append(seconds)
        found = {
            "preuve tar": _count(base / "out-tar-0" / "findings.json", "findings"),
            "preuve tar.gz": _count(base / "out-tar.gz-0" / "findings.json", "findings"),
            "preuve folder": _count(base / "out-folder-0" / "findings.json", "findings"),
            "mvt-ios check-fs folder": _count(base / "out-mvt-0" / "filesystem_detected.json", None),
        }
        print(f"{args.files} files, feed {args.iocs.name}, {args.repeat} run(s), median seconds:")
        medians = {name: statistics.median(times) for name, times in runs.items() if times}
        for name, value in medians.items():
            code = codes.get(name if name.startswith("preuve") else "mvt")
            print(f"  {name:26} {value:8.2f} s   (exit {code}, {found[name]} filesystem detections)")
        if "mvt-ios check-fs folder" in medians:
            mvt_s = medians["mvt-ios check-fs folder"]
            print(f"  ratio mvt / preuve (tar):    {mvt_s / medians['preuve tar']:.2f}")
            print(f"  ratio mvt / preuve (tar.gz): {mvt_s / medians['preuve tar.gz']:.2f}")
            print(f"  ratio mvt / preuve (folder): {mvt_s / medians['preuve folder']:.2f}")
        else:
            print("  mvt-ios not found on PATH: no ratio")
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
