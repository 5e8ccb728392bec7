"""Realistic workloads: `preuve check` beside MVT and a plain-read floor, on acquisitions shaped like real ones.

Usage (from the repository root; see benchmarks/README.md, "Realistic workloads")::

    python3 benchmarks/workloads.py --workload phone --size 200k --repeat 3 --workdir BENCH --mvt-bin DIR
    python3 benchmarks/workloads.py --workload phone --size 500k --repeat 3 --workdir BENCH
    python3 benchmarks/workloads.py --workload messages --size 100k ...      (the messages-heavy backups)
    python3 benchmarks/workloads.py --workload encrypted --size 200k ...     (workload phone, encrypted)
    python3 benchmarks/workloads.py --workload fs --size 100k ...            (a filesystem dump: folder, tar, tar.gz, zip,
                                                                              and as GNU tar writes them, when on PATH)
    python3 benchmarks/workloads.py --workload phonefs --size 200k ...       (workload 1's phone as its file system:
                                                                              folder, GNU tar, tar.gz, zip; also 500k)
    python3 benchmarks/workloads.py --workload androidqf --size 100 ...      (an AndroidQF zip, bugreport of N MB)
    python3 benchmarks/workloads.py --workload packed --size 200k ...        (workload 1's backup packed: GNU tar,
                                                                              tar.gz, zip; beside its folder)

Each acquisition is built once in ``--workdir`` (kept and reused: build big ones once) with the
package's builders, which write bytes the way iTunes/Finder, iOS and AndroidQF do. Then, in
interleaved rounds (preuve, floor, MVT, preuve, floor, MVT…), each command runs in its own
process and the medians are printed: preuve s, floor s, MVT s, MVT/preuve, preuve/floor, peak
RSS of each, and the size of preuve's output folder beside MVT's. Before the rounds, every file of
the evidence is stat-ed and read once, untimed, so that the first command of the first round meets
the page cache as every later one does (before 2026-12-07, preuve ran first in a cold cache: its
first round on the 200k phones took 4.8 s against 3.1 to 4.0 s in the others).

- **preuve**: ``python -m preuve check EVIDENCE -o OUT -q --iocs …`` with its bytecode compiled once
  beforehand (as pip installs it), the default output (``--timeline`` left as it is).
- **floor**: ``benchmarks/floors.py`` (standard library only): the same rows read with plain
  sqlite3 (Manifest.db with its MBFile blobs included), or the same bytes read with plain reads.
- **MVT**: ``mvt-ios check-backup`` / ``check-fs`` / ``mvt-android check-androidqf`` with the
  same feeds, from ``--mvt-bin`` (a folder holding mvt-ios and mvt-android), when given. MVT checks
  an encrypted backup once it has decrypted a copy: ``mvt-ios decrypt-backup -k KEY`` with MVT's
  own key file (written once by ``mvt-ios extract-key``, not timed, as preuve's ``--key-file``), then
  ``check-backup`` on the copy; the two are timed as one (wall and CPU added, the larger peak).

``--skip-artifact NAME`` (repeatable) runs preuve with ``--artifact`` for every other artifact of the
platform: ``--skip-artifact acquisition_integrity`` measures preuve doing what MVT does, without the
backup's integrity check, which MVT has no counterpart of.
"""

from __future__ import annotations

import argparse
import gzip
import os
import plistlib
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))  # the fixture builders in tests/builders
sys.path.insert(0, str(BENCH))

from ios_backup import (  # noqa: E402
    Plan,
    Run,
    default_iocs,
    make_plan,
    parse_size,
    preuve_env,
    run_measured,
    size_label,
)
from ios_backup import _messages as plan_messages  # noqa: E402
from ios_backup import _processes as plan_processes  # noqa: E402
from ios_backup import build_backup as build_messages_backup  # noqa: E402

from preuve.builders.ios_backup import BackupBuilder  # noqa: E402
from preuve.builders.ios_dbs import Message, fill_datausage, fill_sms  # noqa: E402
from preuve.builders.safari import Visit, fill_history  # noqa: E402
from preuve.indicators.stix import feed_files  # noqa: E402

FLOORS = BENCH / "floors.py"  # standard library only
KEY_PASSWORD = "bench-password"  # noqa: S105 - the password of the built encrypted backup

# -- the phone as people have it ----------------------------------------------------------------------

