"""Configuration profiles installed on the device, and its supervision (MDM) state.

iOS keeps a stub of every installed profile as ``profile-<hash>.stub`` in
the configuration-profiles system group container (older versions:
``/private/var/mobile/Library/ConfigurationProfiles``): the profile's own
keys (``PayloadUUID``, ``PayloadIdentifier``, ``PayloadDisplayName``,
``PayloadOrganization``, ``PayloadContent`` with one dictionary per payload),
``InstallDate`` and ``SignerCerts`` (DER certificates of whoever signed it).
A profile can install a root certificate, a VPN, a proxy or DNS settings,
or enrol the phone in device management; Predator's and other spyware's
operators have used profiles. ``CloudConfigurationDetails.plist`` in the
same folder says whether the phone is supervised and which MDM server
(``ConfigurationURL``) it enrolled with. (``MCProfileEvents.plist``, also
there, is the ``profile_events`` artifact; ``ProfileTruth.plist``,
``UserSettings.plist`` and ``EffectiveUserSettings.plist`` hold the
restrictions in force, not the profiles.)
"""

from __future__ import annotations

import hashlib
import ipaddress
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, PlistArtifact
from preuve.artifacts.plistvalues import cocoa_date, key_path, walk_strings
from preuve.artifacts.values import as_bool_plist, plist_text
from preuve.indicators.normalize import extract_urls, split_url
from preuve.model import Kind, Locator, Observable, Record, Timestamp

_CONTAINER = "/private/var/containers/Shared/SystemGroup/systemgroup.com.apple.configurationprofiles/Library/"
_LEGACY = "/private/var/mobile/Library/ConfigurationProfiles/"
CLOUD_CONFIGURATION = "CloudConfigurationDetails.plist"

# Payload types in plain words (Apple's Configuration Profile Reference). Unknown types are shown as stored.
PAYLOAD_TYPES = {
    "com.apple.security.root": "a trusted root certificate",
    "com.apple.security.pem": "a certificate",
    "com.apple.security.pkcs1": "a certificate",
    "com.apple.security.pkcs12": "a certificate with its private key",
    "com.apple.security.scep": "a certificate enrolment (SCEP)",
    "com.apple.security.acme": "a certificate enrolment (ACME)",
    "com.apple.vpn.managed": "a VPN",
    "com.apple.vpn.managed.applayer": "a per-app VPN",
    "com.apple.proxy.http.global": "a global HTTP proxy",
    "com.apple.dnsSettings.managed": "DNS settings",
    "com.apple.dnsProxy.managed": "a DNS proxy",
    "com.apple.webcontent-filter": "a web content filter",
    "com.apple.mdm": "device management (MDM) enrolment",
    "com.apple.wifi.managed": "a Wi-Fi network",
    "com.apple.eas.account": "an Exchange account",
    "com.apple.mail.managed": "a mail account",
    "com.apple.applicationaccess": "restrictions",
    "com.apple.mobiledevice.passwordpolicy": "a passcode policy",
    "com.apple.webClip.managed": "a home-screen web clip",
    "com.apple.app.lock": "single-app mode",
    "com.apple.caldav.account": "a calendar account",
    "com.apple.carddav.account": "a contacts account",
    "com.apple.ldap.account": "a directory account",
    "com.apple.cellular": "cellular settings",
    "com.apple.apn.managed": "cellular access point settings",
    "com.apple.notificationsettings": "notification settings",
    "com.apple.relay.managed": "a network relay",
}

# Payload keys whose string value is a host name or address.
_HOST_KEYS = frozenset({
    "RemoteAddress", "ServerAddress", "ServerAddresses", "ProxyServer", "HTTPProxy", "HTTPSProxy", "Host",
    "HostName", "IncomingMailServerHostName", "OutgoingMailServerHostName", "LDAPAccountHostName",
    "CalDAVHostName", "CardDAVHostName", "ServerName",
})
_HOSTNAME = re.compile(r"(?i)^(?:[a-z0-9](?:[a-z0-9\-]{0,62}[a-z0-9])?\.)+[a-z][a-z0-9\-]{0,62}$")
_MAX_OBSERVABLES = 500  # per profile


