"""A tar's member headers read from the run's beginning, on the core the start-up leaves idle.

A dump archived as a tar is listed by a pipeline of two stages: a forked process reads the headers
(the kernel in :mod:`~preuve.evidence.formats.tarheaders`), and the main process places the members
as the batches come (:mod:`~preuve.evidence.sources.tar`). The header scan is the stage that bounds
the listing: the main process waits for its batches. Started by the tar's open, the scan began only
after the run's imports, its feeds and the acquisition's kind were done, a quarter of a second during
which the second core was idle. :func:`scan_headers_early` starts it when the run begins (the command
line, before it imports the run), and the tar's open takes it (:meth:`EarlyHeaders.take`) when it is
the same file, read with the same bound and jobs; what no open took is stopped when the run ends.

This module imports nothing of preuve but the header kernel, the gzip reader, the limits, the errors
and the parallel kernel, so that starting it costs the run nothing it would not import anyway.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO

from preuve.evidence.formats.gzindex import indexing_reader
from preuve.evidence.formats.tarheaders import TarHeaders, cut_short, header_near, scan_tar_batches
from preuve.evidence.limits import RATIO_FLOOR, Limits
from preuve.evidence.parallel import Beside, can_fork

HEADER_BATCH = 4096  # member headers handed over at a time
# A plain tar this big has its header scan split in two halves, each read by a process of its own
# (see SplitScan); where the second half begins is looked for this far past the middle.
SPLIT_MIN_BYTES = 64 << 20
_SPLIT_REACH = 1 << 20


@dataclass(slots=True)
class HeaderBatch:
    """A batch of member headers as the header scan gives them (they may come from a forked process),
    and with the last batch what is wrong with the archive as a whole."""

    headers: TarHeaders
    damage: list[str] = field(default_factory=list)
    stopped: bool = False  # (the last batch of a first half that stopped where the second begins)


def header_batches(
    open_stream: Callable[[], BinaryIO], where: str, budget: int | None, size: int = HEADER_BATCH,
    start: int = 0, until: int | None = None,
) -> Iterator[HeaderBatch]:
    """The archive's member headers, a batch at a time, then what is wrong with the archive as a whole
    (a batch of no headers). When reading them fails, the headers read before are yielded first, then
    what is wrong, then the error raised, as one read of them raises it. From `start` (a plain tar's
    offset), or up to `until` (see scan_tar_batches): a half of the scan (SplitScan)."""
    damage: list[str] = []
    stopped: list[int] = []
    try:
        with open_stream() as stream:
            if start:
                stream.seek(start)
            for batch in scan_tar_batches(stream, where, budget, damage, size, start, until, stopped):
                yield HeaderBatch(batch)
    except Exception:
        yield HeaderBatch(TarHeaders(), damage)  # (a stream cut inside a member says so, then fails)
        raise
    yield HeaderBatch(TarHeaders(), damage, bool(stopped))


class SplitScan:
    """A plain tar's header scan in two halves, each read by a forked process from the run's beginning:
    the headers are the stage that bounds a tar's listing, and a phone's file system as a tar is
    hundreds of thousands of them (a pax header before each, as GNU tar writes them). The second half
    begins at a header past the middle (formats.tarheaders.header_near); the first stops there only
    when it comes to a header at that very offset with nothing carried over to it, and then the second
    half's headers follow. Otherwise (the offset lay inside a member's data, a global pax header came
    before) the first half is the whole scan and the second is dropped. The headers, their order and
    errors are those of one scan; a cut-short archive's note counts the members of both halves."""

    def __init__(self, path: Path, where: str, jobs: int, folder: Path, cut: int) -> None:
        def stream() -> BinaryIO:
            return open(path, "rb", buffering=1024 * 1024)  # noqa: SIM115 - closed by header_batches

        self.first = Beside(partial(header_batches, stream, where, None, HEADER_BATCH, 0, cut), jobs, folder)
        self.second = Beside(partial(header_batches, stream, where, None, HEADER_BATCH, cut), jobs, folder)
        self.split = False  # (whether the halves met: the second's headers were taken)

    def __iter__(self) -> Iterator[HeaderBatch]:
        try:
            members, last = 0, None
            met = False
            for batch in self.first:
                if batch.stopped:
                    met = True
                    continue
                names = batch.headers.names
                if names:
                    members, last = members + len(names), names[-1]
                yield batch
            self.first.close()
            if not met:
                return
            self.split = True
            own, own_last = 0, None
            for batch in self.second:
                names = batch.headers.names
                if names:
                    own, own_last = own + len(names), names[-1]
                if batch.damage:  # (its count of members starts at the second half)
                    told = cut_short(own, own_last)
                    whole = cut_short(members + own, own_last if own else last)
                    batch = HeaderBatch(batch.headers, [whole if note == told else note for note in batch.damage])
                yield batch
        finally:
            self.close()

    def close(self) -> None:
        self.first.close()
        self.second.close()


