"""Android bugreports (``adb bugreport``): a zip, a zip whose files lie under one top folder, or
the unpacked folder; or its main text alone (``adb bugreport > bugreport.txt`` on Android 6 and
older wrote no zip).

Members under ``FS/`` are device files dumpstate copied (tombstones, ANR traces,
``/proc/<pid>/mountinfo``…) and appear at their device paths; the rest (the main
``bugreport-*.txt``, main_entry.txt, version.txt, dumpstate_log.txt…) at
``/.acquisition/bugreport/<name>``. A folder's file times are those the unpacking left, not the
device's: the run says so.

Some vendors (MIUI, HyperOS) hand out a wrapper zip of app logs and captures with the real
``bugreport-<device>-<time>.zip`` inside: the inner bugreport is read (copied, bounded, into the
run's private folder) and the run says the wrapper's other files were not.
"""

from __future__ import annotations

import re
from pathlib import Path

from preuve.evidence.acquisition import AcquisitionKind, OpenContext
from preuve.evidence.errors import AcquisitionError, EvidenceError
from preuve.evidence.fs import DeviceFS, MountFS, listed
from preuve.evidence.kinds.android_layout import (
    BUGREPORT_PREFIX,
    aqf_zip_root,
    bugreport_folder_root,
    bugreport_mapper,
    bugreport_zip_root,
    mount_bugreport_zip,
)
from preuve.evidence.policy import materialize, open_regular_file
from preuve.evidence.sources.archive import ArchiveNames, zip_names
from preuve.evidence.sources.folder import FileSource, FolderSource
from preuve.evidence.sources.zip import ZipSource

WRAPPER_PREFIX = "/.acquisition/bugreport-wrapper"


def nested_bugreport(names: list[str]) -> str | None:
    """The member of a vendor's wrapper zip that is the bugreport (a .zip named bugreport* or dumpstate*)."""
    found = sorted(n for n in names if n.lower().endswith(".zip")
                   and n.rsplit("/", 1)[-1].lower().startswith(("bugreport", "dumpstate")))
    return found[0] if found else None


# The first lines dumpstate writes, whether into a bugreport zip or to the terminal (``adb bugreport >
# file.txt`` on Android 6 and older, which wrote no zip): a rule of '=', then "== dumpstate: <time>".
_DUMPSTATE_HEAD = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*={8,}\r?\n== dumpstate: ")
_HEAD_BYTES = 512


def is_dumpstate_text(path: Path) -> bool:
    """Whether the file at `path` is a dumpstate's main text on its own (by its first bytes)."""
    try:
        with open_regular_file(path, str(path)) as stream:
            return _DUMPSTATE_HEAD.match(stream.read(_HEAD_BYTES)) is not None
    except (EvidenceError, OSError):
        return False


def dumpstate_name(name: str) -> str:
    """The name a dumpstate text alone is placed under: its own when the main text's artifact reads it
    so (``bugreport*.txt``, ``dumpstate*.txt``), else ``bugreport.txt``."""
    lower = name.lower()
    own = "/" not in name and lower.endswith(".txt") and lower.startswith(("bugreport", "dumpstate"))
    return name if own and lower not in ("dumpstate_log.txt", "dumpstate_board.txt") else "bugreport.txt"


class AndroidBugreport(AcquisitionKind):
    name = "android_bugreport"
    platform = "android"
    specificity = 55
    description = "an Android bugreport (.zip, its unpacked folder, or its main text alone)"
    # its own files, and the device files dumpstate copied under FS/ (tombstones, /proc mount tables…)
    holds = ("/.acquisition/bugreport/*", "/data/*", "/proc/*")
    # Every bugreport holds its main dumpstate text (properties, processes, services).
    essentials = ("android_dumpstate",)

    @classmethod
    def detect(cls, path: Path, names: ArchiveNames | None = None) -> bool:
        if path.is_dir():
            return bugreport_folder_root(path) is not None
        if not path.is_file():
            return False
        if is_dumpstate_text(path):
            return True
        found = (names if names is not None else ArchiveNames(path)).zip_names(100_000)
        if found is None or aqf_zip_root(found) is not None:
            return False
        return bugreport_zip_root(found) is not None or nested_bugreport(found) is not None

    @classmethod
    def open(cls, path: Path, ctx: OpenContext) -> DeviceFS:
        fs = MountFS(path, ctx.ledger, ctx.limits, ctx.workdir, kind="android")
        root = bugreport_folder_root(path)
        if root is None and is_dumpstate_text(path):
            device = f"{BUGREPORT_PREFIX}/{dumpstate_name(path.name)}"
            fs.mount(FileSource(path, ctx.limits), lambda name: device)
            ctx.warn(f"{path}: a bugreport's main text alone: what dumpstate copied beside it in a zip "
                     "(tombstones, ANR traces, FS/ files) is not in it")
        elif root is not None:
            fs.mount(FolderSource(root, ctx.limits, root.name), bugreport_mapper)
            ctx.warn(f"{path}: an unpacked bugreport: file times are those the unpacking left, not the device's "
                     "(analyse the original zip to keep them)")
        else:
            names = zip_names(path, ctx.limits.max_archive_entries, ctx.limits) or []
            inner = nested_bugreport(names) if bugreport_zip_root(names) is None else None
            try:
                if inner is None:
                    mount_bugreport_zip(fs, path, path.name, ctx.limits)
                else:
                    cls._mount_wrapped(fs, path, inner, len(names), ctx)
            except EvidenceError as exc:
                fs.close()
                raise AcquisitionError(f"{path}: {exc.reason}") from exc
        return listed(fs, path, ctx.warn)

    @classmethod
    def _mount_wrapped(cls, fs: MountFS, path: Path, inner: str, count: int, ctx: OpenContext) -> None:
        device = f"{WRAPPER_PREFIX}/{inner.rsplit('/', 1)[-1]}"
        fs.mount(ZipSource(path, ctx.limits, path.name), lambda name: device if name == inner else None)
        if not fs.is_file(device):
            raise AcquisitionError(f"{path}: the bugreport {inner} inside it cannot be read")
        source, name = fs.member(device)
        label = source.source_name(name)
        try:
            with source.open(name, device) as stream:
                local = materialize(stream, ctx.workdir, ctx.limits.max_file_bytes, label, "bugreport.zip")
        except (EvidenceError, OSError) as exc:
            raise AcquisitionError(f"{label}: cannot be read ({exc})") from exc
        mount_bugreport_zip(fs, local, label, ctx.limits)
        ctx.warn(f"{path}: a wrapper around the bugreport {inner}: that bugreport is read, the wrapper's "
                 f"{count - 1} other entries (app logs, captures) are not")
