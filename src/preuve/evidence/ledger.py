"""The record of every evidence file handed out during a run, with its SHA-256."""

from __future__ import annotations

import hashlib
import io
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    device_path: str
    source: str  # where the bytes lie inside the acquisition (file id, member name, relative path)
    size: int
    sha256: str


def sha256_stream(stream: BinaryIO, limit: int | None = None) -> tuple[str, int]:
    """Hash a stream to its end (or to `limit` bytes), returning (hex digest, size)."""
    digest = hashlib.sha256()
    size = 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if limit is not None and size > limit:
            raise ValueError(f"larger than {limit} bytes")
        digest.update(chunk)
    return digest.hexdigest(), size


class HashBeside:
    """The SHA-256 of bytes handed over a chunk at a time, computed on a thread of `pool` while the
    caller goes on (hashlib releases the GIL on large chunks, so the hash takes another core): for a
    pass over a file that does other work with each chunk (decrypting it, writing it), so the file
    is read once and the hash costs the pass no time. Each hash's chunks are taken in order (a pool of
    one thread); at most a few are held at once. `limit`: ValueError past that many bytes, as
    :func:`sha256_stream` raises it."""

    _HELD = 8

    def __init__(self, pool: ThreadPoolExecutor, limit: int | None = None) -> None:
        self._pool = pool
        self._digest = hashlib.sha256()
        self._limit = limit
        self.size = 0
        self._pending: deque[Future[None]] = deque()

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self._limit is not None and self.size > self._limit:
            raise ValueError(f"larger than {self._limit} bytes")
        self._pending.append(self._pool.submit(self._digest.update, chunk))
        while len(self._pending) > self._HELD:
            self._pending.popleft().result()

    def result(self) -> tuple[str, int]:
        """(hex digest, size) of every chunk handed over."""
        while self._pending:
            self._pending.popleft().result()
        return self._digest.hexdigest(), self.size


class HashingReader(io.RawIOBase):
    """A raw stream handing every chunk read from `raw` to `hasher` (see HashBeside); closing it closes `raw`."""

    def __init__(self, raw: BinaryIO, hasher: HashBeside) -> None:
        super().__init__()
        self._raw, self._hasher = raw, hasher

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        if chunk:
            self._hasher.update(chunk)
        return chunk

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


class HashLedger:
    """Every file read during a run, hashed once. Thread-safe; one per run (never global)."""

    def __init__(self) -> None:
        self._files: dict[str, EvidenceFile] = {}
        self._lock = threading.Lock()

    def get(self, device_path: str) -> EvidenceFile | None:
        with self._lock:
            return self._files.get(device_path)

    def add(self, entry: EvidenceFile) -> EvidenceFile:
        with self._lock:
            return self._files.setdefault(entry.device_path, entry)

    def mark(self) -> int:
        """A mark of what the ledger holds now, for `since`."""
        with self._lock:
            return len(self._files)

    def since(self, mark: int) -> list[EvidenceFile]:
        """The entries added after `mark` was taken (in the order they were added)."""
        with self._lock:
            return list(self._files.values())[mark:]

    def files(self) -> list[EvidenceFile]:
        with self._lock:
            return sorted(self._files.values(), key=lambda e: e.device_path)
