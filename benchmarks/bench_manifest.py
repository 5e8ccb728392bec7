"""Scale run of the manifest artifact: a Manifest.db of N rows, streamed through `preuve check`.

    PYTHONPATH=src python3 benchmarks/bench_manifest.py 500000

Prints records, seconds, records per second and the peak RSS of the process.
With ``--artifact backup_info`` only the backup is opened (its listing, which
the acquisition keeps in memory), to tell that cost from the artifact's.
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import tempfile
import time
from pathlib import Path

from preuve.builders.ios_backup import MANIFEST_SCHEMA, BackupBuilder, file_id, mbfile_blob
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions


def write_manifest(root: Path, rows: int) -> None:
    BackupBuilder(root).finish()
    (root / "Manifest.db").unlink()
    conn = sqlite3.connect(root / "Manifest.db")
    for statement in MANIFEST_SCHEMA:
        conn.execute(statement)
    batch = []
    for n in range(rows):
        domain = f"AppDomain-com.example.app{n % 300}"
        rel = f"Library/WebKit/WebsiteData/LocalStorage/https_site{n}.example.net_0.localstorage" if n % 10 == 0 \
            else f"Library/Caches/f{n}.bin"
        batch.append((file_id(domain, rel), domain, rel, 1, mbfile_blob(rel, n, 1_685_620_800, 0o100644, 1)))
        if len(batch) >= 10_000:
            conn.executemany("INSERT INTO Files VALUES (?, ?, ?, ?, ?)", batch)
            batch.clear()
    conn.executemany("INSERT INTO Files VALUES (?, ?, ?, ?, ?)", batch)
    conn.commit()
    conn.close()


class _Count:
    def __init__(self) -> None:
        self.records = 0

    def begin(self, opened, index) -> None:  # noqa: ANN001
        pass

    def artifact_started(self, artifact) -> None:  # noqa: ANN001
        pass

    def record(self, artifact, record, findings, stamps) -> None:  # noqa: ANN001
        self.records += 1

    def artifact_finished(self, artifact, report) -> None:  # noqa: ANN001
        pass

    def finish(self, result) -> None:  # noqa: ANN001
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", type=int, nargs="?", default=100_000)
    parser.add_argument("--artifact", default="manifest", help="backup_info: the cost of opening the backup alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="preuve-bench-") as tmp:
        root = Path(tmp) / "backup"
        write_manifest(root, args.rows)
        sink = _Count()
        started = time.perf_counter()
        run_check(root, CheckOptions(only_artifacts=(args.artifact,)), sinks=[sink])
        seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"artifact={args.artifact} records={sink.records} seconds={seconds:.1f} per_s={sink.records / seconds:.0f} peak_rss_mib={peak_mib:.0f}")


if __name__ == "__main__":
    main()
