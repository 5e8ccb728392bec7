"""One bad member never costs the others: a decompression bomb or a damaged stream after genuine
members is reported by name, the genuine files are read and their findings kept, and the run is
incomplete (exit 2 or 3), not fatal. Through `preuve check` on every archive kind that holds members:
an iOS dump as zip, tar and tar.gz, an AndroidQF zip, and an Android bugreport zip."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.ios_dbs import Message, fill_sms
from tests.builders import feed
from tests.builders.android import AndroidQFBuilder, bugreport_members
from tests.builders.ios_dump import backup_files
from tests.hostile.harness import check_hostile

SPY = "spy-domain.example"
BOMB = 64 * 1024 * 1024  # zeros: compress about a thousand times, beyond the ratio bound of 200


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def _dump_files(tmp_path: Path) -> list[tuple[str, bytes]]:
    builder = BackupBuilder(tmp_path / "backup")
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db",
                       lambda c: fill_sms(c, [Message(text=f"https://{SPY}/x", handle="+4179")]))
    return backup_files(builder.finish())


def _zip_with_bomb(path: Path, members: list[tuple[str, bytes]], bomb: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, (2023, 6, 1, 12, 0, 0))
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
        with archive.open(bomb, "w", force_zip64=True) as member:
            chunk = bytes(1024 * 1024)
            for _ in range(BOMB // len(chunk)):
                member.write(chunk)
    return path


def _tar(path: Path, members: list[tuple[str, bytes]], mode: str, bomb: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode) as archive:  # type: ignore[call-overload]
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1685620800, 0o644
            archive.addfile(info, io.BytesIO(data))
        if bomb is not None:
            info = tarfile.TarInfo(bomb)
            info.size, info.mtime = BOMB, 1685620800
            archive.addfile(info, io.BufferedReader(_Zeros(BOMB)))
    return path


def _spy_feed(tmp_path: Path) -> Path:
    return feed(tmp_path / "iocs" / "spy.stix2", (f"[domain-name:value='{SPY}']", "Spy"))


def _run(tmp_path: Path, evidence: Path, *args: str) -> tuple[int, dict, str]:
    out = tmp_path / "out"
    outcome = check_hostile(evidence, out, "-q", *args)
    run = json.loads((out / "run.json").read_text())
    [members] = [a for a in run["artifacts"] if a["name"] == "archive_members"]
    assert members["status"] == "failed"
    return outcome.code, run, " | ".join(members["errors"])


def _spy_found(tmp_path: Path) -> bool:
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())["findings"]
    return any(f["indicator"] and f["indicator"]["malware"] == "Spy" for f in findings)


def test_ios_dump_tar_gz_bomb_after_genuine_files(tmp_path: Path) -> None:
    files = [(name, data) for name, data in _dump_files(tmp_path)]
    archive = _tar(tmp_path / "ev" / "dump.tar.gz", files, "w:gz", bomb="private/var/mobile/zzz/zeros.bin")
    code, _, errors = _run(tmp_path, archive, "--iocs", str(_spy_feed(tmp_path)))
    assert code == 2  # the genuine sms.db is read: its trace is reported
    assert _spy_found(tmp_path)
    assert errors == (f"dump.tar.gz: member private/var/mobile/zzz/zeros.bin ({BOMB} bytes) expands beyond the "
                      "decompression ratio bound (archive bomb?); it and the members after it are not read")


def test_ios_dump_tar_damaged_after_genuine_files(tmp_path: Path) -> None:
    files = _dump_files(tmp_path)
    archive = _tar(tmp_path / "ev" / "dump.tar", files, "w")
    with tarfile.open(archive) as reader:
        last = reader.getmembers()[-1]
    end = last.offset_data + (last.size + 511) // 512 * 512  # where the zero blocks that end a tar begin
    data = bytearray(archive.read_bytes())
    tail = bytearray(512)
    tail[0:5] = b"later"
    tail[148:156] = b"0000000\0"  # a header whose checksum is wrong
    data[end:end + 512] = tail
    archive.write_bytes(bytes(data))
    code, _, errors = _run(tmp_path, archive, "--iocs", str(_spy_feed(tmp_path)))
    assert code == 2 and _spy_found(tmp_path)
    assert errors == (f"dump.tar: damaged tar: bad header checksum at offset {end}; it and the members after it "
                      "are not read")


def test_ios_dump_zip_bomb_member(tmp_path: Path) -> None:
    archive = _zip_with_bomb(tmp_path / "ev" / "dump.zip", _dump_files(tmp_path), "private/var/mobile/zeros.bin")
    code, _, errors = _run(tmp_path, archive, "--iocs", str(_spy_feed(tmp_path)))
    assert code == 2 and _spy_found(tmp_path)
    assert errors.startswith(f"dump.zip: member private/var/mobile/zeros.bin: declares {BOMB} bytes from ")
    assert errors.endswith("(a ratio above 200: decompression bomb?); not read")


def test_androidqf_zip_bomb_member(tmp_path: Path) -> None:
    members = list(AndroidQFBuilder().members().items())
    archive = _zip_with_bomb(tmp_path / "ev" / "qf.zip", members, "logs/zeros.bin")
    code, run, errors = _run(tmp_path, archive)
    assert code == 3  # nothing high: incomplete
    assert {a["name"]: a["status"] for a in run["artifacts"]}["android_getprop"] == "ok"
    assert errors.startswith(f"qf.zip: member logs/zeros.bin: declares {BOMB} bytes from ")


def test_bugreport_zip_bomb_member(tmp_path: Path) -> None:
    members = list(bugreport_members({"ro.product.model": "Pixel 4a"}, "").items())
    archive = _zip_with_bomb(tmp_path / "ev" / "bugreport-sunfish.zip", members, "FS/data/zeros.bin")
    code, run, errors = _run(tmp_path, archive)
    assert code == 3
    assert {a["name"]: a["status"] for a in run["artifacts"]}["android_dumpstate"] == "ok"
    assert errors.startswith(f"bugreport-sunfish.zip: member FS/data/zeros.bin: declares {BOMB} bytes from ")


def test_ios_dump_tar_cut_inside_its_last_member(tmp_path: Path) -> None:
    """An interrupted copy: the archive stops inside its last member. What comes before is read; the cut
    member is named as truncated, and reading it fails alone."""
    files = [*_dump_files(tmp_path), ("private/var/mobile/Library/last.bin", bytes(range(256)) * 64)]
    archive = _tar(tmp_path / "ev" / "dump.tar", files, "w")
    with tarfile.open(archive) as reader:
        last = reader.getmembers()[-1]
    archive.write_bytes(archive.read_bytes()[: last.offset_data + 1000])
    code, _, errors = _run(tmp_path, archive, "--iocs", str(_spy_feed(tmp_path)))
    assert code == 2 and _spy_found(tmp_path)
    assert errors == ("dump.tar: member private/var/mobile/Library/last.bin is cut short (16384 bytes declared, "
                      "1000 present): the archive is truncated")


def test_ios_dump_tar_gz_cut_short(tmp_path: Path) -> None:
    files = [*_dump_files(tmp_path), ("private/var/mobile/Library/last.bin", _noise(300_000))]
    archive = _tar(tmp_path / "ev" / "dump.tar.gz", files, "w:gz")
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) - 100_000])
    code, _, errors = _run(tmp_path, archive, "--iocs", str(_spy_feed(tmp_path)))
    assert code == 2 and _spy_found(tmp_path)
    assert errors == ("dump.tar.gz: member private/var/mobile/Library/last.bin is cut short: the archive ends inside "
                      "it (truncated); it and the members after it are not read")


def _noise(size: int) -> bytes:
    import hashlib

    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


def test_ios_dump_zip_member_with_damaged_bytes(tmp_path: Path) -> None:
    """A member whose bytes do not match its CRC fails alone (its artifact says why); the other members'
    records and findings are kept."""
    from preuve.builders.ios_dbs import Process, fill_datausage

    builder = BackupBuilder(tmp_path / "backup")
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db",
                       lambda c: fill_sms(c, [Message(text=f"https://{SPY}/x", handle="+4179")]))
    builder.add_sqlite("WirelessDomain", "Library/Databases/DataUsage.sqlite",
                       lambda c: fill_datausage(c, [Process(1, "apsd", None)]))
    files = backup_files(builder.finish())
    archive = tmp_path / "ev" / "dump.zip"
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w") as writer:
        for name, data in files:
            writer.writestr(zipfile.ZipInfo(name, (2023, 6, 1, 12, 0, 0)), data, compress_type=zipfile.ZIP_STORED)
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as reader:
        info = reader.getinfo("private/var/wireless/Library/Databases/DataUsage.sqlite")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + 5000] ^= 0xFF
    archive.write_bytes(bytes(data))
    out = tmp_path / "out"
    outcome = check_hostile(archive, out, "-q", "--iocs", str(_spy_feed(tmp_path)))
    assert outcome.code == 2, outcome.text
    assert _spy_found(tmp_path)
    run = json.loads((out / "run.json").read_text())
    [usage] = [a for a in run["artifacts"] if a["name"] == "datausage"]
    assert usage["status"] == "failed"
    assert usage["errors"] == [
        "/private/var/wireless/Library/Databases/DataUsage.sqlite: damaged or cut short inside its archive "
        "(Bad CRC-32 for file 'private/var/wireless/Library/Databases/DataUsage.sqlite')"
    ]