# Where the files of a real backup live: app containers (caches, preferences, documents, web
# storage), the camera roll, the home domain's system databases. Shares of the ordinary files.
_APP_PARTS = (
    "Library/Caches/com.apple.nsurlsessiond/Downloads/{n}.tmp",
    "Library/Preferences/group.{app}.{n}.plist",
    "Documents/Data/{n:06d}.db",
    "Library/Application Support/Cache/{n:x}/blob",
    "Library/Caches/{app}/fsCachedData/{n:08X}-ABCD-4EF0-9A1B-{n:012X}",
    "tmp/upload-{n}.part",
    "Documents/{name}.json",  # names of every length, as apps make them from titles and hashes
    "Library/Caches/{app}/{name}/{n}",
)
_WEB_STORAGE = "Library/WebKit/WebsiteData/LocalStorage/https_www.site{n}.example_0.localstorage"


@dataclass(frozen=True, slots=True)
class PhonePlan:
    files: int
    messages: int
    visits: int
    processes: int


PHONE_SIZES = {
    "200k": PhonePlan(files=200_000, messages=50_000, visits=50_000, processes=2_500),
    "500k": PhonePlan(files=500_000, messages=200_000, visits=50_000, processes=2_500),
    "2k": PhonePlan(files=2_000, messages=500, visits=500, processes=25),  # a smoke size
}


# Apps' bundle ids are of every length (com.apple.mobilesafari, net.whatsapp.WhatsApp,
# com.burbn.instagram…), and so are the paths of their files.
_VENDORS = ("acme", "burbn", "whatsapp", "toyopagroup", "facebook", "google", "spotify", "x", "tinyspeck",
            "microsoft", "nianticlabs", "zhiliaoapp")
_APPS = ("app", "Messenger", "instagram", "WhatsApp", "Maps", "client", "musically", "Slack", "Outlook-iOS")


def _app(n: int) -> str:
    """One of 120 bundle ids, of lengths from 9 to 41 characters."""
    k = n % 120
    return f"com.{_VENDORS[k % len(_VENDORS)]}.{_APPS[k % len(_APPS)]}{k if k % 3 else ''}"


def phone_mbfile(relative_path: str, size: int, mode: int, n: int) -> bytes:
    """The MBFile of file `n` as a phone's are spread: inode numbers of 32 and 64 bits, the creation,
    change and status-change times equal, two equal or all different (the archiver writes one object
    for equal numbers), protection classes 1 to 4; its size is the stored file's. (Until the
    nineteenth session the builder's three times were one, its inodes 32-bit: 79 shapes in 220,000
    rows, where a phone has thousands; see benchmarks/mbfile_shapes.py.)"""
    uid = plistlib.UID
    mixed = (n * 2_654_435_761 + 12_345) % 2**32  # a fixed spread, the same at every build
    birth = 1_600_000_000 + mixed % 90_000_000
    modified = birth + (0, 0, 3_600 + mixed % 500_000)[mixed % 3]
    changed = modified + (0, 17 + mixed % 3_000)[mixed >> 3 & 1]
    root = {
        "$class": uid(3), "Birth": birth, "Flags": 0, "GroupID": 501,
        "InodeNumber": mixed if mixed >> 5 & 3 else mixed << 8 | n % 256, "LastModified": modified,
        "LastStatusChange": changed, "Mode": mode, "ProtectionClass": 1 + (mixed >> 9 & 3), "RelativePath": uid(2),
        "Size": size, "UserID": 501,
    }
    archive = {"$version": 100000, "$archiver": "NSKeyedArchiver", "$top": {"root": uid(1)},
               "$objects": ["$null", root, relative_path, {"$classname": "MBFile", "$classes": ["MBFile", "NSObject"]}]}
    return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY)


def _name(n: int) -> str:
    """A name of 1 to 120 characters, fixed for `n`."""
    spread = (n * 2_654_435_761) % 2**32
    return (f"{spread:08x}" * 15)[: 1 + spread % 120]


