"""A .tar.bz2 or .tar.xz has no checkpoints to start reading from: the files a run will read are copied
in one forward pass before any artifact runs (TarSource.prefetch, asked by the engine), so reading
them in the artifacts' order never decompresses the archive again from its start. The records, file
hashes and findings are those of the same dump as a plain tar."""

from __future__ import annotations

import _compression
from pathlib import Path

import pytest

from preuve.builders.demo import build_demo_backup
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from tests.builders import snapshot
from tests.builders.ios_dump import backup_files, write_dump
from tests.helpers import RecordCollector


@pytest.fixture(scope="module")
def dump_files(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, bytes]]:
    files = backup_files(build_demo_backup(tmp_path_factory.mktemp("prefetch") / "backup"))
    # The archive's order is the reverse of the artifacts': each artifact's file lies before the last
    # one read. A big first member makes every pass from the start cost something.
    return [("private/var/aaa/filler.bin", bytes(range(256)) * 8192), *sorted(files, reverse=True)]


def _run(evidence: Path, jobs: int, monkeypatch: pytest.MonkeyPatch) -> tuple[list[object], list[tuple[str, str]], int]:
    rewinds = [0]
    original = _compression.DecompressReader._rewind

    def counted(self: _compression.DecompressReader) -> None:
        rewinds[0] += 1
        original(self)

    monkeypatch.setattr(_compression.DecompressReader, "_rewind", counted)
    collector = RecordCollector()
    result = run_check(evidence, CheckOptions(jobs=jobs), sinks=[collector])
    monkeypatch.undo()
    hashes = [(f.device_path, f.sha256) for f in result.evidence_files]
    return collector.records, hashes, rewinds[0]


@pytest.mark.parametrize("fmt", ["tar.bz2", "tar.xz"])
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_compressed_tar_is_read_in_one_pass(
    tmp_path: Path, dump_files: list[tuple[str, bytes]], monkeypatch: pytest.MonkeyPatch, fmt: str, jobs: int
) -> None:
    plain = write_dump(dump_files, tmp_path / "dump.tar", fmt="tar")
    packed = write_dump(dump_files, tmp_path / f"dump.{fmt}", fmt=fmt)
    before = snapshot(tmp_path)
    records, hashes, _ = _run(plain, jobs, monkeypatch)
    got_records, got_hashes, rewinds = _run(packed, jobs, monkeypatch)
    assert len(records) > 100 and len(hashes) > 5
    assert got_records == records
    assert got_hashes == hashes
    assert rewinds == 0  # (without the pass, every file before the last one read rewinds the stream)
    assert snapshot(tmp_path) == before


def test_members_no_artifact_named_are_still_read(tmp_path: Path, dump_files: list[tuple[str, bytes]]) -> None:
    """What was not copied is reached as before: by decompressing from the start."""
    from preuve.evidence.acquisition import OpenContext, open_acquisition
    from preuve.evidence.ledger import HashLedger
    from preuve.evidence.limits import DEFAULT_LIMITS

    packed = write_dump(dump_files, tmp_path / "dump.tar.xz", fmt="tar.xz")
    ctx = OpenContext(ledger=HashLedger(), limits=DEFAULT_LIMITS, workdir=tmp_path / "work")
    ctx.workdir.mkdir()
    fs = open_acquisition(packed, ctx).fs
    try:
        paths = [f"/{name}" for name, _ in dump_files]
        fs.prefetch(paths[len(paths) // 2 :])
        assert [fs.read_bytes(p, 1 << 30) for p in paths] == [data for _, data in dump_files]
    finally:
        fs.close()


def test_no_room_for_the_copies_reads_from_the_archive(
    tmp_path: Path, dump_files: list[tuple[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import preuve.evidence.fs as fs_module

    plain = write_dump(dump_files, tmp_path / "dump.tar", fmt="tar")
    packed = write_dump(dump_files, tmp_path / "dump.tar.xz", fmt="tar.xz")
    records, hashes, _ = _run(plain, 1, monkeypatch)
    original = fs_module.tempfile.mkdtemp

    def no_room(*args: object, **kwargs: object) -> str:
        if str(kwargs.get("prefix", "")).startswith("prefetch-"):
            raise OSError(28, "No space left on device")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fs_module.tempfile, "mkdtemp", no_room)
    got_records, got_hashes, rewinds = _run(packed, 1, monkeypatch)
    assert (got_records, got_hashes) == (records, hashes)
    assert rewinds > 0  # read from the archive, rewinding
