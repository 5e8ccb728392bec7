"""The hash computed on a thread beside a pass over a file (evidence.ledger.HashBeside, HashingReader)
is the file's SHA-256, as hashing it alone gives it, whatever the chunks."""

from __future__ import annotations

import hashlib
import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preuve.evidence.ledger import HashBeside, HashingReader, sha256_stream


@given(chunks=st.lists(st.binary(max_size=5000), max_size=40))
@settings(max_examples=100, deadline=None)
def test_two_hashes_beside_are_those_of_their_bytes(chunks: list[bytes]) -> None:
    with ThreadPoolExecutor(1) as pool:
        first, second = HashBeside(pool), HashBeside(pool)
        for chunk in chunks:
            first.update(chunk)
            second.update(chunk[::-1])
        assert first.result() == (hashlib.sha256(b"".join(chunks)).hexdigest(), sum(map(len, chunks)))
        assert second.result() == (hashlib.sha256(b"".join(c[::-1] for c in chunks)).hexdigest(),
                                   sum(map(len, chunks)))


@given(data=st.binary(max_size=20_000), size=st.integers(1, 3000))
@settings(max_examples=100, deadline=None)
def test_a_stream_read_through_gives_its_bytes_and_their_hash(data: bytes, size: int) -> None:
    with ThreadPoolExecutor(1) as pool:
        hasher = HashBeside(pool)
        reader = HashingReader(io.BytesIO(data), hasher)
        got = b""
        while chunk := reader.read(size):
            got += chunk
        assert got == data
        assert hasher.result() == sha256_stream(io.BytesIO(data))


def test_past_the_limit_it_raises_as_hashing_alone_does() -> None:
    with pytest.raises(ValueError, match="larger than 10 bytes") as alone:
        sha256_stream(io.BytesIO(b"x" * 11), 10)
    with ThreadPoolExecutor(1) as pool:
        hasher = HashBeside(pool, 10)
        hasher.update(b"x" * 10)
        with pytest.raises(ValueError, match="larger than 10 bytes") as beside:
            hasher.update(b"x")
    assert str(beside.value) == str(alone.value)
