"""Encrypted iOS backups: the keybag unlocked with the password or a derived key.

The backup's files are then read, decrypted on the fly, by
:class:`~preuve.evidence.sources.backup.EncryptedBackupSource`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from preuve.evidence.crypto.ios_keybag import (
    KeybagError,
    WrongPassword,
    derive_password_key,
    file_key,
    parse_keybag,
    unlock_class_keys,
)
from preuve.evidence.errors import AcquisitionError, EvidenceError
from preuve.evidence.formats.plists import load_plist
from preuve.evidence.limits import Limits
from preuve.evidence.policy import open_regular_file


@dataclass(frozen=True, slots=True)
class BackupKeys:
    """The unlocked class keys and the key of Manifest.db (never printed)."""

    class_keys: dict[int, bytes] = field(repr=False)
    manifest_key: bytes = field(repr=False)


def _manifest_plist(root: Path, limits: Limits) -> dict[str, object]:
    path = root / "Manifest.plist"
    try:
        with open_regular_file(path, str(path)) as stream:
            data = stream.read(limits.max_plist_bytes + 1)
        value = load_plist(data, str(path), limits)
    except EvidenceError as exc:
        raise AcquisitionError(f"{path}: {exc.reason}") from exc
    if not isinstance(value, dict):
        raise AcquisitionError(f"{path}: not a dictionary")
    return value


def derive_backup_key(root: Path, password: str, limits: Limits) -> bytes:
    """The 32-byte key the password stands for, checked against the keybag (for `preuve backup-key`)."""
    manifest = _manifest_plist(root, limits)
    bag = manifest.get("BackupKeyBag")
    if not isinstance(bag, bytes):
        raise AcquisitionError(f"{root / 'Manifest.plist'}: no BackupKeyBag; the backup is not encrypted")
    try:
        keybag = parse_keybag(bag)
        key = derive_password_key(keybag, password)
        unlock_class_keys(keybag, key)
    except WrongPassword:
        raise AcquisitionError(f"{root}: wrong password for this encrypted backup") from None
    except KeybagError as exc:
        raise AcquisitionError(f"{root / 'Manifest.plist'}: damaged keybag ({exc})") from None
    return key


def unlock_backup(root: Path, password: str | None, key: bytes | None, limits: Limits) -> BackupKeys:
    """Unlock the keybag with a derived key (preferred: instant) or the password."""
    manifest = _manifest_plist(root, limits)
    bag, manifest_key = manifest.get("BackupKeyBag"), manifest.get("ManifestKey")
    if not isinstance(bag, bytes) or not isinstance(manifest_key, bytes):
        raise AcquisitionError(
            f"{root / 'Manifest.plist'}: marked encrypted but BackupKeyBag or ManifestKey is missing"
        )
    if key is None and password is None:
        raise AcquisitionError(
            f"{root}: this backup is encrypted; give its password (--password-file, the "
            "PREUVE_BACKUP_PASSWORD variable, or at the prompt) or a key from `preuve backup-key` (--key-file)"
        )
    try:
        keybag = parse_keybag(bag)
        password_key = key if key is not None else derive_password_key(keybag, password or "")
        class_keys = unlock_class_keys(keybag, password_key)
    except WrongPassword:
        what = "key" if key is not None else "password"
        raise AcquisitionError(f"{root}: wrong {what} for this encrypted backup") from None
    except KeybagError as exc:
        raise AcquisitionError(f"{root / 'Manifest.plist'}: damaged keybag ({exc})") from None
    try:
        return BackupKeys(class_keys, file_key(class_keys, manifest_key))
    except KeybagError as exc:
        raise AcquisitionError(f"{root / 'Manifest.plist'}: ManifestKey cannot be unwrapped ({exc})") from None
