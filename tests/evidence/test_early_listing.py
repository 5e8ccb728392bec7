"""A backup's hashed-name folders listed from the run's beginning (backup_folders.list_folders_early):
the open of that backup takes the listing, any other open lists its own, a run finds exactly what it
finds without it, and nothing is left running or written once the run is done."""

from __future__ import annotations

import dataclasses
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

import preuve.evidence.backup_folders as folders_module
import preuve.evidence.sources.backup as backup_module
from preuve.evidence.backup_folders import list_folders_early
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.evidence.parallel import can_fork
from preuve.run.results import CheckOptions
from tests.evidence.test_ios_integrity import _damaged_backup
from tests.helpers import RecordCollector

pytestmark = pytest.mark.skipif(not can_fork(2), reason="no forked processes here")



def _spied(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many listings were started early, and by an open."""
    started = {"early": 0, "open": 0}
    for module, name in ((folders_module, "early"), (backup_module, "open")):
        original = module.list_folders_later

        def spy(root, limits, jobs, folder, _original=original, _name=name):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202
            started[_name] += 1
            return _original(root, limits, jobs, folder)

        monkeypatch.setattr(module, "list_folders_later", spy)
    return started


def _checked_alone(root: Path) -> tuple[CheckOptions, RecordCollector]:
    """The options of an integrity-only run with two jobs, and the records that run gives with one."""
    from preuve.run.engine import run_check

    options = CheckOptions(only_artifacts=("acquisition_integrity",), jobs=2)
    alone = RecordCollector()
    run_check(root, dataclasses.replace(options, jobs=1), sinks=[alone])
    return options, alone


def test_the_run_takes_the_listing_begun_early_and_finds_what_it_finds_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_tmp: Path
) -> None:
    from preuve.run.engine import run_check

    root = _damaged_backup(tmp_path, 3)
    options, alone = _checked_alone(root)
    assert len(alone.records) == 29  # (what the damage of _damaged_backup with this seed shows)
    monkeypatch.setattr(folders_module, "LIST_BESIDE_MIN_BYTES", 0)
    monkeypatch.setattr(backup_module, "LIST_BESIDE_MIN_BYTES", 0)
    started = _spied(monkeypatch)
    # Begun by run_check itself, before it loads the feeds.
    collector = RecordCollector()
    run_check(root, options, sinks=[collector])
    assert started == {"early": 1, "open": 0}
    assert collector.records == alone.records
    # Begun by its caller (the command line, before it imports the run), and handed over.
    with list_folders_early(root, DEFAULT_LIMITS, 2, ("acquisition_integrity",)) as early:
        assert early is not None
        given = RecordCollector()
        run_check(root, options, sinks=[given], early=early)
        assert early.taken
    assert started == {"early": 2, "open": 0}
    assert given.records == alone.records
    assert multiprocessing.active_children() == []
    assert list(private_tmp.iterdir()) == []


def test_another_open_lists_its_own_and_what_nobody_took_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_tmp: Path
) -> None:
    from preuve.run.engine import run_check

    first = _damaged_backup(tmp_path / "one", 3)
    second = _damaged_backup(tmp_path / "two", 4)
    options, alone = _checked_alone(second)
    monkeypatch.setattr(folders_module, "LIST_BESIDE_MIN_BYTES", 0)
    monkeypatch.setattr(backup_module, "LIST_BESIDE_MIN_BYTES", 0)
    started = _spied(monkeypatch)
    limits = dataclasses.replace(DEFAULT_LIMITS, max_archive_entries=DEFAULT_LIMITS.max_archive_entries - 1)
    for evidence, early_limits in ((first, DEFAULT_LIMITS), (second, limits)):
        started.update(early=0, open=0)
        with list_folders_early(evidence, early_limits, 2, None) as early:
            assert early is not None
            collector = RecordCollector()
            run_check(second, options, sinks=[collector], early=early)  # (another backup, or other limits)
            assert not early.taken
        assert started == {"early": 1, "open": 1}
        assert collector.records == alone.records
    assert multiprocessing.active_children() == []
    assert list(private_tmp.iterdir()) == []


def test_nothing_is_begun_where_no_open_would_list_the_folders_beside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_tmp: Path
) -> None:
    root = _damaged_backup(tmp_path / "one", 3)
    _damaged_backup(tmp_path / "two", 4)
    monkeypatch.setattr(folders_module, "LIST_BESIDE_MIN_BYTES", 0)
    (tmp_path / "file").write_bytes(b"not a backup")
    cases = [
        (root, 1, None),  # one job
        (root, 2, ("manifest", "sms")),  # a run without the integrity check
        (tmp_path / "file", 2, None),  # not a backup
        (tmp_path / "absent", 2, None),
        (tmp_path, 2, None),  # two backups in one folder (the open says so)
    ]
    for evidence, jobs, runs in cases:
        with list_folders_early(evidence, DEFAULT_LIMITS, jobs, runs) as early:
            assert early is None
    monkeypatch.setattr(folders_module, "LIST_BESIDE_MIN_BYTES", 4 << 20)
    with list_folders_early(root, DEFAULT_LIMITS, 2, None) as early:
        assert early is None  # a small Manifest.db: listed when wanted
    with list_folders_early(tmp_path / "one", DEFAULT_LIMITS, 2, None) as early:
        assert early is None
    monkeypatch.setattr(folders_module, "LIST_BESIDE_MIN_BYTES", 0)
    with list_folders_early(tmp_path / "one", DEFAULT_LIMITS, 2, None) as early:  # the one backup inside
        assert early is not None and early.root == root.resolve()
    assert multiprocessing.active_children() == []
    assert list(private_tmp.iterdir()) == []


def test_the_command_line_looks_for_a_backup_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_tmp: Path
) -> None:
    """`preuve check` begins the listing before it imports the run; the run does not look through the
    evidence for a backup again when there was nothing to list (a folder that holds no backup may be
    big), and takes the listing when there was."""
    from click.testing import CliRunner

    from preuve.cli import build_cli

    looked: list[Path] = []
    start = folders_module._start_early  # noqa: SLF001

    def counted(evidence: Path, *args: object) -> object:
        looked.append(evidence)
        return start(evidence, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(folders_module, "_start_early", counted)
    monkeypatch.setattr(folders_module, "LIST_BESIDE_MIN_BYTES", 0)
    started = _spied(monkeypatch)
    dump = tmp_path / "dump"
    (dump / "private" / "var" / "mobile").mkdir(parents=True)
    backup = _damaged_backup(tmp_path / "one", 3)
    for evidence, early in ((dump, 0), (backup, 1)):
        looked.clear()
        started.update(early=0, open=0)
        result = CliRunner().invoke(build_cli(), ["check", str(evidence), "-o", str(tmp_path / f"out{early}"), "-q",
                                                  "--jobs", "2"])
        assert result.exit_code in (0, 2, 3), result.output
        assert looked == [evidence]
        assert started == {"early": early, "open": 0}
    assert multiprocessing.active_children() == []
    assert list(private_tmp.iterdir()) == []


def test_folders_past_the_bound_fail_the_check_as_listed_by_one_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_tmp: Path
) -> None:
    """More stored files than the bound: the listing begun early gives up, and the check reports the
    bound exactly as a run of one job does."""
    from preuve.run.engine import run_check
    from preuve.run.results import CheckOptions

    root = _damaged_backup(tmp_path, 3)
    with sqlite3.connect(f"file:{root / 'Manifest.db'}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT count(*) FROM Files").fetchone()[0]
    (root / "ab").mkdir(exist_ok=True)
    for n in range(rows):  # stored, listed nowhere: more stored files than rows
        (root / "ab" / f"ab{n:038x}").write_bytes(b"y")
    monkeypatch.setattr(folders_module, "LIST_BESIDE_MIN_BYTES", 0)
    started = _spied(monkeypatch)
    limits = dataclasses.replace(DEFAULT_LIMITS, max_archive_entries=rows + 10)
    reports = []
    for jobs in (1, 2):
        result = run_check(root, CheckOptions(only_artifacts=("acquisition_integrity",), jobs=jobs, limits=limits))
        (report,) = [r for r in result.artifacts if r.name == "acquisition_integrity"]
        reports.append((report.status, report.errors, report.records))
    assert started == {"early": 1, "open": 0}
    assert reports[1] == reports[0]
    assert reports[0][1] == [f"{root}: more than {rows + 10} stored files"]
    assert multiprocessing.active_children() == []
    assert list(private_tmp.iterdir()) == []
