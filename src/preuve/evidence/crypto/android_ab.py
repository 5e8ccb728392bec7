"""The encryption of Android backups (``adb backup`` with a password): unlocking the master key
and decrypting the payload stream (AOSP ``BackupManagerService``).

The user key is PBKDF2-HMAC-SHA1(password, user salt, rounds, 32 bytes). The decrypted master key
blob holds, each prefixed by its length byte: the master IV, the master key and a checksum,
PBKDF2 of the master key (as Java turned its bytes into chars, from version 2 on) with the
checksum salt; a wrong password shows as a checksum mismatch. Cryptography is the
``cryptography`` library's; the header is read (and its round count bounded) in
:mod:`preuve.evidence.sources.ab`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from preuve.evidence.errors import AcquisitionError

if TYPE_CHECKING:
    from preuve.evidence.sources.ab import AbHeader

_CHUNK = 1024 * 1024


class TruncatedStream(Exception):
    """The backup stream ends early or is damaged; what came before it is kept."""



def _java_chars_utf8(key: bytes) -> bytes:
    """Master key bytes as Java's PBKDF2 saw them: each signed byte widened to a char, in UTF-8."""
    chars = "".join(chr(b | 0xFF00) if b >= 0x80 else chr(b) for b in key)
    return chars.encode("utf-8")


def _cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(decryptor.update(data) + decryptor.finalize()) + unpadder.finalize()


def _password_secrets(password: str, version: int) -> list[bytes]:
    """The password as Android's PBKDF2 took it: UTF-8; for format 1 (Android 4.0 to 4.3, whose restore
    falls back to "PBKDF2WithHmacSHA1And8bit") also the low byte of each UTF-16 unit."""
    secrets = [password.encode("utf-8")]
    if version == 1:
        eight_bit = password.encode("utf-16-le", errors="surrogatepass")[0::2]
        if eight_bit != secrets[0]:
            secrets.append(eight_bit)
    return secrets


def _unlock(header: AbHeader, secret: bytes) -> tuple[bytes, bytes] | None:
    """(master key, master IV) when `secret` opens the master key blob and its checksum matches."""
    user_key = hashlib.pbkdf2_hmac("sha1", secret, header.user_salt, header.rounds, 32)
    try:
        blob = _cbc_decrypt(user_key, header.user_iv, header.master_blob)
    except ValueError:
        return None
    parts: list[bytes] = []
    pos = 0
    for _ in range(3):
        if pos >= len(blob):
            return None
        size = blob[pos]
        parts.append(blob[pos + 1 : pos + 1 + size])
        pos += 1 + size
    iv, key, checksum = parts
    material = _java_chars_utf8(key) if header.version >= 2 else key
    expected = hashlib.pbkdf2_hmac("sha1", material, header.checksum_salt, header.rounds, 32)
    if expected != checksum and hashlib.pbkdf2_hmac("sha1", key, header.checksum_salt, header.rounds, 32) != checksum:
        return None
    return key, iv


def master_key(header: AbHeader, password: str, label: str) -> tuple[bytes, bytes]:
    """(master key, master IV) unlocked with the backup password, or AcquisitionError."""
    for secret in _password_secrets(password, header.version):
        unlocked = _unlock(header, secret)
        if unlocked is not None:
            key, iv = unlocked
            if len(key) != 32 or len(iv) != 16:
                raise AcquisitionError(f"{label}: malformed master key")
            return key, iv
    raise AcquisitionError(f"{label}: wrong backup password")


def decrypted(stream: BinaryIO, key: bytes, iv: bytes) -> Iterator[bytes]:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        yield unpadder.update(decryptor.update(chunk))
    try:
        yield unpadder.update(decryptor.finalize()) + unpadder.finalize()
    except ValueError as exc:
        raise TruncatedStream(f"the encrypted stream ends early or is damaged ({exc})") from exc
