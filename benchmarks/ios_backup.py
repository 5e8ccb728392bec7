"""Speed of `preuve check` on iOS backups, side by side with a raw-SQLite floor and MVT.

Usage (from the repository root; see benchmarks/README.md)::

    python3 benchmarks/ios_backup.py                       # 10k and 100k records, median of 3
    python3 benchmarks/ios_backup.py --sizes 10k,100k,1M --repeat 3 --json results.json
    python3 benchmarks/ios_backup.py --mvt MVT_VENV/bin/mvt-ios

For each size, a backup is built with the package's builders (sms.db messages
carrying links, DataUsage processes with their usage rows, a few planted
indicator hits), then, in the same run and repeated ``--repeat`` times:

(a) ``preuve check`` in a **subprocess** (``python -m preuve check -q``, so the
    time includes interpreter start, imports and loading the feeds, as a user
    sees it; with its bytecode compiled once beforehand, as pip installs it); its peak RSS is read from that child's rusage (``os.wait4``);
(b) the **floor**: a subprocess (benchmarks/ios_floor.py, standard library only)
    that finds the same files through Manifest.db and reads the same rows with
    plain ``sqlite3`` and does nothing with them;
(c) ``mvt-ios check-backup --iocs <same feeds> --output <tmp>`` when MVT is
    found (``--mvt PATH``, env ``MVT_BIN``, or ``mvt-ios`` on PATH); its
    output is checked to hold every message, so MVT really parsed the backup.

Medians are printed as a table with the ratios preuve/floor and mvt/preuve,
and the time to load every feed under ``--iocs`` (default
../shared/iocs beside the checkout, or --iocs) in-process. This is a script, not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from preuve.builders.ios_backup import BackupBuilder  # noqa: E402
from preuve.builders.ios_dbs import Message, Process, fill_datausage, fill_sms  # noqa: E402
from preuve.indicators.index import load_index  # noqa: E402
from preuve.indicators.stix import feed_files, load_feed  # noqa: E402

SMS = ("HomeDomain", "Library/SMS/sms.db")
DATAUSAGE = ("WirelessDomain", "Library/Databases/DataUsage.sqlite")
MESSAGE_SHARE = 0.8  # the rest are DataUsage processes
PLANTED = 10  # indicator hits planted among the messages, and half as many among the processes


# -- building ---------------------------------------------------------------------------------------


def parse_size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def size_label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


@dataclass(frozen=True, slots=True)
class Plan:
    """How many records of each kind a backup holds, and the indicator values planted in it."""

    records: int
    messages: int
    processes: int
    bad_domains: tuple[str, ...]
    bad_processes: tuple[str, ...]


def make_plan(records: int, feeds: Sequence[Path]) -> Plan:
    domains: set[str] = set()
    processes: set[str] = set()
    for path in feed_files(list(feeds)):
        try:
            _, indicators = load_feed(path, lambda _m: None)
        except Exception:  # noqa: BLE001, S112 - a feed that does not load gives no planted value
            continue
        for ind in indicators:
            if ind.kind == "domain" and "." in ind.value:
                domains.add(ind.value)
            elif ind.kind == "process" and ind.value.isidentifier() and len(ind.value) < 15:
                processes.add(ind.value)
    messages = int(records * MESSAGE_SHARE)
    return Plan(
        records=records,
        messages=messages,
        processes=records - messages,
        bad_domains=tuple(sorted(domains)[:PLANTED]),
        bad_processes=tuple(sorted(processes)[: PLANTED // 2]),
    )


def _messages(plan: Plan) -> Iterator[Message]:
    start = datetime(2023, 1, 1, tzinfo=UTC)
    stride = max(1, plan.messages // max(1, len(plan.bad_domains)))
    for i in range(plan.messages):
        planted = i % stride == stride // 2 and (i // stride) < len(plan.bad_domains)
        host = plan.bad_domains[i // stride] if planted else f"www.news{i % 5000}.example.org"
        kind = i % 4
        if kind == 3:
            text = f"ok, see you at {i % 24}h"
        else:
            text = f"Hi! Read this https://{host}/article/{i}?ref=sms before tomorrow"
        yield Message(
            text=text,
            handle=f"+4179{i % 500:07d}" if i % 7 else f"friend{i % 50}@example.org",
            service="SMS" if i % 3 == 0 else "iMessage",
            is_from_me=i % 5 == 0,
            date=start + timedelta(seconds=37 * i),
            date_read=start + timedelta(seconds=37 * i + 60) if i % 2 else None,
            text_only_in_body=kind == 1,  # iOS 16+: the text only in attributedBody
            preview_url=f"https://{host}/article/{i}" if i % 20 == 2 else None,
        )


def _processes(plan: Plan) -> list[Process]:
    out: list[Process] = []
    stride = max(1, plan.processes // max(1, len(plan.bad_processes)))
    for i in range(plan.processes):
        pk = i + 1
        if i % stride == stride // 2 and (i // stride) < len(plan.bad_processes):
            out.append(Process(pk, plan.bad_processes[i // stride], None, wifi_in=1000.0, wwan_in=10.0))
        else:
            out.append(
                Process(pk, f"App{i}/com.example.app{i}", f"com.example.app{i}", wifi_in=float(i), wwan_in=1.0)
            )
    return out


def build_backup(root: Path, plan: Plan) -> Path:
    builder = BackupBuilder(root)
    # fill_sms only iterates its messages: a generator keeps the builder's memory flat at 1M.
    builder.add_sqlite(*SMS, lambda conn: fill_sms(conn, cast(Sequence[Message], _messages(plan)), ios_major=16))
    builder.add_sqlite(*DATAUSAGE, lambda conn: fill_datausage(conn, _processes(plan)))
    return builder.finish()


# -- the floor --------------------------------------------------------------------------------------

FLOOR_SCRIPT = Path(__file__).resolve().parent / "ios_floor.py"  # standard library only: see its docstring


# -- running ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Run:
    seconds: float
    cpu_seconds: float  # user + system of the child: less sensitive than wall time to a busy machine
    max_rss_mib: float
    returncode: int


def _peak_rss_kib(pid: int) -> int | None:
    """VmHWM of a running process (its own peak RSS since its last exec), or None."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def run_measured(argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """Run a command, returning its wall time, CPU time and its own peak RSS.

    The peak RSS is the child's VmHWM, polled from /proc while it runs. Its
    rusage ``ru_maxrss`` is not used when /proc is there: Linux carries the
    parent's RSS at the time of exec into it, so it would count this script.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(  # noqa: S603 - our own commands
        list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd
    )
    assert proc.stderr is not None
    peak = 0

    def poll() -> None:
        nonlocal peak
        while True:
            hwm = _peak_rss_kib(proc.pid)
            if hwm is None:
                return
            peak = max(peak, hwm)
            time.sleep(0.02)

    import threading

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    watcher.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 2, 3):
        sys.stderr.write(f"{argv[0]} exited {proc.returncode}:\n{err.decode(errors='replace')[-3000:]}\n")
    # ru_maxrss (KiB on Linux) only where /proc could not be read.
    rss_kib = peak or usage.ru_maxrss
    return Run(seconds, usage.ru_utime + usage.ru_stime, rss_kib / 1024, proc.returncode)


