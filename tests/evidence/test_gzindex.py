from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest

from preuve.evidence.formats.gzindex import GzipCheckpoints, indexing_reader, open_member


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
