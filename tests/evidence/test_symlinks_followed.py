"""A symbolic link at a file's path is read as the file it names within the acquisition.

A phone follows a link where an app opens a file. Until 2026-12-07 preuve never followed one: a dump
whose ``sms.db`` was a link to the database kept elsewhere in it was checked as if it held no
messages ("not in this acquisition"). Now a link is followed in the acquisition's own listing, the
way the device reads it (from the link's folder, or from the device's root; ".." above the root is
the root; at most 40 links one after the other): when it ends at a regular file, reading the link's
path reads that file. A link to a folder, to nothing, or in a loop is still not read, and nothing is
ever followed on the analyst's disk: a link to ``/etc/hostname`` names the phone's file, not the
laptop's.

Dumps are written with os.symlink, tarfile and zipfile (a link as Info-ZIP stores it: its target as
its data); the phone's databases by the tests' own builders.
"""

from __future__ import annotations

import json
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from preuve.builders.demo import build_demo_backup
from preuve.cli import build_cli
from preuve.evidence.errors import EvidenceError
from preuve.evidence.fs import MountFS
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.evidence.sources.base import prefix_mapper
from preuve.evidence.sources.folder import folder_fs
from preuve.evidence.sources.tar import TarSource
from preuve.evidence.sources.zip import ZipSource
from tests.builders import snapshot
from tests.builders.ios_dump import backup_files, write_dump
from tests.evidence.test_tar_hard_links import write_tar

# (path, what: bytes for a file, None for a folder, ("link", target) for a symbolic link)
LAYOUT: list[tuple[str, object]] = [
    ("keep/real.db", b"the database"),
    ("keep/folder", None),
    ("private/var/relative.db", ("link", "../../keep/real.db")),
    ("private/var/absolute.db", ("link", "/keep/real.db")),
    ("private/var/chain.db", ("link", "relative.db")),  # a link to a link to the file
    ("private/var/deep/cross.db", ("link", "../relative.db")),  # each link read from its own folder
    ("private/var/above.db", ("link", "../../../../../../keep/real.db")),  # ".." above the root is the root
    ("private/var/to_folder", ("link", "/keep/folder")),
    ("private/var/dangling.db", ("link", "/keep/nothing.db")),
    ("private/var/loop_a", ("link", "loop_b")),
    ("private/var/loop_b", ("link", "loop_a")),
    ("private/var/host.db", ("link", "/etc/hostname")),  # the phone's, never the laptop's
]
FOLLOWED = ["/private/var/above.db", "/private/var/absolute.db", "/private/var/chain.db", "/private/var/deep/cross.db",
            "/private/var/relative.db"]
NOT_FOLLOWED = ["/private/var/dangling.db", "/private/var/host.db", "/private/var/loop_a", "/private/var/loop_b",
                "/private/var/to_folder"]


def _folder(root: Path) -> Path:
    for name, what in LAYOUT:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(what, bytes):
            path.write_bytes(what)
        elif what is None:
            path.mkdir()
        else:
            os.symlink(what[1], path)  # type: ignore[index]
    return root


def _tar(path: Path) -> Path:
    members = [(name, (tarfile.SYMTYPE, what[1]) if isinstance(what, tuple) else what) for name, what in LAYOUT]
    return write_tar(path, members, tarfile.PAX_FORMAT)


