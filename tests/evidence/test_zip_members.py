"""A zip's members read by their place in the listing (ZipSource.open_member, as the mount reads them)
are those read by their name (the first of a name), whichever reader lists the zip: the directory
kernel, or zipfile for a zip the kernel leaves."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.evidence.sources.zip import ZipSource
from tests.evidence.test_tar_source import ARCHIVE_MEMBERS, assert_read_by_place_as_by_name


def _zip(path: Path, method: int) -> Path:
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(path, "w", method) as out:
        for name, data in ARCHIVE_MEMBERS:
            if data is None:
                out.writestr(zipfile.ZipInfo(name), b"")
            else:
                out.writestr(name, data)
    return path


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("kernel", [True, False])
def test_a_member_read_by_its_place_is_the_one_read_by_its_name(
    tmp_path: Path, method: int, kernel: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _zip(tmp_path / "dump.zip", method)
    if not kernel:
        import preuve.evidence.sources.zip as zip_module
        from preuve.evidence.formats.zipdir import NotTaken

        def refuse(*args: object, **kwargs: object) -> None:
            raise NotTaken("left to zipfile")

        monkeypatch.setattr(zip_module, "read_directory", refuse)
    source = ZipSource(path, DEFAULT_LIMITS)
    try:
        assert_read_by_place_as_by_name(source)
    finally:
        source.close()


def test_a_big_zip_listed_whole_reads_its_members_without_its_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A zip listed whole lets its names go (they are the mount's paths): each member is read with its
    name read again from its entry, the directory is not read again, and what asks by name later has
    the directory read again, once."""
    import preuve.evidence.sources.zip as zip_module
    from preuve.evidence.acquisition import OpenContext, open_acquisition
    from preuve.evidence.ledger import HashLedger

    contents = {f"private/var/mobile/Library/f{n:03d}.txt": f"file {n}".encode() * (n % 5) for n in range(300)}
    contents["private/var/mobile/nul\u00e9.txt"] = b"accented"
    path = tmp_path / "dump.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in contents.items():
            out.writestr(name, data)
    monkeypatch.setattr(zip_module, "_FORGET_NAMES_FROM", 1)
    reads: list[int] = []
    read = zip_module.read_directory

    def counted(*args: object, **kwargs: object) -> object:
        reads.append(1)
        return read(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(zip_module, "read_directory", counted)
    (tmp_path / "work").mkdir()
    fs = open_acquisition(path, OpenContext(HashLedger(), DEFAULT_LIMITS, tmp_path / "work")).fs
    try:
        got = {p[1:]: fs.read_bytes(p) for p in fs.paths() if fs.is_file(p)}
        assert got == contents
        assert len(reads) == 1
        source = fs.sources(ZipSource)[0]
        with source.open("private/var/mobile/Library/f007.txt", "x") as stream:
            assert stream.read() == contents["private/var/mobile/Library/f007.txt"]
        assert len(reads) == 2
    finally:
        fs.close()
