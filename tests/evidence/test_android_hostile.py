"""Hostile AndroidQF acquisitions: links out, FIFOs, too many entries, a nested zip that is not one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from preuve.evidence.errors import AcquisitionError
from preuve.evidence.limits import Limits
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from tests.builders import check, snapshot
from tests.builders.android import AndroidQFBuilder


def test_links_and_fifos_are_listed_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "outside.json"
    secret.write_text('[{"name": "com.outside.secret"}]')
    root = AndroidQFBuilder(hashes=False).folder(tmp_path / "aqf")
    (root / "packages.json").unlink()
    (root / "packages.json").symlink_to(secret)
    os.mkfifo(root / "getprop.txt.fifo")
    (root / "getprop.txt").unlink()
    os.rename(root / "getprop.txt.fifo", root / "getprop.txt")
    before = snapshot(tmp_path)
    result = check(root)
    assert snapshot(tmp_path) == before
    status = {a.name: (a.status.value, a.records) for a in result.artifacts}
    assert status["android_packages"] == ("missing", 0)
    assert status["android_getprop"] == ("missing", 0)
    assert status["android_processes"] == ("ok", 3)
    assert all("com.outside.secret" not in f.explanation for f in result.findings)


def test_entry_bound(tmp_path: Path) -> None:
    b = AndroidQFBuilder()
    b.extra.update({f"logs/f{i}.txt": b"x" for i in range(50)})
    archive = b.zip(tmp_path / "aqf.zip")
    with pytest.raises(AcquisitionError, match=r"declares \d+ entries, more than 20"):
        run_check(archive, CheckOptions(limits=Limits(max_archive_entries=20)))
    folder = b.folder(tmp_path / "aqf")
    with pytest.raises(AcquisitionError, match="more than 20 entries"):
        run_check(folder, CheckOptions(limits=Limits(max_archive_entries=20)))


def test_nested_bugreport_that_is_not_a_zip(tmp_path: Path) -> None:
    b = AndroidQFBuilder()
    b.extra["bugreport.zip"] = b"PK\x03\x04 this is not a zip"
    b.extra["backup.ab"] = b"ANDROID BACKUP\n5\n1\nnone\n" + b"garbage, not zlib"
    result = check(b.folder(tmp_path / "aqf"))
    assert any("bugreport.zip" in w and "cannot be read" in w for w in result.warnings)
    assert any("backup.ab" in w and "damaged" in w for w in result.warnings)
    assert {a.name: a.records for a in result.artifacts}["android_packages"] == 2
