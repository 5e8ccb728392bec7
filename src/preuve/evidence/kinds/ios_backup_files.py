"""An iOS backup's files laid out by domain: a folder, tar or zip holding ``HomeDomain/Library/…``,
``WirelessDomain/…``, ``AppDomain-<bundle id>/…`` and so on.

Tools that unpack a backup for people to browse write it so (pyiosbackup's ``unback``, UFADE's
"Logical+" archive under ``iTunes_Backup/``, and the export of several backup browsers): each file at
``<domain>/<relativePath>``, the two names a backup's Manifest.db gives it, with no Manifest.db and no
hashed names. Each file is placed at its device path the way a backup's row is
(:func:`preuve.evidence.ios_domains.device_path`), so every backup artifact reads it unchanged; a name
that is no domain's is kept under ``/.acquisition/ios_backup_files/``. Without a Manifest.db there is
nothing to check the files against (the backup's integrity check and Manifest artifact are not
collected); the files' own tree is checked as a dump's is, every path against the indicators
(:mod:`preuve.evidence.ios_listing`).
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from preuve.evidence.acquisition import AcquisitionKind, OpenContext
from preuve.evidence.early_tar import EarlyHeaders
from preuve.evidence.errors import AcquisitionError
from preuve.evidence.fs import ACQUISITION_PREFIX, DeviceFS, MountFS, listed, normalize_device_path
from preuve.evidence.ios_domains import device_path, domain_root
from preuve.evidence.ios_listing import FileListing
from preuve.evidence.kinds.ios_backup import IosBackup
from preuve.evidence.kinds.ios_dump import DOMAINS, archive_root, folder_root, layout_at
from preuve.evidence.sources.archive import ArchiveNames, archive_source
from preuve.evidence.sources.backup import BACKUP_PREFIX
from preuve.evidence.sources.base import Mapper
from preuve.evidence.sources.folder import FolderSource

FILES_PREFIX = ACQUISITION_PREFIX + "/ios_backup_files"


def domain_mapper(prefix: str) -> Mapper:
    """Each member under `prefix` named ``<domain>/<relativePath>`` at its device path; a domain's own
    folder is left to the folders its files make; anything else under FILES_PREFIX."""
    strip = prefix.strip("/")

    def elsewhere(name: str) -> str | None:
        return normalize_device_path(posixpath.join(FILES_PREFIX, name))

    def mapper(name: str) -> str | None:
        if not strip:
            rest = name
        elif name.startswith(strip + "/"):
            rest = name[len(strip) + 1 :]
        else:
            return None if name == strip else elsewhere(name)
        domain, _, relative = rest.partition("/")
        if not relative:  # (a known domain's own folder, or a file or folder at the top)
            return None if domain_root(domain) is not None else elsewhere(name)
        placed = device_path(domain, relative)
        return placed if placed is not None else elsewhere(name)

    return mapper


class IosBackupFiles(AcquisitionKind):
    name = "ios_backup_files"
    platform = "ios"
    specificity = 35  # (before a dump's: the first name that shows a root decides for both)
    description = "an iOS backup's files laid out by domain (folder, .tar, .tar.gz or .zip holding HomeDomain/…)"
    # What a backup holds, less its own files (Manifest.db, Info.plist: an unpacked backup has none).
    holds = tuple(glob for glob in IosBackup.holds if not glob.startswith(BACKUP_PREFIX))
    lacks = IosBackup.lacks
    checks = (FileListing,)  # its files' tree: every path against the indicators (no Manifest.db lists them)
    essentials = IosBackup.essentials

    @classmethod
    def detect(cls, path: Path, names: ArchiveNames | None = None) -> bool:
        return layout_at(path, names) == DOMAINS

    @classmethod
    def open(cls, path: Path, ctx: OpenContext) -> DeviceFS:
        fs = MountFS(path, ctx.ledger, ctx.limits, ctx.workdir, kind=cls.name, whole_filesystem=True)
        if path.is_dir():
            found = folder_root(path)
            if found is None or found[1] != DOMAINS:
                raise AcquisitionError(f"{path}: no HomeDomain folder; not a backup's files laid out by domain")
            fs.mount(FolderSource(found[0], ctx.limits, jobs=ctx.jobs, workdir=ctx.workdir), domain_mapper(""))
            return listed(fs, path, ctx.warn)
        names = ctx.names if ctx.names is not None else ArchiveNames(path, ctx.limits)
        try:
            root = archive_root(names, strict=True)
            if root is None or root.layout != DOMAINS:  # (the archive changed since it was recognised)
                raise AcquisitionError(f"{path}: no HomeDomain/ inside; not a backup's files laid out by domain")
            early = ctx.early if isinstance(ctx.early, EarlyHeaders) else None
            source = names.take_zip() or archive_source(path, ctx.limits, jobs=ctx.jobs, workdir=ctx.workdir, early=early)
        finally:
            if names is not ctx.names:
                names.close()
        fs.mount(source, domain_mapper(root.prefix))
        return listed(fs, path, ctx.warn)
