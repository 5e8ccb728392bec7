"""DeviceFS.only_entries: a view whose listing is a range of the acquisition's, everything else its own."""

from __future__ import annotations

from pathlib import Path

from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits
from preuve.evidence.sources.folder import folder_fs


def test_a_view_lists_its_range_alone_and_reads_as_the_acquisition(tmp_path: Path) -> None:
    root = tmp_path / "dump"
    for name in ("a/1.txt", "a/2.txt", "b/3.txt", "c.txt"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(name.encode())
    work = tmp_path / "work"
    work.mkdir()
    fs = folder_fs(root, HashLedger(), Limits(), work)
    every = [info.device_path for info in fs.iter_files()]
    assert every == ["/a", "/a/1.txt", "/a/2.txt", "/b", "/b/3.txt", "/c.txt"]
    view = fs.only_entries(1, 4)
    assert [info.device_path for info in view.iter_files()] == ["/a/1.txt", "/a/2.txt", "/b"]
    assert [info.device_path for info in fs.only_entries(4, 6).iter_files()] == ["/b/3.txt", "/c.txt"]
    assert [info.device_path for info in fs.iter_files()] == every  # the acquisition is as it was
    assert view.paths() == fs.paths() and view.read_bytes("/c.txt") == b"c.txt"
    assert view.ledger is fs.ledger and fs.ledger.get("/c.txt") is not None
