"""The record of every evidence file handed out during a run, with its SHA-256."""

from __future__ import annotations

import hashlib
import threading
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
