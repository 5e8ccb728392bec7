from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.ios.configuration_profiles import (
    CloudConfiguration,
    ConfigurationProfile,
    ProfilePayload,
    ProfileSigner,
)
from preuve.artifacts.ios.profile_events import ProfileEvent
from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.ios_plists import (
    Payload,
    Profile,
    cloud_configuration,
    profile_events,
    profile_stub,
    self_signed_der,
)
from preuve.builders.ios_plists import ProfileEvent as Event
from preuve.model import Kind, Observable, Severity
from tests.builders import check, feed, records, snapshot

DOMAIN = "SysSharedContainerDomain-systemgroup.com.apple.configurationprofiles"
FOLDER = "Library/ConfigurationProfiles/"
DEVICE = "/private/var/containers/Shared/SystemGroup/systemgroup.com.apple.configurationprofiles/" + FOLDER
PREDATOR_PROFILE = "76DAB334-7E17-475D-A5D6-0794EB5818A5"  # in Amnesty's Cytrox/Predator indicators
T1 = datetime(2023, 5, 5, 9, 0, tzinfo=UTC)
T2 = datetime(2023, 6, 1, 7, 30, tzinfo=UTC)

CERT = self_signed_der("Profile Signer", "Example Corp")
VPN = Profile(
    uuid=PREDATOR_PROFILE,
    identifier="com.example.vpn",
    display_name="Network settings",
    organization="Example Corp",
    installed=T1,
    payloads=[
        Payload("com.apple.vpn.managed", "com.example.vpn.1", "11111111-1111-4111-8111-111111111111", "VPN",
                {"VPN": {"RemoteAddress": "vpn.evil.example", "AuthName": "x"},
                 "ProxyPACURL": "https://pac.evil.example/proxy.pac"}),
        Payload("com.apple.security.root", "com.example.root", "22222222-2222-4222-8222-222222222222",
                content={"PayloadContent": b"not a real certificate"}),
    ],
    signer_certs=[CERT],
)
WIFI = Profile(
    uuid="33333333-3333-4333-8333-333333333333",
    identifier="org.school.wifi",
    display_name="School Wi-Fi",
    installed=T2,
    payloads=[Payload("com.apple.wifi.managed", "org.school.wifi.1", "44444444-4444-4444-8444-444444444444",
                      content={"SSID_STR": "school"})],
)


def _backup(tmp_path: Path) -> Path:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_plist(DOMAIN, FOLDER + "profile-0a1b2c.stub", profile_stub(VPN))
    builder.add_plist(DOMAIN, FOLDER + "profile-9f8e7d.stub", profile_stub(WIFI), binary=False)
    builder.add_plist(DOMAIN, FOLDER + "profile-broken.stub", ["a list"])
    builder.add_plist(DOMAIN, FOLDER + "CloudConfigurationDetails.plist",
                      cloud_configuration(True, "https://mdm.example.net/enroll", "Example Corp"))
    builder.add_plist(DOMAIN, FOLDER + "MCProfileEvents.plist", profile_events([
        Event(PREDATOR_PROFILE, "install", when=T1),
        Event("55555555-5555-4555-8555-555555555555", "remove", "com.apple.Preferences", when=T2),
    ]))
    return builder.finish()


def test_profile_records(tmp_path: Path) -> None:
    got = records(_backup(tmp_path), "configuration_profiles")
    assert [type(r) for r in got] == [CloudConfiguration, ConfigurationProfile, ConfigurationProfile]
    cloud, vpn, wifi = got
    assert (cloud.supervised, cloud.mandatory, cloud.mdm_unremovable, cloud.configuration_url, cloud.organization) == (
        True, True, False, "https://mdm.example.net/enroll", "Example Corp")
    assert (vpn.uuid, vpn.identifier, vpn.display_name, vpn.organization, vpn.installed, vpn.removal_disallowed) == (
        PREDATOR_PROFILE, "com.example.vpn", "Network settings", "Example Corp", T1, False)
    assert vpn.payloads == (
        ProfilePayload("com.apple.vpn.managed", "com.example.vpn.1", "11111111-1111-4111-8111-111111111111", "VPN"),
        ProfilePayload("com.apple.security.root", "com.example.root", "22222222-2222-4222-8222-222222222222", None),
    )
    assert vpn.signers == (
        ProfileSigner(hashlib.sha256(CERT).hexdigest(), "O=Example Corp,CN=Profile Signer",
                      "O=Example Corp,CN=Profile Signer"),
    )
    assert (vpn.urls, vpn.hosts) == (("https://pac.evil.example/proxy.pac",), ("pac.evil.example", "vpn.evil.example"))
    assert list(vpn.observables()) == [
        Observable(Kind.PROFILE_ID, PREDATOR_PROFILE),
        Observable(Kind.PROFILE_ID, "11111111-1111-4111-8111-111111111111"),
        Observable(Kind.PROFILE_ID, "22222222-2222-4222-8222-222222222222"),
        Observable(Kind.URL, "https://pac.evil.example/proxy.pac"),
        Observable(Kind.DOMAIN, "pac.evil.example"),
        Observable(Kind.DOMAIN, "vpn.evil.example"),
    ]
    assert (vpn.locator.device_path, vpn.locator.key_path) == (DEVICE + "profile-0a1b2c.stub", "/PayloadUUID")
    assert (wifi.uuid, wifi.installed, wifi.signers, wifi.urls, wifi.hosts) == (
        "33333333-3333-4333-8333-333333333333", T2, (), (), ())


