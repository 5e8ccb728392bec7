"""How much memory a process has taken since a mark: what cuts a batch of records that turned big.

The engine reads records a batch at a time, each batch sized from the bytes the records before it
rendered to (:data:`preuve.run.engine.BATCH_BYTES`). Sizes learnt from small records come late when
the records turn big (a hostile database's cells can be 64 MB each), so while a batch is read the
engine looks at how much memory the process has taken since the batch began, and cuts the batch when
that is too much. This module is that look.

Two measures, and the larger growth of the two is the answer:

- the process's resident memory (``/proc/self/statm``), which counts every page the process touches,
  but does not fall when freed memory stays in malloc's heap for reuse. Once a batch of big records
  was let go of, the next big ones are read into that freed memory and resident memory does not
  grow: a backup of 5,000 small messages then 10, 20 and 40 of 30 MB took 2.6 GB (benchmarks/README.md,
  the eighteenth session);
- the bytes malloc has handed out and not had back (glibc's ``mallinfo2``: in use in its arenas,
  plus the chunks it mapped), which sees memory reused that way, but not Python's small objects
  (kept in arenas that Python maps outside malloc, and unmaps when they empty: resident memory sees
  those).

Either is left out where the platform lacks it (``mallinfo2`` is glibc's, from 2.33; ``statm`` is
Linux's); with neither, :meth:`Gauge.grown` gives None and the batch sizes alone bound memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache

_STATM = "/proc/self/statm"


@cache
def heap_in_use() -> Callable[[], int] | None:
    """A function giving the bytes malloc has handed out and not had back (glibc's ``mallinfo2``:
    ``uordblks + hblkhd``), or None where the C library has no ``mallinfo2``.

    Cached: it is the C library's function, the same for the life of the process (and in a process
    forked from it), and finding it costs some 40 microseconds; there is no state in it."""
    try:
        import ctypes  # (only here: the engine imports this module whether or not a batch is looked at)

        function = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError, TypeError, ImportError):  # (no C library by that name, or no such function)
        return None

    class _MallInfo2(ctypes.Structure):
        # glibc's struct mallinfo2 (malloc.h), every field a size_t.
        _fields_ = [
            (name, ctypes.c_size_t)
            for name in (
                "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                "keepcost",
            )
        ]

    function.restype = _MallInfo2
    function.argtypes = []

    def in_use() -> int:
        info = function()
        return int(info.uordblks) + int(info.hblkhd)

    return in_use


class Gauge:
    """The memory the process has taken since :meth:`mark` (see the module): made in the process that
    reads, since a descriptor opened before a fork would read the parent's resident memory. A look
    (:meth:`grown`) costs a few microseconds in a fresh process, and up to about a hundred in one whose
    malloc holds many freed chunks (``mallinfo2`` walks its free lists; see engine._LOOK_SHARE)."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._page = 0
        try:
            self._fd = os.open(_STATM, os.O_RDONLY)
            self._page = os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, AttributeError):
            self._close_statm()
        self._heap = heap_in_use()
        self._resident_mark: int | None = None
        self._heap_mark: int | None = None

    @property
    def measures(self) -> bool:
        """Whether it measures anything here (and is still open)."""
        return self._fd is not None or self._heap is not None

    def resident(self) -> int | None:
        """The process's resident memory in bytes (None where there is no statm, or once closed)."""
        if self._fd is None:
            return None
        try:
            return int(os.pread(self._fd, 128, 0).split()[1]) * self._page
        except (OSError, ValueError, IndexError):
            return None

    def heap(self) -> int | None:
        """The bytes malloc has handed out and not had back (None where that is not known, or once closed)."""
        return self._heap() if self._heap is not None else None

    def mark(self) -> None:
        """From now on, :meth:`grown` counts from here."""
        self._resident_mark = self.resident()
        self._heap_mark = self.heap()

    def grown(self) -> int | None:
        """How many bytes the process has taken since the mark, by the measure that saw more (it may be
        negative: memory was given back); None when nothing is measured."""
        growth: int | None = None
        if self._resident_mark is not None:
            now = self.resident()
            if now is not None:
                growth = now - self._resident_mark
        if self._heap_mark is not None:
            now = self.heap()
            if now is not None and (growth is None or now - self._heap_mark > growth):
                growth = now - self._heap_mark
        return growth

    def close(self) -> None:
        self._close_statm()
        self._heap = None

    def _close_statm(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
