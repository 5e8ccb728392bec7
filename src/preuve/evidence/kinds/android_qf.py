"""AndroidQF acquisitions: a folder, a zip, or an age-encrypted zip (``<UUID>.zip.age``); its folder
packed with tar (``.tar``, ``.tar.gz``…) is read in place the same way.

AndroidQF (mvt-project/androidqf) writes acquisition.json, getprop.txt,
settings_{global,secure,system}.txt, packages.json (with APK files, hashes,
certificates and installer), processes.txt, files.json, dumpsys.txt,
root_binaries.json, mounts.json, logs/, tmp/, bugreport.zip, backup.ab and
hashes.csv. Its files appear at ``/.acquisition/androidqf/<name>``; the
nested bugreport and backup are mounted in the same tree (see
:mod:`preuve.evidence.kinds.android_layout`) and analysed in the same run.

A folder or zip holding only some of these files (only getprop.txt, only
backup.ab) is an AndroidQF acquisition all the same: what is there is read, and
the artifacts whose files are not there are reported as missing, not failed.

The kind owns one check of the acquisition itself: its hashes.csv against the
files present (:mod:`preuve.evidence.androidqf_integrity`).
"""

from __future__ import annotations

import os
from pathlib import Path

from preuve.evidence.acquisition import AcquisitionKind, OpenContext
from preuve.evidence.androidqf_integrity import AndroidQFIntegrity
from preuve.evidence.errors import AcquisitionError, EvidenceError
from preuve.evidence.fs import DeviceFS, MountFS, listed
from preuve.evidence.kinds.android_layout import (
    aqf_mapper,
    aqf_zip_root,
    folder_names,
    is_aqf_top,
    mount_nested,
)
from preuve.evidence.policy import LimitedWriter, open_regular_file
from preuve.evidence.sources.archive import ArchiveNames, archive_by_bytes
from preuve.evidence.sources.folder import FolderSource
from preuve.evidence.sources.tar import TAR_SUFFIXES, TarSource
from preuve.evidence.sources.zip import ZipSource

AGE_MAGIC = b"age-encryption.org/v1\n"
_TAR_NAMES = 5000  # a tar's first names read to recognise an AndroidQF folder packed in it (its own files are few)


def _is_tar(path: Path) -> bool:
    return path.is_file() and (path.name.lower().endswith(TAR_SUFFIXES) or archive_by_bytes(path) == "tar")


def _is_aqf_folder(path: Path) -> bool:
    if not path.is_dir():
        return False
    return is_aqf_top(n.rstrip("/") for n in folder_names(path) if not n.endswith("/") or n in ("logs/", "tmp/"))


def _only_subfolder(path: Path) -> Path | None:
    """The one entry of `path` when it is a folder (an acquisition wrapped in a folder), else None. Reads
    at most two entries: detection must stay cheap on a folder of 256 shard folders (a backup)."""
    try:
        with os.scandir(path) as entries:
            first = next(entries, None)
            if first is None or next(entries, None) is not None:
                return None
            return Path(first.path) if first.is_dir(follow_symlinks=False) else None
    except OSError:
        return None


def _aqf_root(path: Path) -> Path | None:
    if _is_aqf_folder(path):
        return path
    if path.is_dir():
        inner = _only_subfolder(path)
        if inner is not None and _is_aqf_folder(inner):
            return inner
    return None


def _starts_with(path: Path, magic: bytes) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as stream:
        return stream.read(len(magic)) == magic