def test_profile_findings(tmp_path: Path, shared_iocs: Path) -> None:
    backup = _backup(tmp_path)
    before = snapshot(backup)
    predator = shared_iocs / "mvt-indicators" / "intellexa_predator" / "predator.stix2"
    mine = feed(tmp_path / "i" / "mine.stix2", ("[domain-name:value='evil.example']", "Test"))
    result = check(backup, predator, mine, only=("configuration_profiles", "profile_events"))
    got = [(f.artifact, f.rule or f.indicator.malware, f.severity, f.locator.device_path.rsplit("/", 1)[1],  # type: ignore[union-attr]
            f.locator.key_path, f.observable) for f in result.findings]
    assert got == [
        ("configuration_profiles", "Predator", Severity.CRITICAL, "profile-0a1b2c.stub", "/PayloadUUID",
         Observable(Kind.PROFILE_ID, PREDATOR_PROFILE)),
        ("profile_events", "Predator", Severity.CRITICAL, "MCProfileEvents.plist", "/ProfileEvents/0/" + PREDATOR_PROFILE,
         Observable(Kind.PROFILE_ID, PREDATOR_PROFILE)),
        ("configuration_profiles", "Test", Severity.HIGH, "profile-0a1b2c.stub", "/PayloadUUID",
         Observable(Kind.URL, "https://pac.evil.example/proxy.pac")),
        ("configuration_profiles", "Test", Severity.HIGH, "profile-0a1b2c.stub", "/PayloadUUID",
         Observable(Kind.DOMAIN, "pac.evil.example")),
        ("configuration_profiles", "Test", Severity.HIGH, "profile-0a1b2c.stub", "/PayloadUUID",
         Observable(Kind.DOMAIN, "vpn.evil.example")),
        ("configuration_profiles", "configuration_profile_installed", Severity.HIGH, "profile-0a1b2c.stub",
         "/PayloadUUID", Observable(Kind.PROFILE_ID, PREDATOR_PROFILE)),
        ("configuration_profiles", "configuration_profile_installed", Severity.MEDIUM, "profile-9f8e7d.stub",
         "/PayloadUUID", Observable(Kind.PROFILE_ID, "33333333-3333-4333-8333-333333333333")),
        ("configuration_profiles", "device_supervised", Severity.LOW, "CloudConfigurationDetails.plist",
         "/IsSupervised", None),
        # MVT reports every profile event, low.
        ("profile_events", "profile_event", Severity.LOW, "MCProfileEvents.plist", "/ProfileEvents/0/" + PREDATOR_PROFILE,
         Observable(Kind.PROFILE_ID, PREDATOR_PROFILE)),
        ("profile_events", "profile_event", Severity.LOW, "MCProfileEvents.plist",
         "/ProfileEvents/1/55555555-5555-4555-8555-555555555555",
         Observable(Kind.PROFILE_ID, "55555555-5555-4555-8555-555555555555")),
    ]
    assert [f.explanation for f in result.findings if f.rule == "profile_event"] == [
        f"The configuration profile {PREDATOR_PROFILE} was installed on {T1.isoformat()} by "
        "/System/Library/PrivateFrameworks/ManagedConfiguration.framework/profiled; check that the owner or their "
        "employer knows of it.",
        f"The configuration profile 55555555-5555-4555-8555-555555555555 was removed on {T2.isoformat()} by "
        "com.apple.Preferences; check that the owner or their employer knows of it.",
    ]
    by_rule = {f.locator.device_path.rsplit("/", 1)[1]: f.explanation for f in result.findings if f.rule}
    assert by_rule["profile-0a1b2c.stub"] == (
        "The configuration profile 'Network settings' from Example Corp is installed. It installs a VPN, a trusted "
        "root certificate. Such a profile can watch or redirect the phone's traffic. If the owner or their "
        "employer did not install it, treat it as suspicious."
    )
    assert by_rule["profile-9f8e7d.stub"] == (
        "The configuration profile 'School Wi-Fi' is installed. It installs a Wi-Fi network. It is not signed. "
        "If the owner or their employer did not install it, treat it as suspicious."
    )
    assert by_rule["CloudConfigurationDetails.plist"] == (
        "The phone is supervised by Example Corp and enrolled with the management server "
        "https://mdm.example.net/enroll. Expected for a work or school phone; on a personal phone, ask who set it up."
    )
    (profiles,) = [a for a in result.artifacts if a.name == "configuration_profiles"]
    assert profiles.errors == [DEVICE + "profile-broken.stub: top level is a list, not a dictionary"]
    assert result.incomplete is True
    assert snapshot(backup) == before


