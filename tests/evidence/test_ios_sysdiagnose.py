from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

from preuve.evidence.acquisition import OpenContext, detect_kind, open_acquisition
from preuve.evidence.kinds.ios_dump import IosFilesystemDump
from preuve.evidence.kinds.ios_sysdiagnose import IosSysdiagnose
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import DEFAULT_LIMITS, Limits
from preuve.model import Absence
from tests.builders import check, snapshot
from tests.builders.ios_sysdiagnose import SYSDIAGNOSE_NAME, write_sysdiagnose


def _ctx(tmp_path: Path, limits: Limits = DEFAULT_LIMITS) -> OpenContext:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return OpenContext(ledger=HashLedger(), limits=limits, workdir=work)


def _member(tf: tarfile.TarFile, name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, link: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tf.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def test_hostile_sysdiagnose_tar_gz(tmp_path: Path) -> None:
    archive = tmp_path / "ev" / f"{SYSDIAGNOSE_NAME}.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tf:
        _member(tf, f"{SYSDIAGNOSE_NAME}/ps.txt", b"USER PID COMMAND\nroot 1 /sbin/launchd\n")
        _member(tf, f"{SYSDIAGNOSE_NAME}/../../../tmp/slip.txt", b"slip")
        _member(tf, f"/{SYSDIAGNOSE_NAME}/abs.txt", b"abs")
        _member(tf, f"{SYSDIAGNOSE_NAME}/system_logs.logarchive/Extra/shutdown.log", kind=tarfile.SYMTYPE,
                link="/etc/passwd")
        _member(tf, "elsewhere.txt", b"outside the top folder")
    before = snapshot(tmp_path / "ev")
    assert detect_kind(archive) is IosSysdiagnose
    warnings: list[str] = []
    ctx = _ctx(tmp_path)
    ctx.warn = warnings.append
    fs = open_acquisition(archive, ctx).fs
    try:
        files = [p for p in fs.paths() if fs.is_file(p)]
        assert files == ["/.acquisition/sysdiagnose/abs.txt",
                         "/.acquisition/sysdiagnose/outside-top-folder/elsewhere.txt",
                         "/.acquisition/sysdiagnose/ps.txt"]
        assert fs.stat("/private/var/db/diagnostics/shutdown.log").is_link
        assert warnings == [
            f"{archive}: member refused: {SYSDIAGNOSE_NAME}/../../../tmp/slip.txt: unsafe member name",
            f"{archive}: 1 member name(s) are absolute (the first: /{SYSDIAGNOSE_NAME}/abs.txt): each is read "
            "relative to the archive's root, as tar and unzip extract them",
        ]
    finally:
        fs.close()
    result = check(archive)
    status = {a.name: str(a.status) for a in result.artifacts}
    assert status["shutdown_log"] == "missing"
    assert status["processes"] == "ok"
    assert snapshot(tmp_path / "ev") == before
    assert not Path("/tmp/slip.txt").exists() or Path("/tmp/slip.txt").read_bytes() != b"slip"


def test_sysdiagnose_bomb(tmp_path: Path) -> None:
    archive = tmp_path / f"{SYSDIAGNOSE_NAME}.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        _member(tf, f"{SYSDIAGNOSE_NAME}/ps.txt", b"USER PID COMMAND\n")
        _member(tf, f"{SYSDIAGNOSE_NAME}/logs/zeros", bytes(8 * 1024 * 1024))
    opened = open_acquisition(archive, _ctx(tmp_path, Limits(max_decompression_ratio=2)))
    try:
        [problem] = opened.fs.unreadable  # type: ignore[attr-defined]
        assert "logs/zeros" in problem and "archive bomb" in problem
    finally:
        opened.fs.close()


def test_links_out_of_folder_acquisitions_are_never_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    sysdiagnose = write_sysdiagnose({"ps.txt": b"USER PID COMMAND\nroot 1 /sbin/launchd\n"}, tmp_path / "s", "folder")
    os.symlink(secret, sysdiagnose / "ps_thread.txt")
    dump = tmp_path / "dump"
    (dump / "private" / "var" / "db" / "diagnostics").mkdir(parents=True)
    os.symlink(secret, dump / "private" / "var" / "db" / "diagnostics" / "shutdown.log")
    os.mkfifo(dump / "private" / "var" / "fifo")
    assert detect_kind(dump) is IosFilesystemDump
    before = snapshot(tmp_path / "s"), snapshot(dump)
    for evidence in (sysdiagnose, dump):
        result = check(evidence)
        read = {e.device_path for e in result.evidence_files}
        assert "/private/var/db/diagnostics/shutdown.log" not in read
        assert "/.acquisition/sysdiagnose/ps_thread.txt" not in read
        # The dump's shutdown log is there only as a link to no file of the acquisition: not read, and
        # told so (the check is not a full one); the sysdiagnose's thread list has ps.txt beside it.
        told = [(a.name, a.absence, a.absent_files) for a in result.artifacts
                if a.absence is not None and a.absence.loses_evidence]
        assert told == ([] if evidence == sysdiagnose else
                        [("shutdown_log", Absence.UNFOLLOWED, ["/private/var/db/diagnostics/shutdown.log"])])
        assert result.incomplete is (evidence == dump)
    assert (snapshot(tmp_path / "s"), snapshot(dump)) == before


def test_a_backup_is_not_a_dump(tmp_path: Path) -> None:
    (tmp_path / "x.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    assert not IosFilesystemDump.detect(tmp_path / "x.zip")
    assert not IosSysdiagnose.detect(tmp_path / "x.zip")


def test_renamed_sysdiagnose_archive_is_recognised(tmp_path: Path) -> None:
    archive = write_sysdiagnose({"ps.txt": b"USER PID COMMAND\n"}, tmp_path, "tar.gz")
    renamed = archive.rename(tmp_path / "from-the-phone.tar.gz")
    assert detect_kind(renamed) is IosSysdiagnose
    flat = tmp_path / "flat.tar.gz"
    with tarfile.open(flat, "w:gz") as tf:
        _member(tf, "ps.txt", b"USER PID COMMAND\n")
    assert not IosSysdiagnose.detect(flat)


def test_a_sysdiagnose_whose_logs_come_first_is_recognised(tmp_path: Path) -> None:
    """A sysdiagnose holds thousands of logs; its tar may list them before ps.txt and the logarchive.
    Detection read 2,000 names; when they all lie in one sysdiagnose_* folder it now reads on until a
    marker shows, and the processes are read."""
    from tests.builders.ios_sysdiagnose import ps_txt

    logs = {f"logs/Bluetooth/{index:05d}.log": b"" for index in range(2500)}  # (sorted before ps.txt)
    files = {**logs, "ps.txt": ps_txt([(0, 1, "root", "/sbin/launchd"), (501, 77, "mobile", "/tmp/bh")]).encode()}
    archive = write_sysdiagnose(files, tmp_path / "ev", "tar.gz")
    before = snapshot(tmp_path / "ev")
    assert detect_kind(archive) is IosSysdiagnose
    result = check(archive)
    assert {a.name: (str(a.status), a.records) for a in result.artifacts}["processes"] == ("ok", 2)
    assert snapshot(tmp_path / "ev") == before
    # One sysdiagnose_* folder of 2,500 files and no marker at all is not one.
    without = write_sysdiagnose(logs, tmp_path / "no", "tar.gz")
    assert not IosSysdiagnose.detect(without)
