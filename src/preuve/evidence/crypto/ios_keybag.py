"""The keys of an encrypted iOS backup: keybag, class keys, per-file keys, AES-CBC decryption.

An encrypted backup keeps a *keybag* in ``Manifest.plist`` (``BackupKeyBag``):
a run of TLV items (4-byte tag, 4-byte big-endian length, value). The
header items (``VERS``, ``TYPE``, ``UUID``, ``WRAP``, ``SALT``, ``ITER`` and,
from iOS 10.2, ``DPWT``/``DPIC``/``DPSL``) describe how the password becomes
a key; then each protection class starts with its own ``UUID`` and carries
``CLAS``, ``WRAP``, ``KTYP`` and ``WPKY`` (its key, wrapped with RFC 3394).

The password key is PBKDF2-HMAC-SHA256 over ``DPSL``/``DPIC`` followed by
PBKDF2-HMAC-SHA1 over ``SALT``/``ITER`` (only the latter before iOS 10.2).
It unwraps each class key whose ``WRAP`` has the passcode bit (2).
``ManifestKey`` (4-byte little-endian class + wrapped key) opens Manifest.db;
each file's key is in its MBFile (``EncryptionKey``, same shape). Files are
AES-256-CBC with a zero IV and PKCS#7 padding; their true size is the MBFile
``Size``.

The primitives (PBKDF2, key unwrap, AES) come from ``cryptography``; the
keybag layout is parsed here because it is a few dozen lines and lets preuve
bound every length and refuse a hostile keybag with a clear message (the
``iphone_backup_decrypt`` package decrypts whole files to disk and reads the
Manifest with its own SQLite handling, which would bypass DeviceFS).
"""

from __future__ import annotations

import hashlib
import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

_CLASS_TAGS = {b"CLAS", b"WRAP", b"KTYP", b"WPKY"}
_WRAP_PASSCODE = 2
_MAX_KEYBAG_BYTES = 64 * 1024
_MAX_ITERATIONS = 100_000_000  # Apple uses 10 million (DPIC) and 1 to 10 000 (ITER)
KEY_BYTES = 32
ZERO_IV = bytes(16)


class KeybagError(Exception):
    """The keybag or a wrapped key is malformed."""


class WrongPassword(KeybagError):
    """The password (or derived key) does not unlock the keybag."""


@dataclass(frozen=True, slots=True)
class ClassKey:
    protection_class: int
    wrap: int
    key_type: int
    wrapped: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Keybag:
    uuid: bytes
    keybag_type: int
    salt: bytes
    iterations: int
    dp_salt: bytes | None
    dp_iterations: int | None
    class_keys: tuple[ClassKey, ...]


def iter_tlv(blob: bytes) -> Iterator[tuple[bytes, bytes]]:
    offset = 0
    while offset < len(blob):
        if offset + 8 > len(blob):
            raise KeybagError("keybag ends inside an item header")
        tag = blob[offset : offset + 4]
        (length,) = struct.unpack(">I", blob[offset + 4 : offset + 8])
        offset += 8
        if offset + length > len(blob):
            raise KeybagError(f"keybag item {tag!r} runs past the end")
        yield tag, blob[offset : offset + length]
        offset += length


def _int(value: bytes, tag: bytes) -> int:
    if len(value) != 4:
        raise KeybagError(f"keybag item {tag!r} is not a 4-byte integer")
    return int(struct.unpack(">I", value)[0])


def parse_keybag(blob: bytes) -> Keybag:
    """Decode a backup keybag, bounding its size and every iteration count."""
    if len(blob) > _MAX_KEYBAG_BYTES:
        raise KeybagError(f"keybag of {len(blob)} bytes is too large")
    header: dict[bytes, bytes] = {}
    classes: list[dict[bytes, bytes]] = []
    current: dict[bytes, bytes] | None = None
    for tag, value in iter_tlv(blob):
        if tag == b"UUID":
            if b"UUID" not in header:
                header[b"UUID"] = value
                continue
            current = {}
            classes.append(current)
        elif tag in _CLASS_TAGS and current is not None:
            current[tag] = value
        elif current is None:
            header[tag] = value
    for needed in (b"SALT", b"ITER"):
        if needed not in header:
            raise KeybagError(f"keybag has no {needed.decode()}")
    iterations = _int(header[b"ITER"], b"ITER")
    dp_iterations = _int(header[b"DPIC"], b"DPIC") if b"DPIC" in header else None
    for count in (iterations, dp_iterations or 1):
        if not 1 <= count <= _MAX_ITERATIONS:
            raise KeybagError(f"keybag iteration count {count} is out of range")
    keys = []
    for item in classes:
        if b"CLAS" not in item or b"WPKY" not in item:
            continue
        keys.append(
            ClassKey(
                protection_class=_int(item[b"CLAS"], b"CLAS"),
                wrap=_int(item.get(b"WRAP", bytes(4)), b"WRAP"),
                key_type=_int(item.get(b"KTYP", bytes(4)), b"KTYP"),
                wrapped=item[b"WPKY"],
            )
        )
    return Keybag(
        uuid=header[b"UUID"],
        keybag_type=_int(header.get(b"TYPE", bytes(4)), b"TYPE"),
        salt=header[b"SALT"],
        iterations=iterations,
        dp_salt=header.get(b"DPSL"),
        dp_iterations=dp_iterations,
        class_keys=tuple(keys),
    )


