"""Write an iOS backup folder as iTunes/Finder would: Manifest.db, hashed file ids, plists."""

from __future__ import annotations

import hashlib
import plistlib
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MANIFEST_SCHEMA = (
    "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB)",
    "CREATE INDEX FilesDomainIdx ON Files(domain)",
    "CREATE INDEX FilesRelativePathIdx ON Files(relativePath)",
    "CREATE INDEX FilesFlagsIdx ON Files(flags)",
    "CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB)",
)


def file_id(domain: str, relative_path: str) -> str:
    return hashlib.sha1(f"{domain}-{relative_path}".encode()).hexdigest()  # noqa: S324 - Apple's naming


def mbfile_blob(relative_path: str, size: int, mtime: int, mode: int, flags: int, target: str | None = None) -> bytes:
    """The NSKeyedArchiver'd MBFile that Manifest.db keeps per file (a link keeps its target)."""
    uid = plistlib.UID
    top = {
        "$class": uid(3),
        "Birth": mtime,
        "Flags": 0,
        "GroupID": 501,
        "InodeNumber": int(hashlib.sha1(relative_path.encode()).hexdigest()[:8], 16),  # noqa: S324
        "LastModified": mtime,
        "LastStatusChange": mtime,
        "Mode": mode,
        "ProtectionClass": 3 if flags == 1 else 0,
        "RelativePath": uid(2),
        "Size": size,
        "UserID": 501,
    }
    objects: list[object] = [
        "$null", top, relative_path, {"$classname": "MBFile", "$classes": ["MBFile", "NSObject"]},
    ]
    if target is not None:
        top["Target"] = uid(4)
        objects.append(target)
    archive = {"$version": 100000, "$archiver": "NSKeyedArchiver", "$top": {"root": uid(1)}, "$objects": objects}
    return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY)


@dataclass(frozen=True)
class AppFacts:
    """An app installed by the user, as the backup's Info.plist and Manifest.plist describe it."""

    bundle_id: str
    name: str
    version: str = "1.0"
    bundle_version: str = "1"
    artist: str = "Example Developer"
    item_id: int = 310633997
    source_app: str | None = "com.apple.AppStore"  # None: no iTunesMetadata (sideloaded, enterprise)
    apple_id: str | None = "owner@example.org"
    purchase_date: str = "2023-01-15T10:00:00Z"
    metadata_bytes: bytes | None = None  # a raw iTunesMetadata value (damaged on purpose)

    def itunes_metadata(self) -> bytes | None:
        """iTunesMetadata as the backup keeps it: an XML plist in a data value."""
        if self.metadata_bytes is not None:
            return self.metadata_bytes
        if self.source_app is None:
            return None
        value: dict[str, object] = {
            "artistName": self.artist,
            "bundleShortVersionString": self.version,
            "bundleVersion": self.bundle_version,
            "com.apple.iTunesStore.downloadInfo": {
                "accountInfo": {"AppleID": self.apple_id or "", "DSPersonID": 1234567890},
                "purchaseDate": self.purchase_date,
            },
            "genre": "Social Networking",
            "itemId": self.item_id,
            "itemName": self.name,
            "kind": "software",
            "purchaseDate": self.purchase_date,
            "softwareVersionBundleId": self.bundle_id,
            "sourceApp": self.source_app,
        }
        return plistlib.dumps(value, fmt=plistlib.FMT_XML)


def _default_apps() -> tuple[AppFacts, ...]:
    return (AppFacts("net.whatsapp.WhatsApp", "WhatsApp Messenger", "23.10.77", "23.10.77.75"),)


@dataclass
class DeviceFacts:
    device_name: str = "iPhone"
    product_type: str = "iPhone14,2"
    product_version: str = "16.5"
    build_version: str = "20F66"
    serial_number: str = "F2LXK0AAAAAA"
    udid: str = "00008110-000A1B2C3D4E5F60"
    phone_number: str = "+41 79 000 00 00"
    last_backup: datetime = field(default_factory=lambda: datetime(2023, 6, 1, 12, 0, tzinfo=UTC))
    installed_apps: tuple[str, ...] = ("com.apple.mobilesafari", "net.whatsapp.WhatsApp")
    apps: tuple[AppFacts, ...] = field(default_factory=_default_apps)
    imei: str = "356789100000001"
    meid: str = "35678910000000"
    iccid: str = "8941000000000000001"


