"""An encrypted iOS backup packed in an archive: the encrypted backup's source, reading its files from the
archive (:mod:`preuve.evidence.sources.archived_backup`). A module of its own, as the encrypted source
is: the AES library is loaded only for an encrypted backup."""

from __future__ import annotations

from pathlib import Path

from preuve.evidence.ios_encrypted import BackupKeys
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits
from preuve.evidence.sources.archived_backup import ArchivedFolder, InArchive
from preuve.evidence.sources.encrypted_backup import EncryptedBackupSource


class ArchivedEncryptedBackupSource(EncryptedBackupSource, InArchive):
    """The encrypted backup's reading (each file decrypted as it is read, Manifest.db once) over the
    archive's members: the encrypted source's methods come first and reach the stored bytes through
    InArchive's (its size of a stored file, its stream of one, its names for the ledger)."""

    def __init__(
        self, archived: ArchivedFolder, limits: Limits, ledger: HashLedger, workdir: Path, keys: BackupKeys,
        jobs: int = 1, integrity: bool = True,
    ) -> None:
        super().__init__(archived.private, limits, ledger, workdir, keys, jobs, None, integrity)
        self._take_archive(archived)
