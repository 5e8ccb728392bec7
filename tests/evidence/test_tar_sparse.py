"""A tar's sparse files are read as the files they are once extracted.

``tar --sparse`` stores a file with holes as its data regions and a map of where they lie: in the GNU
format as a header of type ``S`` (four regions in the header, 21 more in each extension block after
it, before the data), in the pax format as a regular member whose pax records say it is sparse
(versions 0.0 and 0.1 carry the map in records, 1.0 at the start of the data; 0.1 and 1.0 store the
member under a made-up name, ``GNUSparseFile.N/…``, and give its own in ``GNU.sparse.name``).

Until 2026-12-07 the header scan did not know the extension blocks: a GNU sparse file of more than
four regions made it read its map as a header ("bad header checksum"), and every member after it was
lost. A pax sparse file was listed under its made-up name, or read as its regions end to end. An
analyst's ``sms.db`` archived so was absent from the check. Now each is listed at its own name with its
real size, and read through tarfile (holes as zeros); the members after it are read.

Sparse archives are written by GNU tar where it is installed, and by hand, header by header, for the
hostile ones (tarfile writes no sparse file).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from preuve.evidence.errors import EvidenceError
from preuve.evidence.formats.tarheaders import scan_tar_headers
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.evidence.sources.tar import TarSource


def _holes(path: Path, regions: int) -> bytes:
    """A file with `regions` data regions of 100 bytes, 64 KiB apart (holes between), and its bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        for n in range(regions):
            out.seek(n * 65536)
            out.write(bytes([65 + n % 26]) * 100)
        out.truncate(regions * 65536)
    return path.read_bytes()


def _gnu_tar() -> None:
    found = shutil.which("tar")
    if found is None or "GNU tar" not in subprocess.run([found, "--version"], capture_output=True, text=True,
                                                         check=False).stdout:
        pytest.skip("no GNU tar")


def _read_all(source: TarSource) -> list[tuple[str, str, int, bytes | None]]:
    out = []
    for ref, member in enumerate(source.members()):
        data = None
        if member.type == "file":
            with source.open_member(ref, member.name, member.name) as stream:
                data = stream.read()
        out.append((member.name, member.type, member.size, data))
    return out


@pytest.mark.parametrize("compress", ["", "gz", "xz"])
@pytest.mark.parametrize("fmt", ["gnu", "posix-0.0", "posix-0.1", "posix-1.0"])
def test_gnu_tar_s_sparse_files_are_read_whole(tmp_path: Path, fmt: str, compress: str) -> None:
    _gnu_tar()
    root = tmp_path / "root"
    many = _holes(root / "private/var/mobile/Library/SMS/sms.db", 12)  # (more than a GNU header's four)
    few = _holes(root / "private/var/few.db", 2)
    (root / "private/var/after.txt").write_bytes(b"the member after")
    path = tmp_path / ("dump.tar" + (f".{compress}" if compress else ""))
    fmt_args = ["--format=gnu"] if fmt == "gnu" else ["--format=posix", f"--sparse-version={fmt.split('-')[1]}"]
    compress_args = {"": [], "gz": ["-z"], "xz": ["-J"]}[compress]
    subprocess.run(["tar", "-C", str(root), "--sparse", *fmt_args, *compress_args, "-cf", str(path),
                    "private/var/mobile/Library/SMS/sms.db", "private/var/few.db", "private/var/after.txt"], check=True)
    source = TarSource(path, DEFAULT_LIMITS)
    try:
        assert _read_all(source) == [
            ("private/var/mobile/Library/SMS/sms.db", "file", len(many), many),
            ("private/var/few.db", "file", len(few), few),
            ("private/var/after.txt", "file", 16, b"the member after"),
        ]
        assert (source.damaged, source.damage, source.notes) == ([], [], [])
    finally:
        source.close()


def _number(value: int, width: int) -> bytes:
    return b"%0*o\0" % (width - 1, value)


