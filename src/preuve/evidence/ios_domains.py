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
from functools import lru_cache

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
    root, clean = _placed_root(domain)
    if root is None:
        return None
    rel = relative_path or ""
    # Most relative paths are already normal: the join is the answer, as normpath would leave it.
    # (A Manifest lists hundreds of thousands, twice a run; normpath was most of this function's
    # cost.) No component that begins with a dot, no empty one, no NUL: normal without looking
    # further. A path with a hidden name (".metadata.plist") is looked at component by component.
    if clean and rel:
        if (
            "/." not in rel and "//" not in rel and "\x00" not in rel
            and rel[0] != "." and rel[0] != "/" and rel[-1] != "/"
        ) or _normal_relative(rel):
            return root + "/" + rel
    if rel.startswith("/") or "\x00" in rel:
        return None
    parts = rel.split("/")
    if ".." in parts:
        return None
    return normalize_device_path(posixpath.join(root, rel) if rel else root)


@lru_cache(maxsize=4096)
def _placed_root(domain: str) -> tuple[str | None, bool]:
    """The device folder of a domain (None: not placeable) and whether it is already normal."""
    root = domain_root(domain)
    if root is None:
        if any(domain.startswith(prefix) for prefix, _ in _PREFIXED_DOMAINS):
            return None, False
        if not domain or "/" in domain or domain in (".", ".."):
            return None, False
        root = "/private/var/.backup-domains/" + domain
    return root, normalize_device_path(root) == root


def _normal_relative(rel: str) -> bool:
    """No empty, ``.`` or ``..`` component, no leading or trailing slash, no NUL."""
    return not (
        rel.startswith(("/", "./", "../"))
        or rel.endswith(("/", "/.", "/.."))
        or rel in (".", "..")
        or "//" in rel
        or "/./" in rel
        or "/../" in rel
        or "\x00" in rel
    )


def backup_names(path: str) -> list[tuple[str, str]]:
    """Every (domain, relativePath) a backup can store the file at device path `path` under: the
    inverse of :func:`device_path` (several domains share a root: HomeDomain, MediaDomain…), for the
    fixed domains and for an app container named in the path. What a backup names a file by is what
    its file id is made from (the SHA-1 of ``domain-relativePath``), so a file is found in the backup's
    folder by its name alone when the row that listed it is lost."""
    names: list[tuple[str, str]] = []
    for domain, root in _FIXED_DOMAINS.items():
        if path.startswith(root + "/") and len(path) > len(root) + 1:
            names.append((domain, path[len(root) + 1 :]))
    for prefix, root in _PREFIXED_DOMAINS:
        if path.startswith(root):
            name, slash, relative = path[len(root) :].partition("/")
            if slash and relative and domain_root(prefix + name) == root + name:
                names.append((prefix + name, relative))
    return [(domain, relative) for domain, relative in names if device_path(domain, relative) == path]


def container_roots() -> tuple[tuple[str, str], ...]:
    """(domain prefix, device folder) of the domains named after an app or group (AppDomain-…)."""
    return _PREFIXED_DOMAINS
