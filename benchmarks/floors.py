"""Floors of benchmarks/workloads.py: read what preuve reads with the standard library, doing nothing.

    python3 benchmarks/floors.py backup BACKUP            every Manifest.db row (its MBFile blob too),
                                                          then sms.db, History.db and DataUsage rows
    python3 benchmarks/floors.py encrypted BACKUP KEYFILE (the same after decrypting Manifest.db and
                                                          the three databases: needs `cryptography`)
    python3 benchmarks/floors.py fs PATH                  every entry of a folder (lstat), a .zip's
                                                          central directory, every byte of a .tar or
                                                          .tar.gz (decompressed)
    python3 benchmarks/floors.py zip ZIP                  every byte of every member, nested zips too
    python3 benchmarks/floors.py packed ARCHIVE BACKUP    an iOS backup packed in an archive: `fs ARCHIVE`,
                                                          then `backup BACKUP` (the backup's folder: taking
                                                          its files out of the archive is not counted)
    python3 benchmarks/floors.py phonefs PATH FOLDER      the phone's file system: `fs PATH`, then the rows
                                                          of sms.db, History.db, DataUsage.sqlite and
                                                          netusage.sqlite in FOLDER (the dump as a folder;
                                                          for an archive, the databases' copies, so that
                                                          taking them out of it is not counted: a lower
                                                          floor than any reader of the archive has)

Run as its own process and kept to the standard library (the encrypted floor apart, which uses the
same AES as preuve), so its time is the interpreter's start plus reading. Prints what it counted.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import sqlite3
import sys
import tempfile
import zipfile
from pathlib import Path

DATABASES = {
    ("HomeDomain", "Library/SMS/sms.db"): (
        "SELECT m.ROWID, m.guid, m.text, m.service, m.is_from_me, m.date, m.date_read, m.attributedBody, "
        "m.payload_data, m.message_summary_info, m.balloon_bundle_id, m.account, m.destination_caller_id, "
        "m.handle_id, h.id FROM message m LEFT JOIN handle h ON h.ROWID = m.handle_id ORDER BY m.ROWID"
    ),
    ("HomeDomain", "Library/Safari/History.db"): (
        "SELECT v.id, v.visit_time, v.title, v.load_successful, v.redirect_source, v.redirect_destination, "
        "i.url, i.visit_count FROM history_visits v JOIN history_items i ON i.id = v.history_item ORDER BY v.id"
    ),
    ("WirelessDomain", "Library/Databases/DataUsage.sqlite"): (
        "SELECT p.Z_PK, p.ZPROCNAME, p.ZBUNDLENAME, p.ZFIRSTTIMESTAMP, p.ZTIMESTAMP, u.wifi_in, u.wifi_out, "
        "u.wwan_in, u.wwan_out FROM ZPROCESS p LEFT JOIN (SELECT ZHASPROCESS AS pid, SUM(ZWIFIIN) AS wifi_in, "
        "SUM(ZWIFIOUT) AS wifi_out, SUM(ZWWANIN) AS wwan_in, SUM(ZWWANOUT) AS wwan_out FROM ZLIVEUSAGE "
        "GROUP BY ZHASPROCESS) u ON u.pid = p.Z_PK ORDER BY p.Z_PK"
    ),
}
# Where the phone's file system keeps the same databases (Safari's history in Safari's container).
FS_DATABASES = {
    "private/var/mobile/Library/SMS/sms.db": DATABASES[("HomeDomain", "Library/SMS/sms.db")],
    "private/var/mobile/Containers/Data/Application/*/Library/Safari/History.db":
        DATABASES[("HomeDomain", "Library/Safari/History.db")],
    "private/var/wireless/Library/Databases/DataUsage.sqlite":
        DATABASES[("WirelessDomain", "Library/Databases/DataUsage.sqlite")],
    "private/var/networkd/db/netusage.sqlite": DATABASES[("WirelessDomain", "Library/Databases/DataUsage.sqlite")],
}
MANIFEST_SQL = "SELECT rowid, fileID, domain, relativePath, flags, file FROM Files ORDER BY rowid"


def _rows(path: Path, sql: str) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        return sum(1 for _ in conn.execute(sql))
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def backup(root: Path, decrypt: object = None) -> int:
    """Manifest.db's rows, blobs included, then the databases' rows (found through Manifest.db)."""
    manifest = root / "Manifest.db"
    rows = _rows(manifest, MANIFEST_SQL)
    conn = sqlite3.connect(f"file:{manifest}?mode=ro&immutable=1", uri=True)
    try:
        for (domain, relative), sql in DATABASES.items():
            found = conn.execute(
                "SELECT fileID FROM Files WHERE domain = ? AND relativePath = ?", (domain, relative)
            ).fetchone()
            fid = found[0] if found else hashlib.sha1(f"{domain}-{relative}".encode()).hexdigest()  # noqa: S324
            if (root / fid[:2] / fid).is_file():  # the messages backups have no History.db
                rows += _rows(root / fid[:2] / fid, sql)
    finally:
        conn.close()
    return rows


def encrypted(root: Path, key_file: Path) -> int:
    """Decrypt Manifest.db and the three databases with the key derived once (the key file), then
    read them as :func:`backup` does: the AES work preuve cannot skip, and nothing else. (The keybag
    is unwrapped with preuve's own functions: the same AES, not the point of the comparison.)"""
    import plistlib
    import shutil

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from preuve.evidence.crypto.ios_keybag import decrypt_stream, file_key
    from preuve.evidence.ios_encrypted import unlock_backup
    from preuve.evidence.limits import Limits

    keys = unlock_backup(root, None, bytes.fromhex(key_file.read_text().strip()), Limits())
    with tempfile.TemporaryDirectory(prefix="floor-") as tmp:
        plain = Path(tmp)
        with open(root / "Manifest.db", "rb") as raw, decrypt_stream(raw, keys.manifest_key, None) as clear, \
                open(plain / "Manifest.db", "wb") as out:
            shutil.copyfileobj(clear, out, 1 << 20)
        rows = _rows(plain / "Manifest.db", MANIFEST_SQL)
        conn = sqlite3.connect(plain / "Manifest.db")
        try:
            for (domain, relative), sql in DATABASES.items():
                found = conn.execute(
                    "SELECT fileID, file FROM Files WHERE domain = ? AND relativePath = ?", (domain, relative)
                ).fetchone()
                if not found:
                    continue
                fid, blob = found
                archive = plistlib.loads(blob)
                objects = archive["$objects"]
                root_object = objects[archive["$top"]["root"].data]
                wrapped = objects[root_object["EncryptionKey"].data]["NS.data"]
                target = plain / fid
                with open(root / fid[:2] / fid, "rb") as raw, \
                        decrypt_stream(raw, file_key(keys.class_keys, wrapped), root_object["Size"]) as clear, \
                        open(target, "wb") as out:
                    shutil.copyfileobj(clear, out, 1 << 20)
                rows += _rows(target, sql)
        finally:
            conn.close()
    return rows


def fs(path: Path) -> int:
    """A folder: every entry's metadata (os.walk and lstat). A .zip: its central directory (every
    member's name and metadata, as zipfile lists them; the members' bytes are read only where a file is
    read, as for a folder). A .tar or .tar.gz: every byte, read (and decompressed) in 1 MiB blocks,
    parsing nothing."""
    count = 0
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            return len(archive.infolist())
    if path.is_dir():
        for folder, dirs, files in os.walk(path):
            for name in dirs + files:
                os.lstat(os.path.join(folder, name))
                count += 1
        return count
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as stream:
        while block := stream.read(1 << 20):
            count += len(block)
    return count


def phone_fs(path: Path, folder: Path) -> int:
    """`fs(path)`, then the databases' rows, read from the folder."""
    count = fs(path)
    for pattern, sql in FS_DATABASES.items():
        for database in sorted(folder.glob(pattern)):
            count += _rows(database, sql)
    return count


def zip_bytes(path: Path | io.BytesIO, depth: int = 0) -> int:
    """Every byte of every member, and of the members of the zips inside (the bugreport)."""
    total = 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            with archive.open(info) as member:
                if info.filename.endswith(".zip") and depth < 2:
                    total += zip_bytes(io.BytesIO(member.read()), depth + 1)
                    continue
                while chunk := member.read(1 << 20):
                    total += len(chunk)
    return total


if __name__ == "__main__":
    kind, target = sys.argv[1], Path(sys.argv[2])
    if kind == "backup":
        print(backup(target))
    elif kind == "encrypted":
        print(encrypted(target, Path(sys.argv[3])))
    elif kind == "fs":
        print(fs(target))
    elif kind == "phonefs":
        print(phone_fs(target, Path(sys.argv[3])))
    elif kind == "packed":
        print(fs(target) + backup(Path(sys.argv[3])))
    else:
        print(zip_bytes(target))
