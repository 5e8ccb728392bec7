"""A tar's hard links are read as the files they are once the archive is extracted.

A tar stores a file with several names once, and each later name as a hard link: a header of type
``1`` naming the member whose data it shares. GNU tar and Python's tarfile do so for any file whose
inode they have archived already. Until 2026-12-07 preuve listed such a member as a link and never
read it: a phone's file system archived so, whose ``sms.db`` was a second name of a file archived
first elsewhere, was checked without its messages ("Partial acquisition: nothing found"). Now a hard
link is listed as a file and reads the data of the member it names: the first of that name before it
in the archive, a regular file or a hard link read so in turn, as extracting the archive links it,
found in the listing's own pass. One that names no such file is listed and said to be unreadable.

Archives are written with tarfile (by hand, header by header) and, where it is installed, GNU tar on
real hard links; the acquisition with the tests' own dump builder.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from preuve.builders.demo import build_demo_backup
from preuve.cli import build_cli
from preuve.evidence.errors import EvidenceError
from preuve.evidence.formats.tarheaders import scan_tar_headers
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.evidence.sources.tar import TarSource
from tests.builders import snapshot
from tests.builders.ios_dump import backup_files, write_dump
from tests.evidence.test_tar_split import split_scans_recorded

LONG_TARGET = "private/var/" + "y" * 120  # a link name past the header's 100 bytes
LINK = tarfile.LNKTYPE

# (name, what: bytes for a regular file, None for a folder, or (LINK, link name)), in the archive's order.
MEMBERS: list[tuple[str, object]] = [
    ("private/var", None),
    ("private/var/a.db", b"the database"),
    ("private/var/dup", b"first"),
    ("private/var/dup", b"second"),
    (LONG_TARGET, b"long"),
    ("private/var/mobile/Library/SMS/sms.db", (LINK, "private/var/a.db")),
    ("private/var/chain", (LINK, "private/var/mobile/Library/SMS/sms.db")),  # a link to a link
    ("private/var/to_dup", (LINK, "private/var/dup")),  # the first of a name, as the mount reads it
    ("private/var/to_long", (LINK, LONG_TARGET)),
    ("private/var/./dotted", (LINK, "./private/var//a.db")),  # names the policy normalises
    ("private/var/later", (LINK, "private/var/z")),  # a member after it: nothing
    ("private/var/self", (LINK, "private/var/self")),
    ("private/var/out", (LINK, "../../etc/passwd")),  # refused
    ("private/var/empty", (LINK, "")),
    ("private/var/to_folder", (LINK, "private/var")),
    ("private/var/z", b"zed"),
]

# What the listing gives: (name, type, size as listed), and what each file reads by its place.
LISTED = [
    ("private/var", "dir", 0, None),
    ("private/var/a.db", "file", 12, b"the database"),
    ("private/var/dup", "file", 5, b"first"),
    ("private/var/dup", "file", 6, b"second"),
    (LONG_TARGET, "file", 4, b"long"),
    ("private/var/mobile/Library/SMS/sms.db", "file", -1, b"the database"),
    ("private/var/chain", "file", -1, b"the database"),
    ("private/var/to_dup", "file", -1, b"first"),
    ("private/var/to_long", "file", -1, b"long"),
    ("private/var/dotted", "file", -1, b"the database"),
    ("private/var/later", "file", -1, None),
    ("private/var/self", "link", 0, None),
    ("private/var/out", "link", 0, None),
    ("private/var/empty", "link", 0, None),
    ("private/var/to_folder", "file", -1, None),
    ("private/var/z", "file", 3, b"zed"),
]
UNREAD = [
    "{tar}: member private/var/later is a hard link to private/var/z, which is no file the archive holds before "
    "it: not read",
    "{tar}: member private/var/to_folder is a hard link to private/var, which is no file the archive holds before "
    "it: not read",
]
ODD = "{tar}: 3 hard link(s) name no member but themselves or a name refused: listed as links, not read"


def write_tar(path: Path, members: list[tuple[str, object]], fmt: int, mode: str = "w") -> Path:
    """A tar of these members, in order: bytes for a file, None for a folder, (type flag, link name)
    for a hard or symbolic link."""
    with tarfile.open(path, mode, format=fmt) as tf:  # type: ignore[call-overload]
        for name, what in members:
            info = tarfile.TarInfo(name)
            info.mtime = 1_700_000_000
            if isinstance(what, bytes):
                info.size = len(what)
                tf.addfile(info, io.BytesIO(what))
            elif what is None:
                info.type = tarfile.DIRTYPE
                tf.addfile(info)
            else:
                info.type, info.linkname = what  # type: ignore[misc]
                tf.addfile(info)
    return path


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_the_header_scan_gives_each_hard_link_s_link_name(tmp_path: Path, fmt: int) -> None:
    """The header's own link name, a GNU long link name (a ``K`` header) or a pax ``linkpath``, as stored."""
    path = write_tar(tmp_path / "d.tar", MEMBERS, fmt)
    with open(path, "rb") as stream:
        entries = list(scan_tar_headers(stream, str(path), None))
    assert [(e.name, e.type, e.link) for e in entries] == [
        (name + "/" if what is None else name,  # (tarfile ends a folder's name with "/")
         LINK if isinstance(what, tuple) else tarfile.DIRTYPE if what is None else tarfile.REGTYPE,
         what[1] if isinstance(what, tuple) else None)
        for name, what in MEMBERS
    ]


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_a_hard_link_reads_the_file_it_names(tmp_path: Path, fmt: int, mode: str) -> None:
    path = write_tar(tmp_path / "d.tar", MEMBERS, fmt, mode)
    source = TarSource(path, DEFAULT_LIMITS)
    try:
        listed = list(source.members())
        assert [(m.name, m.type, m.size) for m in listed] == [row[:3] for row in LISTED]
        for ref, (member, (_, _, _, data)) in enumerate(zip(listed, LISTED, strict=True)):
            if member.type != "file":
                continue
            if data is None:
                with pytest.raises(EvidenceError, match="hard link to no file the archive holds before it"):
                    source.open_member(ref, member.name, member.name)
            else:
                with source.open_member(ref, member.name, member.name) as stream:
                    assert stream.read() == data, member.name
        # By its name (a nested acquisition's file, a compressed stream's prefetch): the same bytes.
        for name in ("private/var/mobile/Library/SMS/sms.db", "private/var/chain", "private/var/to_dup",
                     "private/var/to_long", "private/var/dotted"):
            expected = next(row[3] for row in LISTED if row[0] == name)
            with source.open(name, name) as stream:
                assert stream.read() == expected, name
        with pytest.raises(EvidenceError, match="not a regular file"):
            source.open("private/var/later", "later")
        assert source.damaged == [line.format(tar=path.name) for line in UNREAD]
        assert source.notes == [ODD.format(tar=path.name)]
    finally:
        source.close()