def split_scan(path: Path, where: str, jobs: int, folder: Path) -> SplitScan | None:
    """The header scan of the plain tar at `path` in two halves (SplitScan) when it is big enough, the
    run has more than one job and a header begins past its middle; None otherwise."""
    if not can_fork(jobs):
        return None
    try:
        size = path.stat().st_size
        if size < SPLIT_MIN_BYTES:
            return None
        with open(path, "rb") as stream:
            cut = header_near(stream, size // 2, _SPLIT_REACH)
    except OSError:
        return None
    return SplitScan(path, where, jobs, folder, cut) if cut else None


def tar_budget(compressed: int, plain: bool, limits: Limits) -> int | None:
    """How many decompressed bytes a tar's header scan may read: none for a plain tar."""
    return None if plain else compressed * limits.max_decompression_ratio + RATIO_FLOOR


@dataclass(eq=False, slots=True)
class EarlyHeaders:
    """A tar's headers being read since the run began (:func:`scan_headers_early`): of which file (its
    path as given, which the scan's messages name, and its size and modification time when the scan
    began), with which bound and jobs, and the scan, which the tar's open takes (:meth:`take`)."""

    where: str
    identity: tuple[int, int]
    budget: int | None
    jobs: int
    folder: Path
    batches: Beside[HeaderBatch] | SplitScan
    taken: bool = False

    def take(self, path: Path, budget: int | None, jobs: int) -> Beside[HeaderBatch] | SplitScan | None:
        """The scan, for the open of the tar at `path` (as given) with this bound and jobs, once; None
        for any other (which reads its headers itself)."""
        try:
            same = str(path) == self.where and _identity(path) == self.identity
        except OSError:
            same = False
        if self.taken or not same or budget != self.budget or jobs != self.jobs:
            return None
        self.taken = True
        return self.batches

    def close(self) -> None:
        """Stop the scan if it still runs and remove what it wrote (once the run that took it is done)."""
        self.batches.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _identity(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


@contextmanager
def scan_headers_early(evidence: Path, limits: Limits, jobs: int) -> Iterator[EarlyHeaders | None]:
    """Start reading the headers of the tar at `evidence` now, in a forked process, when it is a plain
    or gzip-compressed tar (by its first bytes) and the run lists with more than one job; None
    otherwise. Stopped, and what it wrote removed, on leaving."""
    early = _start(evidence, limits, jobs)
    try:
        yield early
    finally:
        if early is not None:
            early.close()


def _start(evidence: Path, limits: Limits, jobs: int) -> EarlyHeaders | None:
    if not can_fork(jobs):
        return None
    try:
        if not evidence.is_file() or evidence.is_symlink():
            return None
        with open(evidence, "rb") as head:
            start = head.read(512)
        gzipped = start[:2] == b"\x1f\x8b"
        if not gzipped and start[257:262] != b"ustar":
            return None
        identity = _identity(evidence)
        folder = Path(tempfile.mkdtemp(prefix="preuve-"))  # (the system's, never beside a file's bytes)
    except OSError:
        return None  # (the open says why)
    budget = tar_budget(identity[0], not gzipped, limits)
    where = str(evidence)

    def stream() -> BinaryIO:
        if gzipped:
            return indexing_reader(evidence, None)
        return open(evidence, "rb", buffering=1024 * 1024)  # noqa: SIM115 - closed by header_batches

    def work() -> Iterator[HeaderBatch]:
        return header_batches(stream, where, budget)

    halves = None if gzipped else split_scan(evidence, where, jobs, folder)
    return EarlyHeaders(where, identity, budget, jobs, folder, halves or Beside(work, jobs, folder))

