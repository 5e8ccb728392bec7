"""Write an encrypted iOS backup from a plain one, as iTunes/Finder lay it out.

The keybag has the real format (TLV; PBKDF2-SHA256 then PBKDF2-SHA1; class
keys wrapped with RFC 3394 under the password key); only the iteration
counts are small so that tests run quickly. Each file gets its own key,
wrapped under its protection class key and kept in its MBFile
(``EncryptionKey``); Manifest.db is encrypted with the key in ``ManifestKey``.
"""

from __future__ import annotations

import hashlib
import plistlib
import shutil
import sqlite3
import struct
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

_CLASSES = tuple(range(1, 12))
_MANIFEST_CLASS = 4


def _bytes(seed: str, label: str, n: int) -> bytes:
    """Deterministic key material, so that a fixture is the same on every run."""
    return hashlib.sha256(f"{seed}/{label}".encode()).digest()[:n].ljust(n, b"\0")


def _tlv(tag: bytes, value: bytes) -> bytes:
    return tag + struct.pack(">I", len(value)) + value


def _u32(value: int) -> bytes:
    return struct.pack(">I", value)


def aes_cbc_encrypt(key: bytes, data: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def password_key(password: str, salt: bytes, iterations: int, dp_salt: bytes, dp_iterations: int) -> bytes:
    inner = hashlib.pbkdf2_hmac("sha256", password.encode(), dp_salt, dp_iterations, 32)
    return hashlib.pbkdf2_hmac("sha1", inner, salt, iterations, 32)


def _with_encryption_key(mbfile: bytes, wrapped: bytes) -> bytes:
    """The MBFile archive with an ``EncryptionKey`` (an NSMutableData object) added."""
    archive = plistlib.loads(mbfile)
    objects = archive["$objects"]
    top = objects[archive["$top"]["root"].data]
    data_class = len(objects)
    objects.append({"$classname": "NSMutableData", "$classes": ["NSMutableData", "NSData", "NSObject"]})
    data_obj = len(objects)
    objects.append({"NS.data": wrapped, "$class": plistlib.UID(data_class)})
    top["EncryptionKey"] = plistlib.UID(data_obj)
    return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY)


def encrypt_backup(
    plain: Path, out: Path, password: str, *, iterations: int = 10, dp_iterations: int = 10, seed: str = "preuve"
) -> Path:
    """Write at `out` the encrypted twin of the plain backup at `plain` (same files, same Manifest rows)."""
    salt, dp_salt = _bytes(seed, "salt", 20), _bytes(seed, "dpsl", 20)
    kek = password_key(password, salt, iterations, dp_salt, dp_iterations)
    class_keys = {c: _bytes(seed, f"class{c}", 32) for c in _CLASSES}
    bag = [
        _tlv(b"VERS", _u32(4)), _tlv(b"TYPE", _u32(1)), _tlv(b"UUID", _bytes(seed, "uuid", 16)),
        _tlv(b"HMCK", _bytes(seed, "hmck", 40)), _tlv(b"WRAP", _u32(0)), _tlv(b"SALT", salt),
        _tlv(b"ITER", _u32(iterations)), _tlv(b"DPWT", _u32(1)), _tlv(b"DPIC", _u32(dp_iterations)),
        _tlv(b"DPSL", dp_salt),
    ]
    for c in _CLASSES:
        bag += [
            _tlv(b"UUID", _bytes(seed, f"uuid{c}", 16)), _tlv(b"CLAS", _u32(c)), _tlv(b"WRAP", _u32(3)),
            _tlv(b"KTYP", _u32(0)), _tlv(b"WPKY", aes_key_wrap(kek, class_keys[c])),
        ]
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="preuve-build-") as tmp:
        db = Path(tmp) / "Manifest.db"
        shutil.copyfile(plain / "Manifest.db", db)
        wal = plain / "Manifest.db-wal"
        if wal.is_file():
            shutil.copyfile(wal, Path(str(db) + "-wal"))
        conn = sqlite3.connect(db)
        try:
            conn.execute("PRAGMA journal_mode=DELETE")
            rows = conn.execute("SELECT fileID, flags, file FROM Files").fetchall()
            for fid, flags, blob in rows:
                if flags != 1 or blob is None:
                    continue
                archive = plistlib.loads(blob)
                top = archive["$objects"][archive["$top"]["root"].data]
                pclass = int(top.get("ProtectionClass") or 3) or 3
                key = _bytes(seed, f"file/{fid}", 32)
                wrapped = struct.pack("<I", pclass) + aes_key_wrap(class_keys[pclass], key)
                conn.execute("UPDATE Files SET file = ? WHERE fileID = ?", (_with_encryption_key(blob, wrapped), fid))
                source = plain / fid[:2] / fid
                if source.is_file():
                    target = out / fid[:2] / fid
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(aes_cbc_encrypt(key, source.read_bytes()))
            conn.commit()
        finally:
            conn.close()
        manifest_key = _bytes(seed, "manifest", 32)
        (out / "Manifest.db").write_bytes(aes_cbc_encrypt(manifest_key, db.read_bytes()))
    for name in ("Info.plist", "Status.plist"):
        if (plain / name).is_file():
            shutil.copyfile(plain / name, out / name)
    manifest = plistlib.loads((plain / "Manifest.plist").read_bytes())
    manifest["IsEncrypted"] = True
    manifest["BackupKeyBag"] = b"".join(bag)
    manifest["ManifestKey"] = struct.pack("<I", _MANIFEST_CLASS) + aes_key_wrap(
        class_keys[_MANIFEST_CLASS], manifest_key
    )
    (out / "Manifest.plist").write_bytes(plistlib.dumps(manifest, fmt=plistlib.FMT_BINARY))
    return out
