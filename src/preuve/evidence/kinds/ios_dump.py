"""iOS filesystem dumps (checkm8/checkra1n, Cellebrite FFS, Elcomsoft, GrayKey…): folder, tar or zip.

A dump holds the device's own tree: ``private/var/mobile/Library/SMS/sms.db``
and so on, often under one top folder (``filesystem1/``, ``dump/``) or with a
leading ``./``. The part before ``private/var/`` is stripped, so each file is
at its real device path and every backup artifact runs unchanged. Archive
members outside that root are kept under ``/.acquisition/ios_dump/``. Its
listing is the device's own file tree, checked as a whole
(:mod:`preuve.evidence.ios_listing`).
"""

from __future__ import annotations

from pathlib import Path

from preuve.evidence.acquisition import AcquisitionKind, OpenContext
from preuve.evidence.early_tar import EarlyHeaders
from preuve.evidence.errors import AcquisitionError
from preuve.evidence.fs import ACQUISITION_PREFIX, DeviceFS, MountFS, listed
from preuve.evidence.ios_listing import FileListing
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.evidence.sources.archive import archive_source, is_archive_file, peek_member_names
from preuve.evidence.sources.base import at, prefix_mapper
from preuve.evidence.sources.folder import FolderSource

DUMP_PREFIX = ACQUISITION_PREFIX + "/ios_dump"
_MARK = "private/var/"
_MAX_TOP_FOLDERS = 3  # private/var may sit under at most this many folders of the dump


def dump_root_in_names(names: list[str]) -> str | None:
    """The member prefix that holds ``private/var/`` ('' at the top), or None."""
    best: str | None = None
    for name in names:
        probe = "/" + name + "/"
        at = probe.find("/" + _MARK)
        if at < 0:
            continue
        prefix = probe[1 : at + 1].strip("/")
        if prefix.count("/") + (1 if prefix else 0) > _MAX_TOP_FOLDERS:
            continue
        if best is None or len(prefix) < len(best):
            best = prefix
    return best


def _holds_var(name: str) -> bool:
    return "/" + _MARK in "/" + name + "/"


def _folder_root(path: Path) -> Path | None:
    if not path.is_dir() or path.is_symlink():
        return None
    candidates = [path]
    for _ in range(2):
        nxt: list[Path] = []
        for folder in candidates:
            if (folder / "private" / "var").is_dir() and not (folder / "private").is_symlink():
                return folder
            try:
                nxt.extend(c for c in sorted(folder.iterdir())[:64] if c.is_dir() and not c.is_symlink())
            except OSError:
                continue
        candidates = nxt
    return None


class IosFilesystemDump(AcquisitionKind):
    name = "ios_dump"
    platform = "ios"
    specificity = 30
    description = "an iOS filesystem dump (folder, .tar, .tar.gz or .zip holding private/var/…)"
    holds = ("/private/*",)  # the device's own tree; nothing of a backup's or sysdiagnose's own files
    checks = (FileListing,)  # its listing is the device's file tree: every path against the indicators
    # A whole iPhone's file system holds these databases whatever its owner used (see AcquisitionKind).
    essentials = (
        "sms", "calls", "contacts", "datausage", "netusage", "safari_history", "tcc", "interactionc",
        "idstatuscache", "locationd_clients", "osanalytics_addaily", "shutdown_log",
    )

    @classmethod
    def detect(cls, path: Path) -> bool:
        if path.is_dir():
            return _folder_root(path) is not None
        if is_archive_file(path):
            return dump_root_in_names(peek_member_names(path, DEFAULT_LIMITS, until=_holds_var)) is not None
        return False

    @classmethod
    def open(cls, path: Path, ctx: OpenContext) -> DeviceFS:
        fs = MountFS(path, ctx.ledger, ctx.limits, ctx.workdir, kind="ios_dump", whole_filesystem=True)
        if path.is_dir():
            root = _folder_root(path)
            if root is None:
                raise AcquisitionError(f"{path}: no private/var folder; not an iOS filesystem dump")
            fs.mount(FolderSource(root, ctx.limits, jobs=ctx.jobs, workdir=ctx.workdir), at("/"))
            return listed(fs, path, ctx.warn)
        prefix = dump_root_in_names(peek_member_names(path, ctx.limits, strict=True, until=_holds_var))
        if prefix is None:
            raise AcquisitionError(f"{path}: no private/var/ inside; not an iOS filesystem dump")
        early = ctx.early if isinstance(ctx.early, EarlyHeaders) else None  # (its headers read since the run began)
        fs.mount(archive_source(path, ctx.limits, jobs=ctx.jobs, workdir=ctx.workdir, early=early),
                 prefix_mapper(prefix, "/", DUMP_PREFIX))
        return listed(fs, path, ctx.warn)
