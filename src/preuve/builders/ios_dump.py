"""Write an iOS filesystem dump (folder, tar, tar.gz or zip) with the files of a backup at their device paths."""

from __future__ import annotations

import io
import sqlite3
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

from preuve.evidence.ios_domains import device_path

DUMP_FORMATS = ("folder", "tar", "tar.gz", "zip")


def backup_files(backup: Path) -> list[tuple[str, bytes]]:
    """(device path without the leading '/', bytes) of every file of a plain backup."""
    conn = sqlite3.connect(f"file:{backup / 'Manifest.db'}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT fileID, domain, relativePath FROM Files WHERE flags = 1").fetchall()
    finally:
        conn.close()
    out = []
    for fid, domain, relative in sorted(rows, key=lambda r: (r[1], r[2])):
        where = device_path(domain, relative)
        blob = backup / fid[:2] / fid
        if where is not None and blob.is_file():
            out.append((where.lstrip("/"), blob.read_bytes()))
    return out


def write_dump(
    files: Iterable[tuple[str, bytes]], out: Path, fmt: str = "folder", top: str = "", mtime: int = 1685620800
) -> Path:
    """Write `files` (relative device paths) as a dump; `top` is an optional enclosing folder.

    `out` is the folder, or the archive file (its name is used as given).
    """
    if fmt not in DUMP_FORMATS:
        raise ValueError(f"unknown dump format {fmt!r}")
    prefix = f"{top.strip('/')}/" if top else ""
    if fmt == "folder":
        for name, data in files:
            target = out / (prefix + name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "zip":
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in files:
                info = zipfile.ZipInfo(prefix + name, date_time=(2023, 6, 1, 12, 0, 0))
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data)
        return out
    mode = "w:gz" if fmt == "tar.gz" else "w"
    with tarfile.open(out, mode) as tf:  # type: ignore[call-overload]
        for name, data in files:
            member = tarfile.TarInfo(prefix + name)
            member.size = len(data)
            member.mtime = mtime
            member.mode = 0o644
            tf.addfile(member, io.BytesIO(data))
    return out
