"""An archive is recognised by its bytes as well as by its name, and a container preuve does not read is
named with what to do.

Evidence passed on loses its name's suffix (a download saved as `evidence`, a file renamed by a
messenger): a dump's tar, gzipped tar or zip, or a backup's zip, without its suffix was "not an
acquisition preuve recognises". A 7-Zip or RAR archive, a Zstandard-compressed tar, a lone gzip file or
an Apple disk image was told the same, where the analyst needs to hear what it is and what to do.
Archives are written with tarfile, zipfile, gzip; other containers by their published first bytes.
"""

from __future__ import annotations

import gzip
import shutil
import tarfile
from pathlib import Path

import pytest

from preuve.builders.demo import build_demo_backup
from preuve.evidence.acquisition import detect_kind
from preuve.evidence.errors import AcquisitionError
from preuve.evidence.kinds.ios_backup import IosBackup
from preuve.evidence.kinds.ios_dump import IosFilesystemDump
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from tests.builders import snapshot
from tests.builders.ios_dump import backup_files, write_dump
from tests.evidence.test_archived_backup import UDID, pack


def _outcome(result: object) -> tuple[object, ...]:
    return (
        result.acquisition_kind,  # type: ignore[attr-defined]
        [(a.name, a.status, a.records, a.findings) for a in result.artifacts],  # type: ignore[attr-defined]
        [(f.id, f.locator.device_path, f.locator.sha256) for f in result.findings],  # type: ignore[attr-defined]
    )


@pytest.mark.parametrize("fmt", ["tar", "tar.gz", "zip"])
def test_a_dump_without_its_suffix(tmp_path: Path, pegasus_feed: Path, fmt: str) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    named = write_dump(backup_files(backup), tmp_path / "made" / f"dump.{fmt}", fmt)
    bare = tmp_path / "ev" / "evidence"
    bare.parent.mkdir()
    shutil.copyfile(named, bare)
    before = snapshot(tmp_path / "ev")
    assert detect_kind(bare) is IosFilesystemDump
    assert _outcome(run_check(bare, CheckOptions(iocs=(pegasus_feed,)))) == _outcome(
        run_check(named, CheckOptions(iocs=(pegasus_feed,))))
    assert snapshot(tmp_path / "ev") == before


def test_a_backup_zip_without_its_suffix(tmp_path: Path, pegasus_feed: Path) -> None:
    backup = build_demo_backup(tmp_path / "made" / UDID)
    bare = pack(backup, tmp_path / "ev" / "backup.zip").rename(tmp_path / "ev" / "backup")
    assert detect_kind(bare) is IosBackup
    assert _outcome(run_check(bare, CheckOptions(iocs=(pegasus_feed,)))) == _outcome(
        run_check(backup, CheckOptions(iocs=(pegasus_feed,))))


_SAID = ", which preuve does not read: extract it with the tool that made it into a folder of its own, outside " \
        "the evidence, and check what it holds (the archive stays the evidence)"


@pytest.mark.parametrize(("name", "data", "what"), [
    ("backup.7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(64), "a 7-Zip archive"),
    ("backup.rar", b"Rar!\x1a\x07\x01\x00" + bytes(64), "a RAR archive"),
    ("dump.tar.zst", b"\x28\xb5\x2f\xfd" + bytes(64), "a Zstandard-compressed file (.zst)"),
    ("bugreport.txt.gz", gzip.compress(b"== dumpstate: 2023-11-14 22:13:20\n" * 40), "a gzip-compressed file that holds no tar"),
    ("phone.dmg", bytes(4096) + b"koly" + bytes(508), "an Apple disk image (.dmg)"),
])
def test_a_container_preuve_does_not_read_is_named(tmp_path: Path, name: str, data: bytes, what: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(AcquisitionError) as caught:
        detect_kind(path)
    assert str(caught.value) == f"{path}: {what}{_SAID}"


def test_a_file_of_no_archive_is_not_taken_for_one(tmp_path: Path) -> None:
    """Bytes that merely begin like a compressed file, or a tar's magic at another place, are no archive."""
    path = tmp_path / "notes"
    path.write_bytes(b"PK but not a zip, " + b"ustar\x0000" + bytes(600))
    with pytest.raises(AcquisitionError) as caught:
        detect_kind(path)
    assert str(caught.value).startswith(f"{path}: not an acquisition preuve recognises")
    tar_later = tmp_path / "later"
    with tarfile.open(tmp_path / "t.tar", "w") as out:
        out.add(tmp_path / "notes", "notes")
    tar_later.write_bytes(bytes(100) + (tmp_path / "t.tar").read_bytes())
    with pytest.raises(AcquisitionError) as caught:
        detect_kind(tar_later)
    assert str(caught.value).startswith(f"{tar_later}: not an acquisition preuve recognises")


def test_a_compressed_file_damaged_from_its_start(tmp_path: Path) -> None:
    """A gzip file whose first block is garbage (a mutation campaign found the run stopping on it with
    "unexpected error (zlib.error …)"): told as damaged, whatever its name says."""
    good = gzip.compress(bytes(2048))
    path = tmp_path / "evidence"
    path.write_bytes(good[:10] + b"\xff" * 40 + good[50:])
    with pytest.raises(AcquisitionError) as caught:
        detect_kind(path)
    assert str(caught.value) == f"{path}: a gzip-compressed file damaged from its start: what it holds cannot be told"
