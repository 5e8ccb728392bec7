"""iTunes / Finder / libimobiledevice backups of an iPhone, plain or encrypted.

The backup folder is one source (:mod:`preuve.evidence.sources.backup`: its files
listed from Manifest.db; :mod:`~preuve.evidence.sources.encrypted_backup`
decrypting them on the fly when the backup is encrypted)
mounted at the device's root of a :class:`~preuve.evidence.fs.MountFS`.
"""

from __future__ import annotations

from pathlib import Path

from preuve.evidence.acquisition import AcquisitionKind, OpenContext
from preuve.evidence.backup_folders import EarlyListing, FoldersLater, backup_root
from preuve.evidence.errors import AcquisitionError, EvidenceError
from preuve.evidence.formats.plists import load_plist
from preuve.evidence.fs import DeviceFS, MountFS
from preuve.evidence.ios_integrity import BackupIntegrity
from preuve.evidence.limits import Limits
from preuve.evidence.sources.archive import ArchiveNames
from preuve.evidence.sources.backup import BACKUP_PREFIX, BackupSource
from preuve.evidence.sources.base import at

__all__ = ["BACKUP_PREFIX", "IosBackup", "encrypted_backup_root", "is_encrypted"]


def is_encrypted(root: Path, limits: Limits) -> bool:
    manifest = root / "Manifest.plist"
    if not manifest.is_file():
        return False
    try:
        value = load_plist(manifest.read_bytes()[: limits.max_plist_bytes + 1], str(manifest), limits)
    except EvidenceError:
        return False
    return isinstance(value, dict) and bool(value.get("IsEncrypted"))


class IosBackup(AcquisitionKind):
    name = "ios_backup"
    platform = "ios"
    specificity = 50
    description = "an iOS backup folder (iTunes, Finder, libimobiledevice)"
    # The domains a backup keeps (see ios_domains), less the caches iOS leaves out of every backup;
    # locationd's clients.plist is the one cache a backup keeps (RootDomain).
    holds = (
        BACKUP_PREFIX + "/*", "/private/var/mobile/*", "/private/var/wireless/*",
        "/private/var/root/Library/Caches/locationd/*", "/private/var/containers/Shared/SystemGroup/*",
        "/private/var/preferences/*", "/private/var/Managed Preferences/*",
    )
    lacks = ("/private/var/mobile/*/Caches/*", "/private/var/mobile/Library/Caches/*", "/private/var/mobile/*Image Cache/*")
    checks = (BackupIntegrity,)
    # Every iPhone's backup holds its Messages, call history, contacts, network usage, Safari history and
    # privacy permissions (HomeDomain, WirelessDomain), whatever its owner used.
    essentials = ("sms", "calls", "contacts", "datausage", "safari_history", "tcc", "interactionc")

    @classmethod
    def detect(cls, path: Path, names: ArchiveNames | None = None) -> bool:
        return backup_root(path) is not None

    @classmethod
    def open(cls, path: Path, ctx: OpenContext) -> DeviceFS:
        root = backup_root(path)
        if root is None:
            raise AcquisitionError(f"{path}: not an iOS backup")
        # The hashed-name folders are listed beside everything from here on (an encrypted backup's
        # keys unlocked from its password take seconds on one core), when the integrity check will run,
        # or have been since the run began (ctx.early); the source owns the listing.
        integrity = ctx.will_run(BackupIntegrity.name)
        early = ctx.early if isinstance(ctx.early, EarlyListing) else None
        folders = early.take(root, ctx.limits, ctx.jobs) if early is not None and integrity else None
        if folders is None and integrity:
            folders = BackupSource.folders_beside(root, ctx.limits, ctx.jobs, ctx.workdir)
        try:
            if is_encrypted(root, ctx.limits):
                return cls.open_encrypted(root, ctx, folders)
            if not (root / "Manifest.db").is_file() and (root / "Manifest.mbdb").is_file():
                raise AcquisitionError(f"{root}: a backup from iOS 9 or older (Manifest.mbdb) is not supported")
            # (without Manifest.db, the backup is damaged: its files are looked for by name; see BackupSource)
            fs = MountFS(root, ctx.ledger, ctx.limits, ctx.workdir, kind="ios_backup")
            fs.mount(BackupSource(root, ctx.limits, ctx.ledger, ctx.workdir, ctx.jobs, folders, integrity,
                                  lambda: ctx.wants(cls.platform)), at("/"))
            return _listed(fs, root, ctx)
        except BaseException:
            if folders is not None:
                folders.close()
            raise

    @classmethod
    def open_encrypted(cls, root: Path, ctx: OpenContext, folders: FoldersLater | None = None) -> DeviceFS:
        from preuve.evidence.ios_encrypted import unlock_backup
        from preuve.evidence.sources.encrypted_backup import EncryptedBackupSource

        keys = unlock_backup(root, ctx.secrets.password, ctx.secrets.key, ctx.limits)
        fs = MountFS(root, ctx.ledger, ctx.limits, ctx.workdir, kind="ios_backup_encrypted")
        fs.mount(EncryptedBackupSource(root, ctx.limits, ctx.ledger, ctx.workdir, keys, ctx.jobs, folders,
                                       ctx.will_run(BackupIntegrity.name)), at("/"))
        return _listed(fs, root, ctx)


def _listed(fs: MountFS, root: Path, ctx: OpenContext) -> MountFS:
    """The backup listed once as it is opened (Manifest.db read); what the listing left out is warned
    about Manifest.db (the first 50)."""
    try:
        fs.paths()
    except EvidenceError as exc:
        fs.close()
        raise AcquisitionError(f"{root / 'Manifest.db'}: {exc.reason}") from exc
    except Exception as exc:  # sqlite3 errors on a damaged Manifest.db
        fs.close()
        raise AcquisitionError(f"{root / 'Manifest.db'}: cannot be read ({exc})") from exc
    for message in fs.notes[:50]:
        ctx.warn(f"{root / 'Manifest.db'}: {message}")
    return fs


def encrypted_backup_root(path: Path, limits: Limits) -> Path | None:
    """The encrypted backup at `path` (so the CLI knows to ask for a password), or None."""
    try:
        root = backup_root(path)
    except (AcquisitionError, OSError):
        return None
    return root if root is not None and is_encrypted(root, limits) else None