class AndroidQF(AcquisitionKind):
    name = "androidqf"
    platform = "android"
    specificity = 60
    description = "an AndroidQF acquisition (folder, .zip, .tar, .tar.gz, or .zip.age with --age-key)"
    checks = (AndroidQFIntegrity,)  # hashes.csv against the files of the acquisition
    # AndroidQF's modules that read the phone's state (its packages, processes, services, settings, files,
    # bugreport): an acquisition that holds none of them was stopped early or holds only its properties.
    essentials = (
        "android_packages", "android_processes", "android_dumpsys", "android_settings", "android_files",
        "android_dumpstate",
    )

    @classmethod
    def detect(cls, path: Path, names: ArchiveNames | None = None) -> bool:
        if _aqf_root(path) is not None:
            return True
        if _starts_with(path, AGE_MAGIC):
            return True
        if path.is_file():
            looked = names if names is not None else ArchiveNames(path)
            found = looked.zip_names(100_000)
            if found is None and _is_tar(path):
                found = looked.peek(max_entries=_TAR_NAMES)
            return found is not None and aqf_zip_root(found) is not None
        return False

    @classmethod
    def open(cls, path: Path, ctx: OpenContext) -> DeviceFS:
        fs = MountFS(path, ctx.ledger, ctx.limits, ctx.workdir, kind="android")
        root = _aqf_root(path)
        if root is not None:
            fs.mount(FolderSource(root, ctx.limits, root.name), aqf_mapper())
        else:
            archive = path
            if _starts_with(path, AGE_MAGIC):
                archive = cls._decrypt_age(path, ctx)
            source: ZipSource | TarSource
            if archive is path and _is_tar(path):
                # (an AndroidQF folder packed with tar: its top names say where it lies, as for detection)
                source = TarSource(path, ctx.limits, path.name, ctx.jobs, ctx.workdir)
                looked = ctx.names if ctx.names is not None else ArchiveNames(path, ctx.limits)
                strip = aqf_zip_root(looked.peek(max_entries=_TAR_NAMES, strict=True))
            else:
                source = ZipSource(archive, ctx.limits, path.name)
                strip = aqf_zip_root(list(source.names()))
            if strip is None:
                source.close()
                raise AcquisitionError(f"{path}: an archive without AndroidQF files (packages.json, getprop.txt…)")
            fs.mount(source, aqf_mapper(strip))
        try:
            mount_nested(fs, ctx.limits, ctx.workdir, ctx.secrets.password, ctx.warn)
        except EvidenceError as exc:
            fs.close()
            raise AcquisitionError(f"{path}: {exc.reason}") from exc
        return listed(fs, path, ctx.warn)

    @classmethod
    def _decrypt_age(cls, path: Path, ctx: OpenContext) -> Path:
        """The zip inside an age file, decrypted into the workdir with the analyst's identity."""
        key_text = ctx.secrets.age_identity
        if key_text is None and ctx.secrets.key is not None:
            key_text = ctx.secrets.key.decode("utf-8", "replace")
        if key_text is None:
            raise AcquisitionError(
                f"{path}: this AndroidQF acquisition is encrypted with age; give the private key file (--age-key)"
            )
        try:
            import pyrage
        except ImportError as exc:  # pragma: no cover - declared dependency
            raise AcquisitionError(f"{path}: pyrage is needed to decrypt age files") from exc
        identities = []
        for line in key_text.splitlines():
            line = line.strip()
            if line.startswith("AGE-SECRET-KEY-"):
                try:
                    identities.append(pyrage.x25519.Identity.from_str(line))
                except Exception as exc:  # noqa: BLE001 - pyrage raises its own error types
                    raise AcquisitionError(f"{path}: the age key is not valid ({exc})") from exc
        if not identities:
            raise AcquisitionError(f"{path}: the key file holds no AGE-SECRET-KEY identity")
        folder = ctx.workdir / "age"
        folder.mkdir(exist_ok=True)
        target = folder / "acquisition.zip"
        try:
            with open_regular_file(path, str(path)) as src, open(target, "wb") as raw_out:
                out = LimitedWriter(raw_out, ctx.limits.max_file_bytes, str(path))
                pyrage.decrypt_io(src, out, identities)
        except EvidenceError as exc:
            raise AcquisitionError(f"{path}: {exc.reason}") from exc
        except Exception as exc:  # noqa: BLE001 - pyrage.DecryptError and I/O errors
            raise AcquisitionError(f"{path}: cannot be decrypted with this key ({exc})") from exc
        return target