def _header(name: str, kind: bytes, size: int, extra: dict[int, bytes] | None = None) -> bytes:
    """A GNU-format header (magic "ustar  "), its checksum made; `extra` sets bytes at their offsets."""
    block = bytearray(512)
    block[0 : len(name)] = name.encode()
    block[100:108] = _number(0o644, 8)
    block[108:116] = _number(0, 8)
    block[116:124] = _number(0, 8)
    block[124:136] = _number(size, 12)
    block[136:148] = _number(1_700_000_000, 12)
    block[156:157] = kind
    block[257:265] = b"ustar  \0"
    for at, value in (extra or {}).items():
        block[at : at + len(value)] = value
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def _padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % 512)


def _regions(pairs: list[tuple[int, int]], at: int) -> dict[int, bytes]:
    return {at + 24 * n: _number(offset, 12) + _number(length, 12) for n, (offset, length) in enumerate(pairs)}


def test_an_old_gnu_sparse_file_with_extension_blocks_made_by_hand(tmp_path: Path) -> None:
    """Six regions: four in the header, two in one extension block; then a member after it."""
    regions = [(n * 1000, 10) for n in range(6)]
    data = b"".join(bytes([48 + n]) * 10 for n in range(6))
    header = _header("a/sparse.db", b"S", len(data), {**_regions(regions[:4], 386), 482: b"\1", 483: _number(5010, 12)})
    extension = bytearray(512)
    for at, value in _regions(regions[4:], 0).items():
        extension[at : at + len(value)] = value
    path = tmp_path / "d.tar"
    path.write_bytes(header + bytes(extension) + _padded(data) + _header("a/after", b"0", 2) + _padded(b"ok") + bytes(1024))
    expected = bytearray(5010)
    for n, (offset, length) in enumerate(regions):
        expected[offset : offset + length] = bytes([48 + n]) * length
    with open(path, "rb") as stream:
        entries = list(scan_tar_headers(stream, str(path), None))
    assert [(e.name, e.type, e.size, e.offset_data, e.sparse_at) for e in entries] == [
        ("a/sparse.db", b"S", 5010, 1024, 0), ("a/after", b"0", 2, 2048, None)
    ]
    source = TarSource(path, DEFAULT_LIMITS)
    try:
        assert _read_all(source) == [("a/sparse.db", "file", 5010, bytes(expected)), ("a/after", "file", 2, b"ok")]
    finally:
        source.close()


def test_extension_blocks_that_never_end_are_damage_not_a_loop(tmp_path: Path) -> None:
    """Every block after the header says another follows, up to the archive's end: the archive is cut
    short there, as the scan says of any member the archive ends inside."""
    path = tmp_path / "d.tar"
    path.write_bytes(_header("a/first", b"0", 1) + _padded(b"1") + _header("a/s", b"S", 10, {482: b"\1"})
                     + (bytes(504) + b"\1" + bytes(7)) * 50)
    source = TarSource(path, DEFAULT_LIMITS)
    try:
        assert [(m.name, m.type) for m in source.members()] == [("a/first", "file")]
        assert source.damaged == ["d.tar: member a/s is cut short: the archive ends inside it (truncated); it and the "
                                  "members after it are not read"]
    finally:
        source.close()


def test_a_sparse_map_past_its_bound_is_refused(tmp_path: Path) -> None:
    """More extension blocks than a MiB of them: the archive is damaged there."""
    path = tmp_path / "d.tar"
    path.write_bytes(_header("a/s", b"S", 10, {482: b"\1"}) + (bytes(504) + b"\1" + bytes(7)) * 2100 + bytes(1024))
    source = TarSource(path, DEFAULT_LIMITS)
    with pytest.raises(EvidenceError, match="sparse map of more than 2048 blocks at offset 0"):
        list(source.members())
    source.close()


