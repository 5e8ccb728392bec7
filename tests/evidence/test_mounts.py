"""One folder semantics whatever the source: the same tree given as a folder, a zip, a tar or a .tar.gz
lists the same paths, the same folders and the same files, and globs the same (an iOS dump, an
AndroidQF acquisition, an Android backup folder and its .ab)."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from preuve.evidence.acquisition import OpenContext, open_acquisition
from preuve.evidence.fs import DeviceFS
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits
from tests.builders.android import AndroidQFBuilder, android_backup_bytes

TREE = {
    "private/var/mobile/Library/SMS/sms.db": b"db",
    "private/var/mobile/Library/Preferences/a.plist": b"a",
    "private/var/mobile/Containers/Data/Application/ABC/Library/x.txt": b"x",
    "private/var/db/y.txt": b"y",
}


def _write(root: Path, fmt: str, files: dict[str, bytes], top: str = "") -> Path:
    """Files as the tools write them: folders implied by the paths (a zip or tar lists no folder)."""
    prefix = f"{top}/" if top else ""
    if fmt == "folder":
        for name, data in files.items():
            (root / prefix / name).parent.mkdir(parents=True, exist_ok=True)
            (root / prefix / name).write_bytes(data)
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    path = root.with_name(root.name + "." + fmt)
    if fmt == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in files.items():
                archive.writestr(prefix + name, data)
        return path
    with tarfile.open(path, "w:gz" if fmt == "tar.gz" else "w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _view(fs: DeviceFS, globs: tuple[str, ...]) -> tuple[list[str], list[str], list[str], list[list[str]]]:
    paths = fs.paths()
    folders = [p for p in paths if fs.stat(p).is_dir]
    files = [info.device_path for info in fs.iter_files() if fs.is_file(info.device_path)]
    return paths, folders, files, [fs.glob(g) for g in globs]


def _open(path: Path, tmp_path: Path) -> DeviceFS:
    work = tmp_path / "work" / path.name
    work.mkdir(parents=True)
    return open_acquisition(path, OpenContext(HashLedger(), Limits(), work)).fs


def test_ios_dump_same_tree_from_every_source(tmp_path: Path) -> None:
    globs = ("/private/var/mobile/Containers/Data/Application/*", "/private/var/mobile/**/*.txt",
             "/private/var/*/Library/SMS/sms.db")
    views = {}
    for fmt in ("folder", "zip", "tar", "tar.gz"):
        fs = _open(_write(tmp_path / "ev" / fmt / "dump", fmt, TREE, top="filesystem1"), tmp_path)
        try:
            views[fmt] = _view(fs, globs)
        finally:
            fs.close()
    paths, folders, files, globbed = views["folder"]
    assert files == sorted("/" + name for name in TREE)
    assert "/private/var/mobile/Containers/Data/Application/ABC" in folders
    assert globbed == [
        ["/private/var/mobile/Containers/Data/Application/ABC"],
        ["/private/var/mobile/Containers/Data/Application/ABC/Library/x.txt"],
        ["/private/var/mobile/Library/SMS/sms.db"],
    ]
    assert views["zip"] == views["tar"] == views["tar.gz"] == views["folder"]


def test_androidqf_folder_and_zip_same_tree(tmp_path: Path) -> None:
    builder = AndroidQFBuilder(extra={"logs/a/b.txt": b"b", "tmp/c.txt": b"c"})
    folder = builder.folder(tmp_path / "ev" / "aqf")
    archive = builder.zip(tmp_path / "ev" / "aqf.zip")
    globs = ("/.acquisition/androidqf/*", "/.acquisition/androidqf/logs/*")
    views = []
    for path in (folder, archive):
        fs = _open(path, tmp_path)
        try:
            views.append(_view(fs, globs))
        finally:
            fs.close()
    assert views[0] == views[1]
    paths, folders, _, globbed = views[0]
    # The folders above the files are folders, whether the container lists them or not.
    assert folders == ["/.acquisition", "/.acquisition/androidqf", "/.acquisition/androidqf/logs",
                       "/.acquisition/androidqf/logs/a", "/.acquisition/androidqf/tmp"]
    assert globbed[1] == ["/.acquisition/androidqf/logs/a"]


@pytest.mark.parametrize("unpacked", [True, False])
def test_android_backup_folder_and_ab_same_tree(tmp_path: Path, unpacked: bool) -> None:
    members = {"apps/org.example/_manifest": b"1\norg.example\n", "apps/org.example/f/notes/a.txt": b"a",
               "apps/org.example/db/n.db": b"n"}
    if unpacked:
        path = _write(tmp_path / "ev" / "backup", "folder", members)
    else:
        path = tmp_path / "ev" / "backup.ab"
        path.parent.mkdir(parents=True)
        path.write_bytes(android_backup_bytes(members))
    fs = _open(path, tmp_path)
    try:
        assert [info.device_path for info in fs.iter_files() if fs.is_file(info.device_path)] == [
            "/.acquisition/android_backup/apps/org.example/_manifest",
            "/data/data/org.example/databases/n.db",
            "/data/data/org.example/files/notes/a.txt",
        ]
        assert fs.stat("/data/data/org.example/files/notes").is_dir
        assert fs.glob("/data/data/*/files/*") == ["/data/data/org.example/files/notes"]
    finally:
        fs.close()
