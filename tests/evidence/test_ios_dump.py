from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from preuve.builders.demo import build_demo_backup
from preuve.evidence.acquisition import OpenContext, detect_kind, open_acquisition
from preuve.evidence.errors import AcquisitionError, LimitExceeded
from preuve.evidence.kinds.ios_dump import (
    DOMAINS,
    THROUGH_VAR,
    TREE,
    DumpRoot,
    IosFilesystemDump,
    dump_root_in_names,
)
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import DEFAULT_LIMITS, Limits
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from tests.builders import snapshot
from tests.builders.demo_expected import DEMO_FINDINGS
from tests.builders.ios_dump import backup_files, write_dump

SMS = "private/var/mobile/Library/SMS/sms.db"


def _ctx(tmp_path: Path, limits: Limits = DEFAULT_LIMITS) -> OpenContext:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return OpenContext(ledger=HashLedger(), limits=limits, workdir=work, warn=lambda m: None)


def _dump_name(fmt: str) -> str:
    return "dump" if fmt == "folder" else f"dump.{fmt}"


@pytest.mark.parametrize("top", ["", "filesystem1"])
@pytest.mark.parametrize("fmt", ["folder", "tar", "tar.gz", "zip"])
def test_backup_artifacts_run_unchanged_on_a_dump(tmp_path: Path, pegasus_feed: Path, fmt: str, top: str) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    dump = write_dump(backup_files(backup), tmp_path / "ev" / _dump_name(fmt), fmt, top=top)
    before = snapshot(tmp_path / "ev")
    assert detect_kind(dump) is IosFilesystemDump
    on_backup = run_check(backup, CheckOptions(iocs=(pegasus_feed,)))
    on_dump = run_check(dump, CheckOptions(iocs=(pegasus_feed,)))
    assert snapshot(tmp_path / "ev") == before
    assert on_dump.acquisition_kind == "ios_dump"
    # Artifacts of the backup's own metadata (its Manifest) have no counterpart in a dump, where the
    # filesystem listing finds the same file instead.
    backup_only = {"manifest", "applications", "backup_info", "acquisition_integrity"}
    assert len(on_backup.findings) == DEMO_FINDINGS
    backup_ids = [f.id for f in on_backup.findings if f.artifact not in backup_only]
    dump_ids = [f.id for f in on_dump.findings if f.artifact != "filesystem"]
    assert dump_ids == backup_ids
    [listed] = [f for f in on_dump.findings if f.artifact == "filesystem"]
    assert listed.locator.device_path == "/private/var/mobile/Library/Preferences/roleaccountd.plist"
    files = {e.device_path: e for e in on_dump.evidence_files}
    assert files["/" + SMS].source == (f"{top}/{SMS}" if top and fmt != "folder" else SMS)


def test_dump_root_detection() -> None:
    assert dump_root_in_names(["x/y", "private/var/a"]) == DumpRoot("", TREE)
    assert dump_root_in_names(["top/private/var/a", "top/x"]) == DumpRoot("top", TREE)
    assert dump_root_in_names(["a/b/c/d/private/var/a"]) is None
    assert dump_root_in_names(["private/varnish/a", "Library/x"]) is None
    assert dump_root_in_names(["var/mobile/Library/x"]) == DumpRoot("", THROUGH_VAR)
    assert dump_root_in_names(["ssh/var/mobile/a", "top/private/var/mobile/b"]) == DumpRoot("top", TREE)
    assert dump_root_in_names(["private/var/mobile/a"]) == DumpRoot("", TREE)  # (not through var/mobile)
    assert dump_root_in_names(["var/log/x", "var/db/y", "var/mobileX/z"]) is None  # (a Linux or macOS /var)
    assert dump_root_in_names(["a/b/c/d/var/mobile/x"]) is None
    assert dump_root_in_names(["iTunes_Backup/HomeDomain/Library/x"]) == DumpRoot("iTunes_Backup", DOMAINS)
    assert dump_root_in_names(["HomeDomain/Library/x", "var/mobile/y"]) == DumpRoot("", THROUGH_VAR)


