"""The listing of a filesystem dump, a check of the dump kind (evidence/ios_listing.py).

Its records (one per entry, its path once, in its locator), where it runs (once, at ``/``, on an
acquisition whose listing is the device's file tree; never on a backup or a sysdiagnose), and the
``locate`` hook of AcquisitionCheck that places it there.
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import tarfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from hypothesis import given
from hypothesis import strategies as st

from preuve.artifacts.base import ArtifactContext, kind_check_artifact
from preuve.builders.demo import build_demo_backup
from preuve.evidence.acquisition import AcquisitionCheck, OpenContext, Opened, kind_named, open_acquisition
from preuve.evidence.fs import DeviceFS
from preuve.evidence.ios_listing import FileEntry, FileListing
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.model import Kind, Locator, Observable, Record
from preuve.report.outdir import check_into_folder
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from tests.builders import check, feed, records, snapshot
from tests.builders.ios_dump import write_dump

IMPLANT = "/private/var/db/com.apple.xpc.roleaccountd.staging/roleaccountd"
T1 = 1685600000


def _dump(tmp_path: Path) -> Path:
    root = tmp_path / "dump"
    target = root / "private" / "var" / "tmp" / "implant.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"12345")
    os.utime(target, (1_700_000_000.25, 1_700_000_000.25))
    return root


def test_an_entry_names_its_path_once_in_its_locator(tmp_path: Path) -> None:
    root = _dump(tmp_path)
    before = snapshot(root)
    out = tmp_path / "out"
    check_into_folder(root, CheckOptions(only_artifacts=("filesystem",)), out)
    lines = [json.loads(line) for line in (out / "artifacts" / "filesystem.jsonl").read_text().splitlines()]
    entry = next(line for line in lines if line["locator"]["device_path"] == "/private/var/tmp/implant.bin")
    assert entry == {
        "record_type": "ios:filesystem:entry",
        "locator": {"device_path": "/private/var/tmp/implant.bin", "sha256": "", "table": None, "rowid": None,
                    "key_path": "listing", "line": None, "offset": None},
        "entry_type": "file",
        "size": 5,
        "modified": "2023-11-14T22:13:20.250000Z",
    }
    assert snapshot(root) == before


def test_the_path_is_still_the_entry_s_path_and_observable(tmp_path: Path) -> None:
    found = [r for r in records(_dump(tmp_path), "filesystem") if r.path.endswith("implant.bin")]
    assert len(found) == 1 and isinstance(found[0], FileEntry)
    assert found[0].path == "/private/var/tmp/implant.bin"
    assert [(o.kind, o.value) for o in found[0].observables()] == [
        (Kind.FILE_PATH, "/private/var/tmp/implant.bin"), (Kind.PROCESS, "implant.bin")
    ]
    assert found[0].summary() == "file /private/var/tmp/implant.bin (5 bytes)"
    assert "path" not in found[0].fields()


def test_filesystem_on_a_dump(tmp_path: Path) -> None:
    files = [
        ("private/var/mobile/Library/x.db", b"x"),
        ("private/var/db/com.apple.xpc.roleaccountd.staging/roleaccountd", b"implant"),
        ("private/var/tmp/fservernetd", b"y"),
        ("private/var/mobile/Media/fservernetd", b"outside the system data folders"),
        ("private/var/mobile/Library/Caches/com.apple.xpc.roleaccountd.staging/cache.db", b"z"),
        ("private/var/mobile/Library/fservernetd.plist", b"a name that only contains it"),
    ]
    dump = write_dump(files, tmp_path / "ev" / "dump.tar", "tar", top="fs", mtime=T1)
    stix = feed(tmp_path / "iocs.stix2", ("[file:path = '" + IMPLANT + "']", "Pegasus"),
                ("[process:name = 'fservernetd']", "Pegasus"),
                ("[process:name = 'com.apple.xpc.roleaccountd.staging']", "Pegasus"))
    result = check(dump, stix, only=("filesystem",))
    got = records(dump, "filesystem")
    assert all(isinstance(r, FileEntry) for r in got)
    entries = [(r.path, r.entry_type, r.size) for r in got]
    assert len(entries) == 16
    assert entries[-3:] == [
        ("/private/var/mobile/Media/fservernetd", "file", 31),
        ("/private/var/tmp", "dir", 0),
        ("/private/var/tmp/fservernetd", "file", 1),
    ]
    assert got[-1].modified == datetime.fromtimestamp(T1, UTC)
    # MVT compares every component of every path with process names: each is an entry of its own here.
    assert sorted((f.observable.kind.value, f.locator.device_path) for f in result.findings) == [  # type: ignore[union-attr]
        ("file_path", IMPLANT),
        ("process", "/private/var/db/com.apple.xpc.roleaccountd.staging"),
        ("process", "/private/var/mobile/Library/Caches/com.apple.xpc.roleaccountd.staging"),
        ("process", "/private/var/mobile/Media/fservernetd"),
        ("process", "/private/var/tmp/fservernetd"),
    ]


# -- the check over a small dump tree, and where it runs ---------------------------------------------

def _tar_dump(path: Path) -> Path:
    """A tar dump as imaging tools write one: the device tree under a top folder, a folder member with
    its own time, a symbolic link, a file without a time, and a file of the acquisition outside the
    device tree."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as archive:
        def add(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, mtime: int = 1_700_000_000,
                link: str = "") -> None:
            member = tarfile.TarInfo(name)
            member.type, member.mtime, member.linkname = kind, mtime, link
            member.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            member.size = len(data) if kind == tarfile.REGTYPE else 0
            archive.addfile(member, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        add("fs/private/var/tmp", kind=tarfile.DIRTYPE, mtime=1_690_000_000)
        add("fs/private/var/tmp/implant.bin", b"12345")
        add("fs/private/var/tmp/latest", kind=tarfile.SYMTYPE, link="implant.bin", mtime=1_700_000_100)
        add("fs/private/var/mobile/Library/x.db", b"x", mtime=0)
        add("fs/.acquisition-notes.txt", b"a device file whose name begins like the acquisition's folder")
        add("notes.txt", b"acquired by hand")
    return path


def _open(path: Path, tmp_path: Path) -> Opened:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return open_acquisition(path, OpenContext(ledger=HashLedger(), limits=DEFAULT_LIMITS, workdir=work))


def _entry(path: str, entry_type: str, size: int, modified: datetime | None) -> FileEntry:
    return FileEntry(locator=Locator(path, "", key_path="listing"), entry_type=entry_type, size=size,
                     modified=modified)


def test_the_check_lists_every_entry_of_the_device_tree(tmp_path: Path) -> None:
    dump = _tar_dump(tmp_path / "ev" / "dump.tar")
    before = snapshot(tmp_path / "ev")
    opened = _open(dump, tmp_path)
    warnings: list[str] = []
    check = FileListing()
    assert check.locate(opened.fs) == ["/"]
    got = list(check.records(opened.fs, "/", warnings.append))
    # Folders the archive only implies have no time; a time of 0 is no time; the acquisition's own
    # file (under /.acquisition/) is not of the device, a device file named alike is.
    assert got == [
        _entry("/.acquisition-notes.txt", "file", 61, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        _entry("/private", "dir", 0, None),
        _entry("/private/var", "dir", 0, None),
        _entry("/private/var/mobile", "dir", 0, None),
        _entry("/private/var/mobile/Library", "dir", 0, None),
        _entry("/private/var/mobile/Library/x.db", "file", 1, None),
        _entry("/private/var/tmp", "dir", 0, datetime(2023, 7, 22, 4, 26, 40, tzinfo=UTC)),
        _entry("/private/var/tmp/implant.bin", "file", 5, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        _entry("/private/var/tmp/latest", "link", 0, datetime(2023, 11, 14, 22, 15, tzinfo=UTC)),
    ]
    assert warnings == []
    assert [(o.kind, o.value) for o in got[-1].observables()] == [
        (Kind.FILE_PATH, "/private/var/tmp/latest"), (Kind.PROCESS, "latest")
    ]
    assert [(t.when, t.description) for t in got[-1].timestamps()] == [
        (datetime(2023, 11, 14, 22, 15, tzinfo=UTC), "File modified")
    ]
    assert list(got[1].timestamps()) == []  # /private, a folder the archive implies
    assert snapshot(tmp_path / "ev") == before


def test_the_dump_kind_owns_the_check_and_the_run_reads_it_once_at_the_listing(tmp_path: Path) -> None:
    dump = _tar_dump(tmp_path / "ev" / "dump.tar")
    ios_dump = kind_named("ios_dump")
    assert ios_dump is not None and ios_dump.checks == (FileListing,)
    result = run_check(dump, CheckOptions(only_artifacts=("filesystem",)))
    [report] = result.artifacts
    assert (report.name, report.title, str(report.status), report.files, report.records, report.errors) == (
        "filesystem", "Files of the filesystem dump", "ok", ["/"], 9, []
    )


def test_the_check_does_not_run_on_a_backup(tmp_path: Path) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    opened = _open(backup, tmp_path)
    assert opened.kind == "ios_backup" and not opened.fs.whole_filesystem
    assert FileListing().locate(opened.fs) == []
    assert list(FileListing().records(opened.fs, "/", lambda m: None)) == []  # nor lists a backup if asked
    result = run_check(backup, CheckOptions(only_artifacts=("filesystem",)))
    [report] = result.artifacts
    # A backup holds no file tree: nothing it lacks, rather than a gap.
    assert (report.name, str(report.status), report.files, report.records, report.absence) == (
        "filesystem", "not_collected", [], 0, None
    )


# -- AcquisitionCheck.locate ---------------------------------------------------------------------------

class _ByPaths(AcquisitionCheck):
    name = "by_paths"
    platform = "ios"
    title = "A check of the files matching its paths"
    paths: ClassVar[tuple[str, ...]] = ("/private/var/tmp/*", "/.acquisition/ios_dump/*.txt", "/nowhere/*")

    def records(self, fs: DeviceFS, path: str, warn: Callable[[str], None]) -> Iterator[Record]:
        yield FileEntry(locator=Locator(path, fs.sha256(path)), entry_type="file", size=0, modified=None)


class _Elsewhere(AcquisitionCheck):
    name = "elsewhere"
    platform = "ios"
    title = "A check that reads what its kind gathered"
    paths: ClassVar[tuple[str, ...]] = ()

    def locate(self, fs: DeviceFS) -> list[str]:
        return ["/", "/private/var/tmp"]

    def records(self, fs: DeviceFS, path: str, warn: Callable[[str], None]) -> Iterator[Record]:
        warn(f"read at {path}")
        yield FileEntry(locator=Locator(path, ""), entry_type="dir", size=0, modified=None)


def test_by_default_a_check_reads_the_regular_files_matching_its_paths(tmp_path: Path) -> None:
    fs = _open(_tar_dump(tmp_path / "ev" / "dump.tar"), tmp_path).fs
    # Sorted; the folder /private/var/tmp and the link /private/var/tmp/latest are not files to read.
    expected = ["/.acquisition/ios_dump/notes.txt", "/private/var/tmp/implant.bin"]
    assert _ByPaths().locate(fs) == expected
    assert kind_check_artifact(_ByPaths()).locate(fs) == expected


def test_the_run_reads_a_check_where_its_locate_says(tmp_path: Path) -> None:
    fs = _open(_tar_dump(tmp_path / "ev" / "dump.tar"), tmp_path).fs
    artifact = kind_check_artifact(_Elsewhere())
    assert (artifact.name, artifact.title, artifact.paths) == ("elsewhere", "A check that reads what its kind gathered", ())
    assert artifact.locate(fs) == ["/", "/private/var/tmp"]
    ctx = ArtifactContext(fs=fs, limits=DEFAULT_LIMITS)
    got = [r for path in artifact.locate(fs) for r in artifact.parse(ctx, path)]
    assert [r.locator.device_path for r in got] == ["/", "/private/var/tmp"]
    assert ctx.warnings == ["read at /", "read at /private/var/tmp"]


@given(st.text(alphabet="/.a\u00e9\x00 ", max_size=12))
def test_an_entry_offers_its_path_and_its_name_as_posixpath_cuts_it(path: str) -> None:
    entry = FileEntry(locator=Locator(path, "", key_path="listing"), entry_type="file", size=0, modified=None)
    name = posixpath.basename(path)
    assert list(entry.observables()) == [Observable(Kind.FILE_PATH, path)] + (
        [Observable(Kind.PROCESS, name)] if name else []
    )
    assert list(entry.timestamps()) == []


def test_at_the_path_of_an_entry_the_check_reads_that_entry_alone(tmp_path: Path) -> None:
    fs = _open(_tar_dump(tmp_path / "ev" / "dump.tar"), tmp_path).fs
    check = FileListing()
    whole = {r.locator.device_path: r for r in check.records(fs, "/", lambda m: None)}
    for path in ("/private/var/tmp/implant.bin", "/private/var/tmp", "/private/var/tmp/latest", "/.acquisition-notes.txt"):
        assert list(check.records(fs, path, lambda m: None)) == [whole[path]]
    # Neither the acquisition's own files nor a path the dump does not have.
    for path in ("/.acquisition/ios_dump/notes.txt", "/.acquisition", "/private/var/tmp/gone"):
        assert list(check.records(fs, path, lambda m: None)) == []


def test_a_member_declaring_more_than_64_bits_of_size_is_listed_with_the_rest(tmp_path: Path) -> None:
    """A tar header may declare any size in base 256 (2**80 bytes here, a hostile or damaged header);
    no output can hold such an integer as a JSON number: the entry is listed with its size as text, the
    member is named as cut short, and every other entry of the listing is there."""
    from preuve.run.engine import run_check
    from preuve.run.results import CheckOptions
    from tests.evidence.test_tar_source import _header

    data = b"x" * 10
    archive = (_header("private/var/mobile/Library/x.db", b"%011o\0" % len(data)) + data + bytes(502)
               + _header("private/var/tmp/huge", b"\x80" + (2**80).to_bytes(11, "big")) + b"data" + bytes(2044))
    dump = tmp_path / "dump.tar"
    dump.write_bytes(archive)
    out = tmp_path / "out"
    from preuve.report.outdir import OutputFolder

    folder = OutputFolder(out, dump, ())
    try:
        result = run_check(dump, CheckOptions(only_artifacts=("filesystem",)), sinks=[folder])
    finally:
        folder.close()
    report = next(r for r in result.artifacts if r.name == "filesystem")
    assert (report.status, report.errors) == ("ok", [])
    lines = [json.loads(line) for line in (out / "artifacts" / "filesystem.jsonl").read_bytes().splitlines()]
    assert [(line["locator"]["device_path"], line["size"]) for line in lines] == [
        ("/private", 0), ("/private/var", 0), ("/private/var/mobile", 0), ("/private/var/mobile/Library", 0),
        ("/private/var/mobile/Library/x.db", 10), ("/private/var/tmp", 0), ("/private/var/tmp/huge", str(2**80)),
    ]
    unreadable = next(r for r in result.artifacts if r.name == "archive_members")
    assert unreadable.errors == [
        f"dump.tar: member private/var/tmp/huge is cut short ({2**80} bytes declared, 2048 present): the archive "
        "is truncated",
        "dump.tar: damaged tar after 2 members (cannot fit 'int' into an offset-sized integer); the rest is not read",
    ]
