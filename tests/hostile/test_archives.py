"""Hostile archives and Android backup headers, against the generic guards in preuve.evidence.policy.

Archive, .ab and AndroidQF acquisition kinds build on these helpers; the cases run them today on
inputs written by code, in a guarded child process (time and memory bounds).
"""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

from tests.builders import snapshot
from tests.hostile.harness import Outcome, check_hostile, run_python

_PRELUDE = """
import sys, tarfile, zipfile
from preuve.evidence.policy import (bounded_copy, bounded_decompress, vet_tar_member,
    vet_zip_members, zip_entry_count)
from preuve.evidence.errors import EvidenceError
from preuve.evidence.limits import Limits
path = sys.argv[1] if len(sys.argv) > 1 else None
"""


def _guarded(tmp_path: Path, body: str, name: str, data: bytes) -> list[str]:
    folder = tmp_path / "evidence"
    folder.mkdir(exist_ok=True)
    target = folder / name
    target.write_bytes(data)
    before = snapshot(folder)
    outcome = run_python(_PRELUDE.replace("sys.argv[1] if len(sys.argv) > 1 else None", repr(str(target))) + body)
    assert outcome.code == 0, outcome.text
    assert snapshot(folder) == before
    return outcome.stdout.splitlines()


def _zip(members: list[tuple[str, bytes]], mode: int | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name)
            if mode is not None and name.endswith(".lnk"):
                info.external_attr = mode << 16
            archive.writestr(info, data)
    return buffer.getvalue()


_VET_ZIP = """
with zipfile.ZipFile(path) as archive:
    safe, problems = vet_zip_members(archive.infolist(), path, Limits())
print("SAFE", [i.filename for i in safe])
for problem in problems:
    print("LEFT", problem.member, "|", problem.reason)
"""