def _pax(records: dict[str, str]) -> bytes:
    body = b""
    for key, value in records.items():
        text = f" {key}={value}\n".encode()
        length = len(text) + 1
        while len(str(length)) + len(text) != length:
            length += 1
        body += str(length).encode() + text
    return _header("././@PaxHeader", b"x", len(body)) + _padded(body)


def test_a_pax_1_0_map_past_its_bound_is_refused_when_read(tmp_path: Path) -> None:
    """A map that says it has 10**12 regions, then lists them to the member's end (8 MiB of "1\\n"):
    reading it is refused once tarfile has read the bound of it (4 MiB), not kept in memory. As the
    archive's first member, it is no longer parsed when the tar is opened (a ValueError stopped the run)."""
    data = b"1000000000000\n" + b"1\n" * (4 * 1024 * 1024)
    path = tmp_path / "d.tar"
    pax = _pax({"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "a/huge-map.db",
                "GNU.sparse.realsize": "100"})
    path.write_bytes(pax + _header("a/GNUSparseFile.1/huge-map.db", b"0", len(data)) + _padded(data)
                     + _header("a/after", b"0", 2) + _padded(b"ok") + bytes(1024))
    limits = DEFAULT_LIMITS
    source = TarSource(path, limits)
    try:
        listed = list(source.members())
        assert [(m.name, m.size) for m in listed] == [("a/huge-map.db", 100), ("a/after", 2)]
        with pytest.raises(EvidenceError, match="cannot be read from the tar"):
            source.open_member(0, "a/huge-map.db", "a/huge-map.db").read()
        assert source.open_member(1, "a/after", "a/after").read() == b"ok"
    finally:
        source.close()


def test_a_hard_link_to_a_sparse_file_reads_it(tmp_path: Path) -> None:
    _gnu_tar()
    root = tmp_path / "root"
    data = _holes(root / "a/twin", 7)
    (root / "private/var").mkdir(parents=True)
    (root / "private/var/sms.db").hardlink_to(root / "a/twin")
    path = tmp_path / "dump.tar"
    subprocess.run(["tar", "-C", str(root), "--sparse", "--format=gnu", "-cf", str(path), "a/twin",
                    "private/var/sms.db"], check=True)
    source = TarSource(path, DEFAULT_LIMITS)
    try:
        listed = list(source.members())
        assert [(m.name, m.size) for m in listed if m.type == "file"] == [("a/twin", len(data)), ("private/var/sms.db", -1)]
        ref = [m.name for m in listed].index("private/var/sms.db")
        assert source.open_member(ref, "private/var/sms.db", "x").read() == data
        from preuve.evidence.fs import FileInfo

        assert source.complete(ref, "private/var/sms.db", FileInfo("/private/var/sms.db", -1, 1.0, 0o644)).size == len(data)
    finally:
        source.close()


def test_a_sparse_file_is_not_copied_out_as_its_stored_bytes(tmp_path: Path) -> None:
    """A bzip2 or xz tar copies the members a run reads to its private folder, by name: a sparse file is
    not among them (its stored bytes are not its data), and is read by its place, whole."""
    _gnu_tar()
    root = tmp_path / "root"
    data = _holes(root / "private/var/s.db", 6)
    path = tmp_path / "dump.tar.xz"
    subprocess.run(["tar", "-C", str(root), "--sparse", "-J", "-cf", str(path), "private/var/s.db"], check=True)
    source = TarSource(path, DEFAULT_LIMITS)
    try:
        listed = list(source.members())
        folder = tmp_path / "private"
        folder.mkdir()
        source.prefetch(["private/var/s.db"], folder)
        assert source.local_member(0, "private/var/s.db") is None
        assert source.open_member(0, listed[0].name, "s").read() == data
    finally:
        source.close()


