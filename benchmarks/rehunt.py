"""Retro-hunt speed: N stored observables (default 10 million) against every public feed.

Usage: python3 benchmarks/rehunt.py [--observables 10000000] [--iocs ../shared/iocs] [--repeat 3]

It fills a case store with synthetic records whose observables carry the same
lookup keys `check --case` stores (links, domains, processes, file paths),
with a few hundred planted hits, then times `CaseStore.rehunt` (one index seek
per indicator; one core). It prints the median and the hits found. The target
(issue "Cases, retro-hunting and fleets"): under 30 s for 10 million.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from preuve.indicators.index import load_index  # noqa: E402
from preuve.indicators.keys import observable_keys  # noqa: E402
from preuve.model import Kind, Observable  # noqa: E402
from preuve.store.case import CaseStore  # noqa: E402


def fill(case: Path, count: int, planted: list[Observable], seed: int = 7) -> None:
    rng = random.Random(seed)
    with CaseStore(case, write=True) as store:
        c = store.conn
        c.execute("BEGIN")
        # Bulk load: build the key index once at the end rather than row by row.
        c.execute("DROP INDEX observables_key")
        c.execute("DROP INDEX observables_record")
        c.execute("INSERT INTO acquisitions (evidence, kind, platform) VALUES ('/bench/device', 'ios_backup', 'ios')")
        batch_r: list[tuple[object, ...]] = []
        batch_o: list[tuple[object, ...]] = []
        record_id = 0
        made = 0
        line = b'{"record_type":"bench","locator":{"device_path":"/bench/sms.db","sha256":"00","table":"message","rowid":1}}'
        while made < count:
            record_id += 1
            if record_id % 100_000 == 0 and planted:
                observable = planted[(record_id // 100_000) % len(planted)]
            else:
                pick = rng.random()
                n = rng.randrange(1 << 30)
                if pick < 0.6:
                    observable = Observable(Kind.URL, f"https://site{n % 50000}.example{n % 97}.org/p/{n}")
                elif pick < 0.8:
                    observable = Observable(Kind.PROCESS, f"daemon{n % 3000}d")
                else:
                    observable = Observable(Kind.FILE_PATH, f"/private/var/mobile/Library/f{n % 100000}/x{n}.db")
            batch_r.append((record_id, 1, "sms", "bench", line, "", None, None, "00", None))
            for key_kind, key in observable_keys(observable):
                batch_o.append((record_id, str(observable.kind), observable.value, key_kind, key))
                made += 1
            if len(batch_o) >= 200_000:
                c.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch_r)
                c.executemany("INSERT INTO observables VALUES (?, ?, ?, ?, ?)", batch_o)
                batch_r.clear()
                batch_o.clear()
        c.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch_r)
        c.executemany("INSERT INTO observables VALUES (?, ?, ?, ?, ?)", batch_o)
        c.execute("CREATE INDEX observables_key ON observables(key_kind, key)")
        c.execute("CREATE INDEX observables_record ON observables(record_id)")
        c.execute("COMMIT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observables", type=int, default=10_000_000)
    parser.add_argument("--iocs", type=Path, default=ROOT.parent / "shared" / "iocs")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    index = load_index([args.iocs], lambda m: None)
    planted = [
        Observable(Kind.URL, f"https://a.{i.value}/x") if i.kind == Kind.DOMAIN else Observable(i.kind, i.raw_value)
        for i in list(index.indicators())[::500]
    ]
    with tempfile.TemporaryDirectory(prefix="preuve-rehunt-") as tmp:
        case = Path(tmp) / "case.db"
        started = time.perf_counter()
        fill(case, args.observables, planted)
        print(f"filled {args.observables:,} observables in {time.perf_counter() - started:.1f} s")
        times = []
        hits = 0
        for _ in range(args.repeat):
            with CaseStore(case, write=True) as store:
                store.conn.execute("DELETE FROM findings")
                started = time.perf_counter()
                hits = len(store.rehunt(index, {}))
                times.append(time.perf_counter() - started)
        print(f"rehunt: {len(index)} indicators x {args.observables:,} observables: median {statistics.median(times):.2f} s "
              f"(runs: {', '.join(f'{t:.2f}' for t in times)}), {hits} new findings; target < 30 s")


if __name__ == "__main__":
    main()