@dataclass(frozen=True, slots=True)
class ProfilePayload:
    """One payload of a profile (what it installs)."""

    payload_type: str | None
    identifier: str | None
    uuid: str | None
    display_name: str | None


@dataclass(frozen=True, slots=True)
class ProfileSigner:
    """A certificate that signed a profile."""

    sha256: str
    subject: str | None
    issuer: str | None


@dataclass(kw_only=True)
class ConfigurationProfile(Record):
    record_type: ClassVar[str] = "ios:configuration_profiles:profile"
    uuid: str | None
    identifier: str | None
    display_name: str | None
    organization: str | None
    description: str | None
    installed: datetime | None
    removal_disallowed: bool | None
    encrypted: bool | None
    payloads: tuple[ProfilePayload, ...]
    signers: tuple[ProfileSigner, ...]
    urls: tuple[str, ...]  # links found in the payloads
    hosts: tuple[str, ...]  # servers named in the payloads (VPN, proxy, mail…) and hosts of the links

    @property
    def payload_types(self) -> tuple[str, ...]:
        return tuple(p.payload_type for p in self.payloads if p.payload_type)

    def observables(self) -> Iterator[Observable]:
        if self.uuid:
            yield Observable(Kind.PROFILE_ID, self.uuid)
        for payload in self.payloads:
            if payload.uuid and payload.uuid != self.uuid:
                yield Observable(Kind.PROFILE_ID, payload.uuid)
        for url in self.urls:
            yield Observable(Kind.URL, url)
        for host in self.hosts:
            yield Observable(Kind.DOMAIN, host)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.installed is not None:
            yield Timestamp(self.installed, f"Configuration profile installed: {self.display_name or self.uuid}")

    def summary(self) -> str:
        return f"Configuration profile {self.display_name or self.identifier or self.uuid} ({len(self.payloads)} payloads)"


@dataclass(kw_only=True)
class CloudConfiguration(Record):
    """Supervision and automated device enrolment, as the device recorded them."""

    record_type: ClassVar[str] = "ios:configuration_profiles:cloud_configuration"
    supervised: bool | None
    mandatory: bool | None
    mdm_unremovable: bool | None
    configuration_url: str | None
    organization: str | None

    def observables(self) -> Iterator[Observable]:
        if self.configuration_url:
            yield Observable(Kind.URL, self.configuration_url)

    def summary(self) -> str:
        state = {True: "supervised", False: "not supervised", None: "supervision unknown"}[self.supervised]
        return f"Device {state}; MDM server {self.configuration_url or 'none'}"


def _signer(der: bytes) -> ProfileSigner:
    """Subject and issuer of a DER certificate, read with `cryptography`; the hash even when it does not parse."""
    from cryptography import x509

    digest = hashlib.sha256(der).hexdigest()
    try:
        cert = x509.load_der_x509_certificate(der)
        return ProfileSigner(digest, cert.subject.rfc4514_string(), cert.issuer.rfc4514_string())
    except Exception:  # noqa: BLE001 - a hostile certificate may only cost its names, never the profile
        return ProfileSigner(digest, None, None)


