"""An archive made only to carry one acquisition file (a sysdiagnose's .tar.gz or a bugreport's .zip,
zipped again to be sent, with what Finder adds beside it) is read as the file it carries.

It was "not an acquisition preuve recognises". The carried file is copied into the run's private
folder (never beside the evidence) and opened as what it is, one level deep; the run says what it read.
Archives are written with zipfile and tarfile, their contents by the tests' own builders.
"""

from __future__ import annotations

import os
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from preuve.evidence.acquisition import OpenContext, open_acquisition, recognised
from preuve.evidence.errors import AcquisitionError
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.fleet.runner import list_acquisitions
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from tests.builders import feed, snapshot
from tests.builders.android import bugreport_members, write_zip
from tests.builders.ios_sysdiagnose import SYSDIAGNOSE_NAME, Shutdown, ps_txt, shutdown_log, write_sysdiagnose
from tests.helpers import check_then_verify

SYSDIAGNOSE = f"{SYSDIAGNOSE_NAME}.tar.gz"
NOISE = {f"__MACOSX/._{SYSDIAGNOSE}": b"\x00\x05\x16\x07", ".DS_Store": b"\x00\x00\x00\x01Bud1"}


def _sysdiagnose(folder: Path) -> Path:
    return write_sysdiagnose({
        "ps.txt": ps_txt([(1, 0, "root", "/sbin/launchd"), (77, 1, "mobile", "/private/var/tmp/bh")]).encode(),
        "system_logs.logarchive/Extra/shutdown.log": shutdown_log(
            [Shutdown(1_700_000_000, [[(123, "/private/var/db/com.apple.xpc.roleaccountd.staging/bh")]])]).encode(),
    }, folder)


def _carrier(inner: Path, archive: Path, noise: dict[str, bytes] | None = None, under: str = "") -> Path:
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.write(inner, under + inner.name)
        for name, data in (noise or {}).items():
            out.writestr(name, data)
    return archive


def _summary(result: object) -> tuple[object, ...]:
    return (
        result.acquisition_kind,  # type: ignore[attr-defined]
        [(a.name, a.status, a.records, a.findings) for a in result.artifacts],  # type: ignore[attr-defined]
        [(f.id, f.locator.device_path, f.locator.sha256) for f in result.findings],  # type: ignore[attr-defined]
        {(e.device_path, e.sha256) for e in result.evidence_files},  # type: ignore[attr-defined]
    )


@pytest.mark.parametrize("under", ["", "Shared files/"])
def test_a_zipped_sysdiagnose_is_read_as_the_sysdiagnose(tmp_path: Path, under: str) -> None:
    iocs = feed(tmp_path / "f.stix2", ("[process:name = 'bh']", "Pegasus"))
    inner = _sysdiagnose(tmp_path / "made")
    archive = _carrier(inner, tmp_path / "ev" / "sysdiagnose.zip", NOISE, under)
    before = snapshot(tmp_path / "ev")
    carried = run_check(archive, CheckOptions(iocs=(iocs,)))
    direct = run_check(inner, CheckOptions(iocs=(iocs,)))
    assert snapshot(tmp_path / "ev") == before
    assert sorted(os.listdir(tmp_path / "ev")) == ["sysdiagnose.zip"]
    assert _summary(carried) == _summary(direct)
    assert carried.acquisition_kind == "ios_sysdiagnose" and len(carried.findings) > 0
    assert f"{archive}: carries one file, {under}{SYSDIAGNOSE}, read as an iOS sysdiagnose (sysdiagnose_*.tar.gz or its " \
           "folder)" in carried.warnings
    assert recognised(archive)


def test_a_bugreport_zipped_again(tmp_path: Path) -> None:
    inner = write_zip(tmp_path / "made" / "bugreport-sunfish-TQ3A-2023-11-14-22-13-20.zip", bugreport_members(
        {"ro.product.model": "Pixel 4a", "ro.build.version.security_patch": "2023-09-05"}, "DUMP OF SERVICE x:\n"))
    archive = tmp_path / "ev" / "for-the-helpline.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as out:
        out.add(inner, f"phone/{inner.name}")
    assert _summary(run_check(archive, CheckOptions())) == _summary(run_check(inner, CheckOptions()))


