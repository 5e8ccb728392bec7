"""idstatuscache, osanalytics_addaily, locationd_clients and global_preferences on built backups."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from preuve.artifacts.ios.global_preferences import GlobalPreferences
from preuve.artifacts.ios.idstatuscache import IdStatusLookup
from preuve.artifacts.ios.locationd_clients import LocationClientRecord
from preuve.artifacts.ios.osanalytics_addaily import ProcessNetBaseline
from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.ios_plists import (
    Baseline,
    IdLookup,
    LocationClient,
    global_preferences,
    idstatuscache,
    locationd_clients,
    osanalytics_addaily,
)
from preuve.model import Kind, Observable, Severity
from tests.builders import check, feed, records, snapshot

T1 = datetime(2023, 5, 3, 10, 0, tzinfo=UTC)
T2 = datetime(2023, 5, 4, tzinfo=UTC)
PREFS = "Library/Preferences/"


def _findings(result) -> list[tuple[object, ...]]:  # noqa: ANN001
    return [(f.rule or f.indicator.malware, f.severity, f.locator.key_path, f.observable) for f in result.findings]


# -- idstatuscache -------------------------------------------------------------------------------


def _idstatus_backup(tmp_path: Path, new_location: bool = False) -> Path:
    lookups = [
        IdLookup("mailto:linakeller2203@gmail.com", when=T1),
        IdLookup("tel:+41790000002", service="com.apple.ess", status=2, when=T2),
        IdLookup("mailto:friend@example.org", when=T2),
    ]
    value = idstatuscache(lookups)
    value["com.apple.madrid"]["mailto:broken@example.org"] = "not a dict"  # type: ignore[index]
    value["version"] = 2
    builder = BackupBuilder(tmp_path / "b")
    rel = "Library/IdentityServices/idstatuscache.plist" if new_location else (
        PREFS + "com.apple.identityservices.idstatuscache.plist")
    builder.add_plist("HomeDomain", rel, value, binary=not new_location)
    return builder.finish()


@pytest.mark.parametrize("new_location", [False, True])
def test_idstatuscache_records(tmp_path: Path, new_location: bool) -> None:
    got = records(_idstatus_backup(tmp_path, new_location), "idstatuscache")
    assert all(isinstance(r, IdStatusLookup) for r in got)
    assert [(r.service_name, r.address, r.address_kind, r.status_name, r.looked_up, r.locator.key_path)
            for r in got] == [
        ("FaceTime", "+41790000002", "phone", "not registered", T2, "/com.apple.ess/tel:+41790000002"),
        ("iMessage", "broken@example.org", "email", None, None, "/com.apple.madrid/mailto:broken@example.org"),
        ("iMessage", "friend@example.org", "email", "registered", T2, "/com.apple.madrid/mailto:friend@example.org"),
        ("iMessage", "linakeller2203@gmail.com", "email", "registered", T1,
         "/com.apple.madrid/mailto:linakeller2203@gmail.com"),
    ]
    assert list(got[0].observables()) == []
    assert list(got[3].observables()) == [Observable(Kind.EMAIL, "linakeller2203@gmail.com")]


def test_idstatuscache_findings(tmp_path: Path) -> None:
    backup = _idstatus_backup(tmp_path)
    before = snapshot(backup)
    stix = feed(tmp_path / "i" / "p.stix2", ("[email-addr:value='LinaKeller2203@gmail.com']", "Pegasus"))
    result = check(backup, stix, only=("idstatuscache",))
    assert _findings(result) == [
        ("Pegasus", Severity.HIGH, "/com.apple.madrid/mailto:linakeller2203@gmail.com",
         Observable(Kind.EMAIL, "linakeller2203@gmail.com")),
    ]
    (report,) = result.artifacts
    assert report.warnings == [
        "/private/var/mobile/Library/Preferences/com.apple.identityservices.idstatuscache.plist: "
        "/com.apple.madrid/mailto:broken@example.org is a str, not a dictionary"
    ]
    assert snapshot(backup) == before


# -- osanalytics_addaily -------------------------------------------------------------------------


def _addaily_backup(tmp_path: Path, value: object = None) -> Path:
    if value is None:
        value = osanalytics_addaily([
            Baseline("com.apple.WebKit.Networking", T2, 10.0, 2.0, 0.0, 1.0),
            Baseline("bh", T1, 5.0, 6.0, 7.0, 8.0),
        ])
        value["netUsageBaseline"]["short"] = ["2023"]  # type: ignore[index]
    builder = BackupBuilder(tmp_path / "b")
    builder.add_plist("HomeDomain", PREFS + "com.apple.osanalytics.addaily.plist", value)
    return builder.finish()


def test_addaily_records(tmp_path: Path) -> None:
    got = records(_addaily_backup(tmp_path), "osanalytics_addaily")
    assert all(isinstance(r, ProcessNetBaseline) for r in got)
    assert [(r.process, r.when, r.wifi_in, r.wifi_out, r.wwan_in, r.wwan_out, r.locator.key_path) for r in got] == [
        ("bh", T1, 5.0, 6.0, 7.0, 8.0, "/netUsageBaseline/bh"),
        ("com.apple.WebKit.Networking", T2, 10.0, 2.0, 0.0, 1.0, "/netUsageBaseline/com.apple.WebKit.Networking"),
        ("short", None, None, None, None, None, "/netUsageBaseline/short"),
    ]


def test_addaily_findings(tmp_path: Path) -> None:
    backup = _addaily_backup(tmp_path)
    stix = feed(tmp_path / "i" / "p.stix2", ("[process:name='bh']", "Pegasus"))
    result = check(backup, stix, only=("osanalytics_addaily",))
    assert _findings(result) == [
        ("Pegasus", Severity.CRITICAL, "/netUsageBaseline/bh", Observable(Kind.PROCESS, "bh")),
    ]
    assert result.incomplete is False


def test_addaily_wrong_types(tmp_path: Path) -> None:
    result = check(_addaily_backup(tmp_path, {"netUsageBaseline": ["bh"]}), only=("osanalytics_addaily",))
    (report,) = result.artifacts
    assert (report.records, report.errors) == (0, [])
    assert report.warnings == [
        "/private/var/mobile/Library/Preferences/com.apple.osanalytics.addaily.plist: "
        "netUsageBaseline is a list, not a dictionary"
    ]
    result = check(_addaily_backup(tmp_path / "x", ["not", "a", "dict"]), only=("osanalytics_addaily",))
    assert result.incomplete is True


# -- locationd_clients -------------------------------------------------------------------------


def _locationd_backup(tmp_path: Path) -> Path:
    clients = [
        LocationClient("com.apple.Maps", bundle_id="com.apple.Maps", bundle_path="/Applications/Maps.app",
                       times={"ReceivingLocationInformationTimeStopped": T1, "LocationTimeStopped": T2}),
        LocationClient("/private/var/db/com.apple.xpc.roleaccountd.staging/roleaboutd",
                       executable="/private/var/db/com.apple.xpc.roleaccountd.staging/roleaboutd", authorization=4),
        LocationClient("icon:/System/Library/LocationBundles/Siri.bundle", registered="/usr/libexec/locationd",
                       authorization=None),
    ]
    value = locationd_clients(clients)
    value["garbage"] = 42
    builder = BackupBuilder(tmp_path / "b")
    builder.add_plist("RootDomain", "Library/Caches/locationd/clients.plist", value)
    return builder.finish()


def test_locationd_records(tmp_path: Path) -> None:
    got = records(_locationd_backup(tmp_path), "locationd_clients")
    assert all(isinstance(r, LocationClientRecord) for r in got)
    assert [(r.client, r.client_path, r.bundle_id, r.executable, r.registered, r.authorization, r.times)
            for r in got] == [
        ("/private/var/db/com.apple.xpc.roleaccountd.staging/roleaboutd",
         "/private/var/db/com.apple.xpc.roleaccountd.staging/roleaboutd", None,
         "/private/var/db/com.apple.xpc.roleaccountd.staging/roleaboutd", None, 4, ()),
        ("com.apple.Maps", None, "com.apple.Maps", None, None, 2,
         (("ReceivingLocationInformationTimeStopped", T1), ("LocationTimeStopped", T2))),
        ("garbage", None, None, None, None, None, ()),
        ("icon:/System/Library/LocationBundles/Siri.bundle", "/System/Library/LocationBundles/Siri.bundle", None,
         None, "/usr/libexec/locationd", None, ()),
    ]
    assert list(got[0].observables()) == [
        Observable(Kind.FILE_PATH, "/private/var/db/com.apple.xpc.roleaccountd.staging/roleaboutd"),
        Observable(Kind.PROCESS, "roleaboutd"),
    ]
    assert list(got[1].observables()) == [
        Observable(Kind.APP_ID, "com.apple.Maps"), Observable(Kind.FILE_PATH, "/Applications/Maps.app"),
        Observable(Kind.PROCESS, "com.apple.Maps"),
    ]
    assert got[0].locator.key_path == "/~1private~1var~1db~1com.apple.xpc.roleaccountd.staging~1roleaboutd"


def test_locationd_findings(tmp_path: Path) -> None:
    backup = _locationd_backup(tmp_path)
    before = snapshot(backup)
    stix = feed(tmp_path / "i" / "p.stix2", ("[process:name='roleaboutd']", "Pegasus"),
                ("[app:id='com.apple.maps']", "Test"))
    result = check(backup, stix, only=("locationd_clients",))
    key = "/~1private~1var~1db~1com.apple.xpc.roleaccountd.staging~1roleaboutd"
    assert _findings(result) == [
        ("Test", Severity.CRITICAL, "/com.apple.Maps", Observable(Kind.APP_ID, "com.apple.Maps")),
        ("Pegasus", Severity.CRITICAL, key, Observable(Kind.PROCESS, "roleaboutd")),
        ("locationd_writable_path", Severity.MEDIUM, key,
         Observable(Kind.FILE_PATH, "/private/var/db/com.apple.xpc.roleaccountd.staging/roleaboutd")),
    ]
    (report,) = result.artifacts
    assert report.warnings == ["/private/var/root/Library/Caches/locationd/clients.plist: /garbage is a int, "
                               "not a dictionary"]
    assert snapshot(backup) == before


@pytest.mark.parametrize(("domain", "device_folder"), [("RootDomain", "/private/var/root"),
                                                      ("HomeDomain", "/private/var/mobile")])
def test_locationd_keys_and_bundle_ids_are_process_names(tmp_path: Path, domain: str, device_folder: str) -> None:
    # A program without an app bundle can be keyed by a name shaped like a bundle id; MVT compares the key's
    # last component and BundleId with process indicators.
    builder = BackupBuilder(tmp_path / "b")
    builder.add_plist(domain, "Library/Caches/locationd/clients.plist", locationd_clients([
        LocationClient("com.apple.xpc.roleaccountd"),
        LocationClient("com.example.tracker", bundle_id="msgacntd"),
        LocationClient("com.apple.Maps", bundle_id="com.apple.Maps"),  # no indicator: nothing
    ]))
    backup = builder.finish()
    stix = feed(tmp_path / "i" / "p.stix2", ("[process:name='com.apple.xpc.roleaccountd']", "Pegasus"),
                ("[process:name='msgacntd']", "Pegasus"))
    result = check(backup, stix, only=("locationd_clients",))
    assert _findings(result) == [
        ("Pegasus", Severity.CRITICAL, "/com.apple.xpc.roleaccountd",
         Observable(Kind.PROCESS, "com.apple.xpc.roleaccountd")),
        ("Pegasus", Severity.CRITICAL, "/com.example.tracker", Observable(Kind.PROCESS, "msgacntd")),
    ]
    assert {f.locator.device_path for f in result.findings} == {
        f"{device_folder}/Library/Caches/locationd/clients.plist"}


# -- global_preferences --------------------------------------------------------------------------


@pytest.mark.parametrize(("lockdown", "expected"), [
    (True, "Lockdown Mode was on: iOS blocked the attack routes it covers (attachments, link previews, …)."),
    (False, "Lockdown Mode was off (the setting is recorded as turned off)."),
    (None, "Lockdown Mode was not on: the setting has never been recorded on this device."),
])
def test_global_preferences(tmp_path: Path, lockdown: bool | None, expected: str) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_plist("HomeDomain", PREFS + ".GlobalPreferences.plist", global_preferences(lockdown), binary=False)
    backup = builder.finish()
    (record,) = records(backup, "global_preferences")
    assert isinstance(record, GlobalPreferences)
    assert (record.lockdown_mode, record.locale, record.languages, record.keyboards) == (
        lockdown, "fr_CH", ("fr-CH", "en-CH"), ())
    result = check(backup, only=("global_preferences",))
    # MVT: Lockdown Mode on is info, recorded off is low; never recorded is not an MVT alert (info here).
    assert [(f.rule, f.severity, f.explanation, f.locator.key_path) for f in result.findings] == [
        ("lockdown_mode", Severity.LOW if lockdown is False else Severity.INFO, expected, "/LDMGlobalEnabled"),
    ]


def test_global_preferences_odd_value(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_plist("HomeDomain", PREFS + ".GlobalPreferences.plist", {"LDMGlobalEnabled": {"x": 1},
                                                                          "AppleLanguages": "fr"})
    (record,) = records(builder.finish(), "global_preferences")
    assert (record.lockdown_mode, record.locale, record.languages) == (None, None, ())


# -- the published Pegasus indicators, end to end ------------------------------------------------


def test_pegasus_feed_end_to_end(tmp_path: Path, pegasus_feed: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_plist("HomeDomain", PREFS + "com.apple.identityservices.idstatuscache.plist", idstatuscache([
        IdLookup("mailto:bogaardlisa803@gmail.com", when=T1), IdLookup("mailto:friend@example.org", when=T2),
    ]))
    builder.add_plist("HomeDomain", PREFS + "com.apple.osanalytics.addaily.plist", osanalytics_addaily([
        Baseline("msgacntd", T1, 1.0), Baseline("MobileSafari", T2, 2.0),
    ]))
    builder.add_plist("RootDomain", "Library/Caches/locationd/clients.plist", locationd_clients([
        LocationClient("/usr/libexec/roleaboutd", executable="/usr/libexec/roleaboutd"),
        LocationClient("com.apple.Maps", bundle_id="com.apple.Maps"),
    ]))
    builder.add_plist("HomeDomain", PREFS + ".GlobalPreferences.plist", global_preferences(None))
    backup = builder.finish()
    before = snapshot(backup)
    result = check(backup, pegasus_feed)
    assert [(f.artifact, f.rule or f.indicator.malware, f.severity, f.locator.key_path, f.observable)
            for f in result.findings] == [
        ("locationd_clients", "Pegasus", Severity.CRITICAL, "/~1usr~1libexec~1roleaboutd",
         Observable(Kind.PROCESS, "roleaboutd")),
        ("osanalytics_addaily", "Pegasus", Severity.CRITICAL, "/netUsageBaseline/msgacntd",
         Observable(Kind.PROCESS, "msgacntd")),
        ("idstatuscache", "Pegasus", Severity.HIGH, "/com.apple.madrid/mailto:bogaardlisa803@gmail.com",
         Observable(Kind.EMAIL, "bogaardlisa803@gmail.com")),
        ("global_preferences", "lockdown_mode", Severity.INFO, "/LDMGlobalEnabled", None),
    ]
    assert result.incomplete is False
    assert snapshot(backup) == before


def test_idstatuscache_handle_with_nuls(tmp_path: Path) -> None:
    # MVT raises a high alert on a looked-up handle holding two NULs in a row (a crafted sender address).
    builder = BackupBuilder(tmp_path / "b")
    builder.add_plist("HomeDomain", PREFS + "com.apple.identityservices.idstatuscache.plist", idstatuscache([
        IdLookup("mailto:x\x00\x00\x00@icloud.example", when=T1),
        IdLookup("tel:+41790000000\x00", when=T1),  # a single NUL: not the pattern
        IdLookup("mailto:friend@example.org", when=T1),
    ]))
    backup = builder.finish()
    before = snapshot(backup)
    got = records(backup, "idstatuscache")
    assert [(r.handle, r.escaped_handle) for r in got] == [
        ("mailto:friend@example.org", None),
        ("mailto:x@icloud.example", "mailto:x\\x00\\x00\\x00@icloud.example"),
        ("tel:+41790000000", "tel:+41790000000\\x00"),
    ]
    result = check(backup, only=("idstatuscache",))
    assert [(f.rule, f.severity, f.locator.key_path, f.explanation) for f in result.findings] == [
        ("idstatuscache_nul_handle", Severity.HIGH, got[1].locator.key_path,
         "The phone looked up the iMessage address mailto:x\\x00\\x00\\x00@icloud.example, which holds NUL "
         "characters no real address has: a crafted handle, as used to deliver exploits. Keep the phone's data "
         "and seek expert help."),
    ]
    assert snapshot(backup) == before