def test_zip_slip_names(tmp_path: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = _zip([("../../evil.sh", b"x"), ("/etc/cron.d/x", b"x"), ("a/../../b", b"x"), ("C:/win.ini", b"x"),
                     ("..\\..\\dos", b"x"), ("ok/fine.txt", b"fine")])
    lines = _guarded(tmp_path, _VET_ZIP, "slip.zip", data)
    assert lines[0] == "SAFE ['ok/fine.txt']"
    assert len(lines) == 6 and all(line.endswith("| name leaves the archive root") for line in lines[1:])


def test_zip_duplicate_names_and_links(tmp_path: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = _zip([("sms.db", b"first"), ("sms.db", b"second"), ("./sms.db", b"third"),
                     ("x.lnk", b"/etc/passwd")], mode=0o120777)
    lines = _guarded(tmp_path, _VET_ZIP, "dup.zip", data)
    assert lines == [
        "SAFE ['sms.db']",
        "LEFT sms.db | duplicate member name (only the first is read)",
        "LEFT ./sms.db | duplicate member name (only the first is read)",
        "LEFT x.lnk | symbolic link (listed, never followed)",
    ]


def test_zip_declaring_hundreds_of_thousands_of_entries(tmp_path: Path) -> None:
    # An end-of-central-directory record that claims 500,000 entries in a 22-byte file.
    data = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 0xFFFF, 0xFFFF, 0, 0, 0)
    zip64_record = b"PK\x06\x06" + struct.pack("<QHHIIQQQQ", 44, 45, 45, 0, 0, 500_000, 500_000, 0, 0)
    locator = b"PK\x06\x07" + struct.pack("<IQI", 0, 0, 1)
    lines = _guarded(tmp_path, "print(zip_entry_count(open(path, 'rb'), path))", "many.zip",
                     zip64_record + locator + data)
    assert lines == ["500000"]


def test_zip_member_list_over_the_entry_limit(tmp_path: Path) -> None:
    body = """
infos = (zipfile.ZipInfo(f"f{i}") for i in range(300_000))
try:
    vet_zip_members(infos, "many.zip", Limits(max_archive_entries=200_000))
except EvidenceError as exc:
    print(type(exc).__name__, exc.reason)
"""
    assert _guarded(tmp_path, body, "unused", b"") == ["LimitExceeded more than 200000 archive members"]


def test_zip_bomb(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("zeros.bin", "w", force_zip64=True) as member:
            chunk = b"\x00" * (1024 * 1024)
            for _ in range(100):  # 100 MiB of zeros in about 100 KiB
                member.write(chunk)
    body = """
with zipfile.ZipFile(path) as archive:
    info = archive.infolist()[0]
    safe, problems = vet_zip_members([info], path, Limits())
    print("VET", [p.reason for p in problems])
    with archive.open(info) as stream:
        try:
            bounded_copy(stream, lambda chunk: None, info.filename, Limits(), compressed_size=info.compress_size)
            print("COPIED")
        except EvidenceError as exc:
            print(type(exc).__name__)
"""
    lines = _guarded(tmp_path, body, "bomb.zip", buffer.getvalue())
    assert lines == ["VET ['declared compression ratio is a decompression bomb']", "LimitExceeded"]


def test_gzip_bomb(tmp_path: Path) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(b"\x00" * (1024 * 1024)) for _ in range(300)]  # 300 MiB of zeros
    data = b"".join(parts) + compressor.flush()
    body = """
try:
    bounded_decompress(open(path, 'rb').read(), "gzip", path, Limits())
    print("INFLATED")
except EvidenceError as exc:
    print(type(exc).__name__, "expands beyond" in exc.reason)
"""
    assert _guarded(tmp_path, body, "bomb.gz", data) == ["LimitExceeded True"]


def test_gzip_small_and_sound(tmp_path: Path) -> None:
    body = "print(bounded_decompress(open(path, 'rb').read(), 'gzip', path, Limits()))"
    assert _guarded(tmp_path, body, "ok.gz", gzip.compress(b"hello " * 3)) == ["b'hello hello hello '"]


def test_tar_links_devices_and_fifos(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, kind, target in [
            ("etc-link", tarfile.SYMTYPE, "/etc/passwd"),
            ("hard", tarfile.LNKTYPE, "../../etc/shadow"),
            ("pipe", tarfile.FIFOTYPE, ""),
            ("tty", tarfile.CHRTYPE, ""),
            ("disk", tarfile.BLKTYPE, ""),
            ("../escape", tarfile.REGTYPE, ""),
            ("ok.txt", tarfile.REGTYPE, ""),
        ]:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            archive.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    body = """
with tarfile.open(path) as archive:
    for member in archive.getmembers():
        print(member.name, "|", vet_tar_member(member))
"""
    assert _guarded(tmp_path, body, "t.tar", buffer.getvalue()) == [
        "etc-link | symbolic link (listed, never followed)",
        "hard | hard link (listed, never followed)",
        "pipe | FIFO (listed, never opened)",
        "tty | device node (listed, never opened)",
        "disk | device node (listed, never opened)",
        "../escape | name leaves the archive root",
        "ok.txt | None",
    ]


def _ab_check(tmp_path: Path, name: str, data: bytes) -> Outcome:
    folder = tmp_path / "ev"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    return check_hostile(folder / name, tmp_path / f"out-{name}", "-q")


def test_ab_header_absurd_pbkdf2_rounds(tmp_path: Path) -> None:
    """A hostile .ab asks for two billion PBKDF2 rounds: refused before any derivation, through the real
    acquisition path (`preuve check`), with a clear message and no traceback."""
    head = b"ANDROID BACKUP\n5\n1\nAES-256\n" + b"AA" * 64 + b"\n" + b"BB" * 64 + b"\n" + b"2000000000\n"
    head += b"CC" * 16 + b"\n" + b"DD" * 96 + b"\n"
    outcome = _ab_check(tmp_path, "x.ab", head)
    assert outcome.code == 1, outcome.text
    assert "implausible PBKDF2 round count 2000000000" in outcome.text


def test_ab_header_truncated_and_overlong(tmp_path: Path) -> None:
    for name, data in (
        ("cut.ab", b"ANDROID BACKUP\n5\n"),
        ("long.ab", b"ANDROID BACKUP\n" + b"9" * 100_000 + b"\n1\nnone\n"),
    ):
        outcome = _ab_check(tmp_path, name, data)
        assert outcome.code == 1, outcome.text
        assert "malformed Android backup header" in outcome.text, outcome.text
