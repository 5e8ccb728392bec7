"""Android backup files (``adb backup`` .ab): header, optional AES-256 encryption, zlib, tar.

Layout (AOSP ``BackupManagerService``, format versions 1 to 5)::

    ANDROID BACKUP\\n
    <version>\\n
    <compressed: 0 or 1>\\n
    <encryption: none | AES-256>\\n
    [AES-256 only:]
    <user password salt, hex>\\n
    <master key checksum salt, hex>\\n
    <PBKDF2 rounds>\\n
    <user key IV, hex>\\n
    <master key blob, hex>\\n      (AES-256-CBC under the user key)
    payload: [AES-256-CBC under the master key] [zlib] tar

The keys and the decryption are in :mod:`preuve.evidence.crypto.android_ab`. The stream is
decrypted and inflated chunk by chunk into a tar in the run's private workdir, with the output
bounded in size and in ratio to the input; :class:`AbSource` then reads that tar's members.

The tar's members are ``apps/<package>/<token>/<path>``; :func:`device_path`
maps the tokens to where the files live on the device.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from preuve.evidence.crypto.android_ab import TruncatedStream, decrypted, master_key
from preuve.evidence.errors import AcquisitionError, EvidenceError, LimitExceeded
from preuve.evidence.limits import Limits
from preuve.evidence.sources.base import Member, MemberColumns
from preuve.evidence.sources.tar import TarSource

MAGIC = b"ANDROID BACKUP\n"
AB_PREFIX = "/.acquisition/android_backup"
_MAX_HEADER_LINE = 4096
_CHUNK = 1024 * 1024

# Where each backup token lies on the device (AOSP FullBackup domain tokens).
_DATA_TOKENS = {
    "r": "", "f": "files", "db": "databases", "sp": "shared_prefs", "c": "cache", "nb": "no_backup",
}
_DE_TOKENS = {
    "d_r": "", "d_f": "files", "d_db": "databases", "d_sp": "shared_prefs", "d_c": "cache", "d_nb": "no_backup",
}


@dataclass(frozen=True, slots=True)
class AbHeader:
    version: int
    compressed: bool
    encryption: str
    user_salt: bytes = b""
    checksum_salt: bytes = b""
    rounds: int = 0
    user_iv: bytes = b""
    master_blob: bytes = b""


def _line(stream: BinaryIO, label: str) -> str:
    raw = stream.readline(_MAX_HEADER_LINE + 1)
    if not raw.endswith(b"\n") or len(raw) > _MAX_HEADER_LINE:
        raise AcquisitionError(f"{label}: truncated or malformed Android backup header")
    try:
        return raw[:-1].decode("ascii")
    except UnicodeDecodeError as exc:
        raise AcquisitionError(f"{label}: malformed Android backup header") from exc


def _hex(text: str, label: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise AcquisitionError(f"{label}: malformed hex in the backup header") from exc


def read_header(stream: BinaryIO, label: str) -> AbHeader:
    if stream.read(len(MAGIC)) != MAGIC:
        raise AcquisitionError(f"{label}: not an Android backup (no 'ANDROID BACKUP' header)")
    try:
        version = int(_line(stream, label))
        compressed = int(_line(stream, label)) == 1
    except ValueError as exc:
        raise AcquisitionError(f"{label}: malformed Android backup header") from exc
    if not 1 <= version <= 10:
        raise AcquisitionError(f"{label}: unknown Android backup version {version}")
    encryption = _line(stream, label)
    if encryption == "none":
        return AbHeader(version, compressed, encryption)
    if encryption != "AES-256":
        raise AcquisitionError(f"{label}: unsupported backup encryption {encryption!r}")
    user_salt = _hex(_line(stream, label), label)
    checksum_salt = _hex(_line(stream, label), label)
    try:
        rounds = int(_line(stream, label))
    except ValueError as exc:
        raise AcquisitionError(f"{label}: malformed PBKDF2 round count") from exc
    if not 1 <= rounds <= 10_000_000:
        raise AcquisitionError(f"{label}: implausible PBKDF2 round count {rounds}")
    user_iv = _hex(_line(stream, label), label)
    blob = _hex(_line(stream, label), label)
    return AbHeader(version, compressed, encryption, user_salt, checksum_salt, rounds, user_iv, blob)


def _raw(stream: BinaryIO) -> Iterator[bytes]:
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return
        yield chunk


def unpack_to_tar(
    stream: BinaryIO, target: Path, limits: Limits, label: str, password: str | None
) -> tuple[AbHeader, str | None]:
    """Decrypt and inflate a backup stream into a tar file at `target` (in the workdir).

    Returns the header and, when the stream was cut or damaged, what went wrong
    (the content before the damage is kept: an interrupted ``adb backup`` is
    common and what it holds is still evidence).
    """
    header = read_header(stream, label)
    if header.encryption == "AES-256":
        if password is None:
            raise AcquisitionError(
                f"{label}: this Android backup is encrypted; give its password (--password-file, or $PREUVE_BACKUP_PASSWORD)"
            )
        key, iv = master_key(header, password, label)
        chunks = decrypted(stream, key, iv)
    else:
        chunks = _raw(stream)
    inflater = zlib.decompressobj() if header.compressed else None
    written = 0
    consumed = 0
    problem: str | None = None
    with open(target, "wb") as out:
        try:
            for chunk in chunks:
                consumed += len(chunk)
                pieces = [chunk]
                if inflater is not None:
                    pieces = []
                    data = chunk
                    while data:
                        piece = inflater.decompress(data, _CHUNK)
                        pieces.append(piece)
                        data = inflater.unconsumed_tail
                        written_now = written + sum(len(p) for p in pieces)
                        if written_now > limits.max_file_bytes:
                            raise LimitExceeded(label, f"backup expands beyond {limits.max_file_bytes} bytes")
                for piece in pieces:
                    written += len(piece)
                    out.write(piece)
                if written > limits.max_file_bytes:
                    raise LimitExceeded(label, f"backup expands beyond {limits.max_file_bytes} bytes")
                if written > _CHUNK * 8 and written > limits.max_decompression_ratio * max(consumed, 1):
                    raise LimitExceeded(label, f"decompression ratio above {limits.max_decompression_ratio}")
        except zlib.error as exc:
            problem = f"the compressed stream is damaged ({exc}); only the content before the damage is read"
        except TruncatedStream as exc:
            problem = f"{exc}; only the content before it is read"
    if problem is None and inflater is not None and not inflater.eof:
        problem = "the compressed stream ends early (an interrupted backup?); only the content present is read"
    return header, problem


def device_path(member: str, prefix: str = "") -> str:
    """Where a backup member lived on the device (user 0); unknown layouts stay under the acquisition."""
    parts = member.split("/")
    if len(parts) >= 3 and parts[0] == "apps":
        package, token, rest = parts[1], parts[2], "/".join(parts[3:])
        if token in _DATA_TOKENS:
            return "/".join(p for p in ("/data/data", package, _DATA_TOKENS[token], rest) if p)
        if token in _DE_TOKENS:
            return "/".join(p for p in ("/data/user_de/0", package, _DE_TOKENS[token], rest) if p)
        if token == "ef":
            return "/".join(p for p in ("/storage/emulated/0/Android/data", package, rest) if p)
        if token == "obb":
            return "/".join(p for p in ("/storage/emulated/0/Android/obb", package, rest) if p)
    if len(parts) >= 3 and parts[0] == "shared" and parts[1].isdigit():
        return "/storage/emulated/" + parts[1] + "/" + "/".join(parts[2:])
    return f"{prefix or AB_PREFIX}/{member}"


class AbSource(TarSource):
    """The members of an Android backup: its stream (opened by `opener`) decrypted and inflated into
    ``backup.tar`` in `folder` (in the run's private workdir, never beside the evidence), then read
    as a tar. A backup cut short keeps what came before the cut, and says so."""

    def __init__(
        self, opener: Callable[[], BinaryIO], folder: Path, limits: Limits, label: str, password: str | None
    ) -> None:
        folder.mkdir()
        target = folder / "backup.tar"
        try:
            with opener() as stream:
                _, problem = unpack_to_tar(stream, target, limits, label, password)
        except EvidenceError as exc:  # a bound was exceeded: refuse the backup rather than fill the disk
            target.unlink(missing_ok=True)
            raise AcquisitionError(f"{label}: {exc.reason}") from exc
        try:
            super().__init__(target, limits, label)
        except AcquisitionError as exc:
            if problem is None:
                raise
            raise AcquisitionError(f"{label}: {problem}") from exc
        self._problem = problem
        if problem is not None:
            # What followed the damage is lost (the run is not complete), and the member it stopped in is
            # named as unreadable.
            self.notes.append(f"{label}: {problem}")
            self.damage.append(f"{label}: {problem}")
            self.damaged.append(f"{label}: {problem}")

    def member_batches(self) -> Iterator[Member | MemberColumns]:
        known = len(self.damage)
        yield from super().member_batches()
        if self._problem is not None:
            del self.damage[known:]  # the tar cut short is the consequence of the stream's damage, said already
