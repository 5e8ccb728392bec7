"""Random access into a gzip stream, through checkpoints taken while it is read once.

A .tar.gz cannot be seeked: reading a member that lies before the current
position means decompressing again from the start (what :mod:`gzip` and
:mod:`tarfile` do), and artifacts open members in their own order, not the
archive's. While the tar is indexed (one full pass), this reader keeps a
copy of the zlib state every few tens of MiB of output; opening a member
then starts from the nearest checkpoint before it. Each checkpoint costs
about 50 KiB (zlib's window and state), so a 10 GiB dump needs a few MiB.
The standard library gives no such index; zlib's ``decompressobj.copy()``
makes it short to write.

The pass that takes the checkpoints need not be the one that reads the
headers: a :class:`CheckpointPass` inflates the file on a thread of its own
(zlib lets go of the GIL while it inflates), told how far to go as the
headers are read elsewhere, so the headers can be read by a forked process
(whose zlib states could not be handed back) while this one places them.
"""

from __future__ import annotations

import bisect
import io
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

_CHUNK = 256 * 1024  # compressed bytes read at a time
_OUT = 1024 * 1024  # decompressed bytes made at a time: a chunk of zeros inflates a thousand times
_GZIP = 16 + zlib.MAX_WBITS


@dataclass(slots=True)
class _Checkpoint:
    out_pos: int  # decompressed bytes before this point
    raw_pos: int  # compressed bytes consumed before this point
    state: object = field(repr=False)  # a zlib decompressobj copy; None at the start of a gzip member


class GzipCheckpoints:
    """Checkpoints of one gzip file, filled by a :class:`CheckpointingReader` pass."""

    def __init__(self, path: Path, every: int = 32 * 1024 * 1024) -> None:
        self.path = path
        self.every = every
        self._points: list[_Checkpoint] = [_Checkpoint(0, 0, None)]
        self._keys: list[int] = [0]  # each point's out_pos, for bisect

    def offer(self, out_pos: int, raw_pos: int, state: Any) -> None:
        """Keep the decompressor's state at this point (a copy) when far enough from the last one."""
        if out_pos >= self._keys[-1] + self.every:
            self._points.append(_Checkpoint(out_pos, raw_pos, state.copy()))
            self._keys.append(out_pos)

    def before(self, out_pos: int) -> _Checkpoint:
        return self._points[max(0, bisect.bisect_right(self._keys, out_pos) - 1)]

    def reader(self, start: int) -> CheckpointingReader:
        """A forward stream of the decompressed bytes from `start` (from the nearest checkpoint)."""
        point = self.before(start)
        stream = CheckpointingReader(self.path, point, None)
        stream.skip(start - point.out_pos)
        return stream


class CheckpointingReader(io.RawIOBase):
    """Decompressed bytes of a gzip file from a checkpoint, forward only (``seek`` skips ahead).

    The stream is inflated at most a MiB at a time (``max_length``), so memory stays bounded however
    well a chunk compresses, and bytes are handed out from that block without copying what is left.
    """

    def __init__(self, path: Path, start: _Checkpoint, record: Callable[[int, int, Any], None] | None) -> None:
        super().__init__()
        self._raw = open(path, "rb")  # noqa: SIM115 - closed with this reader
        self._raw.seek(start.raw_pos)
        self._raw_pos = start.raw_pos  # compressed bytes read from the file
        self._out_pos = start.out_pos  # decompressed bytes handed out (or skipped)
        copy = getattr(start.state, "copy", None)
        self._z = copy() if callable(copy) else zlib.decompressobj(_GZIP)
        self._record = record
        self._tail = b""  # compressed bytes read but not yet taken by zlib (the state's own copy is stale)
        self._block = b""  # decompressed, not yet handed out from _at on
        self._at = 0
        self._eof = False

    def readable(self) -> bool:
        return True

    def _more(self) -> None:
        while self._at >= len(self._block) and not self._eof:
            self._block, self._at = b"", 0
            z = self._z
            if z.eof:  # a gzip file may hold several members, one after the other
                rest = z.unused_data
                self._z = z = zlib.decompressobj(_GZIP)
                if rest.strip(b"\x00"):
                    self._block = z.decompress(rest, _OUT)
                    self._tail = z.unconsumed_tail
                    continue
            data = self._tail
            if not data:
                data = self._raw.read(_CHUNK)
                if not data:
                    self._eof = True
                    self._block = z.flush()
                    break
                self._raw_pos += len(data)
            self._block = z.decompress(data, _OUT)
            self._tail = z.unconsumed_tail
            if self._record is not None and not z.eof:
                # The state after this block, with every byte it gives out counted, resumed from the first
                # compressed byte it has not taken.
                self._record(self._out_pos + len(self._block), self._raw_pos - len(self._tail), z)

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        self._more()
        at = self._at
        n = min(len(buffer), len(self._block) - at)
        if n > 0:
            buffer[:n] = memoryview(self._block)[at : at + n]
            self._at = at + n
            self._out_pos += n
        return max(n, 0)

    def skip(self, count: int) -> None:
        while count > 0:
            self._more()
            n = min(count, len(self._block) - self._at)
            if n <= 0:
                return
            self._at += n
            self._out_pos += n
            count -= n

    def tell(self) -> int:
        return self._out_pos

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else self._out_pos + offset
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or target < self._out_pos:
            raise io.UnsupportedOperation("forward seeks only")
        self.skip(target - self._out_pos)
        return self._out_pos

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def indexing_reader(path: Path, checkpoints: GzipCheckpoints | None) -> BinaryIO:
    """A buffered forward stream over the whole gzip file that fills `checkpoints` as it goes (None:
    a stream that takes none: the same bytes, the same errors)."""
    record = checkpoints.offer if checkpoints is not None else None
    raw = CheckpointingReader(path, _Checkpoint(0, 0, None), record)
    return io.BufferedReader(raw, buffer_size=1024 * 1024)