def test_a_check_of_a_carried_file_is_verified(tmp_path: Path) -> None:
    iocs = feed(tmp_path / "f.stix2", ("[process:name = 'bh']", "Pegasus"))
    archive = _carrier(_sysdiagnose(tmp_path / "made"), tmp_path / "ev" / "sysdiagnose.zip")
    checked, verified, last = check_then_verify(archive, iocs, tmp_path / "out")
    assert (checked, verified) == (2, 0)
    assert last == "3 of 3 findings confirmed."


def test_two_files_are_no_carrier(tmp_path: Path) -> None:
    inner = _sysdiagnose(tmp_path / "made")
    archive = _carrier(inner, tmp_path / "ev" / "two.zip", {"notes.txt": b"from the phone's owner"})
    with pytest.raises(AcquisitionError) as caught:
        run_check(archive, CheckOptions())
    assert str(caught.value).startswith(f"{archive}: not an acquisition preuve recognises (expected one of: ")
    assert not recognised(archive)


def test_one_level_only(tmp_path: Path) -> None:
    """A carrier of a carrier is not opened in turn (no archive opens archives without end)."""
    once = _carrier(_sysdiagnose(tmp_path / "made"), tmp_path / "once" / "sysdiagnose.zip")
    archive = _carrier(once, tmp_path / "ev" / "twice.zip")
    with pytest.raises(AcquisitionError) as caught:
        run_check(archive, CheckOptions())
    message = str(caught.value)
    assert message.startswith(f"{archive}: carries one file, sysdiagnose.zip, that preuve does not recognise (not an "
                              "acquisition preuve recognises (expected one of: ")
    assert "carried-" not in message  # (named inside the archive, never by its private copy)


def test_a_carried_file_past_the_bound(tmp_path: Path) -> None:
    inner = _sysdiagnose(tmp_path / "made")
    archive = _carrier(inner, tmp_path / "ev" / "sysdiagnose.zip")
    size = inner.stat().st_size
    ctx = OpenContext(ledger=HashLedger(), limits=replace(DEFAULT_LIMITS, max_file_bytes=size - 1),
                      workdir=tmp_path / "work")
    ctx.workdir.mkdir()
    with pytest.raises(AcquisitionError) as caught:
        open_acquisition(archive, ctx)
    assert str(caught.value) == f"{archive}!{SYSDIAGNOSE}: more than {size - 1} bytes"


def test_a_fleet_folder_lists_a_carrier(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _carrier(_sysdiagnose(tmp_path / "made"), inbox / "case-12.zip")
    (inbox / "notes.txt").write_text("not evidence")
    assert list_acquisitions(inbox) == [inbox / "case-12.zip"]


def test_a_folder_holding_one_acquisition_file(tmp_path: Path) -> None:
    """A case folder holding the sysdiagnose (and Finder's .DS_Store) is read as the sysdiagnose, in place."""
    iocs = feed(tmp_path / "f.stix2", ("[process:name = 'bh']", "Pegasus"))
    case = tmp_path / "case-7"
    inner = _sysdiagnose(case)
    (case / ".DS_Store").write_bytes(NOISE[".DS_Store"])
    before = snapshot(case)
    carried = run_check(case, CheckOptions(iocs=(iocs,)))
    assert snapshot(case) == before
    assert _summary(carried) == _summary(run_check(inner, CheckOptions(iocs=(iocs,))))
    assert f"{case}: holds one file, {SYSDIAGNOSE}, read as an iOS sysdiagnose (sysdiagnose_*.tar.gz or its folder)" \
        in carried.warnings
    (case / "notes.txt").write_text("the owner's notes")
    assert not recognised(case)