def test_profile_events_records(tmp_path: Path) -> None:
    got = records(_backup(tmp_path), "profile_events")
    assert all(isinstance(r, ProfileEvent) for r in got)
    assert [(r.profile_id, r.operation, r.process, r.when, r.locator.key_path) for r in got] == [
        (PREDATOR_PROFILE, "install", "/System/Library/PrivateFrameworks/ManagedConfiguration.framework/profiled",
         T1, "/ProfileEvents/0/" + PREDATOR_PROFILE),
        ("55555555-5555-4555-8555-555555555555", "remove", "com.apple.Preferences", T2,
         "/ProfileEvents/1/55555555-5555-4555-8555-555555555555"),
    ]
    assert list(got[0].observables()) == [
        Observable(Kind.PROFILE_ID, PREDATOR_PROFILE),
        Observable(Kind.FILE_PATH, "/System/Library/PrivateFrameworks/ManagedConfiguration.framework/profiled"),
        Observable(Kind.PROCESS, "profiled"),
    ]
    assert list(got[1].observables())[1:] == [Observable(Kind.PROCESS, "com.apple.Preferences")]


def test_profile_events_hostile_shapes(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_plist(DOMAIN, FOLDER + "MCProfileEvents.plist", {"ProfileEvents": [
        "text", {"AAAA": "not a dict"}, {"BBBB": {"Timestamp": T2.replace(tzinfo=None), "Operation": "install", "Process": 7}},
    ]})
    result = check(builder.finish(), only=("profile_events",))
    (report,) = result.artifacts
    assert (report.records, report.errors) == (2, [])
    assert report.warnings == [
        DEVICE + "MCProfileEvents.plist: /ProfileEvents/0 is a str, not a dictionary",
        DEVICE + "MCProfileEvents.plist: /ProfileEvents/1/AAAA is a str, not a dictionary",
    ]
    got = records(builder.root, "profile_events")
    assert [(r.profile_id, r.operation, r.process, r.when) for r in got] == [
        ("AAAA", None, None, None), ("BBBB", "install", None, T2),
    ]


def test_profile_odd_values(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_plist(DOMAIN, FOLDER + "profile-x.stub", {
        "PayloadUUID": 5, "PayloadContent": ["x", {"PayloadType": ["no"]}], "SignerCerts": [b"\x30\x00", "nope"],
        "InstallDate": "yesterday", "OTAProfileStub": {"PayloadDisplayName": "From OTA"},
    })
    (profile,) = records(builder.finish(), "configuration_profiles")
    assert (profile.uuid, profile.display_name, profile.installed, profile.payloads) == (
        None, "From OTA", None, (ProfilePayload(None, None, None, None),))
    assert profile.signers == (ProfileSigner(hashlib.sha256(b"\x30\x00").hexdigest(), None, None),)
    result = check(builder.root, only=("configuration_profiles",))
    assert [(f.rule, f.severity, f.observable) for f in result.findings] == [
        ("configuration_profile_installed", Severity.MEDIUM, None),
    ]


def test_notification_profile_is_rated_high(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    profile = Profile("66666666-6666-4666-8666-666666666666", "x.notify", "Notifications", payloads=[
        Payload("com.apple.notificationsettings", "x.notify.1", "77777777-7777-4777-8777-777777777777")])
    builder.add_plist(DOMAIN, FOLDER + "profile-n.stub", profile_stub(profile))
    result = check(builder.finish(), only=("configuration_profiles",))
    assert [(f.rule, f.severity, f.explanation) for f in result.findings] == [(
        "configuration_profile_installed", Severity.HIGH,
        "The configuration profile 'Notifications' is installed. It installs notification settings. It is not "
        "signed. Such a profile can silence notifications, hiding what an app does. If the owner or their employer "
        "did not install it, treat it as suspicious.",
    )]


def test_legacy_profile_folder(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_plist("HomeDomain", "Library/ConfigurationProfiles/profile-old.stub", profile_stub(WIFI))
    builder.add_plist("HomeDomain", "Library/ConfigurationProfiles/MCProfileEvents.plist",
                      profile_events([Event(WIFI.uuid, when=T2)]))
    backup = builder.finish()
    (profile,) = records(backup, "configuration_profiles")
    assert (profile.uuid, profile.locator.device_path) == (
        WIFI.uuid, "/private/var/mobile/Library/ConfigurationProfiles/profile-old.stub")
    (event,) = records(backup, "profile_events")
    assert (event.profile_id, event.operation, event.when) == (WIFI.uuid, "install", T2)
