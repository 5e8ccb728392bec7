"""The cyclic collector paced for a run over evidence (a check, a verification)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# A check makes millions of short-lived containers (records, their locators, rows, batches) and keeps
# none in a cycle; Python collects its youngest generation every 700 more containers made than
# freed, and each collection walks what is young and then, every tenth and hundredth, what is older:
# on a phone of 200,000 files, 0.87 core-second of 7.8 with one job (the older collections walk the
# listing's and the index's containers), 0.26 with two (benchmarks/README.md). Every 50,000: 0.02 and
# 0.006. Cycles are still collected, at most 50,000 containers late (an exception's traceback and its
# frames are such a cycle: a few megabytes at most), and what refcounting frees is freed at once.
YOUNG_COLLECTION = 50_000


@contextmanager
def few_collections() -> Iterator[None]:
    """The collector paced for a run (see YOUNG_COLLECTION) within the block, as it was after it; a
    process forked within the block (a worker) keeps the pace it was forked with.

    The pace is the process's: runs in threads of one process overlap their blocks. Each block puts
    back what it found only if the pace is still the one it set, so whatever order overlapping blocks
    end in, the last leaves the pace as it was before the first (a run still going when another ends
    may go on at the unpaced rate: slower, never wrong), and a pace someone else set meanwhile is kept."""
    before = gc.get_threshold()
    paced = (max(before[0], YOUNG_COLLECTION), *before[1:])
    gc.set_threshold(*paced)
    try:
        yield
    finally:
        if gc.get_threshold() == paced:
            gc.set_threshold(*before)
