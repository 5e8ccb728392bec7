"""A tar's headers read from the run's beginning (early_tar.scan_headers_early): the open of that tar
takes the scan, any other open reads its own, a run finds exactly what it finds without it, what no
open took is stopped when the open is done, and nothing is left running or written once the run is."""

from __future__ import annotations

import dataclasses
import gzip
import multiprocessing
import os
from pathlib import Path
from typing import cast

import pytest

import preuve.evidence.early_tar as early_module
from preuve.evidence.early_tar import scan_headers_early
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.evidence.parallel import can_fork
from preuve.run.results import CheckOptions
from tests.evidence.test_tarheaders import _member
from tests.helpers import RecordCollector

pytestmark = pytest.mark.skipif(not can_fork(2), reason="no forked processes here")



def _dump(path: Path, count: int, compress: bool = False) -> Path:
    """An iOS file-system dump as a tar: private/var/… with a few hundred files."""
    parts = [_member(f"private/var/mobile/f{n:04d}.txt", b"x" * (n % 7)) for n in range(count)]
    parts.append(_member("private/var/mobile/Library/Preferences/com.apple.x.plist", b"<plist/>"))
    data = b"".join(parts) + bytes(1024)
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


def _taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What each open asked of the scan begun early: whether it took it."""
    seen: list[bool] = []
    original = early_module.EarlyHeaders.take

    def take(self, *args):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN002, ANN202
        got = original(self, *args)
        seen.append(got is not None)
        return got

    monkeypatch.setattr(early_module.EarlyHeaders, "take", take)
    return seen


def _records(evidence: Path, jobs: int, **kwargs: object) -> list[object]:
    from preuve.run.engine import run_check

    collector = RecordCollector()
    run_check(evidence, CheckOptions(only_artifacts=("filesystem",), jobs=jobs), sinks=[collector], **kwargs)
    return collector.records


@pytest.mark.parametrize(("compress", "halves"), [(False, False), (True, False), (False, True)])
def test_the_run_takes_the_scan_begun_early_and_finds_what_it_finds_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_tmp: Path, compress: bool, halves: bool
) -> None:
    evidence = _dump(tmp_path / ("dump.tar.gz" if compress else "dump.tar"), 300, compress)
    if halves:  # (a big plain tar: its scan begun in two halves, early_tar.SplitScan)
        monkeypatch.setattr(early_module, "SPLIT_MIN_BYTES", 1)
    alone = _records(evidence, 1)
    assert len(alone) == 306  # (301 files and the 5 folders above them)
    taken = _taken(monkeypatch)
    assert _records(evidence, 2) == alone  # begun by run_check itself, before it loads the feeds
    assert taken == [True]
    with scan_headers_early(evidence, DEFAULT_LIMITS, 2) as early:  # begun by its caller, and handed over
        assert early is not None
        assert isinstance(early.batches, early_module.SplitScan) == halves
        assert _records(evidence, 2, early=early, begun=True) == alone
        assert early.taken
        assert not halves or cast(early_module.SplitScan, early.batches).split
    assert taken == [True, True]
    assert multiprocessing.active_children() == []
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize("halves", [False, True])
def test_another_open_reads_its_own_and_what_nobody_took_is_stopped_after_the_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_tmp: Path, halves: bool
) -> None:
    if halves:  # (plain tars scanned in two halves: both stopped)
        monkeypatch.setattr(early_module, "SPLIT_MIN_BYTES", 1)
    first, second = _dump(tmp_path / "one.tar", 200), _dump(tmp_path / "two.tar", 300)
    alone = _records(second, 1)
    taken = _taken(monkeypatch)
    limits = dataclasses.replace(DEFAULT_LIMITS, max_decompression_ratio=DEFAULT_LIMITS.max_decompression_ratio - 1)
    changed = _dump(tmp_path / "changed.tar", 300)
    cases = [(first, DEFAULT_LIMITS, second), (changed, DEFAULT_LIMITS, changed)]
    gz = _dump(tmp_path / "two.tar.gz", 300, compress=True)
    cases.append((gz, limits, gz))  # another bound (a compressed tar's depends on the limits)
    for begun, early_limits, checked in cases:
        with scan_headers_early(begun, early_limits, 2) as early:
            assert early is not None
            if begun == changed:
                _dump(changed, 300)  # written again (another modification time): another file
                os.utime(changed, ns=(1, 1))
            records = _records(checked, 2, early=early, begun=True)
            assert not early.taken
            assert not early.folder.exists()  # stopped once the open was done
        assert records == (alone if checked != gz else _records(gz, 1))
    assert taken == [False, False, False]
    assert multiprocessing.active_children() == []
    assert list(private_tmp.iterdir()) == []


def test_nothing_is_begun_for_what_is_not_a_plain_or_gzip_tar(tmp_path: Path, private_tmp: Path) -> None:
    tar = _dump(tmp_path / "dump.tar", 10)
    (tmp_path / "file").write_bytes(b"not a tar" * 100)
    (tmp_path / "link.tar").symlink_to(tar)
    cases = [(tar, 1), (tmp_path / "file", 2), (tmp_path / "absent", 2), (tmp_path, 2), (tmp_path / "link.tar", 2)]
    for evidence, jobs in cases:
        with scan_headers_early(evidence, DEFAULT_LIMITS, jobs) as early:
            assert early is None
    assert list(private_tmp.iterdir()) == []
