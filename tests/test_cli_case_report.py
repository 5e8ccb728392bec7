"""`preuve case report` writes what `preuve check` wrote, byte for byte, through the same sinks, plus
the findings of later retro-hunts; the output folder is handled as `check` handles it."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from preuve.builders.demo import build_demo_backup
from preuve.cli import build_cli
from tests.builders import feed


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_cli(), list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_case_report_is_the_check_output(tmp_path: Path, pegasus_feed: Path) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    case = tmp_path / "case.db"
    code, output = _run("check", str(backup), "--iocs", str(pegasus_feed), "-o", str(tmp_path / "checked"), "-q",
                        "--timeline", "both",
                        "--case", str(case))
    assert code == 2, output
    code, output = _run("case", "report", str(case), "backup", "-o", str(tmp_path / "report"), "--timeline", "both")
    assert code == 0, output
    checked, reported = _files(tmp_path / "checked"), _files(tmp_path / "report")
    assert sorted(reported) == sorted(checked)
    assert {"report.html", "bundle.json", "bundle.md", "timeline.csv", "timeline.jsonl"} <= set(reported)
    assert [name for name in checked if reported[name] != checked[name]] == []

    # A finding that a later feed reveals is in every file of the next report.
    sms = [json.loads(line) for line in (tmp_path / "checked" / "artifacts" / "sms.jsonl").read_text().splitlines()]
    link = next(link for record in sms for link in record["links"])
    domain = link.split("/")[2]
    later = feed(tmp_path / "later.stix2", (f"[domain-name:value='{domain}']", "Later Spy"))
    code, output = _run("rehunt", str(case), "--iocs", str(later))
    assert code == 2, output
    code, output = _run("case", "report", str(case), "backup", "-o", str(tmp_path / "report"), "--timeline", "both")
    assert code == 0, output
    findings = json.loads((tmp_path / "report" / "findings.json").read_text())["findings"]
    assert any(f["indicator"] and f["indicator"]["malware"] == "Later Spy" for f in findings)
    bundle = json.loads((tmp_path / "report" / "bundle.json").read_text())
    assert any(f["indicator"] and f["indicator"]["malware"] == "Later Spy" for f in bundle["findings"])
    assert "Later Spy" in (tmp_path / "report" / "report.html").read_text()
    # The records and the check's run.json are unchanged.
    again = _files(tmp_path / "report")
    assert {n: b for n, b in again.items() if n.startswith("artifacts/") or n == "run.json"} == {
        n: b for n, b in checked.items() if n.startswith("artifacts/") or n == "run.json"
    }

    # The output folder is handled as check's: other files are refused, nothing is mixed.
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    code, output = _run("case", "report", str(case), "backup", "-o", str(mine))
    assert code == 1 and "not a preuve output" in " ".join(output.split())
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
