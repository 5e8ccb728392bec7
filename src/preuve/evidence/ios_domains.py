"""Where an iOS backup's domains lie on the device.

A backup names each file by ``domain`` + ``relativePath``; the same file on
the device (and in a filesystem dump) lives at a real path. Mapping one to
the other lets every artifact read one device path whatever the acquisition.
App containers are named by bundle id (the device uses a random UUID that a
backup does not keep), so globs over ``Containers/Data/Application/*`` match
both.
"""

from __future__ import annotations

import posixpath

from preuve.evidence.fs import normalize_device_path

_FIXED_DOMAINS = {
    "HomeDomain": "/private/var/mobile",
    "MediaDomain": "/private/var/mobile",
    "CameraRollDomain": "/private/var/mobile",
    "TonesDomain": "/private/var/mobile",
    "KeyboardDomain": "/private/var/mobile",
    "HealthDomain": "/private/var/mobile/Library",  # its files are Health/healthdb*.sqlite
    "RootDomain": "/private/var/root",
    "WirelessDomain": "/private/var/wireless",
    "SystemPreferencesDomain": "/private/var/preferences",
    "ManagedPreferencesDomain": "/private/var/Managed Preferences",
    "KeychainDomain": "/private/var/Keychains",
    "MobileDeviceDomain": "/private/var/MobileDevice",
    "DatabaseDomain": "/private/var/db",
    "InstallDomain": "/private/var/installd",
    "ProtectedDomain": "/private/var/protected",
    "NetworkDomain": "/private/var/networkd",
    "BooksDomain": "/private/var/mobile/Media/Books",
}

_PREFIXED_DOMAINS = (
    ("AppDomainGroup-", "/private/var/mobile/Containers/Shared/AppGroup/"),
    ("AppDomainPlugin-", "/private/var/mobile/Containers/Data/PluginKitPlugin/"),
    ("AppDomain-", "/private/var/mobile/Containers/Data/Application/"),
    ("SysContainerDomain-", "/private/var/containers/Data/System/"),
    ("SysSharedContainerDomain-", "/private/var/containers/Shared/SystemGroup/"),
)


def domain_root(domain: str) -> str | None:
    """The device folder a backup domain stands for, or None for an unknown domain."""
    fixed = _FIXED_DOMAINS.get(domain)
    if fixed is not None:
        return fixed
    for prefix, root in _PREFIXED_DOMAINS:
        if domain.startswith(prefix):
            name = domain[len(prefix) :]
            if not name or "/" in name or name in (".", ".."):
                return None
            return root + name
    return None


def device_path(domain: str, relative_path: str) -> str | None:
    """The device path of a backup file, or None when it cannot be placed safely.

    Unknown domains are kept under ``/private/var/.backup-domains/<domain>`` so
    that no file of the backup is invisible.
    """
    root = domain_root(domain)
    if root is None:
        if any(domain.startswith(prefix) for prefix, _ in _PREFIXED_DOMAINS):
            return None
        if not domain or "/" in domain or domain in (".", ".."):
            return None
        root = "/private/var/.backup-domains/" + domain
    rel = relative_path or ""
    if rel.startswith("/") or "\x00" in rel:
        return None
    parts = rel.split("/")
    if ".." in parts:
        return None
    return normalize_device_path(posixpath.join(root, rel) if rel else root)
