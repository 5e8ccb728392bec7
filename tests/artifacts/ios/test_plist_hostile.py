"""Every plist artifact survives any value of any type where it expects structure (property-based)."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preuve.artifacts.base import ArtifactContext, PlistArtifact
from preuve.artifacts.ios.applications import AppBundleMetadata
from preuve.artifacts.ios.configuration_profiles import ConfigurationProfiles
from preuve.artifacts.ios.global_preferences import GlobalPreferencesArtifact
from preuve.artifacts.ios.idstatuscache import IdStatusCache
from preuve.artifacts.ios.locationd_clients import LocationdClients
from preuve.artifacts.ios.osanalytics_addaily import OsAnalyticsAdDaily
from preuve.artifacts.ios.profile_events import ProfileEvents
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.model import Record

KEYS = (
    "netUsageBaseline", "ProfileEvents", "PayloadContent", "PayloadUUID", "PayloadType", "SignerCerts",
    "InstallDate", "OTAProfileStub", "LDMGlobalEnabled", "AppleLanguages", "com.apple.madrid", "mailto:a@b.c",
    "IDStatus", "LookupDate", "BundleId", "Executable", "LocationTimeStopped", "RemoteAddress", "ProxyPACURL",
    "timestamp", "process", "/usr/libexec/x", "icon:/x", "IsSupervised", "ConfigurationURL",
    "softwareVersionBundleId", "sourceApp", "com.apple.iTunesStore.downloadInfo", "accountInfo", "purchaseDate",
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30), st.binary(max_size=30),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
    st.sampled_from(["https://x.example/p", "vpn.example.net", "tel:+41", "mailto:x@y.z", "/private/var/tmp/x"]),
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=5),
    max_leaves=30,
)
ARTIFACTS: list[tuple[PlistArtifact, str]] = [
    (IdStatusCache(), "/private/var/mobile/Library/IdentityServices/idstatuscache.plist"),
    (OsAnalyticsAdDaily(), "/private/var/mobile/Library/Preferences/com.apple.osanalytics.addaily.plist"),
    (LocationdClients(), "/private/var/root/Library/Caches/locationd/clients.plist"),
    (ConfigurationProfiles(), "/private/var/mobile/Library/ConfigurationProfiles/profile-x.stub"),
    (ConfigurationProfiles(), "/private/var/mobile/Library/ConfigurationProfiles/CloudConfigurationDetails.plist"),
    (ProfileEvents(), "/private/var/mobile/Library/ConfigurationProfiles/MCProfileEvents.plist"),
    (GlobalPreferencesArtifact(), "/private/var/mobile/Library/Preferences/.GlobalPreferences.plist"),
    (AppBundleMetadata(), "/private/var/containers/Bundle/Application/A/iTunesMetadata.plist"),
]


@pytest.mark.parametrize(("artifact", "path"), ARTIFACTS, ids=[f"{a.name}-{p.rsplit('/', 1)[1]}" for a, p in ARTIFACTS])
@settings(max_examples=150, deadline=None)
@given(value=values)
def test_any_value_is_handled(artifact: PlistArtifact, path: str, value: object) -> None:
    ctx = ArtifactContext(fs=None, limits=DEFAULT_LIMITS)  # type: ignore[arg-type] - parse_plist does not read files
    for record in artifact.parse_plist(ctx, value, path, "0" * 64):
        assert isinstance(record, Record)
        list(record.observables())
        list(record.timestamps())
        record.summary()
        record.content_sha256()
    if not isinstance(value, dict):
        assert ctx.errors == [f"{path}: top level is a {type(value).__name__}, not a dictionary"]
    else:
        assert ctx.errors == []