def _phone_files(count: int) -> Iterator[tuple[str, str, int]]:
    """(domain, relative path, size) of the ordinary files: 120 apps, the camera roll, the home domain;
    every path distinct. (Before 2026-12-05 22:00 camera-roll and web-storage names repeated, and the
    "200k" and "500k" backups measured in benchmarks/README.md held 150,015 and 330,015 files.)"""
    for n in range(count):
        share = n % 10
        if share < 6:  # app containers
            app = _app(n)
            if n % 50 == 7:
                relative = _WEB_STORAGE.format(n=n // 50)
            else:
                relative = _APP_PARTS[n % len(_APP_PARTS)].format(n=n, app=app, name=_name(n))
            yield f"AppDomain-{app}", relative, 64 + n % 900
        elif share < 9:  # photos and their thumbnails
            folder = 100 + (n // 1000) % 900
            yield "CameraRollDomain", f"Media/DCIM/{folder}APPLE/IMG_{n:07d}.HEIC", 200 + n % 700
        else:  # the system's own files
            yield "HomeDomain", f"Library/Caches/com.apple.system/{n % 97}/{n}.cache", 32 + n % 300


def _visits(plan: PhonePlan, bad: Sequence[str]) -> list[Visit]:
    start = datetime(2023, 3, 1, tzinfo=UTC)
    stride = max(1, plan.visits // max(1, len(bad)))
    out = []
    for i in range(plan.visits):
        planted = i % stride == stride // 3 and (i // stride) < len(bad)
        host = bad[i // stride] if planted else f"www.site{i % 3000}.example"
        out.append(Visit(f"https://{host}/page/{i % 700}", start + timedelta(seconds=53 * i), title=f"Page {i}"))
    return out


def build_phone(root: Path, plan: PhonePlan, feeds: Sequence[Path]) -> Path:
    """A backup as iTunes/Finder writes it: `plan.files` ordinary files (each in Manifest.db with its
    MBFile and stored under its hashed name), sms.db, Safari's History.db and DataUsage.sqlite."""
    indicators = make_plan(10 * plan.processes, feeds)
    sized = Plan(plan.messages + plan.processes, plan.messages, plan.processes, indicators.bad_domains,
                 indicators.bad_processes)
    builder = BackupBuilder(root)
    for n, (domain, relative, size) in enumerate(_phone_files(plan.files)):
        builder.add_file(domain, relative, b"\0" * size)
        builder.set_mbfile(domain, relative, phone_mbfile(relative, size, 0o100644, n))
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db",
                       lambda conn: fill_sms(conn, cast(Sequence[Message], plan_messages(sized)), ios_major=16))
    builder.add_sqlite("HomeDomain", "Library/Safari/History.db",
                       lambda conn: fill_history(conn, _visits(plan, indicators.bad_domains)))
    builder.add_sqlite("WirelessDomain", "Library/Databases/DataUsage.sqlite",
                       lambda conn: fill_datausage(conn, plan_processes(sized)))
    return builder.finish()


def build_encrypted(plain: Path, out: Path, workdir: Path) -> tuple[Path, Path]:
    """The encrypted twin of a built backup and the key file `preuve backup-key` writes for it."""
    from tests.builders.ios_encrypted import encrypt_backup

    if not (out / "Manifest.plist").is_file():
        shutil.rmtree(out, ignore_errors=True)
        encrypt_backup(plain, out, KEY_PASSWORD)
    key = workdir / f"{out.name}.key"
    if not key.is_file():
        env = preuve_env(workdir)
        password = workdir / "password.txt"
        password.write_text(KEY_PASSWORD + "\n")
        subprocess.run(  # noqa: S603 - our own command
            [sys.executable, "-m", "preuve", "backup-key", str(out), "--password-file", str(password),
             "-o", str(key)], env=env, check=True,
        )
    return out, key


def mvt_key_file(mvt_ios: Path, backup: Path, workdir: Path) -> Path:
    """MVT's own key file for an encrypted backup (`mvt-ios extract-key`), written once: with it MVT
    decrypts without deriving the key from the password, as preuve does with its `--key-file`."""
    key = workdir / f"{backup.name}.mvt-key"
    if not key.is_file():
        subprocess.run(  # noqa: S603 - MVT's own command
            [str(mvt_ios), "extract-key", "-p", KEY_PASSWORD, "-k", str(key), str(backup)],
            env={**os.environ, "MVT_DISABLE_UPDATES": "1"}, stdout=subprocess.DEVNULL, check=True,
        )
    return key


# -- filesystem dumps and AndroidQF -------------------------------------------------------------------


def build_fs(base: Path, files: int) -> dict[str, Path]:
    from ios_dump import write_dump

    folder, tar, tar_gz = base / "dump", base / "dump.tar", base / "dump.tar.gz"
    if not folder.is_dir():
        write_dump(folder, files)
    if not tar.is_file():
        with tarfile.open(tar, "w") as out:
            out.add(folder / "private", arcname="private")
    if not tar_gz.is_file():
        with open(tar, "rb") as src, gzip.open(tar_gz, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    built = {"folder": folder, "tar": tar, "tar.gz": tar_gz}
    # The same dump as a zip, as commercial extraction tools hand a phone's file system over (a folder's
    # files deflated, their names under the top of the zip).
    built["zip"] = _zipped(folder, base / "dump.zip")
    # The same dump as GNU tar writes it in its pax format, as tools that image a phone's file system
    # do (GNU tar or bsdtar): a pax header before every member, named after it, holding its three
    # times. Python's tarfile writes one shared header with one record instead, a lighter shape.
    gnu_tar, gnu_tar_gz = base / "dump-gnu.tar", base / "dump-gnu.tar.gz"
    if _gnu_tarred(folder, gnu_tar, gnu_tar_gz):
        built |= {"gnu.tar": gnu_tar, "gnu.tar.gz": gnu_tar_gz}
    return built


def _zipped(folder: Path, target: Path) -> Path:
    """The dump's `private` folder as a zip (deflated), written once."""
    if not target.is_file():
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out_zip:
            for entry in sorted((folder / "private").rglob("*")):
                out_zip.write(entry, str(entry.relative_to(folder)))
    return target


def _gnu_tarred(folder: Path, tar: Path, tar_gz: Path) -> bool:
    """The dump's `private` folder as GNU tar writes it (pax, sorted), and the same gzipped, written
    once; False when no GNU tar is on PATH."""
    gnu = shutil.which("tar")
    version = subprocess.run([gnu, "--version"], capture_output=True, text=True, check=False).stdout if gnu else ""
    if not gnu or "GNU tar" not in version:
        return False
    if not tar.is_file():
        subprocess.run([gnu, "--format=pax", "--sort=name", "-cf", str(tar), "-C", str(folder), "private"],  # noqa: S603
                       check=True)
    if not tar_gz.is_file():
        with open(tar, "rb") as src, gzip.open(tar_gz, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    return True


# The phone of workload 1 as its file system is imaged (a jailbroken or exploited phone, a commercial
# extraction's "full file system"): each app's data in a container named by a UUID, which a metadata
# file names; the camera roll under Media; the system's databases where iOS keeps them (Safari's history
# in Safari's own container since iOS 13).
_CONTAINERS = "private/var/mobile/Containers/Data/Application"
_SAFARI_BUNDLE = "com.apple.mobilesafari"


def _container(bundle: str) -> str:
    """The container of an app, named by a UUID fixed for its bundle id."""
    return f"{_CONTAINERS}/{str(uuid.uuid5(uuid.NAMESPACE_DNS, bundle)).upper()}"


def _fs_path(domain: str, relative: str) -> str:
    """Where a file of the backup's domain lies in the phone's file system."""
    if domain.startswith("AppDomain-"):
        return f"{_container(domain[len('AppDomain-'):])}/{relative}"
    if domain == "CameraRollDomain":
        return f"private/var/mobile/{relative}"
    if domain == "WirelessDomain":
        return f"private/var/wireless/{relative}"
    return f"private/var/mobile/{relative}"  # HomeDomain


def _sqlite_file(target: Path, fill: Callable[[sqlite3.Connection], None]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(target)
    try:
        fill(conn)
        conn.commit()
    finally:
        conn.close()


def build_phone_fs(folder: Path, plan: PhonePlan, feeds: Sequence[Path]) -> None:
    """Workload 1's phone as a file-system dump: the same `plan.files` ordinary files (each with its
    own times, as the phone's are), the same sms.db, History.db and DataUsage.sqlite, and the same
    processes in netusage.sqlite, which a file system holds and a backup does not."""
    indicators = make_plan(10 * plan.processes, feeds)
    sized = Plan(plan.messages + plan.processes, plan.messages, plan.processes, indicators.bad_domains,
                 indicators.bad_processes)
    made: set[str] = set()
    bundles = {_SAFARI_BUNDLE} | {_app(n) for n in range(120)}
    for bundle in sorted(bundles):
        container = folder / _container(bundle)
        container.mkdir(parents=True, exist_ok=True)
        metadata = {"MCMMetadataIdentifier": bundle, "MCMMetadataContentClass": 2,
                    "MCMMetadataUUID": container.name}
        (container / ".com.apple.mobile_container_manager.metadata.plist").write_bytes(
            plistlib.dumps(metadata, fmt=plistlib.FMT_BINARY))
    for n, (domain, relative, size) in enumerate(_phone_files(plan.files)):
        target = folder / _fs_path(domain, relative)
        parent = str(target.parent)
        if parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(parent)
        target.write_bytes(b"\0" * size)
        mixed = (n * 2_654_435_761 + 12_345) % 2**32  # the times phone_mbfile gives file n
        modified = 1_600_000_000 + mixed % 90_000_000 + (0, 0, 3_600 + mixed % 500_000)[mixed % 3]
        os.utime(target, (modified, modified))
    _sqlite_file(folder / "private/var/mobile/Library/SMS/sms.db",
                 lambda conn: fill_sms(conn, cast(Sequence[Message], plan_messages(sized)), ios_major=16))
    _sqlite_file(folder / _container(_SAFARI_BUNDLE) / "Library/Safari/History.db",
                 lambda conn: fill_history(conn, _visits(plan, indicators.bad_domains)))
    _sqlite_file(folder / "private/var/wireless/Library/Databases/DataUsage.sqlite",
                 lambda conn: fill_datausage(conn, plan_processes(sized)))
    _sqlite_file(folder / "private/var/networkd/db/netusage.sqlite",
                 lambda conn: fill_datausage(conn, plan_processes(sized)))


def build_phone_fs_archives(base: Path, plan: PhonePlan, feeds: Sequence[Path]) -> dict[str, Path]:
    """The phone's file system as a folder, and as the archives it is handed over in: a tar as GNU tar
    writes it (pax, a header before every member), the same gzipped, and a zip (deflated)."""
    folder = base / "dump"
    if not (folder / "private/var/mobile/Library/SMS/sms.db").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        build_phone_fs(folder, plan, feeds)
    built = {"folder": folder}
    tar, tar_gz = base / "dump.tar", base / "dump.tar.gz"
    if _gnu_tarred(folder, tar, tar_gz):
        built |= {"tar": tar, "tar.gz": tar_gz}
    built["zip"] = _zipped(folder, base / "dump.zip")
    return built


def build_packed(backup: Path, base: Path) -> dict[str, Path]:
    """Workload 1's backup as it is handed over packed: its folder (under its own name) as GNU tar writes
    it, the same gzipped, and a zip as Info-ZIP and Finder write one (deflated), each written once."""
    base.mkdir(parents=True, exist_ok=True)
    built: dict[str, Path] = {}
    tar, tar_gz = base / "backup.tar", base / "backup.tar.gz"
    gnu = shutil.which("tar")
    version = subprocess.run([gnu, "--version"], capture_output=True, text=True, check=False).stdout if gnu else ""
    if gnu and "GNU tar" in version:
        if not tar.is_file():
            subprocess.run([gnu, "--format=pax", "--sort=name", "-cf", str(tar), "-C", str(backup.parent),  # noqa: S603
                            backup.name], check=True)
        if not tar_gz.is_file():
            with open(tar, "rb") as src, gzip.open(tar_gz, "wb", compresslevel=6) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        built |= {"tar": tar, "tar.gz": tar_gz}
    target = base / "backup.zip"
    if not target.is_file():
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out_zip:
            for entry in sorted(backup.rglob("*")):
                out_zip.write(entry, str(entry.relative_to(backup.parent)))
    built["zip"] = target
    return built


def build_androidqf(base: Path, bugreport_mb: int) -> Path:
    from android_scale import build

    base.mkdir(parents=True, exist_ok=True)
    target = base / "aqf.zip"
    if not target.is_file():
        build(base, 3000, 50_000, bugreport_mb)
    return target


# -- running ------------------------------------------------------------------------------------------


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


@dataclass(slots=True)
class Sample:
    runs: list[Run] = field(default_factory=list)
    out_bytes: list[int] = field(default_factory=list)

    def median(self, attr: str) -> float | None:
        values = [cast(float, getattr(r, attr)) for r in self.runs]
        return statistics.median(values) if values else None


@dataclass(slots=True)
class Case:
    """One evidence and the three commands run on it."""

    name: str
    preuve: list[str]
    floor: list[str]
    mvt: list[str] | None
    preuve_out: Path
    mvt_out: Path | None
    results: dict[str, Sample] = field(default_factory=dict)
    # What MVT must run first, timed with its check (decrypting an encrypted backup), and the folder
    # that writes (removed before and after each round).
    mvt_first: list[str] | None = None
    mvt_scratch: Path | None = None


def warm(evidence: Path) -> None:
    """Stat every entry of the evidence and read every byte once, untimed: the first command of the first
    round would otherwise meet the page cache as the last workload left it, and no later one would."""
    paths = [evidence] if evidence.is_file() else sorted(evidence.rglob("*"))
    for path in paths:
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as stream:
                while stream.read(1 << 20):
                    pass


def run_rounds(cases: Sequence[Case], repeat: int, env: dict[str, str]) -> None:
    for case in cases:
        warm(Path(case.preuve[case.preuve.index("check") + 1]))
    for round_ in range(repeat):
        for case in cases:
            for who, argv in (("preuve", case.preuve), ("floor", case.floor), ("mvt", case.mvt)):
                if argv is None:
                    continue
                out = case.preuve_out if who == "preuve" else case.mvt_out if who == "mvt" else None
                if out is not None:
                    shutil.rmtree(out, ignore_errors=True)
                    if who == "mvt":
                        out.mkdir(parents=True)
                mvt_env = {**os.environ, "MVT_DISABLE_UPDATES": "1"}
                first = None
                if who == "mvt" and case.mvt_first is not None:
                    if case.mvt_scratch is not None:
                        shutil.rmtree(case.mvt_scratch, ignore_errors=True)
                    first = run_measured(case.mvt_first, env=mvt_env)
                run = run_measured(argv, env=env if who == "preuve" else mvt_env)
                if first is not None:
                    run = Run(first.seconds + run.seconds, first.cpu_seconds + run.cpu_seconds,
                              max(first.max_rss_mib, run.max_rss_mib), first.returncode or run.returncode)
                    if case.mvt_scratch is not None:
                        shutil.rmtree(case.mvt_scratch, ignore_errors=True)
                sample = case.results.setdefault(who, Sample())
                sample.runs.append(run)
                if out is not None and out.is_dir():
                    sample.out_bytes.append(folder_bytes(out))
                    shutil.rmtree(out, ignore_errors=True)
                print(f"[{case.name}] round {round_ + 1}/{repeat}: {who} {run.seconds:.2f} s "
                      f"(exit {run.returncode}, {run.max_rss_mib:.0f} MiB)", file=sys.stderr)


def fmt(value: float | None, unit: str = "", digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def print_table(cases: Sequence[Case], repeat: int) -> None:
    print(f"\nMedians of {repeat} interleaved rounds, each command its own process; {os.cpu_count()} CPUs\n")
    head = ("evidence", "preuve s", "floor s", "MVT s", "MVT/preuve", "preuve/floor", "preuve CPU s", "floor CPU s",
            "MVT CPU s", "MVT/preuve CPU", "preuve RSS MiB", "MVT RSS MiB", "preuve out MB", "MVT out MB")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    for case in cases:
        p, f, m = (case.results.get(k, Sample()) for k in ("preuve", "floor", "mvt"))
        ps, fs, ms = p.median("seconds"), f.median("seconds"), m.median("seconds")
        pc, mc = p.median("cpu_seconds"), m.median("cpu_seconds")
        pout = statistics.median(p.out_bytes) / 1e6 if p.out_bytes else None
        mout = statistics.median(m.out_bytes) / 1e6 if m.out_bytes else None
        print("| " + " | ".join((
            case.name, fmt(ps), fmt(fs), fmt(ms),
            fmt(ms / ps if ms and ps else None, "x", 1), fmt(ps / fs if ps and fs else None, "x", 1),
            fmt(pc), fmt(f.median("cpu_seconds")), fmt(mc), fmt(mc / pc if mc and pc else None, "x", 1),
            fmt(p.median("max_rss_mib"), "", 0), fmt(m.median("max_rss_mib"), "", 0),
            fmt(pout, "", 1), fmt(mout, "", 1),
        )) + " |")


def preuve_cmd(evidence: Path, out: Path, feeds: Sequence[Path], extra: Sequence[str] = ()) -> list[str]:
    argv = [sys.executable, "-m", "preuve", "check", str(evidence), "-o", str(out), "-q", *extra]
    for feed in feeds:
        argv += ["--iocs", str(feed)]
    return argv


def mvt_cmd(tool: Path, command: str, evidence: Path, out: Path, feeds: Sequence[Path]) -> list[str]:
    argv = [str(tool), command, "--output", str(out)]
    for feed in feeds:
        argv += ["--iocs", str(feed)]
    return [*argv, str(evidence)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", required=True,
                        choices=("phone", "messages", "encrypted", "fs", "phonefs", "androidqf", "packed"))
    parser.add_argument("--size", default="200k",
                        help="phone/encrypted: 200k or 500k; messages: records (100k, 1M); fs: files; "
                             "androidqf: bugreport MB")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, required=True, help="where evidence is built once and kept")
    parser.add_argument("--iocs", type=Path, default=None, help="STIX folder (default: shared/iocs)")
    parser.add_argument("--mvt-bin", type=Path, default=None, help="folder holding mvt-ios and mvt-android")
    parser.add_argument("--no-mvt", action="store_true", help="do not run MVT (e.g. where it is quadratic)")
    parser.add_argument("--build-only", action="store_true", help="build the evidence and stop")
    parser.add_argument("--jobs", type=int, default=None, help="run preuve check with --jobs N (default: its own)")
    parser.add_argument("--skip-artifact", action="append", default=[], metavar="NAME",
                        help="run preuve with --artifact for every other artifact of the platform (repeatable)")
    args = parser.parse_args(argv)
    if args.workload in ("phone", "encrypted", "phonefs", "packed"):
        # The phone's compositions are named by their file count: "200000" is "200k".
        named = {parse_size(name): name for name in PHONE_SIZES}
        try:
            args.size = named.get(parse_size(args.size), args.size)
        except ValueError:
            pass
        if args.size not in PHONE_SIZES:
            parser.error(f"--size {args.size}: the phone is built at {', '.join(PHONE_SIZES)}")
    else:
        try:
            parse_size(args.size)
        except ValueError:
            parser.error(f"--size {args.size}: a count (100k, 1M, 250000)")

    iocs = args.iocs or default_iocs()
    feeds = sorted(feed_files([iocs]))
    work: Path = args.workdir
    jobs = ["--jobs", str(args.jobs)] if args.jobs is not None else []
    skipped = ""
    if args.skip_artifact:
        from preuve.artifacts.base import discover_artifacts

        platform = "android" if args.workload == "androidqf" else "ios"
        names = [a.name for a in discover_artifacts(platform)]
        unknown = sorted(set(args.skip_artifact) - set(names))
        if unknown:
            parser.error(f"--skip-artifact {', '.join(unknown)}: not an artifact of {platform} acquisitions")
        jobs += [arg for name in names if name not in args.skip_artifact for arg in ("--artifact", name)]
        skipped = f" without {', '.join(args.skip_artifact)}"
    work.mkdir(parents=True, exist_ok=True)
    env = preuve_env(work)
    mvt_ios = args.mvt_bin / "mvt-ios" if args.mvt_bin and not args.no_mvt else None
    mvt_android = args.mvt_bin / "mvt-android" if args.mvt_bin and not args.no_mvt else None
    floor = [sys.executable, str(FLOORS)]
    cases: list[Case] = []
    started = time.perf_counter()
    if args.workload in ("phone", "encrypted"):
        plan = PHONE_SIZES[args.size]
        backup = work / f"phone-{args.size}"
        if not (backup / "Manifest.db").is_file():
            shutil.rmtree(backup, ignore_errors=True)
            build_phone(backup, plan, feeds)
        evidence, extra, floor_args = backup, [], ["backup", str(backup)]
        checked, mvt_first, scratch = backup, None, None  # what MVT checks, and what it runs first
        if args.workload == "encrypted":
            evidence, key = build_encrypted(backup, work / f"phone-{args.size}-encrypted", work)
            extra = ["--key-file", str(key)]
            floor_args = ["encrypted", str(evidence), str(key)]
            if mvt_ios is not None:
                scratch = work / f"mvt-decrypted-{args.size}"
                mvt_key = mvt_key_file(mvt_ios, evidence, work)
                mvt_first = [str(mvt_ios), "decrypt-backup", "-k", str(mvt_key), "-d", str(scratch), str(evidence)]
                checked = scratch
        out, mout = work / f"out-{args.workload}-{args.size}", work / f"mvt-{args.workload}-{args.size}"
        cases.append(Case(f"{args.workload} {args.size}{skipped}", preuve_cmd(evidence, out, feeds, [*extra, *jobs]),
                          [*floor, *floor_args], mvt_cmd(mvt_ios, "check-backup", checked, mout, feeds)
                          if mvt_ios else None, out, mout if mvt_ios else None, mvt_first=mvt_first, mvt_scratch=scratch))
    elif args.workload == "messages":
        size = parse_size(args.size)
        backup = work / f"backup-{size_label(size)}"
        if not (backup / "Manifest.db").is_file():
            shutil.rmtree(backup, ignore_errors=True)
            build_messages_backup(backup, make_plan(size, feeds))
        out, mout = work / f"out-messages-{args.size}", work / f"mvt-messages-{args.size}"
        cases.append(Case(f"messages {args.size}{skipped}", preuve_cmd(backup, out, feeds, jobs), [*floor, "backup", str(backup)],
                          mvt_cmd(mvt_ios, "check-backup", backup, mout, feeds) if mvt_ios else None,
                          out, mout if mvt_ios else None))
    elif args.workload == "fs":
        files = parse_size(args.size)
        built = build_fs(work / f"fs-{args.size}", files)
        for kind, path in built.items():
            out, mout = work / f"out-fs-{kind}", work / "mvt-fs"
            use_mvt = mvt_ios is not None and kind == "folder"  # MVT reads folders only
            cases.append(Case(f"fs {args.size} {kind}{skipped}", preuve_cmd(path, out, feeds, jobs), [*floor, "fs", str(path)],
                              mvt_cmd(cast(Path, mvt_ios), "check-fs", path, mout, feeds) if use_mvt else None,
                              out, mout if use_mvt else None))
    elif args.workload == "packed":
        backup = work / f"phone-{args.size}"
        if not (backup / "Manifest.db").is_file():
            shutil.rmtree(backup, ignore_errors=True)
            build_phone(backup, PHONE_SIZES[args.size], feeds)
        built = {"folder": backup} | build_packed(backup, work / f"packed-{args.size}")
        for kind, path in built.items():
            out, mout = work / f"out-packed-{kind}", work / f"mvt-packed-{args.size}"
            use_mvt = mvt_ios is not None and kind == "folder"  # MVT reads a backup's folder only
            floor_args = ["backup", str(backup)] if kind == "folder" else ["packed", str(path), str(backup)]
            cases.append(Case(f"packed {args.size} {kind}{skipped}", preuve_cmd(path, out, feeds, jobs),
                              [*floor, *floor_args],
                              mvt_cmd(cast(Path, mvt_ios), "check-backup", path, mout, feeds) if use_mvt else None,
                              out, mout if use_mvt else None))
    elif args.workload == "phonefs":
        built = build_phone_fs_archives(work / f"phonefs-{args.size}", PHONE_SIZES[args.size], feeds)
        for kind, path in built.items():
            out, mout = work / f"out-phonefs-{kind}", work / "mvt-phonefs"
            use_mvt = mvt_ios is not None and kind == "folder"  # MVT reads folders only
            cases.append(Case(f"phone fs {args.size} {kind}{skipped}", preuve_cmd(path, out, feeds, jobs),
                              [*floor, "phonefs", str(path), str(built["folder"])],
                              mvt_cmd(cast(Path, mvt_ios), "check-fs", path, mout, feeds) if use_mvt else None,
                              out, mout if use_mvt else None))
    else:
        evidence = build_androidqf(work / f"androidqf-{args.size}", int(args.size))
        out, mout = work / "out-androidqf", work / "mvt-androidqf"
        cases.append(Case(f"androidqf {args.size} MB{skipped}", preuve_cmd(evidence, out, feeds, jobs),
                          [*floor, "zip", str(evidence)],
                          mvt_cmd(mvt_android, "check-androidqf", evidence, mout, feeds) if mvt_android else None,
                          out, mout if mvt_android else None))
    print(f"evidence ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if args.build_only:
        return 0
    run_rounds(cases, args.repeat, env)
    print_table(cases, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