def _zip(path: Path) -> Path:
    """As Info-ZIP's ``zip --symlinks`` stores them: a link's target as its data, its Unix mode a link's."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, what in LAYOUT:
            if what is None:
                info = zipfile.ZipInfo(name + "/")
                info.external_attr = (0o040755 << 16) | 0x10
                zf.writestr(info, b"")
                continue
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            if isinstance(what, bytes):
                info.external_attr = 0o100644 << 16
                zf.writestr(info, what)
            else:
                info.external_attr = 0o120777 << 16
                zf.writestr(info, what[1].encode())  # type: ignore[index]
    return path


def _evidence(tmp_path: Path, shape: str) -> Path:
    if shape == "folder":
        return _folder(tmp_path / "dump")
    return _tar(tmp_path / "dump.tar") if shape == "tar" else _zip(tmp_path / "dump.zip")


def _mounted(evidence: Path, work: Path) -> MountFS:
    if evidence.is_dir():
        return folder_fs(evidence, HashLedger(), DEFAULT_LIMITS, work)
    fs = MountFS(evidence, HashLedger(), DEFAULT_LIMITS, work)
    source = ZipSource(evidence, DEFAULT_LIMITS) if evidence.suffix == ".zip" else TarSource(evidence, DEFAULT_LIMITS)
    fs.mount(source, prefix_mapper("", "/"))
    return fs


@pytest.mark.parametrize("shape", ["folder", "tar", "zip"])
def test_a_link_to_a_file_of_the_acquisition_is_read_as_that_file(tmp_path: Path, shape: str) -> None:
    evidence = _evidence(tmp_path, shape)
    before = snapshot(tmp_path)
    work = tmp_path.parent / f"{tmp_path.name}-work"
    work.mkdir()
    fs = _mounted(evidence, work)
    try:
        assert [path for path in FOLLOWED + NOT_FOLLOWED if fs.is_file(path)] == FOLLOWED
        for path in FOLLOWED:
            assert fs.stat(path).is_link  # (the entry itself is listed as what it is)
            info = fs.read_stat(path)
            assert (info.device_path, info.size, info.is_link) == (path, 12, False)
            assert fs.read_bytes(path) == b"the database"
            with fs.open(path) as stream:
                assert stream.read() == b"the database"
        # The ledger names each link's path, the file's bytes, and where they lie.
        assert {(f.device_path, f.size, f.source) for f in fs.ledger.files()} == {
            (path, 12, "keep/real.db") for path in FOLLOWED
        }
        for path in NOT_FOLLOWED:
            with pytest.raises(EvidenceError, match="not a regular file"):
                fs.read_bytes(path)
    finally:
        fs.close()
    assert snapshot(tmp_path) == before


def test_a_dump_whose_sms_db_is_a_link_is_checked_whole(tmp_path: Path, pegasus_feed: Path) -> None:
    """The run reads the messages through the link, finds what it finds with the database in its place,
    and verify confirms every finding."""
    files = backup_files(build_demo_backup(tmp_path / "backup"))
    plain = write_dump(files, tmp_path / "plain", fmt="folder")
    linked = write_dump(files, tmp_path / "linked", fmt="folder")
    sms = linked / "private/var/mobile/Library/SMS/sms.db"
    assert sms.is_file()
    (linked / "elsewhere").mkdir()
    sms.rename(linked / "elsewhere/sms.db")
    os.symlink("../../../../../../elsewhere/sms.db", sms)
    before = snapshot(linked)
    runner = CliRunner()
    outputs = []
    for evidence, out in ((plain, tmp_path / "out-plain"), (linked, tmp_path / "out-linked")):
        result = runner.invoke(build_cli(), ["check", str(evidence), "--iocs", str(pegasus_feed), "-o", str(out), "-q"])
        run = json.loads((out / "run.json").read_text())
        sms_report = next(a for a in run["artifacts"] if a["name"] == "sms")
        findings = json.loads((out / "findings.json").read_text())["findings"]
        outputs.append((result.exit_code, sms_report["status"], sms_report["records"],
                        sorted((f["id"], f["record_sha256"]) for f in findings if f["artifact"] == "sms")))
    assert outputs[0][1] == "ok" and outputs[0][3] and outputs[1] == outputs[0]
    result = runner.invoke(build_cli(), ["verify", str(tmp_path / "out-linked" / "bundle.json"), str(linked)])
    assert result.exit_code == 0, result.output
    assert snapshot(linked) == before


@pytest.mark.parametrize("shape", ["folder", "tar", "zip"])
def test_a_file_read_at_its_own_path_is_not_read_again_through_a_link(tmp_path: Path, shape: str) -> None:
    evidence = _evidence(tmp_path, shape)
    work = tmp_path / "work"
    work.mkdir()
    fs = _mounted(evidence, work)
    try:
        assert fs.regular_files(["/private/var/*", "/private/var/*/*"]) == FOLLOWED
        assert fs.regular_files(["/private/var/*", "/private/var/*/*", "/keep/*"]) == ["/keep/real.db"]
    finally:
        fs.close()


def test_a_link_that_names_no_file_is_told_as_such(tmp_path: Path, pegasus_feed: Path) -> None:
    """Messages' database present only as a link to nothing: not "not in this acquisition" but a link
    not read, named, and the check is not a full one."""
    files = backup_files(build_demo_backup(tmp_path / "backup"))
    dump = write_dump(files, tmp_path / "dump", fmt="folder")
    sms = dump / "private/var/mobile/Library/SMS/sms.db"
    sms.unlink()
    os.symlink("../../../../../../elsewhere/sms.db", sms)
    out = tmp_path / "out"
    result = CliRunner().invoke(build_cli(), ["check", str(dump), "--iocs", str(pegasus_feed), "-o", str(out), "-q"])
    run = json.loads((out / "run.json").read_text())
    report = next(a for a in run["artifacts"] if a["name"] == "sms")
    assert (report["status"], report["absence"], report["absent_files"]) == (
        "missing", "link_not_followed", ["/private/var/mobile/Library/SMS/sms.db"]
    )
    assert run["coverage"]["artifacts"]["sms"]["why"] == (
        "present only as a symbolic link to no file of the acquisition: not read"
    )
    assert not run["coverage"]["full_check"] and result.exit_code in (2, 3)


def test_a_link_longer_than_any_path_is_not_followed(tmp_path: Path) -> None:
    """A tar's link name is bounded as a path is (4,096 characters): one longer, though it would name a
    file once normalised, is kept as a link and told as one not read."""
    long_target = "/keep/" + "./" * 2100 + "real.db"
    path = write_tar(tmp_path / "d.tar", [("keep/real.db", b"the database"),
                                          ("private/var/long.db", (tarfile.SYMTYPE, long_target)),
                                          ("private/var/short.db", (tarfile.SYMTYPE, "/keep/./real.db"))],
                     tarfile.PAX_FORMAT)
    work = tmp_path / "work"
    work.mkdir()
    fs = _mounted(path, work)
    try:
        assert fs.regular_files(["/private/var/*"]) == ["/private/var/short.db"]
        assert fs.links_not_read("/private/var/*") == ["/private/var/long.db"]
    finally:
        fs.close()