@dataclass
class _Entry:
    domain: str
    relative_path: str
    flags: int
    size: int
    mtime: int
    mode: int
    target: str | None = None
    blob: bytes | None = None  # a raw MBFile value instead of the one built (damaged backups)
    listed_as: tuple[str | None, str | None] | None = None  # the (domain, path) its row shows instead (misname)


def _app_uuid(bundle_id: str) -> str:
    digest = hashlib.sha1(bundle_id.encode()).hexdigest().upper()  # noqa: S324 - a stable fake UUID
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


class BackupBuilder:
    """Build a backup folder file by file; call :meth:`finish` to write its Manifest and plists."""

    def __init__(self, root: Path, facts: DeviceFacts | None = None) -> None:
        self.root = root
        self.facts = facts or DeviceFacts()
        self.root.mkdir(parents=True, exist_ok=True)
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._mtime = int(self.facts.last_backup.timestamp())
        self.extra_info: dict[str, object] = {}

    def _ensure_dirs(self, domain: str, relative_path: str) -> None:
        parts = relative_path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            rel = "/".join(parts[:i])
            self._entries.setdefault((domain, rel), _Entry(domain, rel, 2, 0, self._mtime, 0o40755))

    def add_file(self, domain: str, relative_path: str, data: bytes, mode: int = 0o100644) -> Path:
        fid = file_id(domain, relative_path)
        target = self.root / fid[:2] / fid
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self._ensure_dirs(domain, relative_path)
        self._entries[(domain, relative_path)] = _Entry(domain, relative_path, 1, len(data), self._mtime, mode)
        return target

    def add_entry_only(self, domain: str, relative_path: str, flags: int = 1, size: int = 0) -> None:
        """A Manifest row whose file is absent from the folder (as in damaged backups)."""
        self._entries[(domain, relative_path)] = _Entry(domain, relative_path, flags, size, self._mtime, 0o100644)

    def misname(self, domain: str, relative_path: str, listed_domain: str | None, listed_path: str | None) -> None:
        """Give the Manifest row of an entry already added another domain and path (None: NULL), as a
        damaged or altered row would; its file id, and the file in the folder, stay those of the real name."""
        self._entries[(domain, relative_path)].listed_as = (listed_domain, listed_path)

    def add_link(self, domain: str, relative_path: str, target: str) -> None:
        """A symbolic link: a Manifest row (flags 4) whose MBFile names its target; no file in the folder."""
        self._ensure_dirs(domain, relative_path)
        self._entries[(domain, relative_path)] = _Entry(domain, relative_path, 4, 0, self._mtime, 0o120755, target)

    def set_mbfile(self, domain: str, relative_path: str, blob: bytes) -> None:
        """Replace the archived MBFile of an entry already added (to write a damaged one)."""
        self._entries[(domain, relative_path)].blob = blob

    def add_plist(self, domain: str, relative_path: str, value: Any, binary: bool = True) -> Path:
        fmt = plistlib.FMT_BINARY if binary else plistlib.FMT_XML
        return self.add_file(domain, relative_path, plistlib.dumps(value, fmt=fmt, sort_keys=True))

    def add_sqlite(
        self, domain: str, relative_path: str, fill: Callable[[sqlite3.Connection], None], wal: bool = False
    ) -> Path:
        """A database filled by `fill`; with `wal`, its last transaction stays in a -wal file beside it."""
        with tempfile.TemporaryDirectory(prefix="preuve-build-") as tmp:
            db = Path(tmp) / "db.sqlite"
            conn = sqlite3.connect(db)
            try:
                if wal:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA wal_autocheckpoint=0")
                fill(conn)
                conn.commit()
                if wal:
                    target = self.add_file(domain, relative_path, db.read_bytes())
                    wal_file = Path(str(db) + "-wal")
                    self.add_file(domain, relative_path + "-wal", wal_file.read_bytes())
                    return target
            finally:
                conn.close()
            return self.add_file(domain, relative_path, db.read_bytes())

    def info_plist(self) -> dict[str, object]:
        f = self.facts
        info: dict[str, object] = {
            "Build Version": f.build_version,
            "Device Name": f.device_name,
            "Display Name": f.device_name,
            "GUID": hashlib.md5(f.udid.encode()).hexdigest().upper(),  # noqa: S324
            "Applications": {
                app.bundle_id: {
                    key: value
                    for key, value in (
                        ("ApplicationSINF", b"sinf" + app.bundle_id.encode()),
                        ("PlaceholderIcon", b"\x89PNG\r\n\x1a\n"),
                        ("iTunesMetadata", app.itunes_metadata()),
                    )
                    if value is not None
                }
                for app in f.apps
            },
            "ICCID": f.iccid,
            "IMEI": f.imei,
            "Installed Applications": list(f.installed_apps),
            "MEID": f.meid,
            "Last Backup Date": f.last_backup.replace(tzinfo=None),
            "Phone Number": f.phone_number,
            "Product Name": "iPhone",
            "Product Type": f.product_type,
            "Product Version": f.product_version,
            "Serial Number": f.serial_number,
            "Target Identifier": f.udid,
            "Target Type": "Device",
            "Unique Identifier": f.udid,
            "iTunes Version": "12.12.9",
        }
        info.update(self.extra_info)
        return info

    def finish(self, manifest_wal: bool = False, encrypted: bool = False) -> Path:
        """Write Manifest.db (optionally leaving its rows in a WAL), Info, Manifest and Status plists."""
        f = self.facts
        (self.root / "Info.plist").write_bytes(plistlib.dumps(self.info_plist(), fmt=plistlib.FMT_XML))
        manifest_plist = {
            "IsEncrypted": encrypted,
            "Version": "10.0",
            "Date": f.last_backup.replace(tzinfo=None),
            "SystemDomainsVersion": "24.0",
            "WasPasscodeSet": True,
            "Lockdown": {
                "ProductVersion": f.product_version,
                "ProductType": f.product_type,
                "BuildVersion": f.build_version,
                "UniqueDeviceID": f.udid,
                "SerialNumber": f.serial_number,
                "DeviceName": f.device_name,
            },
            "Applications": {
                app: {
                    "CFBundleIdentifier": app,
                    "CFBundleVersion": "1",
                    "ContainerContentClass": "Data/Application",
                    "Path": f"/private/var/containers/Bundle/Application/{_app_uuid(app)}/{app.rsplit('.', 1)[-1]}.app",
                }
                for app in dict.fromkeys([*f.installed_apps, *(a.bundle_id for a in f.apps)])
            },
        }
        (self.root / "Manifest.plist").write_bytes(plistlib.dumps(manifest_plist, fmt=plistlib.FMT_BINARY))
        status = {
            "BackupState": "new",
            "Date": f.last_backup.replace(tzinfo=None),
            "IsFullBackup": False,
            "SnapshotState": "finished",
            "UUID": "6A1D2F2C-0000-4000-8000-000000000000",
            "Version": "3.3",
        }
        (self.root / "Status.plist").write_bytes(plistlib.dumps(status, fmt=plistlib.FMT_BINARY))
        self._write_manifest(manifest_wal)
        return self.root

    def _write_manifest(self, wal: bool) -> None:
        rows = [
            (
                file_id(e.domain, e.relative_path),
                *(e.listed_as or (e.domain, e.relative_path)),
                e.flags,
                e.blob if e.blob is not None else mbfile_blob(e.relative_path, e.size, e.mtime, e.mode, e.flags, e.target),
            )
            for e in sorted(self._entries.values(), key=lambda e: (e.domain, e.relative_path))
        ]
        for name in ("Manifest.db", "Manifest.db-wal", "Manifest.db-shm"):
            (self.root / name).unlink(missing_ok=True)
        with tempfile.TemporaryDirectory(prefix="preuve-build-") as tmp:
            db = Path(tmp) / "Manifest.db"
            conn = sqlite3.connect(db)
            try:
                for statement in MANIFEST_SCHEMA:
                    conn.execute(statement)
                conn.commit()
                if wal:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA wal_autocheckpoint=0")
                conn.executemany("INSERT INTO Files VALUES (?, ?, ?, ?, ?)", rows)
                conn.commit()
                shutil.copyfile(db, self.root / "Manifest.db")
                if wal:
                    shutil.copyfile(Path(str(db) + "-wal"), self.root / "Manifest.db-wal")
            finally:
                conn.close()
