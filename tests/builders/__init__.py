"""Fixture builders for the tests (they build on the package's own builders in preuve.builders).

Nothing here imports the code under test. ``check`` and ``records`` run preuve:
they live in tests/helpers.py and are re-exported here only so that the tests
written before the move keep importing them from tests.builders.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tests.builders.stix import IndicatorSpec, write_bundle
from tests.helpers import check, records

__all__ = ["check", "feed", "records", "snapshot"]


def snapshot(root: Path) -> dict[str, tuple[str, int, str]]:
    """Every entry under `root` with its kind, size (or mode) and SHA-256, to prove nothing changed."""
    out: dict[str, tuple[str, int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in sorted(dirnames + filenames):
            full = Path(dirpath) / name
            rel = str(full.relative_to(root))
            st = full.lstat()
            if full.is_symlink():
                out[rel] = ("link", 0, os.readlink(full))
            elif full.is_dir():
                out[rel] = ("dir", st.st_mode, "")
            elif full.is_file():
                out[rel] = ("file", st.st_size, hashlib.sha256(full.read_bytes()).hexdigest())
            else:
                out[rel] = ("other", st.st_mode, "")
    return out


def feed(path: Path, *specs: tuple[str, str]) -> Path:
    """A STIX file from (pattern, malware) pairs."""
    return write_bundle(path, [IndicatorSpec(pattern, malware) for pattern, malware in specs], name=path.stem)
