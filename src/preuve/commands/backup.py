"""`preuve backup-key`, and how commands gather the secret of an encrypted backup.

The password is slow to turn into a key on purpose (ten million PBKDF2 rounds
on a real backup); `preuve backup-key` does it once and writes the key, so
that later checks start at once with ``--key-file``. The key opens the backup
as the password does: keep it as safely.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from preuve.evidence.acquisition import Secrets
from preuve.evidence.errors import AcquisitionError, PreuveError
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.messages import error_text

PASSWORD_ENV = "PREUVE_BACKUP_PASSWORD"
_MAX_SECRET_FILE = 64 * 1024


def _read_secret_file(path: Path) -> bytes:
    with open(path, "rb") as stream:
        data = stream.read(_MAX_SECRET_FILE + 1)
    if len(data) > _MAX_SECRET_FILE:
        raise AcquisitionError(f"{path}: too large for a password or key file")
    return data


def read_key_file(path: Path) -> bytes:
    """A key written by `preuve backup-key` (hex), or 32 raw bytes."""
    data = _read_secret_file(path)
    text = data.strip()
    try:
        key = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = data
    if len(key) != 32:
        raise AcquisitionError(f"{path}: not a backup key (expected 64 hexadecimal digits)")
    return key


def read_password_file(path: Path) -> str:
    """The first line of the file, without its line ending (a password may hold spaces)."""
    data = _read_secret_file(path)
    return data.decode("utf-8", "surrogateescape").split("\n", 1)[0].rstrip("\r")


def gather_secrets(evidence: Path, password_file: Path | None, key_file: Path | None) -> Secrets:
    """Secrets from, in order: --key-file, --password-file, $PREUVE_BACKUP_PASSWORD, a prompt on a TTY."""
    from preuve.evidence.kinds.ios_backup import encrypted_backup_root, is_encrypted_archive

    if key_file is not None:
        return Secrets(key=read_key_file(key_file))
    if password_file is not None:
        return Secrets(password=read_password_file(password_file))
    env = os.environ.get(PASSWORD_ENV)
    if env is not None:
        return Secrets(password=env)
    if sys.stdin.isatty() and (encrypted_backup_root(evidence, DEFAULT_LIMITS) is not None
                               or is_encrypted_archive(evidence, DEFAULT_LIMITS)):
        return Secrets(password=click.prompt("Backup password", hide_input=True, err=True))
    return Secrets()


@click.command("backup-key")
@click.argument("backup", type=click.Path(path_type=Path, exists=True))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Where to write the key.")
@click.option("--password-file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="File whose first line is the backup password.")
def backup_key(backup: Path, output: Path, password_file: Path | None) -> None:
    """Derive once the key of an encrypted iOS backup, for `preuve check --key-file`.

    The password comes from --password-file, $PREUVE_BACKUP_PASSWORD or a prompt.
    """
    from rich.console import Console
    from rich.markup import escape

    from preuve.evidence.ios_encrypted import derive_backup_key
    from preuve.evidence.kinds.ios_backup import (
        archived_manifest_plist,
        encrypted_backup_root,
        is_encrypted_archive,
    )

    console = Console(stderr=True)
    try:
        root = encrypted_backup_root(backup, DEFAULT_LIMITS)
        packed = root is None and is_encrypted_archive(backup, DEFAULT_LIMITS)
        if root is None and not packed:
            raise AcquisitionError(f"{backup}: not an encrypted iOS backup")
        secrets = gather_secrets(backup, password_file, None)
        if secrets.password is None:
            raise AcquisitionError(f"no password given (--password-file, ${PASSWORD_ENV}, or run on a terminal)")
        if root is not None:
            key = derive_backup_key(root, secrets.password, DEFAULT_LIMITS)
        else:
            # A backup packed in an archive: its Manifest.plist (the keybag) copied into a private folder.
            with tempfile.TemporaryDirectory(prefix="preuve-key-") as private:
                (Path(private) / "Manifest.plist").write_bytes(archived_manifest_plist(backup, DEFAULT_LIMITS) or b"")
                try:
                    key = derive_backup_key(Path(private), secrets.password, DEFAULT_LIMITS)
                except AcquisitionError as exc:
                    raise AcquisitionError(str(exc).replace(private, f"{backup}!")) from None
        evidence = root if root is not None else backup
        if output.resolve().is_relative_to(evidence.resolve()) or output.resolve() == backup.resolve():
            raise AcquisitionError(f"{output}: the key must not be written inside the evidence")
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
        os.fchmod(fd, 0o600)  # also when the file already existed with wider permissions
        with os.fdopen(fd, "w") as out:
            out.write(key.hex() + "\n")
    except (PreuveError, OSError) as exc:
        console.print(f"[bold red]error:[/] {escape(error_text(exc))}", highlight=False)
        sys.exit(1)
    console.print(f"Key written to [bold]{escape(str(output))}[/]; keep it as safely as the password.")


COMMANDS = (backup_key,)