def test_a_hard_link_s_size_is_that_of_the_file_it_names(tmp_path: Path) -> None:
    """The mount asks a hard link's size when wanted (listed -1): the file it names, or an unreadable entry."""
    from preuve.evidence.fs import FileInfo

    path = write_tar(tmp_path / "d.tar", MEMBERS, tarfile.PAX_FORMAT)
    source = TarSource(path, DEFAULT_LIMITS)
    try:
        listed = list(source.members())
        done = {m.name: source.complete(ref, m.name, FileInfo("/" + m.name, -1, 1.0, 0o644))
                for ref, m in enumerate(listed) if m.size == -1}
        assert done == {
            "private/var/mobile/Library/SMS/sms.db": FileInfo("/private/var/mobile/Library/SMS/sms.db", 12, 1.0, 0o644),
            "private/var/chain": FileInfo("/private/var/chain", 12, 1.0, 0o644),
            "private/var/to_dup": FileInfo("/private/var/to_dup", 5, 1.0, 0o644),
            "private/var/to_long": FileInfo("/private/var/to_long", 4, 1.0, 0o644),
            "private/var/dotted": FileInfo("/private/var/dotted", 12, 1.0, 0o644),
            "private/var/later": FileInfo("/private/var/later", 0, 1.0, 0o644, is_link=True),
            "private/var/to_folder": FileInfo("/private/var/to_folder", 0, 1.0, 0o644, is_link=True),
        }
        info = FileInfo("/private/var/z", 3, 1.0, 0o644)
        assert source.complete(len(listed) - 1, "private/var/z", info) is info  # not a link: as listed
    finally:
        source.close()


def test_many_hard_links_to_nothing_are_counted_past_twenty(tmp_path: Path) -> None:
    members: list[tuple[str, object]] = [(f"l{n:02}", (LINK, f"missing{n}")) for n in range(25)]
    source = TarSource(write_tar(tmp_path / "d.tar", members, tarfile.GNU_FORMAT), DEFAULT_LIMITS)
    try:
        assert [m.type for m in source.members()] == ["file"] * 25
        assert source.damaged == [
            *(f"d.tar: member l{n:02} is a hard link to missing{n}, which is no file the archive holds before it: "
              "not read" for n in range(20)),
            "d.tar: 5 more hard link(s) to no file the archive holds before them: not read",
        ]
    finally:
        source.close()