def test_tarfile_agrees_on_the_hand_made_sparse_file(tmp_path: Path) -> None:
    """The reference: tarfile itself reads the hand-made GNU sparse file to the same bytes."""
    regions = [(0, 5), (100, 5)]
    header = _header("s", b"S", 10, {**_regions(regions, 386), 483: _number(200, 12)})
    path = tmp_path / "d.tar"
    path.write_bytes(header + _padded(b"abcdeVWXYZ") + bytes(1024))
    with tarfile.open(path) as tf:
        reference = tf.extractfile("s").read()  # type: ignore[union-attr]
    source = TarSource(path, DEFAULT_LIMITS)
    try:
        assert _read_all(source) == [("s", "file", 200, reference)]
        assert reference == b"abcde" + bytes(95) + b"VWXYZ" + bytes(95)
    finally:
        source.close()


def _check(evidence: Path, feed: Path, out: Path) -> tuple[int, list[tuple[str, str, str]], str]:
    from click.testing import CliRunner

    from preuve.cli import build_cli

    result = CliRunner().invoke(build_cli(), ["check", str(evidence), "--iocs", str(feed), "-o", str(out), "-q"])
    if not (out / "findings.json").is_file():
        return result.exit_code, [], result.output
    findings = json.loads((out / "findings.json").read_text())["findings"]
    return result.exit_code, sorted((f["artifact"], f["id"], f["record_sha256"]) for f in findings), result.output


def test_a_dump_archived_with_sparse_files_is_checked_as_its_folder(tmp_path: Path, pegasus_feed: Path) -> None:
    """A phone's dump whose databases have holes (a file grown past its data), archived by ``tar
    --sparse``: the run finds what it finds in the dump's folder."""
    _gnu_tar()
    from preuve.builders.demo import build_demo_backup
    from tests.builders import snapshot
    from tests.builders.ios_dump import backup_files, write_dump

    folder = write_dump(backup_files(build_demo_backup(tmp_path / "backup")), tmp_path / "dump", fmt="folder")
    grown = [path for path in folder.rglob("*") if path.suffix in (".db", ".sqlite")]
    assert len(grown) >= 3
    for path in grown:
        os.truncate(path, path.stat().st_size + (1 << 20))  # (a hole: GNU tar stores the file sparse)
    archive = tmp_path / "archive" / "dump.tar"
    archive.parent.mkdir()
    subprocess.run(["tar", "-C", str(folder), "--sparse", "-cf", str(archive), "."], check=True)
    with open(archive, "rb") as stream:
        assert sum(entry.type == b"S" for entry in scan_tar_headers(stream, "t", None)) == len(grown)
    before = snapshot(archive.parent)
    code, found, _ = _check(folder, pegasus_feed, tmp_path / "out-folder")
    archived = _check(archive, pegasus_feed, tmp_path / "out-archive")
    # (the file listing's records hold each file's time: the folder's to the nanosecond, the tar's to the second)
    databases = [f for f in found if f[0] != "filesystem"]
    assert databases and archived[0] == code and [f for f in archived[1] if f[0] != "filesystem"] == databases
    assert snapshot(archive.parent) == before


def test_a_tar_whose_first_member_is_a_hostile_sparse_file_is_checked(tmp_path: Path, pegasus_feed: Path) -> None:
    """Opening the tar parsed its first member with tarfile, which raised a ValueError on this map: the
    run stopped with "unexpected error". Now the member is listed, and what follows it is read."""
    data = b"1000000000000\n" + b"1\n" * 1000
    pax = _pax({"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "a/huge-map.db",
                "GNU.sparse.realsize": "100"})
    path = tmp_path / "dump" / "d.tar"
    path.parent.mkdir()
    path.write_bytes(pax + _header("a/GNUSparseFile.1/huge-map.db", b"0", len(data)) + _padded(data)
                     + _header("private/var/mobile/Library/Preferences/x.plist", b"0", 2) + _padded(b"ok")
                     + bytes(1024))
    code, found, output = _check(path, pegasus_feed, tmp_path / "out")
    assert code == 3 and found == [] and "unexpected error" not in output, output
