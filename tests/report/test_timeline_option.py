"""`check --timeline csv|jsonl|both|none` (default none) and `preuve timeline OUT`, which renders the
same timeline later from artifacts/, findings.json and run.json."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from preuve.builders.demo import build_demo_backup
from preuve.cli import build_cli


@pytest.fixture(scope="module")
def demo_backup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_backup(tmp_path_factory.mktemp("demo") / "backup")


def check(backup: Path, out: Path, feed: Path, *extra: str) -> None:
    result = CliRunner().invoke(build_cli(), ["check", str(backup), "--iocs", str(feed), "-o", str(out), "-q", *extra])
    assert result.exit_code == 2, result.output


def test_the_default_writes_no_timeline(demo_backup: Path, pegasus_feed: Path, tmp_path: Path) -> None:
    check(demo_backup, tmp_path / "default", pegasus_feed)
    check(demo_backup, tmp_path / "csv", pegasus_feed, "--timeline", "csv")
    check(demo_backup, tmp_path / "jsonl", pegasus_feed, "--timeline", "jsonl")
    timelines = {"timeline.csv", "timeline.jsonl"}
    assert not {p.name for p in (tmp_path / "default").iterdir()} & timelines
    assert {p.name for p in (tmp_path / "csv").iterdir()} & timelines == {"timeline.csv"}
    assert {p.name for p in (tmp_path / "jsonl").iterdir()} & timelines == {"timeline.jsonl"}
    # The rest of the folder does not depend on the choice.
    for name in ("findings.json", "bundle.json", "artifacts/sms.jsonl", "artifacts/manifest.jsonl"):
        assert (tmp_path / "csv" / name).read_bytes() == (tmp_path / "default" / name).read_bytes()


def test_timeline_renders_later_what_check_writes(demo_backup: Path, pegasus_feed: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    check(demo_backup, out, pegasus_feed, "--timeline", "both")
    kept = tmp_path / "kept"
    kept.mkdir()
    for name in ("timeline.csv", "timeline.jsonl"):
        shutil.move(out / name, kept / name)
    result = CliRunner().invoke(build_cli(), ["timeline", str(out), "--format", "both"])
    assert result.exit_code == 0, result.output
    assert result.output.split() == [str(out / "timeline.csv"), str(out / "timeline.jsonl")]
    csv_rows = (kept / "timeline.csv").read_bytes()
    assert csv_rows.count(b"\r\n") > 90 and b",critical," in csv_rows  # rows with findings, graded
    assert (out / "timeline.csv").read_bytes() == csv_rows
    assert (out / "timeline.jsonl").read_bytes() == (kept / "timeline.jsonl").read_bytes()
    assert not list(out.glob(".timeline.*"))


def test_timeline_of_a_folder_without_run_json_fails_cleanly(tmp_path: Path) -> None:
    result = CliRunner().invoke(build_cli(), ["timeline", str(tmp_path)])
    assert result.exit_code == 1
    assert "run.json" in result.output
