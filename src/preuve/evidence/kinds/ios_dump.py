"""iOS filesystem dumps (checkm8/checkra1n, Cellebrite FFS, Elcomsoft, GrayKey…): folder, tar or zip.

A dump holds the device's own tree: ``private/var/mobile/Library/SMS/sms.db``
and so on, often under one top folder (``filesystem1/``, ``dump/``) or with a
leading ``./``. The part before ``private/var/`` is stripped, so each file is
at its real device path and every backup artifact runs unchanged. A dump made
through iOS's ``/var`` link holds ``var/mobile/…`` instead: its ``var/`` is the
device's ``/private/var/``. Archive members outside that root are kept under
``/.acquisition/ios_dump/``. Every member name of an archive is looked at until
one shows the root, since a whole file system's tar can list a hundred thousand
system files before ``private/``. Its listing is the device's own file tree,
checked as a whole (:mod:`preuve.evidence.ios_listing`).
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import NamedTuple

from preuve.evidence.acquisition import AcquisitionKind, OpenContext
from preuve.evidence.early_tar import EarlyHeaders
from preuve.evidence.errors import AcquisitionError
from preuve.evidence.fs import ACQUISITION_PREFIX, DeviceFS, MountFS, listed
from preuve.evidence.ios_listing import FileListing
from preuve.evidence.sources.archive import ArchiveNames, archive_source, is_archive_file
from preuve.evidence.sources.base import at, prefix_mapper
from preuve.evidence.sources.folder import FolderSource

DUMP_PREFIX = ACQUISITION_PREFIX + "/ios_dump"
_MARK = "private/var/"
# /var is a link to /private/var on iOS: a dump made through it (``tar -cf - /var/mobile`` over SSH,
# ``scp -r phone:/var``) holds var/mobile/… and no private/var/; so does a backup unpacked by the phone
# (``idevicebackup2 unback``, pymobiledevice3's ``backup2 unback``: ``_unback_/var/mobile/…``). No
# other system a dump comes from has a var/mobile folder.
_VAR_MARK = "var/mobile/"
_MAX_TOP_FOLDERS = 3  # private/var may sit under at most this many folders of the dump
_MAX_FOLDER_DEPTH = 2  # (the same, for a folder: at most this many folders between it and private/var)


# How a dump holds the device's tree (DumpRoot.layout).
TREE = "tree"  # private/var/…, as the device has it
THROUGH_VAR = "var"  # var/mobile/…: made through iOS's /var link (see _VAR_MARK)
DOMAINS = "domains"  # HomeDomain/…, WirelessDomain/…: a backup's files laid out by domain (see ios_backup_files)
# A backup's files laid out by domain, as tools that unpack a backup write them: every backup holds
# HomeDomain (the user's Library), and the device's own tree never has a folder of that name.
_DOMAIN_MARK = "HomeDomain/"


class DumpRoot(NamedTuple):
    """Where a dump holds the device's tree: the members' folder that is the device's root ('' at the
    top), and how it holds it below that folder (TREE, THROUGH_VAR or DOMAINS)."""

    prefix: str
    layout: str = TREE


def _under_top_folders(probe: str, at: int, layout: str) -> DumpRoot | None:
    prefix = probe[1 : at + 1].strip("/")
    if prefix.count("/") + (1 if prefix else 0) > _MAX_TOP_FOLDERS:
        return None
    return DumpRoot(prefix, layout)


def dump_root_of(name: str) -> DumpRoot | None:
    """The root a member's name shows, or None: ``[top/]private/var/…``, else ``[top/]var/mobile/…``,
    else ``[top/]HomeDomain/…``, under at most _MAX_TOP_FOLDERS folders."""
    probe = "/" + name + "/"
    for mark, layout in ((_MARK, TREE), (_VAR_MARK, THROUGH_VAR), (_DOMAIN_MARK, DOMAINS)):
        at = probe.find("/" + mark)
        if at >= 0:
            return _under_top_folders(probe, at, layout)
    return None


_PREFERRED = {TREE: 0, THROUGH_VAR: 1, DOMAINS: 2}


def dump_root_in_names(names: list[str]) -> DumpRoot | None:
    """The root the names show: one holding private/var/ before one through /var before a backup's
    domains, the shallowest of each; None when no name shows one."""
    roots = [root for root in map(dump_root_of, names) if root is not None]
    return min(roots, key=lambda root: (_PREFERRED[root.layout], len(root.prefix)), default=None)


def _shows_root(name: str) -> bool:
    return dump_root_of(name) is not None


def archive_root(names: ArchiveNames, strict: bool = False) -> DumpRoot | None:
    """The root the first name that shows one shows. Every name is looked at until one does: a whole
    file system's tar lists its folders in the order its file system gave them, and /private can come
    after a hundred thousand system files."""
    first = names.first(_shows_root, strict)
    return None if first is None else dump_root_of(first)


def folder_root(path: Path) -> tuple[Path, str] | None:
    """The folder that is the device's root and its layout (see DumpRoot): one holding private/var, else
    var/mobile, else HomeDomain, at most _MAX_FOLDER_DEPTH folders down; None when there is none."""
    if not path.is_dir() or path.is_symlink():
        return None
    candidates = [path]
    found: dict[str, Path] = {}
    for _ in range(_MAX_FOLDER_DEPTH + 1):
        nxt: list[Path] = []
        for folder in candidates:
            if (folder / "private" / "var").is_dir() and not (folder / "private").is_symlink():
                return folder, TREE
            if (folder / "var" / "mobile").is_dir() and not (folder / "var").is_symlink():
                found.setdefault(THROUGH_VAR, folder)
            home = folder / _DOMAIN_MARK.rstrip("/")
            if home.is_dir() and not home.is_symlink():
                found.setdefault(DOMAINS, folder)
            try:
                nxt.extend(c for c in sorted(folder.iterdir())[:64] if c.is_dir() and not c.is_symlink())
            except OSError:
                continue
        candidates = nxt
    for layout in (THROUGH_VAR, DOMAINS):
        if layout in found:
            return found[layout], layout
    return None


def layout_at(path: Path, names: ArchiveNames | None = None) -> str | None:
    """How the folder or archive at `path` holds a device's tree (see DumpRoot), or None (for detection;
    an archive's names through `names`, shared by the kinds that look at them)."""
    if path.is_dir():
        found = folder_root(path)
        return None if found is None else found[1]
    if is_archive_file(path):
        root = archive_root(names if names is not None else ArchiveNames(path))
        return None if root is None else root.layout
    return None


