"""A fleet device gets what `preuve check` writes (through the same code), with the feeds `check` uses,
nothing left behind, and `preuve verify` confirms it."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from preuve.cli import build_cli
from preuve.commands.settings import data_dir
from preuve.indicators.feeds import import_feeds
from tests.builders import feed
from tests.builders.fleet import KNOWN_DOMAIN, build_device


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner(env={"COLUMNS": "250"}).invoke(build_cli(), list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def _names(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_fleet_device_is_a_check_output_with_installed_feeds(tmp_path: Path) -> None:
    devices = tmp_path / "devices"
    infected = build_device(devices / "device00", 0)  # carries a link to KNOWN_DOMAIN
    build_device(devices / "device01", 1)
    import_feeds([feed(tmp_path / "known.stix2", (f"[domain-name:value='{KNOWN_DOMAIN}']", "Known Spy"))], data_dir())

    code, output = _invoke("fleet", str(devices), "--case", str(tmp_path / "case" / "c.db"),
                           "-o", str(tmp_path / "reports"), "--timeline", "both")
    assert code == 0, output
    assert "Using 1 installed indicator feed(s) (1 indicators)" in output
    [folder] = [p for p in (tmp_path / "reports").iterdir() if p.name.startswith("device00-")]
    findings = json.loads((folder / "findings.json").read_text())["findings"]
    assert [(f["severity"], f["indicator"]["malware"]) for f in findings if f["indicator"]] == [("high", "Known Spy")]

    code, output = _invoke("check", str(infected), "-o", str(tmp_path / "checked"), "-q", "--timeline", "both")
    assert code == 2, output
    assert _names(folder) == _names(tmp_path / "checked")
    assert {"report.html", "bundle.json", "bundle.md", "timeline.csv", "timeline.jsonl"} <= _names(folder)
    assert (folder / "bundle.json").read_bytes() == (tmp_path / "checked" / "bundle.json").read_bytes()
    assert (folder / "timeline.jsonl").read_bytes() == (tmp_path / "checked" / "timeline.jsonl").read_bytes()

    # Nothing left beside the case or in the reports but the case itself and one folder per device.
    leftovers = sorted(p.name for p in (tmp_path / "case").iterdir())
    assert leftovers == ["c.db", "c.db.lock"]
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "reports").iterdir()) == ["device00", "device01"]
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(("-wal", "-shm")) or "case-part" in p.name]

    code, output = _invoke("verify", str(folder), str(infected))
    assert code == 0, output
    assert "2 of 2 findings confirmed." in output


def test_fleet_again_replaces_each_device_folder(tmp_path: Path) -> None:
    devices = tmp_path / "devices"
    build_device(devices / "device00", 0)
    args = ("fleet", str(devices), "--case", str(tmp_path / "c.db"), "-o", str(tmp_path / "reports"), "--no-resume")
    assert _invoke(*args)[0] == 0
    [folder] = list((tmp_path / "reports").iterdir())
    (folder / "artifacts" / "notes.txt").write_text("mine\n")
    # A folder holding a file no run writes is not replaced silently: that device fails, named.
    code, output = _invoke(*args)
    assert code == 1 and "not a preuve output" in output
    (folder / "artifacts" / "notes.txt").unlink()
    (folder / "artifacts" / "datausage.jsonl").write_text("{}\n")
    assert _invoke(*args)[0] == 0
    assert (folder / "artifacts" / "datausage.jsonl").read_text() != "{}\n"
