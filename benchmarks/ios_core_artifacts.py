"""Scale run of the iOS backup core artifacts (TCC, idstatuscache, osanalytics, locationd, profiles).

Builds one backup far larger than a real phone's for these files, checks it
against every shared public feed, and prints records and seconds per
artifact. When MVT is installed (``--mvt path/to/mvt-ios``) it runs
``mvt-ios check-backup`` on the same backup for comparison.

    PYTHONPATH=src python3 benchmarks/ios_core_artifacts.py BENCH [--scale 1] [--mvt mvt-ios]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.ios_plists import (
    Baseline,
    IdLookup,
    LocationClient,
    Payload,
    Profile,
    ProfileEvent,
    TccEntry,
    fill_tcc,
    global_preferences,
    idstatuscache,
    locationd_clients,
    osanalytics_addaily,
    profile_events,
    profile_stub,
)
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions

ARTIFACTS = ("tcc", "idstatuscache", "osanalytics_addaily", "locationd_clients", "configuration_profiles",
             "profile_events", "global_preferences")
PROFILES = "SysSharedContainerDomain-systemgroup.com.apple.configurationprofiles"
T0 = datetime(2023, 1, 1, tzinfo=UTC)


def build(root: Path, scale: int) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    builder = BackupBuilder(root)
    services = ("kTCCServiceMicrophone", "kTCCServiceCamera", "kTCCServicePhotos", "kTCCServiceAddressBook")
    tcc = [TccEntry(services[i % 4], f"com.example.app{i}", client_type=0, last_modified=T0 + timedelta(minutes=i))
           for i in range(50_000 * scale)]
    builder.add_sqlite("HomeDomain", "Library/TCC/TCC.db", lambda c: fill_tcc(c, tcc, 17))
    builder.add_plist("HomeDomain", "Library/Preferences/com.apple.identityservices.idstatuscache.plist",
                      idstatuscache([IdLookup(f"mailto:person{i}@example.org", when=T0 + timedelta(seconds=i))
                                     for i in range(50_000 * scale)]))
    builder.add_plist("HomeDomain", "Library/Preferences/com.apple.osanalytics.addaily.plist",
                      osanalytics_addaily([Baseline(f"proc{i}", T0, float(i)) for i in range(20_000 * scale)]))
    builder.add_plist("RootDomain", "Library/Caches/locationd/clients.plist", locationd_clients([
        LocationClient(f"/usr/libexec/daemon{i}", executable=f"/usr/libexec/daemon{i}",
                       times={"LocationTimeStopped": T0}) for i in range(20_000 * scale)]))
    for i in range(500 * scale):
        profile = Profile(f"{i:08X}-0000-4000-8000-000000000000", f"com.example.p{i}", f"Profile {i}", payloads=[
            Payload("com.apple.proxy.http.global", f"com.example.p{i}.proxy", f"{i:08X}-1111-4000-8000-000000000000",
                    content={"ProxyServer": f"proxy{i}.example.net", "ProxyPACURL": f"https://pac{i}.example.net/p"}),
        ])
        builder.add_plist(PROFILES, f"Library/ConfigurationProfiles/profile-{i:06d}.stub", profile_stub(profile))
    builder.add_plist(PROFILES, "Library/ConfigurationProfiles/MCProfileEvents.plist", profile_events(
        [ProfileEvent(f"{i:08X}-0000-4000-8000-000000000000") for i in range(10_000 * scale)]))
    builder.add_plist("HomeDomain", "Library/Preferences/.GlobalPreferences.plist", global_preferences(True))
    return builder.finish()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--iocs", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "iocs")
    parser.add_argument("--mvt", help="path of mvt-ios, to run it on the same backup")
    args = parser.parse_args()
    started = time.perf_counter()
    backup = build(args.workdir / "backup", args.scale)
    print(f"built {backup} in {time.perf_counter() - started:.1f}s")
    iocs = (args.iocs,) if args.iocs.exists() else ()
    started = time.perf_counter()
    result = run_check(backup, CheckOptions(iocs=iocs, only_artifacts=ARTIFACTS))
    total = time.perf_counter() - started
    print(f"preuve: {result.indicator_count} indicators, {len(result.findings)} findings, {total:.2f}s in all")
    for report in result.artifacts:
        rate = report.records / report.seconds if report.seconds else 0.0
        print(f"  {report.name:24} {report.records:>8} records {report.seconds:7.2f}s {rate:>10.0f}/s")
    if args.mvt:
        out = args.workdir / "mvt-out"
        shutil.rmtree(out, ignore_errors=True)
        command = [args.mvt, "check-backup", "--output", str(out), str(backup)]
        feeds = sorted(args.iocs.rglob("*.stix2")) if args.iocs.is_dir() else [args.iocs] if iocs else []
        for feed in feeds:
            command[2:2] = ["--iocs", str(feed)]
        started = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        print(f"mvt-ios check-backup: exit {completed.returncode}, {time.perf_counter() - started:.2f}s")
        if completed.returncode:
            sys.stderr.write(completed.stderr[-2000:])


if __name__ == "__main__":
    main()
