"""Zips whose headers zipfile refuses: a version it does not know, a compression method it does not
support, an encrypted member, a member whose data or CRC is damaged. Each acquisition kind that reads
a zip (an iOS dump, AndroidQF, a bugreport, the intrusion logs a phone downloads) and a proof package
say what is wrong in preuve's words: the archive or the member is named, the rest is read, and nothing
escapes as an "unexpected error"."""

from __future__ import annotations

import struct
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from preuve.evidence.acquisition import OpenContext, open_acquisition
from preuve.evidence.errors import AcquisitionError, EvidenceError
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits
from tests.builders import snapshot
from tests.builders.android import AndroidQFBuilder
from tests.builders.bugreport import bugreport_members
from tests.builders.bugreport import write_zip as write_bugreport_zip
from tests.builders.intrusion_logs import DAY1, DAY2, ndjson
from tests.builders.intrusion_logs import write_zip as write_intrusion_zip
from tests.helpers import check, records
from tests.hostile.harness import run_cli

_CENTRAL = b"PK\x01\x02"


def _patch(path: Path, member: str | None, how: str) -> Path:
    """Rewrite the headers of `member` (every member when None) in place; written here byte by byte
    from the zip format (APPNOTE 4.3.7 and 4.3.12), not by zipfile."""
    data = bytearray(path.read_bytes())
    at = data.find(_CENTRAL)
    while at >= 0:
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        name = bytes(data[at + 46 : at + 46 + name_length]).decode("cp437")
        local = struct.unpack_from("<I", data, at + 42)[0]
        if member is None or name == member:
            if how == "version":  # version needed to extract: 11.7
                struct.pack_into("<H", data, at + 6, 117)
            elif how == "deflate64":  # compression method 9, which zipfile cannot inflate
                struct.pack_into("<H", data, at + 10, 9)
                struct.pack_into("<H", data, local + 8, 9)
            elif how == "encrypted":  # general purpose bit 0
                for flags in (at + 8, local + 6):
                    struct.pack_into("<H", data, flags, struct.unpack_from("<H", data, flags)[0] | 1)
            elif how == "crc":
                struct.pack_into("<I", data, at + 16, 0x12345678)
            elif how == "data":  # the deflate stream's bytes after its first two, scrambled
                local_name, local_extra = struct.unpack_from("<HH", data, local + 26)
                start = local + 30 + local_name + local_extra
                size = struct.unpack_from("<I", data, at + 20)[0]
                for offset in range(start + 2, start + min(size, 40)):
                    data[offset] ^= 0x5A
        at = data.find(_CENTRAL, at + 4)
    path.write_bytes(bytes(data))
    return path


def _dump_zip(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("private/var/mobile/Library/Preferences/a.plist", b"<plist>" + b"a" * 400 + b"</plist>")
        archive.writestr("private/var/mobile/Library/Preferences/b.plist", b"<plist>" + b"b" * 400 + b"</plist>")
    return path


def _zips(tmp_path: Path) -> dict[str, Path]:
    for folder in ("aqf", "br"):
        (tmp_path / folder).mkdir()
    aqf = AndroidQFBuilder().zip(tmp_path / "aqf" / "aqf.zip")
    bugreport = write_bugreport_zip(tmp_path / "br" / "bugreport.zip", bugreport_members())
    intrusion = write_intrusion_zip(tmp_path / "il" / "Pixel 8_20231115.zip",
                                    {"2023-11-14.txt": ndjson(DAY1), "2023-11-15.txt": ndjson(DAY2)})
    return {"dump": _dump_zip(tmp_path / "dump" / "dump.zip"), "androidqf": aqf, "bugreport": bugreport,
            "intrusion_logs": intrusion}


def _unhashed(record: Any) -> Any:
    return replace(record, locator=replace(record.locator, sha256=""))


def _open(path: Path) -> None:
    work = path.parent.parent / "work"
    work.mkdir(exist_ok=True)
    opened = open_acquisition(path, OpenContext(HashLedger(), Limits(), work, warn=lambda _: None))
    opened.fs.close()


@pytest.mark.parametrize("kind", ["dump", "androidqf", "bugreport", "intrusion_logs"])
def test_a_zip_of_a_version_zipfile_does_not_know_is_named_unreadable(tmp_path: Path, kind: str) -> None:
    path = _patch(_zips(tmp_path)[kind], None, "version")
    before = snapshot(path.parent)
    with pytest.raises(AcquisitionError) as raised:
        _open(path)
    assert str(raised.value).startswith(
        f"{path}: not a readable zip (zip file version 11.7): its kind cannot be recognised (expected one of: ")
    assert snapshot(path.parent) == before


def test_the_cli_says_so_and_exits_1(tmp_path: Path) -> None:
    path = _patch(_zips(tmp_path)["androidqf"], None, "version")
    outcome = run_cli("check", str(path), "-o", str(tmp_path / "out"), "-q")
    assert outcome.code == 1
    assert "not a readable zip (zip file version 11.7): its kind cannot be recognised" in outcome.stderr
    assert "unexpected error" not in outcome.text


@pytest.mark.parametrize(("how", "reason"), [
    ("deflate64", "cannot be read from the zip (compression method 9 (Deflate64) is not supported)"),
    ("encrypted", "cannot be read from the zip (the member is encrypted (a password-protected zip))"),
    ("crc", "damaged or cut short inside its archive (Bad CRC-32 for file "
            "'private/var/mobile/Library/Preferences/a.plist')"),
])
def test_a_member_zipfile_refuses_fails_alone(tmp_path: Path, how: str, reason: str) -> None:
    path = _patch(_dump_zip(tmp_path / "ev" / "dump.zip"), "private/var/mobile/Library/Preferences/a.plist", how)
    work = tmp_path / "work"
    work.mkdir()
    opened = open_acquisition(path, OpenContext(HashLedger(), Limits(), work, warn=lambda _: None))
    try:
        fs = opened.fs
        assert fs.read_bytes("/private/var/mobile/Library/Preferences/b.plist") == b"<plist>" + b"b" * 400 + b"</plist>"
        with pytest.raises(EvidenceError) as raised:
            fs.read_bytes("/private/var/mobile/Library/Preferences/a.plist")
        assert raised.value.reason == reason
    finally:
        opened.fs.close()


@pytest.mark.parametrize(("how", "reason"), [
    ("data", "is damaged (Error -3 while decompressing data: invalid code lengths set); read up to there"),
    ("deflate64", "cannot be read (compression method 9 (Deflate64) is not supported)"),
    ("encrypted", "cannot be read (the member is encrypted (a password-protected zip))"),
])
def test_an_intrusion_log_member_zipfile_refuses_fails_alone(tmp_path: Path, how: str, reason: str) -> None:
    # What the other day's log gives alone (with the first day's, the events both hold are read once).
    alone = write_intrusion_zip(tmp_path / "alone" / "Pixel 8_20231115.zip", {"2023-11-15.txt": ndjson(DAY2)})
    other_day = records(alone, "android_intrusion_logs")
    path = _patch(_zips(tmp_path)["intrusion_logs"], "2023-11-14.txt", how)
    before = snapshot(path.parent)
    result = check(path)
    [report] = [a for a in result.artifacts if a.name == "android_intrusion_logs"]
    assert [error.split(": ", 1)[1] for error in report.errors] == [f"member '2023-11-14.txt' {reason}"]
    # the other day's log, read whole (the zip's hash aside: its bytes changed)
    assert [_unhashed(r) for r in records(path, "android_intrusion_logs")] == [_unhashed(r) for r in other_day]
    assert snapshot(path.parent) == before