def test_a_tar_listed_in_halves_resolves_its_links_as_one_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A big plain tar is scanned in two halves by two processes: links in the second half, to files in
    the first, are listed and read as with one scan."""
    members: list[tuple[str, object]] = []
    for n in range(300):
        members.append((f"private/var/f{n:03}/data-{'x' * 80}", bytes([n % 251]) * (1000 + n)))
        if n >= 150:
            members.append((f"private/var/g{n:03}/link-{'y' * 90}", (LINK, f"private/var/f{n - 150:03}/data-{'x' * 80}")))
    path = write_tar(tmp_path / "dump.tar", members, tarfile.PAX_FORMAT)
    made = split_scans_recorded(monkeypatch, path.stat().st_size // 2)
    read = []
    for jobs in (1, 2):
        with tempfile.TemporaryDirectory() as work:
            tar = TarSource(path, DEFAULT_LIMITS, jobs=jobs, workdir=Path(work))
            try:
                listed = list(tar.members())
                read.append((listed, [tar.open_member(ref, m.name, m.name).read() for ref, m in enumerate(listed)],
                             tar.damaged, tar.notes))
            finally:
                tar.close()
    assert len(made) == 1 and made[0].split
    assert read[1] == read[0]
    listed, data, damaged, notes = read[0]
    assert len(listed) == 450 and damaged == [] and notes == []
    assert data[151::2] == [bytes([n % 251]) * (1000 + n) for n in range(150)]  # each link, the file it names


@pytest.mark.skipif(shutil.which("tar") is None, reason="no tar program")
@pytest.mark.parametrize("fmt", ["gnu", "posix"])
def test_gnu_tar_s_hard_links_on_a_real_file_system(tmp_path: Path, fmt: str) -> None:
    version = subprocess.run(["tar", "--version"], capture_output=True, text=True, check=False).stdout
    if "GNU tar" not in version:
        pytest.skip("not GNU tar")
    root = tmp_path / "root"
    first = root / "a_first" / ("twin-" + "t" * 110)
    first.parent.mkdir(parents=True)
    first.write_bytes(b"shared bytes")
    (root / "private" / "var" / "mobile").mkdir(parents=True)
    os.link(first, root / "private" / "var" / "mobile" / "sms.db")
    path = tmp_path / "dump.tar"
    subprocess.run(["tar", "-C", str(root), "--sort=name", f"--format={fmt}", "-cf", str(path), "."], check=True)
    source = TarSource(path, DEFAULT_LIMITS)
    try:
        listed = [(ref, m) for ref, m in enumerate(source.members()) if m.type == "file"]
        assert [(m.name, m.size) for _, m in listed] == [
            ("a_first/twin-" + "t" * 110, 12), ("private/var/mobile/sms.db", -1)
        ]
        ref, member = listed[1]
        assert source.open_member(ref, member.name, member.name).read() == b"shared bytes"
        assert source.damaged == [] and source.notes == []
    finally:
        source.close()


def _check(evidence: Path, feed: Path, out: Path) -> tuple[int, list[tuple[str, str, str, str]]]:
    result = CliRunner().invoke(build_cli(), ["check", str(evidence), "--iocs", str(feed), "-o", str(out), "-q"])
    findings = json.loads((out / "findings.json").read_text())["findings"]
    return result.exit_code, sorted((f["artifact"], f["id"], f["record_sha256"], json.dumps(f["locator"], sort_keys=True))
                                    for f in findings)


def test_a_dump_whose_databases_are_hard_links_is_checked_whole(tmp_path: Path, pegasus_feed: Path) -> None:
    """Every database of a phone's dump archived as a second name of a file archived first: the run
    finds what it finds in the dump with each database in its place, and verify confirms it."""
    files = backup_files(build_demo_backup(tmp_path / "backup"))
    plain = write_dump(files, tmp_path / "plain" / "dump.tar", fmt="tar")
    linked = tmp_path / "linked" / "dump.tar"
    linked.parent.mkdir()
    with tarfile.open(linked, "w") as tf:
        databases = [(n, (name, data)) for n, (name, data) in enumerate(files) if name.endswith((".db", ".sqlite"))]
        assert len(databases) >= 3
        for n, (_, data) in databases:  # each database's bytes first, under a name of no meaning
            info = tarfile.TarInfo(f"private/var/tmp/twin{n}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        twins = {name: f"private/var/tmp/twin{n}" for n, (name, _) in databases}
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.mtime, info.mode = 1685620800, 0o644  # (as the dump builder writes them)
            if name in twins:
                info.type, info.linkname = LINK, twins[name]
                tf.addfile(info)
            else:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    before = snapshot(linked.parent)
    code, found = _check(plain, pegasus_feed, tmp_path / "out-plain")
    linked_code, linked_found = _check(linked, pegasus_feed, tmp_path / "out-linked")
    assert found and (linked_code, linked_found) == (code, found)
    result = CliRunner().invoke(build_cli(), ["verify", str(tmp_path / "out-linked" / "bundle.json"), str(linked)])
    assert result.exit_code == 0, result.output
    assert snapshot(linked.parent) == before
