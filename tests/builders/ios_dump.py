"""Write an iOS filesystem dump (folder, tar, tar.gz or zip) with the files of a backup at their device paths.

Where each backup domain lies on the device is written here from the public
record, not taken from preuve's reader (a fixture derived from the code it
tests would carry that code's mistakes into every test). The sources, each
checked against a (domain, relativePath) whose SHA-1 is a real backup file id:

* MVT's iOS modules pair a backup file id with the device path it reads in a
  filesystem dump: ``HomeDomain-Library/SMS/sms.db`` (3d0d7e5f…) is
  ``/private/var/mobile/Library/SMS/sms.db``; ``WirelessDomain-Library/
  Databases/DataUsage.sqlite`` is under ``/private/var/wireless``;
  ``RootDomain-Library/Caches/locationd/clients.plist`` under
  ``/private/var/root``; ``AppDomainGroup-group.net.whatsapp.WhatsApp.shared-
  ChatStorage.sqlite`` under ``/private/var/mobile/Containers/Shared/AppGroup/*``.
* dissect.target's iTunes loader (``DOMAIN_TRANSLATION``) gives the root of the
  other domains, and forensic notes give real paths inside them: the Health
  store is ``HealthDomain`` + ``Health/healthdb_secure.sqlite`` and lives at
  ``/private/var/mobile/Library/Health/healthdb_secure.sqlite``; voice memos are
  ``MediaDomain`` + ``Media/Recordings/Recordings.db``; the photo library is
  ``CameraRollDomain`` + ``Media/PhotoData/Photos.sqlite``; the trust store is
  ``ProtectedDomain`` + ``trustd/private/TrustStore.sqlite3``.

A backup names app containers by bundle or group id where the device uses a
random UUID; a dump written here keeps the id as the folder name.
"""

from __future__ import annotations

import io
import sqlite3
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

DUMP_FORMATS = ("folder", "tar", "tar.gz", "tar.bz2", "tar.xz", "zip")

# Domains that stand for one folder of the device.
DOMAIN_FOLDERS: dict[str, str] = {
    "HomeDomain": "/private/var/mobile",
    "MediaDomain": "/private/var/mobile",  # its paths start with Media/
    "CameraRollDomain": "/private/var/mobile",  # Media/DCIM/..., Media/PhotoData/...
    "TonesDomain": "/private/var/mobile",
    "KeyboardDomain": "/private/var/mobile",
    "HomeKitDomain": "/private/var/mobile",
    "HealthDomain": "/private/var/mobile/Library",  # its paths start with Health/
    "BooksDomain": "/private/var/mobile/Media/Books",
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
}

# Domains named "<kind>-<bundle or group id>": the folder holding one container per id.
CONTAINER_FOLDERS: dict[str, str] = {
    "AppDomain": "/private/var/mobile/Containers/Data/Application",
    "AppDomainGroup": "/private/var/mobile/Containers/Shared/AppGroup",
    "AppDomainPlugin": "/private/var/mobile/Containers/Data/PluginKitPlugin",
    "SysContainerDomain": "/private/var/containers/Data/System",
    "SysSharedContainerDomain": "/private/var/containers/Shared/SystemGroup",
}


def _clean_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\x00" not in name and name not in (".", "..")


def dump_path(domain: str, relative_path: str) -> str | None:
    """The absolute device path of a backup file, or None (unknown domain, or a path leaving its folder)."""
    kind, dash, name = domain.partition("-")
    if kind in CONTAINER_FOLDERS:
        if not dash or not _clean_name(name):
            return None
        folder = f"{CONTAINER_FOLDERS[kind]}/{name}"
    elif kind in DOMAIN_FOLDERS and not dash:
        folder = DOMAIN_FOLDERS[kind]
    else:
        return None
    if relative_path.startswith("/") or "\x00" in relative_path:
        return None
    parts = [part for part in relative_path.split("/") if part not in ("", ".")]
    if ".." in parts:
        return None
    return "/".join([folder, *parts])


def backup_files(backup: Path) -> list[tuple[str, bytes]]:
    """(device path without the leading '/', bytes) of every file of a plain backup (unknown domains left out)."""
    conn = sqlite3.connect(f"file:{backup / 'Manifest.db'}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT fileID, domain, relativePath FROM Files WHERE flags = 1").fetchall()
    finally:
        conn.close()
    out = []
    for fid, domain, relative in sorted(rows, key=lambda r: (r[1], r[2])):
        where = dump_path(domain, relative or "")
        blob = backup / fid[:2] / fid
        if where is not None and blob.is_file():
            out.append((where.lstrip("/"), blob.read_bytes()))
    return out


def write_dump(
    files: Iterable[tuple[str, bytes]], out: Path, fmt: str = "folder", top: str = "", mtime: int = 1685620800
) -> Path:
    """Write `files` (relative device paths) as a dump; `top` is an optional enclosing folder.

    `out` is the folder, or the archive file (its name is used as given).
    """
    if fmt not in DUMP_FORMATS:
        raise ValueError(f"unknown dump format {fmt!r}")
    prefix = f"{top.strip('/')}/" if top else ""
    if fmt == "folder":
        for name, data in files:
            target = out / (prefix + name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "zip":
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in files:
                info = zipfile.ZipInfo(prefix + name, date_time=(2023, 6, 1, 12, 0, 0))
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data)
        return out
    mode = {"tar.gz": "w:gz", "tar.bz2": "w:bz2", "tar.xz": "w:xz"}.get(fmt, "w")
    with tarfile.open(out, mode) as tf:  # type: ignore[call-overload]
        for name, data in files:
            member = tarfile.TarInfo(prefix + name)
            member.size = len(data)
            member.mtime = mtime
            member.mode = 0o644
            tf.addfile(member, io.BytesIO(data))
    return out
