"""The memory gauge that cuts a batch of records grown big (run/memory.py)."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from preuve.run.memory import Gauge, heap_in_use

_GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def test_memory_written_is_seen() -> None:
    """64 MB written since the mark show as at least 60 MB grown, where anything is measured."""
    gauge = Gauge()
    try:
        gauge.mark()
        if not gauge.measures:
            assert gauge.grown() is None
            return
        block = b"\x01" * (64 << 20)  # (every page written)
        grown = gauge.grown()
        assert grown is not None and grown >= 60 << 20
        del block
    finally:
        gauge.close()


def test_memory_freed_then_reused_is_seen() -> None:
    """Memory malloc keeps for reuse after it was freed is taken again without the process's resident
    memory growing: the gauge sees it all the same (by what malloc has handed out). The case that let
    a backup of clusters of 30 MB messages take 2.6 GB: the batch after a batch of big records was
    read into the memory that one left, and resident memory never grew."""
    if not _GLIBC:
        pytest.skip("malloc's own count is glibc's mallinfo2")
    gauge = Gauge()
    try:
        first = b"\x00" * (2 << 20)  # mapped, then freed: malloc now keeps blocks of this size
        del first
        big, pins = [], []
        for _ in range(40):  # 80 MB of blocks, each followed by a small one that keeps the heap from shrinking
            big.append(b"\x01" * (2 << 20))
            pins.append(bytearray(1024))
        del big
        gauge.mark()
        again = [b"\x02" * (2 << 20) for _ in range(40)]
        grown = gauge.grown()
        assert grown is not None and grown >= 70 << 20
        del again, pins
    finally:
        gauge.close()


def test_the_heap_count_where_the_c_library_has_it() -> None:
    """glibc gives malloc's count (a function, found once); elsewhere there is none."""
    found = heap_in_use()
    assert found is heap_in_use()
    if _GLIBC:
        assert found is not None and found() > 0
    elif found is None:
        assert Gauge().heap() is None


def test_a_closed_gauge_measures_nothing() -> None:
    gauge = Gauge()
    gauge.mark()
    gauge.close()
    assert not gauge.measures
    assert gauge.resident() is None and gauge.heap() is None
    assert gauge.grown() is None
    gauge.close()  # (twice: nothing to close)


def test_resident_memory_is_the_process_s_own() -> None:
    """Where the platform has /proc/self/statm, resident memory is the process's (64 MB written show
    as at least 60 MB more); elsewhere it is not known."""
    gauge = Gauge()
    try:
        before = gauge.resident()
        if not Path("/proc/self/statm").exists():
            assert before is None
            return
        assert before is not None and before > 0
        block = b"\x01" * (64 << 20)
        after = gauge.resident()
        assert after is not None and after - before >= 60 << 20
        del block
    finally:
        gauge.close()