def _is_host(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return bool(_HOSTNAME.match(value)) and len(value) <= 253


def _links(stub: dict[str, object]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """URLs and host names named anywhere in the payloads (and in an over-the-air stub)."""
    urls: list[str] = []
    hosts: list[str] = []
    scope = {k: stub[k] for k in ("PayloadContent", "OTAProfileStub", "ConfigurationURL") if k in stub}
    for _, key, value in walk_strings(scope):
        if len(urls) + len(hosts) >= _MAX_OBSERVABLES:
            break
        candidate = value.strip()
        if key in _HOST_KEYS and _is_host(candidate):
            if candidate.lower() not in hosts:
                hosts.append(candidate.lower())
            continue
        for url in extract_urls(candidate, limit=20):
            if "://" not in url:
                continue  # bare "host/path" fragments inside payload text are too often not links
            if url not in urls:
                urls.append(url)
            parts = split_url(url)
            if parts is not None and parts[0] not in hosts:
                hosts.append(parts[0])
    return tuple(urls), tuple(hosts)


class ConfigurationProfiles(PlistArtifact):
    name = "configuration_profiles"
    platform = "ios"
    title = "Configuration profiles and device management"
    paths: ClassVar[tuple[str, ...]] = (
        _CONTAINER + "ConfigurationProfiles/**/profile-*",
        _CONTAINER + "ConfigurationProfiles/" + CLOUD_CONFIGURATION,
        _LEGACY + "**/profile-*",
        _LEGACY + CLOUD_CONFIGURATION,
    )

    def parse_plist(self, ctx: ArtifactContext, value: object, path: str, sha256: str) -> Iterator[Record]:
        if not isinstance(value, dict):
            ctx.error(path, f"top level is a {type(value).__name__}, not a dictionary")
            return
        if posixpath.basename(path) == CLOUD_CONFIGURATION:
            url = plist_text(value.get("ConfigurationURL"))
            yield CloudConfiguration(
                locator=Locator(path, sha256, key_path="/IsSupervised"),
                supervised=as_bool_plist(value.get("IsSupervised")),
                mandatory=as_bool_plist(value.get("IsMandatory")),
                mdm_unremovable=as_bool_plist(value.get("IsMDMUnremovable")),
                configuration_url=url,
                organization=plist_text(value.get("OrganizationName")),
            )
            return
        yield self._profile(ctx, value, path, sha256)

    def _profile(self, ctx: ArtifactContext, stub: dict[str, object], path: str, sha256: str) -> ConfigurationProfile:
        # An over-the-air stub nests the profile's identity; the top level wins where both have it.
        ota = stub.get("OTAProfileStub")
        inner = ota if isinstance(ota, dict) else {}

        def first(name: str) -> str | None:
            return plist_text(stub.get(name)) or plist_text(inner.get(name))

        content = stub.get("PayloadContent")
        payloads: list[ProfilePayload] = []
        if isinstance(content, list):
            for index, item in enumerate(content):
                if not isinstance(item, dict):
                    ctx.warn(f"{path}: {key_path('PayloadContent', index)} is a {type(item).__name__}, "
                             "not a dictionary")
                    continue
                payloads.append(ProfilePayload(
                    plist_text(item.get("PayloadType")), plist_text(item.get("PayloadIdentifier")),
                    plist_text(item.get("PayloadUUID")), plist_text(item.get("PayloadDisplayName")),
                ))
        elif content is not None:
            ctx.warn(f"{path}: PayloadContent is a {type(content).__name__}, not a list")
        signers: list[ProfileSigner] = []
        certs = stub.get("SignerCerts")
        if isinstance(certs, list):
            signers = [_signer(bytes(der)) for der in certs[:16] if isinstance(der, bytes)]
        urls, hosts = _links(stub)
        uuid = first("PayloadUUID")
        return ConfigurationProfile(
            locator=Locator(path, sha256, key_path="/PayloadUUID"),
            uuid=uuid,
            identifier=first("PayloadIdentifier"),
            display_name=first("PayloadDisplayName"),
            organization=first("PayloadOrganization"),
            description=first("PayloadDescription"),
            installed=cocoa_date(stub.get("InstallDate")),
            removal_disallowed=as_bool_plist(stub.get("PayloadRemovalDisallowed")),
            encrypted=as_bool_plist(stub.get("IsEncrypted")),
            payloads=tuple(payloads),
            signers=tuple(signers),
            urls=urls,
            hosts=hosts,
        )


def payload_words(payload_type: str) -> str:
    return PAYLOAD_TYPES.get(payload_type, payload_type)
