"""The builders' formats against public facts, and preuve's readers against the same facts.

The fixture builders write iOS dumps and adb backups from the published
formats (tests/test_fixture_independence.py makes sure they import nothing of
preuve's readers). Here both are held to facts taken from public sources: real
backup file ids and device paths (tests/builders/ios_known_paths.py), and the
adb backup layout of AOSP's backup service.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import zlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from preuve.builders.ios_backup import BackupBuilder, file_id
from preuve.evidence.crypto.android_ab import master_key
from preuve.evidence.errors import AcquisitionError
from preuve.evidence.ios_domains import device_path
from preuve.evidence.sources.ab import read_header
from tests.builders.android import android_backup_bytes, java_char_key_bytes, sms_backup_members
from tests.builders.ios_dump import backup_files, dump_path
from tests.builders.ios_known_paths import KNOWN_PATHS, matches

IDS = [f"{domain}:{relative}" for domain, relative, *_ in KNOWN_PATHS]


WITH_IDS = [k for k in KNOWN_PATHS if k[2] is not None]


@pytest.mark.parametrize(("domain", "relative", "known_id", "where", "source"), WITH_IDS,
                         ids=[f"{d}:{r}" for d, r, *_ in WITH_IDS])
def test_the_known_pair_is_the_one_real_backups_name(domain: str, relative: str, known_id: str, where: str,
                                                     source: str) -> None:
    assert hashlib.sha1(f"{domain}-{relative}".encode()).hexdigest() == known_id  # noqa: S324 - Apple's naming
    assert file_id(domain, relative) == known_id  # the backup builder names its files the same way


@pytest.mark.parametrize(("domain", "relative", "known_id", "where", "source"), KNOWN_PATHS, ids=IDS)
def test_the_dump_builder_puts_each_known_file_where_the_device_keeps_it(
    domain: str, relative: str, known_id: str | None, where: str, source: str
) -> None:
    container = domain.partition("-")[2]
    assert dump_path(domain, relative) == where.replace("/*/", f"/{container}/")


@pytest.mark.parametrize(("domain", "relative", "known_id", "where", "source"), KNOWN_PATHS, ids=IDS)
def test_preuve_reads_each_known_file_at_its_device_path(
    domain: str, relative: str, known_id: str | None, where: str, source: str
) -> None:
    assert matches(device_path(domain, relative), where), device_path(domain, relative)


def test_health_files_of_a_backup_land_under_library_health_in_a_dump(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "backup")
    builder.add_file("HealthDomain", "Health/healthdb_secure.sqlite", b"health")
    builder.add_file("HomeDomain", "Library/SMS/sms.db", b"sms")
    builder.add_file("MysteryDomain", "a/b", b"unknown")  # a real dump has no place for it: left out
    files = backup_files(builder.finish())
    assert files == [
        ("private/var/mobile/Library/Health/healthdb_secure.sqlite", b"health"),
        ("private/var/mobile/Library/SMS/sms.db", b"sms"),
    ]


@pytest.mark.parametrize(
    ("domain", "relative"),
    [("HomeDomain", "../x"), ("HomeDomain", "a/../../x"), ("HomeDomain", "/etc/passwd"), ("HomeDomain", "a\x00b"),
     ("AppDomain-", "x"), ("AppDomain-..", "x"), ("AppDomain-a/b", "x"), ("HomeDomain-x", "y"), ("Mystery", "z")],
)
def test_the_dump_builder_places_nothing_outside_its_folder(domain: str, relative: str) -> None:
    assert dump_path(domain, relative) is None


# -- adb backup ----------------------------------------------------------------------------------

# (key byte, what Android's PBKDF2 reads for it): Java's (char) of a signed byte, then UTF-8.
JAVA_CHAR_BYTES = [
    (0x00, b"\x00"), (0x41, b"A"), (0x7F, b"\x7f"),
    (0x80, b"\xef\xbe\x80"),  # (char)(byte)0x80 = U+FF80
    (0xBF, b"\xef\xbe\xbf"),  # U+FFBF
    (0xC0, b"\xef\xbf\x80"),  # U+FFC0
    (0xFF, b"\xef\xbf\xbf"),  # U+FFFF
]


@pytest.mark.parametrize(("byte", "expected"), JAVA_CHAR_BYTES, ids=[f"{b:02x}" for b, _ in JAVA_CHAR_BYTES])
def test_java_char_bytes_of_the_master_key(byte: int, expected: bytes) -> None:
    assert java_char_key_bytes(bytes([byte])) == expected
    assert java_char_key_bytes(bytes([byte, 0x41])) == expected + b"A"


def _cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(decryptor.update(data) + decryptor.finalize()) + unpadder.finalize()


@pytest.mark.parametrize("password", ["pw", "pässwörd"])
@pytest.mark.parametrize("version", [1, 5])
def test_an_encrypted_adb_backup_has_androids_layout(version: int, password: str) -> None:
    members = sms_backup_members([{"address": "+41790000001", "body": "hi", "date": "1700000000000"}])
    data = android_backup_bytes(members, password=password, version=version, rounds=50)
    lines = data.split(b"\n", 9)
    assert lines[:4] == [b"ANDROID BACKUP", str(version).encode(), b"1", b"AES-256"]
    user_salt, ck_salt, rounds, user_iv, blob = (lines[i].decode() for i in range(4, 9))
    for text in (user_salt, ck_salt, user_iv, blob):
        assert text == text.upper()
    assert len(bytes.fromhex(user_salt)) == len(bytes.fromhex(ck_salt)) == 64  # PBKDF2_SALT_SIZE: 512 bits
    assert rounds == "50"
    # format 1: Android 4.0-4.3's PBKDF2 took the low byte of each char (Latin-1 for these passwords)
    secret = password.encode("latin-1") if version == 1 else password.encode("utf-8")
    user_key = hashlib.pbkdf2_hmac("sha1", secret, bytes.fromhex(user_salt), 50, 32)
    plain = _cbc_decrypt(user_key, bytes.fromhex(user_iv), bytes.fromhex(blob))
    assert (plain[0], plain[17], plain[50]) == (16, 32, 32)
    iv, key, checksum = plain[1:17], plain[18:50], plain[51:83]
    assert len(plain) == 83
    material = key if version == 1 else java_char_key_bytes(key)
    assert any(b >= 0x80 for b in key)  # the quirk matters for this key
    assert checksum == hashlib.pbkdf2_hmac("sha1", material, bytes.fromhex(ck_salt), 50, 32)
    with tarfile.open(fileobj=io.BytesIO(zlib.decompress(_cbc_decrypt(key, iv, lines[9])))) as tar:
        assert {m.name: tar.extractfile(m).read() for m in tar.getmembers()} == members  # type: ignore[union-attr]


@pytest.mark.parametrize("password", ["pw", "pässwörd"])
@pytest.mark.parametrize("version", [1, 2, 5])
def test_preuve_unlocks_backups_of_every_format_version(version: int, password: str) -> None:
    # Format 1 came from Android 4.0 to 4.3, whose PBKDF2 took the low byte of each char: a non-ASCII
    # password gives another key there (AOSP's restore retries with "PBKDF2WithHmacSHA1And8bit").
    data = android_backup_bytes(sms_backup_members([]), password=password, version=version, rounds=50)
    header = read_header(io.BytesIO(data), "backup.ab")
    key, iv = master_key(header, password, "backup.ab")
    assert len(key) == 32 and len(iv) == 16
    with pytest.raises(AcquisitionError, match="wrong backup password"):
        master_key(header, password.upper(), "backup.ab")
