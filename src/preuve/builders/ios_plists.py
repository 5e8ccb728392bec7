"""Property lists and small databases of iOS system artifacts, as each iOS version writes them.

Used by the tests and available to the demo: TCC.db, the identity-services
lookup cache, osanalytics daily usage, locationd clients, configuration
profile stubs, profile events and the global preferences.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from preuve.builders.ios_dbs import cocoa_seconds

# -- TCC.db ------------------------------------------------------------------------------------


@dataclass
class TccEntry:
    service: str
    client: str
    client_type: int = 0  # 0: bundle id, 1: absolute path
    allowed: bool = True
    auth_reason: int = 2  # iOS 14+: 2 = the user consented
    limited: bool = False  # iOS 14+: auth_value 3 (e.g. selected photos)
    prompt_count: int = 1  # iOS <= 13
    last_modified: datetime = field(default_factory=lambda: datetime(2023, 5, 2, 8, 0, tzinfo=UTC))


def tcc_schema(ios_major: int) -> list[str]:
    if ios_major >= 14:
        columns = (
            "service TEXT NOT NULL, client TEXT NOT NULL, client_type INTEGER NOT NULL, auth_value INTEGER NOT NULL, "
            "auth_reason INTEGER NOT NULL, auth_version INTEGER NOT NULL, csreq BLOB, policy_id INTEGER, "
            "indirect_object_identifier_type INTEGER, indirect_object_identifier TEXT NOT NULL DEFAULT 'UNUSED', "
            "indirect_object_code_identity BLOB, flags INTEGER, last_modified INTEGER NOT NULL DEFAULT 0"
        )
        if ios_major >= 17:
            columns += ", pid INTEGER, pid_version INTEGER, boot_uuid TEXT NOT NULL DEFAULT 'UNUSED', last_reminded "\
                "INTEGER NOT NULL DEFAULT 0"
        key = "PRIMARY KEY (service, client, client_type, indirect_object_identifier)"
    else:
        columns = (
            "service TEXT NOT NULL, client TEXT NOT NULL, client_type INTEGER NOT NULL, allowed INTEGER NOT NULL, "
            "prompt_count INTEGER NOT NULL, csreq BLOB, policy_id INTEGER"
        )
        if ios_major >= 12:
            columns += (
                ", indirect_object_identifier_type INTEGER, indirect_object_identifier TEXT, "
                "indirect_object_code_identity BLOB, flags INTEGER, last_modified INTEGER NOT NULL DEFAULT 0"
            )
            key = "PRIMARY KEY (service, client, client_type, indirect_object_identifier)"
        else:
            key = "PRIMARY KEY (service, client, client_type)"
    return [
        "CREATE TABLE admin (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL)",
        "CREATE TABLE policies (id INTEGER NOT NULL PRIMARY KEY, bundle_id TEXT NOT NULL, uuid TEXT NOT NULL, "
        "display TEXT NOT NULL, UNIQUE (bundle_id, uuid))",
        f"CREATE TABLE access ({columns}, {key})",
    ]


def fill_tcc(conn: sqlite3.Connection, entries: Sequence[TccEntry], ios_major: int = 16) -> None:
    for statement in tcc_schema(ios_major):
        conn.execute(statement)
    version = 19 if ios_major >= 17 else 15 if ios_major >= 14 else 10
    conn.execute("INSERT INTO admin VALUES ('version', ?)", (version,))
    for number, entry in enumerate(entries):
        stamp = int(entry.last_modified.timestamp())
        if ios_major >= 14:
            auth_value = (3 if entry.limited else 2) if entry.allowed else 0
            conn.execute(
                "INSERT INTO access (service, client, client_type, auth_value, auth_reason, auth_version, "
                "indirect_object_identifier, last_modified) VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
                (entry.service, entry.client, entry.client_type, auth_value, entry.auth_reason, f"UNUSED{number}",
                 stamp),
            )
        elif ios_major >= 12:
            conn.execute(
                "INSERT INTO access (service, client, client_type, allowed, prompt_count, last_modified) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (entry.service, entry.client, entry.client_type, int(entry.allowed), entry.prompt_count, stamp),
            )
        else:
            conn.execute(
                "INSERT INTO access (service, client, client_type, allowed, prompt_count) VALUES (?, ?, ?, ?, ?)",
                (entry.service, entry.client, entry.client_type, int(entry.allowed), entry.prompt_count),
            )


# -- identity services lookup cache ------------------------------------------------------------


@dataclass
class IdLookup:
    handle: str  # "mailto:x@example.com", "tel:+41..."
    service: str = "com.apple.madrid"  # iMessage; "com.apple.ess" is FaceTime
    status: int = 1
    when: datetime = field(default_factory=lambda: datetime(2023, 5, 3, 10, 0, tzinfo=UTC))


def idstatuscache(lookups: Sequence[IdLookup]) -> dict[str, object]:
    """The plist: service -> handle -> {LookupDate (seconds since 2001), IDStatus}."""
    out: dict[str, dict[str, object]] = {}
    for lookup in lookups:
        out.setdefault(lookup.service, {})[lookup.handle] = {
            "IDStatus": lookup.status,
            "LookupDate": cocoa_seconds(lookup.when),
        }
    return dict(out)


# -- osanalytics daily usage ---------------------------------------------------------------------


@dataclass
class Baseline:
    process: str
    when: datetime = field(default_factory=lambda: datetime(2023, 5, 4, tzinfo=UTC))
    wifi_in: float = 0.0
    wifi_out: float = 0.0
    wwan_in: float = 0.0
    wwan_out: float = 0.0


def osanalytics_addaily(baselines: Sequence[Baseline], extra: dict[str, object] | None = None) -> dict[str, object]:
    """com.apple.osanalytics.addaily.plist: netUsageBaseline, process -> [date, wifi in/out, wwan in/out]."""
    base: dict[str, object] = {
        b.process: [b.when.replace(tzinfo=None), b.wifi_in, b.wifi_out, b.wwan_in, b.wwan_out] for b in baselines
    }
    out: dict[str, object] = {"netUsageBaseline": base, "baseline": {}}
    out.update(extra or {})
    return out


# -- locationd clients ---------------------------------------------------------------------------


@dataclass
class LocationClient:
    key: str  # a bundle id, "icon:<path>", or an executable path
    bundle_id: str | None = None
    bundle_path: str | None = None
    executable: str | None = None
    registered: str | None = None
    authorization: int | None = 2
    times: dict[str, datetime] = field(default_factory=dict)  # e.g. ReceivingLocationInformationTimeStopped


def locationd_clients(clients: Sequence[LocationClient]) -> dict[str, object]:
    out: dict[str, object] = {}
    for client in clients:
        entry: dict[str, object] = {"Whitelisted": False}
        for name, value in (
            ("BundleId", client.bundle_id), ("BundlePath", client.bundle_path),
            ("Executable", client.executable), ("Registered", client.registered),
            ("Authorization", client.authorization),
        ):
            if value is not None:
                entry[name] = value
        for name, when in client.times.items():
            entry[name] = cocoa_seconds(when)
        out[client.key] = entry
    return out


# -- configuration profiles ----------------------------------------------------------------------


@dataclass
class Payload:
    payload_type: str
    identifier: str
    uuid: str
    display_name: str | None = None
    content: dict[str, object] = field(default_factory=dict)


@dataclass
class Profile:
    uuid: str
    identifier: str
    display_name: str
    organization: str | None = None
    installed: datetime = field(default_factory=lambda: datetime(2023, 5, 5, 9, 0, tzinfo=UTC))
    payloads: Sequence[Payload] = ()
    signer_certs: Sequence[bytes] = ()  # DER certificates
    removal_disallowed: bool = False


def profile_stub(profile: Profile) -> dict[str, object]:
    """A profile-<hash>.stub as the profile store keeps it: the profile's keys and its install date."""
    stub: dict[str, object] = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadUUID": profile.uuid,
        "PayloadIdentifier": profile.identifier,
        "PayloadDisplayName": profile.display_name,
        "InstallDate": profile.installed.replace(tzinfo=None),
        "PayloadRemovalDisallowed": profile.removal_disallowed,
        "PayloadContent": [
            {
                "PayloadType": p.payload_type,
                "PayloadIdentifier": p.identifier,
                "PayloadUUID": p.uuid,
                "PayloadVersion": 1,
                **({"PayloadDisplayName": p.display_name} if p.display_name else {}),
                **p.content,
            }
            for p in profile.payloads
        ],
    }
    if profile.organization:
        stub["PayloadOrganization"] = profile.organization
    if profile.signer_certs:
        stub["SignerCerts"] = list(profile.signer_certs)
    return stub


