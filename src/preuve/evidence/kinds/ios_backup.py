"""iTunes / Finder / libimobiledevice backups of an iPhone, plain or encrypted, as a folder or packed in
an archive.

The backup folder is one source (:mod:`preuve.evidence.sources.backup`: its files
listed from Manifest.db; :mod:`~preuve.evidence.sources.encrypted_backup`
decrypting them on the fly when the backup is encrypted)
mounted at the device's root of a :class:`~preuve.evidence.fs.MountFS`. A backup
packed in a zip or a tar is read in place from the archive's members
(:mod:`~preuve.evidence.sources.archived_backup`).
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from preuve.evidence.acquisition import AcquisitionKind, OpenContext
from preuve.evidence.backup_folders import EarlyListing, FoldersLater, backup_root
from preuve.evidence.early_tar import EarlyHeaders
from preuve.evidence.errors import AcquisitionError, EvidenceError
from preuve.evidence.formats.plists import load_plist
from preuve.evidence.fs import DeviceFS, MountFS
from preuve.evidence.ios_integrity import BackupIntegrity
from preuve.evidence.limits import Limits
from preuve.evidence.sources.archive import ArchiveNames, archive_source, is_archive_file
from preuve.evidence.sources.archived_backup import backup_in_archive
from preuve.evidence.sources.backup import BACKUP_PREFIX, BackupSource
from preuve.evidence.sources.base import at

__all__ = [
    "BACKUP_PREFIX", "IosBackup", "archived_manifest_plist", "encrypted_backup_root", "is_encrypted",
    "is_encrypted_archive",
]


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
    description = "an iOS backup (iTunes, Finder, libimobiledevice): its folder, or the folder packed in a .zip or .tar"
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
        if path.is_dir():
            return backup_root(path) is not None
        if names is None:
            with closing(ArchiveNames(path)) as own:
                return backup_in_archive(path, own) is not None
        return backup_in_archive(path, names) is not None

    @classmethod
    def open(cls, path: Path, ctx: OpenContext) -> DeviceFS:
        if not path.is_dir():
            return cls.open_archived(path, ctx)
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

    @classmethod
    def open_archived(cls, path: Path, ctx: OpenContext) -> DeviceFS:
        """The backup packed in the archive at `path`, read in place (see archived_backup): the archive
        listed once, the backup's own files copied into a private folder, its other files read from
        the archive's members when they are read."""
        from preuve.evidence.sources.archived_backup import ArchivedBackupSource, ArchivedFolder

        names = ctx.names if ctx.names is not None else ArchiveNames(path, ctx.limits)
        try:
            folder = backup_in_archive(path, names)
            if folder is None:  # (the archive changed since it was recognised)
                raise AcquisitionError(f"{path}: holds no iOS backup")
            early = ctx.early if isinstance(ctx.early, EarlyHeaders) else None
            archive = names.take_zip() or archive_source(path, ctx.limits, jobs=ctx.jobs, workdir=ctx.workdir,
                                                         early=early)
        finally:
            if names is not ctx.names:
                names.close()
        try:
            archived = ArchivedFolder(archive, folder, ctx.limits, ctx.workdir)
        except EvidenceError as exc:  # (the member named, as the ledger names it)
            raise AcquisitionError(f"{path}: {exc}") from exc
        try:
            if archived.backups:
                shown = ", ".join(archived.backups[:_SHOWN_BACKUPS]) + (", …" if len(archived.backups) > _SHOWN_BACKUPS else "")
                raise AcquisitionError(
                    f"{path}: holds {len(archived.backups) + 1} backups ({archived.folder or '.'}, {shown}); preuve "
                    "checks one backup at a time: give an archive of one of them")
            if not any(name in archived.meta for name in ("Manifest.db", "Manifest.plist")):
                raise AcquisitionError(f"{path}: holds files of an iOS backup but neither its Manifest.db nor its "
                                       "Manifest.plist")
            integrity = ctx.will_run(BackupIntegrity.name)
            if is_encrypted(archived.private, ctx.limits):
                from preuve.evidence.ios_encrypted import unlock_backup
                from preuve.evidence.sources.archived_encrypted import ArchivedEncryptedBackupSource

                try:
                    keys = unlock_backup(archived.private, ctx.secrets.password, ctx.secrets.key, ctx.limits)
                except AcquisitionError as exc:  # (named by the archive, not by the private copy)
                    named = f"{path}!{archived.folder}" if archived.folder else f"{path}!"
                    raise AcquisitionError(str(exc).replace(str(archived.private), named)) from None
                fs = MountFS(path, ctx.ledger, ctx.limits, ctx.workdir, kind="ios_backup_encrypted")
                fs.mount(ArchivedEncryptedBackupSource(archived, ctx.limits, ctx.ledger, ctx.workdir, keys, ctx.jobs,
                                                       integrity), at("/"))
            else:
                fs = MountFS(path, ctx.ledger, ctx.limits, ctx.workdir, kind="ios_backup")
                fs.mount(ArchivedBackupSource(archived, ctx.limits, ctx.ledger, ctx.workdir, ctx.jobs, integrity,
                                              lambda: ctx.wants(cls.platform)), at("/"))
        except BaseException:
            archived.close()
            raise
        return _listed(fs, path, ctx)


_SHOWN_BACKUPS = 5  # of the backups an archive holds, named when it holds several


def _listed(fs: MountFS, root: Path, ctx: OpenContext) -> MountFS:
    """The backup listed once as it is opened (Manifest.db read); what the listing left out is warned
    about Manifest.db (the first 50)."""
    where = root / "Manifest.db" if root.is_dir() else root
    try:
        fs.paths()
    except EvidenceError as exc:
        fs.close()
        raise AcquisitionError(f"{where}: {exc.reason}") from exc
    except Exception as exc:  # sqlite3 errors on a damaged Manifest.db
        fs.close()
        raise AcquisitionError(f"{where}: cannot be read ({exc})") from exc
    for message in fs.notes[:50]:
        ctx.warn(f"{where}: {message}")
    return fs


def archived_manifest_plist(path: Path, limits: Limits) -> bytes | None:
    """The Manifest.plist of the iOS backup packed in the archive at `path` (for the command line to know
    it is encrypted, and to derive its key), or None: no such archive, no such member, or larger than a
    plist may be."""
    if path.is_dir() or not is_archive_file(path):
        return None
    with closing(ArchiveNames(path, limits)) as names:
        folder = backup_in_archive(path, names)
    if folder is None:
        return None
    member = f"{folder}/Manifest.plist" if folder else "Manifest.plist"
    try:
        source = archive_source(path, limits)
    except (AcquisitionError, OSError):
        return None
    try:
        with source.open(member, member) as stream:
            data = stream.read(limits.max_plist_bytes + 1)
    except (EvidenceError, OSError):
        return None
    finally:
        source.close()
    return data if len(data) <= limits.max_plist_bytes else None


def is_encrypted_archive(path: Path, limits: Limits) -> bool:
    """Whether the archive at `path` holds an encrypted iOS backup (its Manifest.plist says so)."""
    data = archived_manifest_plist(path, limits)
    if data is None:
        return False
    try:
        value = load_plist(data, str(path), limits)
    except EvidenceError:
        return False
    return isinstance(value, dict) and bool(value.get("IsEncrypted"))


def encrypted_backup_root(path: Path, limits: Limits) -> Path | None:
    """The encrypted backup at `path` (so the CLI knows to ask for a password), or None."""
    try:
        root = backup_root(path)
    except (AcquisitionError, OSError):
        return None
    return root if root is not None and is_encrypted(root, limits) else None
