"""The code benchmarks/record_instructions.py counts in each stage runs on today's engine (without
valgrind): a stage that names an engine function no longer there broke the script once, silently."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks.ios_backup import build_backup, make_plan

from tests.conftest import PACKAGED_PEGASUS, ROOT


@pytest.fixture(scope="module")
def small_backup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_backup(tmp_path_factory.mktemp("instructions") / "backup", make_plan(300, [PACKAGED_PEGASUS]))


STAGES = ("floor", "parse", "match", "stamps", "rules", "writer", "sinks")


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_reads_every_message(small_backup: Path, stage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # (the script imports its neighbours by name)
    from benchmarks import record_instructions

    assert record_instructions.STAGES == STAGES
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-c", record_instructions._CHILD, str(small_backup), str(PACKAGED_PEGASUS), "sms", stage],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "240"  # (make_plan: four in five records are messages)


def test_hostile_memory_builds_its_cases_and_measures_each_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """benchmarks/hostile_memory.py at a small size (messages of 1 MB, paths of 0.67 MB): each case is
    built, checked, and printed as a row with a peak; a case it does not know is refused."""
    from benchmarks import hostile_memory

    assert hostile_memory.main(["--workdir", str(tmp_path), "--mb", "1", "--case", "paths-30", "--jobs", "1"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| paths-30 |")]
    assert len(rows) == 1
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert cells[0] == "paths-30" and cells[2] == "1" and float(cells[3]) > 0 and float(cells[4]) > 0
    with pytest.raises(SystemExit):
        hostile_memory.main(["--workdir", str(tmp_path), "--case", "nothing"])


def test_mbfile_shapes_decodes_both_sets_in_children(capsys: pytest.CaptureFixture[str]) -> None:
    """benchmarks/mbfile_shapes.py at a small size: both sets decoded in a child each, the phone's
    spread into many more shapes than the builder's."""
    from benchmarks import mbfile_shapes

    assert mbfile_shapes.main(["--blobs", "2000", "--repeat", "1", "--src", str(ROOT / "src")]) == 0
    rows = {cells[0]: cells for cells in (
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in capsys.readouterr().out.splitlines() if line.startswith(("| builder |", "| phone |"))
    )}
    assert set(rows) == {"builder", "phone"}
    assert int(rows["builder"][2]) < 10 < 500 < int(rows["phone"][2])
    assert float(rows["phone"][3]) > 0 and float(rows["phone"][4]) > 0


def test_compare_runs_times_each_tree_with_its_own_bytecode(
    small_backup: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """benchmarks/compare_runs.py at a small size: each tree compiled into its own folder first, two
    interleaved rounds of real runs, a row per tree with its ratios to the first (itself: 1)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from benchmarks import compare_runs

    compiled: list[Path] = []
    original = compare_runs.compile_tree

    def compile_tree(tree: compare_runs.Tree) -> None:
        original(tree)
        compiled.append(tree.pycache)

    monkeypatch.setattr(compare_runs, "compile_tree", compile_tree)
    timed: list[str] = []
    run = compare_runs.timed_run

    def timed_run(tree: compare_runs.Tree, command: list[str]) -> compare_runs.Run:
        timed.append(tree.env()["PYTHONPYCACHEPREFIX"])
        assert any((Path(tree.env()["PYTHONPYCACHEPREFIX"])).rglob("engine.cpython-*.pyc"))  # (compiled before)
        return run(tree, command)

    monkeypatch.setattr(compare_runs, "timed_run", timed_run)
    source = str(ROOT / "src")
    argv = ["--evidence", str(small_backup), "--iocs", str(PACKAGED_PEGASUS), "--src", source, "--src", source,
            "--rounds", "2", "--", "--jobs", "1"]
    assert compare_runs.main(argv) == 0
    assert len(compiled) == 2 and compiled[0] != compiled[1]
    assert timed == [str(compiled[0]), str(compiled[1])] * 2
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith(f"| {ROOT / 'src'} |")]
    assert len(rows) == 2
    first = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert first[4:] == ["1.000", "1.000"] and float(first[1]) > 0 and float(first[2]) > 0 and float(first[3]) > 0
    with pytest.raises(SystemExit):
        compare_runs.main(["--evidence", str(small_backup), "--src", source, "--minus", str(small_backup)])