def preuve_argv(backup: Path, out: Path, feeds: Sequence[Path]) -> list[str]:
    argv = [sys.executable, "-m", "preuve", "check", str(backup), "-o", str(out), "-q"]
    for feed in feeds:
        argv += ["--iocs", str(feed)]
    return argv


def preuve_env(work: Path) -> dict[str, str]:
    """The environment preuve runs in: its sources, with bytecode as an installed package has it.

    `pip install` compiles every module; run from the source tree with PYTHONDONTWRITEBYTECODE set
    (as on some machines), each run would compile the whole package again (~0.25 s) and MVT,
    installed by pip, would not. The bytecode goes to a cache folder in the work folder, compiled
    once before any timing.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src")], env=env, check=True)
    return env


def find_mvt(given: str | None) -> Path | None:
    for candidate in (given, os.environ.get("MVT_BIN"), shutil.which("mvt-ios")):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def mvt_messages(out: Path) -> int:
    """How many messages MVT wrote out (sms.json), to show it parsed the same backup."""
    import json

    path = out / "sms.json"
    if not path.is_file():
        return -1
    return len(json.loads(path.read_bytes()))


@dataclass(slots=True)
class SizeResult:
    records: int
    label: str
    messages: int
    processes: int
    build_seconds: float
    backup_mib: float
    preuve: list[float] = field(default_factory=list)
    preuve_cpu: list[float] = field(default_factory=list)
    preuve_rss_mib: list[float] = field(default_factory=list)
    preuve_findings: int = -1
    floor: list[float] = field(default_factory=list)
    floor_cpu: list[float] = field(default_factory=list)
    floor_rss_mib: list[float] = field(default_factory=list)
    mvt: list[float] = field(default_factory=list)
    mvt_cpu: list[float] = field(default_factory=list)
    mvt_rss_mib: list[float] = field(default_factory=list)
    mvt_messages: int | None = None

    def median(self, name: str) -> float | None:
        values = cast(list[float], getattr(self, name))
        return statistics.median(values) if values else None

    def summary(self) -> dict[str, object]:
        out = asdict(self)
        for name in ("preuve", "preuve_cpu", "preuve_rss_mib", "floor", "floor_cpu", "floor_rss_mib", "mvt",
                     "mvt_cpu", "mvt_rss_mib"):
            out[f"{name}_median"] = self.median(name)
        p, f, m = self.median("preuve"), self.median("floor"), self.median("mvt")
        out["preuve_over_floor"] = p / f if p and f else None
        out["mvt_over_preuve"] = m / p if m and p else None
        pc, fc, mc = self.median("preuve_cpu"), self.median("floor_cpu"), self.median("mvt_cpu")
        out["preuve_over_floor_cpu"] = pc / fc if pc and fc else None
        out["mvt_over_preuve_cpu"] = mc / pc if mc and pc else None
        # The ratios of each round (the three commands of a round run one after the other): on a
        # shared machine their spread says how far the medians above can be trusted.
        out["preuve_over_floor_rounds"] = [a / b for a, b in zip(self.preuve, self.floor, strict=False) if b]
        out["mvt_over_preuve_rounds"] = [a / b for a, b in zip(self.mvt, self.preuve, strict=False) if b]
        return out


def findings_count(out: Path) -> int:
    import json

    doc = json.loads((out / "findings.json").read_bytes())
    return len(doc["findings"])


def feed_loading_seconds(feeds: Sequence[Path], repeat: int) -> tuple[float, int]:
    times: list[float] = []
    count = 0
    for _ in range(repeat):
        started = time.perf_counter()
        index = load_index(list(feeds), lambda _m: None)
        times.append(time.perf_counter() - started)
        count = len(index)
    return statistics.median(times), count


def measure(size: int, args: argparse.Namespace, feeds: list[Path], mvt: Path | None, work: Path) -> SizeResult:
    plan = make_plan(size, feeds)
    backup = work / f"backup-{size_label(size)}"
    started = time.perf_counter()
    if not (backup / "Manifest.db").is_file():
        shutil.rmtree(backup, ignore_errors=True)
        build_backup(backup, plan)
    build = time.perf_counter() - started
    mib = sum(p.stat().st_size for p in backup.rglob("*") if p.is_file()) / 1024**2
    result = SizeResult(size, size_label(size), plan.messages, plan.processes, build, mib)
    print(f"[{result.label}] backup {backup} ({mib:.1f} MiB, built in {build:.1f} s)", file=sys.stderr)
    floor_argv = [sys.executable, str(FLOOR_SCRIPT), str(backup)]
    env = preuve_env(work)
    for i in range(args.repeat):
        out = work / f"preuve-{result.label}-{i}"
        shutil.rmtree(out, ignore_errors=True)
        run = run_measured(preuve_argv(backup, out, feeds), env=env)
        result.preuve.append(run.seconds)
        result.preuve_cpu.append(run.cpu_seconds)
        result.preuve_rss_mib.append(run.max_rss_mib)
        result.preuve_findings = findings_count(out)
        shutil.rmtree(out, ignore_errors=True)
        run = run_measured(floor_argv)
        result.floor.append(run.seconds)
        result.floor_cpu.append(run.cpu_seconds)
        result.floor_rss_mib.append(run.max_rss_mib)
        if mvt is not None and size <= args.mvt_max:
            mout = work / f"mvt-{result.label}-{i}"
            shutil.rmtree(mout, ignore_errors=True)
            mout.mkdir(parents=True)
            argv = [str(mvt), "check-backup", "--output", str(mout)]
            for feed in feeds:
                argv += ["--iocs", str(feed)]
            run = run_measured([*argv, str(backup)], env={**os.environ, "MVT_DISABLE_UPDATES": "1"})
            result.mvt.append(run.seconds)
            result.mvt_cpu.append(run.cpu_seconds)
            result.mvt_rss_mib.append(run.max_rss_mib)
            result.mvt_messages = mvt_messages(mout)
            if not args.keep:
                shutil.rmtree(mout, ignore_errors=True)
        print(
            f"[{result.label}] run {i + 1}/{args.repeat}: preuve {result.preuve[-1]:.2f} s, "
            f"floor {result.floor[-1]:.2f} s" + (f", mvt {result.mvt[-1]:.2f} s" if result.mvt else ""),
            file=sys.stderr,
        )
    return result


def fmt(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:.2f}{unit}"


def print_table(results: Sequence[SizeResult], feeds_seconds: float, indicators: int, repeat: int) -> None:
    print(f"\nMedians of {repeat} runs; every command in a subprocess; wall and CPU (user+sys) seconds\n")
    head = ("records", "preuve wall", "floor wall", "mvt wall", "preuve/floor", "mvt/preuve", "preuve CPU",
            "floor CPU", "mvt CPU", "preuve/floor CPU", "mvt/preuve CPU", "preuve RSS MiB", "mvt RSS MiB",
            "findings", "mvt msgs")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---:" for _ in head) + "|")
    for r in results:
        s = r.summary()
        print(
            "| " + " | ".join((
                r.label, fmt(r.median("preuve")), fmt(r.median("floor")), fmt(r.median("mvt")),
                fmt(cast(float | None, s["preuve_over_floor"]), "x"),
                fmt(cast(float | None, s["mvt_over_preuve"]), "x"),
                fmt(r.median("preuve_cpu")), fmt(r.median("floor_cpu")), fmt(r.median("mvt_cpu")),
                fmt(cast(float | None, s["preuve_over_floor_cpu"]), "x"),
                fmt(cast(float | None, s["mvt_over_preuve_cpu"]), "x"),
                fmt(r.median("preuve_rss_mib")), fmt(r.median("mvt_rss_mib")), str(r.preuve_findings),
                "-" if r.mvt_messages is None else f"{r.mvt_messages}/{r.messages}",
            )) + " |"
        )
    print("\nRatios round by round (min / median / max):")
    for r in results:
        s = r.summary()
        for name, key in (("preuve/floor", "preuve_over_floor_rounds"), ("mvt/preuve", "mvt_over_preuve_rounds")):
            rounds = sorted(cast(list[float], s[key]))
            if rounds:
                print(f"  {r.label} {name}: {rounds[0]:.2f}x / {statistics.median(rounds):.2f}x / {rounds[-1]:.2f}x")
    print(f"\nLoading all feeds ({indicators} indicators): {feeds_seconds:.3f} s (in-process, median)")


def default_iocs() -> Path:
    for candidate in (REPO.parent / "shared" / "iocs",):
        if candidate.is_dir():
            return candidate
    raise SystemExit("no indicator folder found: pass --iocs")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k", help="record counts, e.g. 10k,100k,1M")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median is reported)")
    parser.add_argument("--iocs", type=Path, default=None, help="STIX folder (default: shared/iocs)")
    parser.add_argument("--mvt", default=None, help="path of mvt-ios (else $MVT_BIN, else PATH)")
    # MVT's DataUsage check looks each process id up in a list (quadratic): with the 200k processes
    # of the 1M backup it had not finished after 10 minutes, so by default it stops at 100k.
    parser.add_argument("--mvt-max", type=parse_size, default=parse_size("100k"),
                        help="largest size MVT is run on (default 100k: it is quadratic in processes)")
    parser.add_argument("--workdir", type=Path, default=None, help="where backups are built (kept, reused)")
    parser.add_argument("--keep", action="store_true", help="keep MVT's output folders")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)

    iocs = args.iocs or default_iocs()
    feeds = sorted(feed_files([iocs]))
    mvt = find_mvt(args.mvt)
    if mvt is None:
        print("MVT not found (--mvt, MVT_BIN or mvt-ios on PATH): MVT column left empty", file=sys.stderr)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="preuve-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    feeds_seconds, indicators = feed_loading_seconds([iocs], max(3, args.repeat))
    results = [measure(parse_size(s), args, feeds, mvt, work) for s in args.sizes.split(",") if s.strip()]
    print_table(results, feeds_seconds, indicators, args.repeat)
    if args.json is not None:
        import json

        doc = {
            "when": datetime.now(UTC).isoformat(),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "python": sys.version.split()[0],
            "sqlite": sqlite3.sqlite_version,
            "cpus": os.cpu_count(),
            "mvt": str(mvt) if mvt else None,
            "feeds": len(feeds),
            "indicators": indicators,
            "feed_loading_seconds": feeds_seconds,
            "sizes": [r.summary() for r in results],
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