def _hostile_zip(path: Path) -> Path:
    path.parent.mkdir(parents=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("private/var/mobile/ok.txt", b"ok")
        zf.writestr("../../outside.txt", b"slip")
        zf.writestr("/etc/evil", b"abs")
        zf.writestr("C:/Windows/evil", b"drive")
        link = zipfile.ZipInfo("private/var/mobile/link")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("private/var/mobile/bomb.bin", bytes(50 * 1024 * 1024))
    return path


def test_hostile_zip(tmp_path: Path) -> None:
    dump = _hostile_zip(tmp_path / "ev" / "hostile.zip")
    before = snapshot(tmp_path / "ev")
    warnings: list[str] = []
    ctx = _ctx(tmp_path)
    ctx.warn = warnings.append
    fs = open_acquisition(dump, ctx).fs
    try:
        assert [p for p in fs.paths() if fs.is_file(p)] == [
            "/etc/evil", "/private/var/mobile/bomb.bin", "/private/var/mobile/ok.txt"]
        assert fs.stat("/private/var/mobile/link").is_link
        assert fs.read_bytes("/private/var/mobile/ok.txt") == b"ok"
        with pytest.raises(LimitExceeded, match="decompression ratio"):
            fs.sha256("/private/var/mobile/bomb.bin")
        assert sorted(warnings) == [
            f"{dump}: 1 member name(s) are absolute (the first: /etc/evil): each is read relative to the "
            "archive's root, as tar and unzip extract them",
            f"{dump}: member refused: ../../outside.txt: unsafe member name",
            f"{dump}: member refused: C:/Windows/evil: unsafe member name",
        ]
    finally:
        fs.close()
    assert not (tmp_path / "outside.txt").exists()
    assert snapshot(tmp_path / "ev") == before
    assert list((tmp_path / "work").iterdir()) == []


def _add(tf: tarfile.TarFile, name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, link: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tf.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def test_hostile_tar(tmp_path: Path) -> None:
    dump = tmp_path / "ev" / "hostile.tar"
    dump.parent.mkdir()
    with tarfile.open(dump, "w") as tf:
        _add(tf, "private/var/mobile/ok.txt", b"ok")
        _add(tf, "../escape.txt", b"x")
        _add(tf, "private/var/mobile/sym", kind=tarfile.SYMTYPE, link="/etc/passwd")
        _add(tf, "private/var/mobile/hard", kind=tarfile.LNKTYPE, link="../../../etc/shadow")
        _add(tf, "private/var/mobile/fifo", kind=tarfile.FIFOTYPE)
        _add(tf, "private/var/mobile/dev", kind=tarfile.CHRTYPE)
    before = snapshot(tmp_path / "ev")
    fs = open_acquisition(dump, _ctx(tmp_path)).fs
    try:
        entries = {p: fs.stat(p) for p in fs.paths() if p.startswith("/private/var/mobile/")}
        assert sorted(entries) == ["/private/var/mobile/dev", "/private/var/mobile/fifo", "/private/var/mobile/hard",
                                   "/private/var/mobile/ok.txt", "/private/var/mobile/sym"]
        assert [p for p, e in entries.items() if not e.is_link] == ["/private/var/mobile/ok.txt"]
        for path in ("/private/var/mobile/sym", "/private/var/mobile/hard", "/private/var/mobile/fifo"):
            assert not fs.is_file(path)
            with pytest.raises(Exception, match="not a regular file"):
                fs.read_bytes(path)
    finally:
        fs.close()
    assert snapshot(tmp_path / "ev") == before


def test_tar_gz_bomb_is_refused_before_expanding(tmp_path: Path) -> None:
    dump = tmp_path / "bomb.tar.gz"
    with tarfile.open(dump, "w:gz") as tf:
        _add(tf, "private/var/mobile/ok.txt", b"ok")
        _add(tf, "private/var/mobile/zeros", bytes(30 * 1024 * 1024))
        _add(tf, "private/var/mobile/after.txt", b"after")
    limits = Limits(max_decompression_ratio=5)
    # Refused before expanding: the member before it is read, the bomb and what follows are reported.
    opened = open_acquisition(dump, _ctx(tmp_path, limits))
    try:
        assert [p for p in opened.fs.paths() if p.endswith(".txt")] == ["/private/var/mobile/ok.txt"]
        assert opened.fs.unreadable == [  # type: ignore[attr-defined]
            f"bomb.tar.gz: member private/var/mobile/zeros ({30 * 1024 * 1024} bytes) expands beyond the "
            "decompression ratio bound (archive bomb?); it and the members after it are not read"
        ]
    finally:
        opened.fs.close()


def test_entry_count_bound(tmp_path: Path) -> None:
    files = [(f"private/var/mobile/f{n}", b"") for n in range(20)]
    dump = write_dump(files, tmp_path / "many.zip", "zip")
    # refused from the declared count, before zipfile lists the members
    with pytest.raises(AcquisitionError, match="declares 20 entries, more than 10"):
        IosFilesystemDump.open(dump, _ctx(tmp_path, Limits(max_archive_entries=10)))


@pytest.mark.parametrize(
    ("fmt", "mode"),
    [(tarfile.GNU_FORMAT, "w"), (tarfile.PAX_FORMAT, "w:bz2"), (tarfile.USTAR_FORMAT, "w:xz"),
     (tarfile.PAX_FORMAT, "w:gz")],
)
def test_tar_formats_and_long_names(tmp_path: Path, fmt: int, mode: str) -> None:
    long_dir = "private/var/mobile/" + "/".join(["d" * 40] * 3)
    names = [f"{long_dir}/a.txt", "private/var/mobile/é.txt", "private/var/mobile/short"]
    if fmt == tarfile.USTAR_FORMAT:
        names = names[:1] + names[2:]  # ustar: only ASCII, long names through its prefix field
    dump = tmp_path / "fmt.tar"
    with tarfile.open(dump, mode, format=fmt) as tf:  # type: ignore[call-overload]
        for number, name in enumerate(names):
            info = tarfile.TarInfo(name)
            data = name.encode() * (number + 1)
            info.size, info.mtime = len(data), 1685600000 + number
            tf.addfile(info, io.BytesIO(data))
    fs = open_acquisition(dump, _ctx(tmp_path)).fs
    try:
        for number, name in enumerate(names):
            assert fs.read_bytes("/" + name) == name.encode() * (number + 1)
            assert fs.stat("/" + name).mtime == 1685600000 + number
    finally:
        fs.close()


def test_damaged_tar_header_is_a_clear_error(tmp_path: Path) -> None:
    dump = write_dump([("private/var/mobile/a", b"a"), ("private/var/mobile/b", b"b")], tmp_path / "d.tar", "tar")
    data = bytearray(dump.read_bytes())
    second = data.find(b"private/var/mobile/b")
    data[second + 130] ^= 0x01  # inside the size field of the second header
    dump.write_bytes(bytes(data))
    fs = IosFilesystemDump.open(dump, _ctx(tmp_path))
    try:
        assert [p for p in fs.paths() if p.startswith("/private/var/mobile/")] == ["/private/var/mobile/a"]
        [problem] = fs.unreadable  # type: ignore[attr-defined]
        assert problem.startswith("d.tar: damaged tar: bad header checksum at offset ")
    finally:
        fs.close()