class IosFilesystemDump(AcquisitionKind):
    name = "ios_dump"
    platform = "ios"
    specificity = 30
    description = "an iOS filesystem dump (folder, .tar, .tar.gz or .zip holding private/var/… or var/mobile/…)"
    holds = ("/private/*",)  # the device's own tree; nothing of a backup's or sysdiagnose's own files
    checks = (FileListing,)  # its listing is the device's file tree: every path against the indicators
    # A whole iPhone's file system holds these databases whatever its owner used (see AcquisitionKind).
    essentials = (
        "sms", "calls", "contacts", "datausage", "netusage", "safari_history", "tcc", "interactionc",
        "idstatuscache", "locationd_clients", "osanalytics_addaily", "shutdown_log",
    )

    @classmethod
    def detect(cls, path: Path, names: ArchiveNames | None = None) -> bool:
        return layout_at(path, names) not in (None, DOMAINS)

    @classmethod
    def open(cls, path: Path, ctx: OpenContext) -> DeviceFS:
        fs = MountFS(path, ctx.ledger, ctx.limits, ctx.workdir, kind="ios_dump", whole_filesystem=True)
        if path.is_dir():
            found = folder_root(path)
            if found is None or found[1] == DOMAINS:
                raise AcquisitionError(f"{path}: no private/var folder; not an iOS filesystem dump")
            folder, layout = found
            if layout == THROUGH_VAR:
                fs.mount(FolderSource(folder / "var", ctx.limits, jobs=ctx.jobs, workdir=ctx.workdir), at("/private/var"))
            else:
                fs.mount(FolderSource(folder, ctx.limits, jobs=ctx.jobs, workdir=ctx.workdir), at("/"))
            return listed(fs, path, ctx.warn)
        names = ctx.names if ctx.names is not None else ArchiveNames(path, ctx.limits)
        try:
            root = archive_root(names, strict=True)
            if root is None or root.layout == DOMAINS:  # (the archive changed since it was recognised)
                raise AcquisitionError(f"{path}: no private/var/ inside; not an iOS filesystem dump")
            early = ctx.early if isinstance(ctx.early, EarlyHeaders) else None  # (its headers read since the run began)
            source = names.take_zip() or archive_source(path, ctx.limits, jobs=ctx.jobs, workdir=ctx.workdir, early=early)
        finally:
            if names is not ctx.names:
                names.close()
        mapper = (prefix_mapper(posixpath.join(root.prefix, "var"), "/private/var", DUMP_PREFIX)
                  if root.layout == THROUGH_VAR else prefix_mapper(root.prefix, "/", DUMP_PREFIX))
        fs.mount(source, mapper)
        return listed(fs, path, ctx.warn)