def derive_password_key(keybag: Keybag, password: str) -> bytes:
    """The key the password stands for (slow on purpose: ten million rounds on a real backup)."""
    secret = password.encode("utf-8")
    if keybag.dp_salt is not None and keybag.dp_iterations is not None:
        secret = hashlib.pbkdf2_hmac("sha256", secret, keybag.dp_salt, keybag.dp_iterations, KEY_BYTES)
    return hashlib.pbkdf2_hmac("sha1", secret, keybag.salt, keybag.iterations, KEY_BYTES)


def unwrap(kek: bytes, wrapped: bytes) -> bytes:
    try:
        return aes_key_unwrap(kek, wrapped)
    except (InvalidUnwrap, ValueError) as exc:
        raise WrongPassword("a key could not be unwrapped") from exc


def unlock_class_keys(keybag: Keybag, password_key: bytes) -> dict[int, bytes]:
    """Every class key the password key unwraps; WrongPassword when it unwraps none."""
    if len(password_key) != KEY_BYTES:
        raise WrongPassword(f"a backup key is {KEY_BYTES} bytes, not {len(password_key)}")
    out: dict[int, bytes] = {}
    for key in keybag.class_keys:
        if not key.wrap & _WRAP_PASSCODE:
            continue
        out[key.protection_class] = unwrap(password_key, key.wrapped)
    if not out:
        raise KeybagError("the keybag holds no class key protected by the password")
    return out


def split_wrapped_key(blob: bytes) -> tuple[int, bytes]:
    """(protection class, wrapped key) from a ManifestKey or an MBFile EncryptionKey."""
    if len(blob) < 4 + 24 or (len(blob) - 4) % 8:
        raise KeybagError(f"a wrapped key of {len(blob)} bytes is malformed")
    return int(struct.unpack("<I", blob[:4])[0]), blob[4:]


def file_key(class_keys: dict[int, bytes], blob: bytes) -> bytes:
    protection_class, wrapped = split_wrapped_key(blob)
    class_key = class_keys.get(protection_class)
    if class_key is None:
        raise KeybagError(f"no key for protection class {protection_class}")
    try:
        return aes_key_unwrap(class_key, wrapped)
    except (InvalidUnwrap, ValueError) as exc:
        raise KeybagError("a file key could not be unwrapped") from exc


class DecryptingReader(io.RawIOBase):
    """A forward-only stream of the plaintext of an AES-256-CBC file, cut to its true size.

    `size` is the MBFile size when known; otherwise PKCS#7 padding is removed
    at the end. Nothing is written anywhere: plaintext exists only in the
    caller's buffers.
    """

    _CHUNK = 1024 * 1024

    def __init__(self, raw: BinaryIO, key: bytes, size: int | None) -> None:
        super().__init__()
        self._raw = raw
        self._decryptor = Cipher(algorithms.AES(key), modes.CBC(ZERO_IV)).decryptor()
        self._size = size
        self._given = 0
        self._pending = b""
        self._held = b""  # last block, kept back until the end when the size is unknown
        self._done = False

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        while not self._pending and not self._done:
            chunk = self._raw.read(self._CHUNK)
            if not chunk:
                self._done = True
                tail = self._decryptor.finalize() + self._held
                self._held = b""
                if self._size is None and tail:
                    pad = tail[-1]
                    if 1 <= pad <= 16 and tail.endswith(bytes([pad]) * pad):
                        tail = tail[:-pad]
                self._pending = tail
                break
            plain = self._held + self._decryptor.update(chunk)
            if self._size is None:
                self._pending, self._held = plain[:-16], plain[-16:]
            else:
                self._pending = plain
        if self._size is not None:
            room = max(0, self._size - self._given)
            self._pending = self._pending[:room]
            if room == 0:
                self._done = True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        self._fill()
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self._given += n
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def decrypt_stream(raw: BinaryIO, key: bytes, size: int | None) -> BinaryIO:
    return io.BufferedReader(DecryptingReader(raw, key, size), buffer_size=1024 * 1024)
