"""An archive's member names read once while it is recognised and opened (ArchiveNames): the same answers
as reading them for each look, a zip's central directory read once a run, and no file left open."""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from preuve.evidence.acquisition import OpenContext, detect_kind, open_acquisition
from preuve.evidence.kinds.ios_dump import IosFilesystemDump
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.evidence.sources import zip as zip_source
from preuve.evidence.sources.archive import (
    ArchiveNames,
    first_member_name,
    peek_member_names,
    zip_names,
)

NAMES = ["top/", "top/private/var/mobile/a.txt", "/top/private/var/mobile/b.txt", "../../escape", "top/c.txt",
         "top/HomeDomain/Library/x"]


def _zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name in NAMES:
            archive.writestr(name, b"" if name.endswith("/") else name.encode())
    return path


def _tar(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name in NAMES:
            info = tarfile.TarInfo(name.rstrip("/"))
            info.type = tarfile.DIRTYPE if name.endswith("/") else tarfile.REGTYPE
            data = b"" if name.endswith("/") else name.encode()
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _shows_var(name: str) -> bool:
    return "private/var" in name


def _shows_domain(name: str) -> bool:
    return "HomeDomain" in name


@pytest.mark.parametrize("make", [_zip, _tar])
def test_the_same_answers_as_reading_the_names_for_each_look(tmp_path: Path, make: Callable[[Path], Path]) -> None:
    path = make(tmp_path / ("a.zip" if make is _zip else "a.tar.gz"))
    names = ArchiveNames(path)
    try:
        for _ in range(2):  # (the second time from what the first read)
            assert names.zip_names(3) == zip_names(path, 3)
            assert names.zip_names(100) == zip_names(path, 100)
            assert names.peek() == peek_member_names(path, DEFAULT_LIMITS)
            assert names.peek(max_entries=1, strict=True) == (
                peek_member_names(path, DEFAULT_LIMITS, max_entries=1, strict=True) if make is _tar
                else peek_member_names(path, DEFAULT_LIMITS, strict=True))  # (a zip's are read whole)
            assert names.peek(until=_shows_var) == peek_member_names(path, DEFAULT_LIMITS, until=_shows_var)
            for accept in (_shows_var, _shows_domain, str.isdigit):
                assert names.first(accept) == first_member_name(path, DEFAULT_LIMITS, accept)
    finally:
        names.close()
    assert names.peek()[:2] == ["top", "top/private/var/mobile/a.txt"]


def test_a_zip_dump_s_central_directory_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A zip's central directory was read seven times (each kind that looked at it, then the open twice),
    4 s of a 6 s run on a 100,000-member dump. It is read once, by the detection, and the zip read is the
    one the listing mounts; what is listed is what a fresh read lists."""
    path = _zip(tmp_path / "dump.zip")
    sources: list[zip_source.ZipSource] = []
    reads: list[int] = []
    made, read = zip_source.ZipSource.__init__, zip_source.read_directory

    def counted_init(self: zip_source.ZipSource, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        sources.append(self)

    def counted_read(stream: Any, *args: Any) -> Any:
        reads.append(1)
        return read(stream, *args)

    monkeypatch.setattr(zip_source.ZipSource, "__init__", counted_init)
    monkeypatch.setattr(zip_source, "read_directory", counted_read)

    def ctx(name: str) -> OpenContext:
        (tmp_path / name).mkdir()
        return OpenContext(HashLedger(), DEFAULT_LIMITS, tmp_path / name)

    shared = open_acquisition(path, ctx("w1")).fs
    try:
        assert (len(sources), len(reads)) == (1, 1)
        alone = IosFilesystemDump.open(path, ctx("w2"))  # (its names read again, for itself)
        try:
            assert shared.paths() == alone.paths()
            assert shared.paths()[-3:] == ["/private/var/mobile", "/private/var/mobile/a.txt",
                                           "/private/var/mobile/b.txt"]
        finally:
            alone.close()
    finally:
        shared.close()
    assert all(source._stream.closed for source in sources)  # (every zip read is closed)
    sources.clear()
    reads.clear()
    assert detect_kind(path) is IosFilesystemDump
    assert len(reads) == 1 and sources[0]._stream.closed  # (a detection alone closes what it read)