_STEP = 8 * 1024 * 1024  # decompressed bytes a pass skips between looks at how far it may go


class CheckpointPass:
    """Checkpoints of a gzip file taken by a pass on a thread, which inflates the file only as far as
    it is told (:meth:`reach`), and at most a block (``_OUT``) past it: the caller keeps it near the
    headers read so far and within the archive's decompression bound, so a stream that inflates
    without end is not inflated past what the header scan itself may read. A damaged stream ends the
    pass where it is damaged (members before it are read from the checkpoints taken before).
    :meth:`finish` waits for the pass to come to the last place it is told, then ends it: the
    checkpoints are complete, and only then read."""

    def __init__(self, checkpoints: GzipCheckpoints) -> None:
        self._checkpoints = checkpoints
        self._changed = threading.Condition()
        self._target = 0  # the pass inflates up to here
        self._final = False  # no further target will come
        # The thread starts when first told to go somewhere: a process forked before (the one reading
        # the headers) is forked from a process of one thread.
        self._thread: threading.Thread | None = None
        self._ended = False

    def reach(self, out_pos: int) -> None:
        """Let the pass go on to this decompressed offset."""
        if self._ended:
            return
        with self._changed:
            if out_pos > self._target:
                self._target = out_pos
                self._changed.notify()
        if self._thread is None and out_pos > 0:
            self._thread = threading.Thread(target=self._run, name="gzip checkpoints", daemon=True)
            self._thread.start()

    def finish(self, out_pos: int | None) -> None:
        """Let the pass come to `out_pos`, no further than it was let go already (None: stop it where
        it is), then end it and wait for it; later calls do nothing."""
        if self._ended:
            return
        if out_pos is not None:
            self.reach(out_pos)  # (starts the pass if it has not begun)
        self._ended = True
        with self._changed:
            self._final = True
            self._target = -1 if out_pos is None else out_pos  # (not the margin it was let go to)
            self._changed.notify()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        try:
            reader = CheckpointingReader(self._checkpoints.path, _Checkpoint(0, 0, None), self._checkpoints.offer)
        except OSError:
            return
        try:
            while True:
                with self._changed:
                    while not self._final and reader.tell() >= self._target:
                        self._changed.wait()
                    count = min(self._target - reader.tell(), _STEP)
                if count <= 0:
                    return
                before = reader.tell()
                reader.skip(count)
                if reader.tell() == before:
                    return  # the end of the stream
        except (OSError, EOFError, ValueError, zlib.error):
            return  # damaged: the checkpoints taken before stand
        finally:
            reader.close()


class _Window(io.RawIOBase):
    """At most `size` bytes of a stream (one tar member)."""

    def __init__(self, stream: CheckpointingReader, size: int) -> None:
        super().__init__()
        self._stream = stream
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._left <= 0:
            return 0
        view = memoryview(buffer)[: min(len(buffer), self._left)]
        n = self._stream.readinto(view)
        self._left -= n
        return n

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            super().close()


def open_member(checkpoints: GzipCheckpoints, offset: int, size: int) -> BinaryIO:
    """The `size` decompressed bytes at `offset`, started from the nearest checkpoint."""
    return io.BufferedReader(_Window(checkpoints.reader(offset), size), buffer_size=1024 * 1024)
