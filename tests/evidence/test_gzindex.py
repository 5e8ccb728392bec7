from __future__ import annotations

import gzip
import random
import zlib
from pathlib import Path

import pytest

from preuve.evidence.formats.gzindex import CheckpointPass, GzipCheckpoints, indexing_reader, open_member


def _data(size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    words = [bytes(rng.choice(b"abcdefghij") for _ in range(rng.randrange(1, 9))) for _ in range(500)]
    out = bytearray()
    while len(out) < size:  # text that compresses, and stretches that do not
        out += rng.choice(words) + b" " if rng.random() < 0.9 else rng.randbytes(64)
    return bytes(out[:size])


@pytest.mark.parametrize("members", [1, 3])
def test_members_read_from_checkpoints_match(tmp_path: Path, members: int) -> None:
    parts = [_data(1_500_000, seed) for seed in range(members)]
    path = tmp_path / "x.gz"
    path.write_bytes(b"".join(gzip.compress(p, mtime=0) for p in parts))
    whole = b"".join(parts)
    points = GzipCheckpoints(path, every=200_000)
    with indexing_reader(path, points) as stream:
        assert stream.read() == whole
    assert len(points._points) >= 4  # checkpoints were taken along the way
    for offset, size in [(len(whole) - 10, 10), (0, 1000), (1_234_567, 300_000), (777, 0), (len(whole) - 5, 50)]:
        with open_member(points, offset, size) as member:
            assert member.read() == whole[offset : offset + size]
    assert points.before(1_234_567).out_pos <= 1_234_567
    assert points.before(1_234_567).out_pos > 0


def test_forward_seeks_only(tmp_path: Path) -> None:
    path = tmp_path / "y.gz"
    path.write_bytes(gzip.compress(b"0123456789" * 1000))
    points = GzipCheckpoints(path)
    stream = points.reader(5)
    try:
        assert stream.seek(20) == 20
        buf = bytearray(5)
        assert stream.readinto(buf) == 5 and bytes(buf) == b"01234"
        with pytest.raises(OSError, match="forward seeks only"):
            stream.seek(0)
    finally:
        stream.close()


def _compressible(size: int) -> bytes:
    """Text that compresses a hundred times and more: one 256 KiB chunk inflates to several MiB."""
    rng = random.Random(7)
    out = bytearray()
    i = 0
    while len(out) < size:
        out += (b"%08d" % i) * 50 + (rng.randbytes(30) if i % 97 == 0 else b"")
        i += 1
    return bytes(out[:size])


def test_checkpoints_inside_a_chunk_resume_where_zlib_stopped(tmp_path: Path) -> None:
    """A checkpoint taken while zlib still holds compressed input (output bounded a MiB at a time) resumes
    from the first byte zlib had not taken, in a file of two gzip members."""
    whole = _compressible(24_000_000)
    path = tmp_path / "z.gz"
    path.write_bytes(gzip.compress(whole[:10_000_000], mtime=0) + gzip.compress(whole[10_000_000:], mtime=0))
    points = GzipCheckpoints(path, every=1_000_000)
    with indexing_reader(path, points) as stream:
        assert stream.read() == whole
    assert len(points._points) >= 20
    assert any(p.raw_pos % (256 * 1024) for p in points._points[1:])  # taken between two reads of the file
    for offset in [0, 5, 1_000_000, 2_345_678, 9_999_990, 10_000_000, 17_000_001, len(whole) - 100]:
        with open_member(points, offset, 300_000) as member:
            assert member.read() == whole[offset : offset + 300_000], offset


def test_inflating_holds_at_most_a_block(tmp_path: Path) -> None:
    """Zeros inflate a thousand times: a 256 KiB chunk is 256 MiB out, never held at once."""
    import tracemalloc

    path = tmp_path / "zeros.gz"
    with gzip.open(path, "wb", compresslevel=9) as out:
        for _ in range(128):
            out.write(bytes(1024 * 1024))
    points = GzipCheckpoints(path)
    tracemalloc.start()
    try:
        with indexing_reader(path, points) as stream:
            total = 0
            while chunk := stream.read(64 * 1024):
                total += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == 128 * 1024 * 1024
    assert peak < 8 * 1024 * 1024


def _read_whole(path: Path, every: int) -> list[tuple[int, int]]:
    points = GzipCheckpoints(path, every=every)
    with indexing_reader(path, points) as stream:
        while stream.read(1 << 20):
            pass
    return [(p.out_pos, p.raw_pos) for p in points._points]


def test_a_pass_on_a_thread_takes_the_checkpoints_of_one_read(tmp_path: Path) -> None:
    """Told to go to the end a little at a time, the pass takes the checkpoints a read of the whole
    file takes (the same places), and members read from them are the bytes written."""
    whole = _compressible(24_000_000)
    path = tmp_path / "z.gz"
    path.write_bytes(gzip.compress(whole[:10_000_000], mtime=0) + gzip.compress(whole[10_000_000:], mtime=0))
    points = GzipCheckpoints(path, every=1_000_000)
    passing = CheckpointPass(points)
    for target in range(0, len(whole), 3_000_000):
        passing.reach(target)
    passing.finish(len(whole))
    assert [(p.out_pos, p.raw_pos) for p in points._points] == _read_whole(path, 1_000_000)
    for offset in [0, 1_000_000, 9_999_990, 17_000_001, len(whole) - 100]:
        with open_member(points, offset, 300_000) as member:
            assert member.read() == whole[offset : offset + 300_000], offset


def test_a_pass_goes_no_further_than_it_is_told(tmp_path: Path) -> None:
    """It inflates up to the place it is told and at most one block past it (a MiB): ended at once, it
    takes nothing; ended at a place, its checkpoints reach it and stop there."""
    whole = _compressible(24_000_000)
    path = tmp_path / "z.gz"
    path.write_bytes(gzip.compress(whole, mtime=0))
    points = GzipCheckpoints(path, every=500_000)
    CheckpointPass(points).finish(None)
    assert [p.out_pos for p in points._points] == [0]
    points = GzipCheckpoints(path, every=500_000)
    passing = CheckpointPass(points)
    passing.reach(6_000_000)
    passing.finish(5_000_000)
    passing.finish(20_000_000)  # (ended already: no further)
    last = points._points[-1].out_pos
    assert 5_000_000 - 500_000 - (1 << 20) <= last <= 6_000_000 + (1 << 20)


def test_a_pass_over_a_damaged_stream_ends_at_the_damage(tmp_path: Path) -> None:
    """A stream that cannot be inflated past some point: the pass ends there without an error, with the
    checkpoints a read up to the damage takes; a file that cannot be opened takes none."""
    whole = _data(3_000_000, 1)
    path = tmp_path / "d.gz"
    packed = bytearray(gzip.compress(whole, mtime=0))
    packed[len(packed) // 2 : len(packed) // 2 + 2048] = bytes(2048)  # (zlib: "invalid code lengths set")
    path.write_bytes(bytes(packed))
    reference = GzipCheckpoints(path, every=200_000)
    with pytest.raises(zlib.error, match="invalid code lengths set"), indexing_reader(path, reference) as stream:
        while stream.read(1 << 20):
            pass
    points = GzipCheckpoints(path, every=200_000)
    passing = CheckpointPass(points)
    passing.finish(len(whole))
    assert [(p.out_pos, p.raw_pos) for p in points._points] == [(p.out_pos, p.raw_pos) for p in reference._points]
    assert len(points._points) > 3
    gone = GzipCheckpoints(tmp_path / "absent.gz")
    CheckpointPass(gone).finish(1_000_000)
    assert [p.out_pos for p in gone._points] == [0]
