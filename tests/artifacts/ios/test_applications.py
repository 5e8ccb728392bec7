from __future__ import annotations

import plistlib
from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.ios.applications import InstalledApp
from preuve.builders.ios_backup import AppFacts, BackupBuilder, DeviceFacts
from preuve.model import Kind, Observable, Severity
from tests.builders import check, feed, records, snapshot

APPS = (
    AppFacts("net.whatsapp.WhatsApp", "WhatsApp Messenger", "23.10.77", "23.10.77.75"),
    AppFacts("com.example.beta", "Beta", source_app="com.apple.TestFlight"),
    AppFacts("com.spy.tracker", "System Service", "2.1", artist="Tracker Ltd", source_app="com.market.alt",
             apple_id=None, purchase_date="2023-03-01T08:00:00Z"),
    AppFacts("com.example.enterprise", "Enterprise", source_app=None),
    AppFacts("com.example.broken", "Broken", metadata_bytes=b"<plist"),
    # Metadata as the store writes it but without softwareVersionBundleId (not written by the store).
    AppFacts("com.example.nobundle", "No Bundle", metadata_bytes=plistlib.dumps(
        {"itemName": "No Bundle", "sourceApp": "com.apple.AppStore", "kind": "software"}, fmt=plistlib.FMT_XML)),
)
FACTS = DeviceFacts(apps=APPS, installed_apps=("com.apple.mobilesafari", "net.whatsapp.WhatsApp", "com.only.listed"))


def _backup(tmp_path: Path) -> Path:
    return BackupBuilder(tmp_path / "b", FACTS).finish()


def test_one_record_per_app(tmp_path: Path) -> None:
    root = _backup(tmp_path)
    before = snapshot(root)
    result = check(root, only=("applications",))
    got = records(root, "applications")
    assert snapshot(root) == before
    assert all(isinstance(r, InstalledApp) for r in got)
    assert [r.bundle_id for r in got] == [
        "com.apple.mobilesafari", "com.example.beta", "com.example.broken", "com.example.enterprise",
        "com.example.nobundle", "com.only.listed", "com.spy.tracker", "net.whatsapp.WhatsApp",
    ]
    by_id = {r.bundle_id: r for r in got}
    whatsapp = by_id["net.whatsapp.WhatsApp"]
    assert (whatsapp.name, whatsapp.version, whatsapp.bundle_version, whatsapp.artist, whatsapp.source_app) == (
        "WhatsApp Messenger", "23.10.77", "23.10.77.75", "Example Developer", "com.apple.AppStore",
    )
    assert (whatsapp.apple_id, whatsapp.item_id, whatsapp.purchase_date) == (
        "owner@example.org", 310633997, datetime(2023, 1, 15, 10, 0, tzinfo=UTC),
    )
    assert whatsapp.listed_in == (
        "Info.plist:Applications", "Info.plist:Installed Applications", "Manifest.plist:Applications",
    )
    assert whatsapp.install_path is not None and whatsapp.install_path.endswith("/WhatsApp.app")
    assert (whatsapp.locator.device_path, whatsapp.locator.key_path) == (
        "/.acquisition/backup/Info.plist", "Applications/net.whatsapp.WhatsApp",
    )
    assert list(whatsapp.observables()) == [
        Observable(Kind.APP_ID, "net.whatsapp.WhatsApp"), Observable(Kind.PROCESS, "net.whatsapp.WhatsApp"),
    ]
    assert whatsapp.store_bundle_id == "net.whatsapp.WhatsApp"
    assert by_id["com.example.nobundle"].store_bundle_id is None
    spy = by_id["com.spy.tracker"]
    assert (spy.source_app, spy.apple_id, spy.artist, spy.has_store_metadata) == (
        "com.market.alt", None, "Tracker Ltd", True,
    )
    enterprise = by_id["com.example.enterprise"]
    assert (enterprise.has_store_metadata, enterprise.name, enterprise.source_app) == (False, None, None)
    listed = by_id["com.only.listed"]
    assert (listed.locator.key_path, listed.listed_in) == (
        "Installed Applications/2", ("Info.plist:Installed Applications", "Manifest.plist:Applications"),
    )
    assert by_id["com.example.broken"].has_store_metadata is False
    [report] = result.artifacts
    assert report.status == "ok"
    assert len(report.warnings) == 1
    assert report.warnings[0].startswith("/.acquisition/backup/Info.plist: iTunesMetadata of com.example.broken")


def test_only_manifest_plist(tmp_path: Path) -> None:
    root = _backup(tmp_path)
    (root / "Info.plist").unlink()
    got = records(root, "applications")
    assert len(got) == 8
    assert {r.locator.device_path for r in got} == {"/.acquisition/backup/Manifest.plist"}
    assert all(r.name is None and r.listed_in == ("Manifest.plist:Applications",) for r in got)