def self_signed_der(common_name: str, organization: str | None = None) -> bytes:
    """A small self-signed certificate (DER) to sign a profile with in fixtures."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.derive_private_key(0x5EED, ec.SECP256R1())  # deterministic: same fixture bytes every run
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    name = x509.Name(attributes)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(datetime(2033, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


@dataclass
class ProfileEvent:
    profile_id: str
    operation: str = "install"
    process: str = "/System/Library/PrivateFrameworks/ManagedConfiguration.framework/profiled"
    when: datetime = field(default_factory=lambda: datetime(2023, 5, 5, 9, 0, tzinfo=UTC))


def profile_events(events: Sequence[ProfileEvent]) -> dict[str, object]:
    """MCProfileEvents.plist: ProfileEvents, a list of {profile id: {timestamp, operation, process}}."""
    return {
        "ProfileEvents": [
            {e.profile_id: {"timestamp": e.when.replace(tzinfo=None), "operation": e.operation, "process": e.process}}
            for e in events
        ]
    }


def cloud_configuration(
    supervised: bool = True, configuration_url: str | None = None, organization: str | None = None
) -> dict[str, object]:
    """CloudConfigurationDetails.plist: supervision and automated (MDM) enrolment."""
    out: dict[str, object] = {"IsSupervised": supervised, "CloudConfigurationUIComplete": True, "AllowPairing": True}
    if configuration_url:
        out["ConfigurationURL"] = configuration_url
        out["IsMandatory"] = True
        out["IsMDMUnremovable"] = False
    if organization:
        out["OrganizationName"] = organization
    return out


# -- global preferences --------------------------------------------------------------------------


def global_preferences(lockdown: bool | None, locale: str = "fr_CH", languages: Sequence[str] = ("fr-CH", "en-CH"),
                       ) -> dict[str, object]:
    out: dict[str, object] = {"AppleLocale": locale, "AppleLanguages": list(languages)}
    if lockdown is not None:
        out["LDMGlobalEnabled"] = lockdown
    return out