def test_damaged_info_plist_still_reads_manifest(tmp_path: Path) -> None:
    root = _backup(tmp_path)
    (root / "Info.plist").write_bytes(plistlib.dumps({"Applications": ["not", "a", "dict"]}))
    got = records(root, "applications")
    assert len(got) == 8


def test_findings(tmp_path: Path) -> None:
    stix = feed(tmp_path / "i" / "p.stix2", ("[app:id='com.spy.tracker']", "Stalkerware X"),
                ("[process:name='com.example.enterprise']", "Implant Y"))
    result = check(_backup(tmp_path), stix)
    got = [(f.rule or f.indicator.malware, f.severity, f.locator.key_path)  # type: ignore[union-attr]
           for f in result.findings]
    # MVT: a bundle id matching a process indicator is critical; an installer other than the App Store or
    # MDM is medium (TestFlight included); store metadata without softwareVersionBundleId is medium.
    assert got == [
        ("Implant Y", Severity.CRITICAL, "Applications/com.example.enterprise"),
        ("Stalkerware X", Severity.CRITICAL, "Applications/com.spy.tracker"),
        ("app_unusual_installer", Severity.MEDIUM, "Applications/com.example.beta"),
        ("app_metadata_without_bundle_id", Severity.MEDIUM, "Applications/com.example.nobundle"),
        ("app_unusual_installer", Severity.MEDIUM, "Applications/com.spy.tracker"),
    ]
    assert [f.explanation for f in result.findings[2:]] == [
        "The app Beta (com.example.beta) was installed by the TestFlight beta service; check that the owner "
        "knows and wants it.",
        "The store metadata of the app No Bundle (com.example.nobundle) does not name its bundle id, which the "
        "App Store always writes; find out where the app came from.",
        "The app System Service (com.spy.tracker) was installed by 'com.market.alt', not the App Store; "
        "check that the owner knows and wants it.",
    ]
    assert result.findings[1].timestamp == datetime(2023, 3, 1, 8, 0, tzinfo=UTC)


def test_apps_of_a_file_system_dump(tmp_path: Path) -> None:
    # A dump has no Info.plist: each app container keeps the store metadata, which MVT reads.
    from tests.builders.ios_dump import write_dump

    container = "private/var/containers/Bundle/Application/"
    spy = AppFacts("com.spy.tracker", "System Service", source_app="com.market.alt")
    store = AppFacts("net.whatsapp.WhatsApp", "WhatsApp Messenger")
    nameless = plistlib.dumps({"itemName": "Odd", "sourceApp": "com.apple.AppStore"}, fmt=plistlib.FMT_BINARY)
    dump = write_dump([
        (container + "1A2B3C4D-0000-4000-8000-000000000001/iTunesMetadata.plist", spy.itunes_metadata() or b""),
        (container + "1A2B3C4D-0000-4000-8000-000000000002/iTunesMetadata.plist", store.itunes_metadata() or b""),
        (container + "1A2B3C4D-0000-4000-8000-000000000003/iTunesMetadata.plist", nameless),
        (container + "1A2B3C4D-0000-4000-8000-000000000004/iTunesMetadata.plist", b"<plist"),  # damaged
    ], tmp_path / "ev" / "dump", "folder")
    before = snapshot(dump)
    got = records(dump, "app_bundle_metadata")
    assert [(r.bundle_id, r.name, r.source_app, r.store_bundle_id, r.install_path[-36:]) for r in got] == [
        ("com.spy.tracker", "System Service", "com.market.alt", "com.spy.tracker",
         "1A2B3C4D-0000-4000-8000-000000000001"),
        ("net.whatsapp.WhatsApp", "WhatsApp Messenger", "com.apple.AppStore", "net.whatsapp.WhatsApp",
         "1A2B3C4D-0000-4000-8000-000000000002"),
        ("", "Odd", "com.apple.AppStore", None, "1A2B3C4D-0000-4000-8000-000000000003"),
    ]
    stix = feed(tmp_path / "i" / "p.stix2", ("[app:id='com.spy.tracker']", "Stalkerware X"))
    result = check(dump, stix, only=("app_bundle_metadata",))
    assert snapshot(dump) == before
    assert [(f.rule or f.indicator.malware, f.severity, f.locator.device_path[-57:-21])  # type: ignore[union-attr]
            for f in result.findings] == [
        ("Stalkerware X", Severity.CRITICAL, "1A2B3C4D-0000-4000-8000-000000000001"),
        ("app_unusual_installer", Severity.MEDIUM, "1A2B3C4D-0000-4000-8000-000000000001"),
        ("app_metadata_without_bundle_id", Severity.MEDIUM, "1A2B3C4D-0000-4000-8000-000000000003"),
    ]
    assert result.findings[2].explanation == (
        "The store metadata of the app Odd (bundle id unknown) does not name its bundle id, which the App Store "
        "always writes; find out where the app came from."
    )
    [report] = result.artifacts
    assert report.status == "failed" and len(report.errors) == 1 and "000000000004" in report.errors[0]
