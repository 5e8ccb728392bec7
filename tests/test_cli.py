from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from preuve.builders.demo import build_demo_backup
from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.ios_dbs import Message, fill_sms
from preuve.cli import build_cli
from tests.builders import feed, snapshot
from tests.builders.demo_expected import DEMO_SEVERITIES, DEMO_SMS_MESSAGES


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_cli(), list(args))
    return result.exit_code, " ".join(result.output.split())


def test_demo_end_to_end(tmp_path: Path) -> None:
    code, output = _run("demo", "-o", str(tmp_path / "demo"))
    assert code == 0, output  # the demo succeeds when it finds what it planted
    assert "Demo complete" in output
    assert "Pegasus" in output
    doc = json.loads((tmp_path / "demo" / "results" / "findings.json").read_text())
    malware = {f["indicator"]["malware"] for f in doc["findings"] if f["indicator"]}
    assert malware == {"Pegasus"}
    assert doc["summary"]["findings_by_severity"] == DEMO_SEVERITIES


def test_check_outputs_contract(tmp_path: Path, pegasus_feed: Path) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    before = snapshot(backup)
    out = tmp_path / "out"
    code, output = _run("check", str(backup), "--iocs", str(pegasus_feed), "-o", str(out), "-q", "--timeline", "csv")
    assert code == 2, output
    assert snapshot(backup) == before
    doc = json.loads((out / "findings.json").read_text())
    first = doc["findings"][0]
    assert set(first) == {
        "id", "severity", "artifact", "rule", "indicator", "observable", "locator", "timestamp", "explanation",
        "record_sha256", "strength", "context", "count", "group",
    }
    assert first["strength"] == "implant" and first["count"] == 1 and first["group"] is None
    # The process's context: when it was first and last seen using the network, and how much it used.
    assert [t["description"] for t in first["context"]["times"]] == ["First network use", "Last network use"]
    assert set(first["context"]["data"]) == {"wifi_in", "wifi_out", "wwan_in", "wwan_out"}
    assert first["severity"] == "critical"
    assert first["indicator"]["kind"] == "process"
    assert first["indicator"]["malware"] == "Pegasus"
    assert first["indicator"]["feed"] == "2021-07-18_nso/pegasus.stix2"
    assert first["locator"] == {
        "device_path": "/private/var/wireless/Library/Databases/DataUsage.sqlite",
        "sha256": first["locator"]["sha256"],
        "table": "ZPROCESS",
        "rowid": 8,
    }
    run = json.loads((out / "run.json").read_text())
    paths = {e["device_path"] for e in run["evidence_files"]}
    assert "/private/var/mobile/Library/SMS/sms.db" in paths
    assert "/.acquisition/backup/Manifest.db" in paths
    assert run["feeds"][0]["indicators"] == 1549
    statuses = {a["name"]: a["status"] for a in run["artifacts"]}
    # netusage.sqlite is never in a backup: not collected, not a gap; Chrome history could be, and is absent.
    assert statuses["sms"] == "ok" and statuses["netusage"] == "not_collected"
    assert statuses["chrome_history"] == "missing"
    assert run["coverage"]["artifacts"]["chrome_history"] == {
        "status": "missing", "absence": "not_listed", "why": "not in this acquisition",
    }
    assert run["coverage"]["acquisition"] == {"kind": "ios_backup", "status": "read", "problems": []}
    assert run["verdict"]["key"] == "spyware" and run["verdict"]["exit_code"] == 2
    lines = (out / "artifacts" / "sms.jsonl").read_text().splitlines()
    assert len(lines) == DEMO_SMS_MESSAGES
    assert json.loads(lines[0])["record_type"] == "ios:sms:message"
    with open(out / "timeline.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:3] == ["datetime", "timestamp_desc", "message"]
    assert any(r["severity"] == "critical" for r in rows)


def test_deterministic_findings(tmp_path: Path, pegasus_feed: Path) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    for name in ("a", "b"):
        _run("check", str(backup), "--iocs", str(pegasus_feed), "-o", str(tmp_path / name), "-q")
    assert (tmp_path / "a" / "findings.json").read_bytes() == (tmp_path / "b" / "findings.json").read_bytes()


def test_clean_backup_exit_zero(tmp_path: Path, pegasus_feed: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, [Message(text="hi")]))
    code, output = _run("check", str(builder.finish()), "--iocs", str(pegasus_feed), "-o", str(tmp_path / "o"))
    assert code == 0, output


def test_no_iocs_warns_loudly(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    code, output = _run("check", str(builder.finish()), "-o", str(tmp_path / "o"))
    # Heuristics alone are not a full check: never exit 0, and the headline says so.
    assert code == 3
    assert "only heuristics" in output
    assert "Heuristics only: no spyware indicator was loaded" in output


def test_incomplete_exit_three(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_file("HomeDomain", "Library/SMS/sms.db", b"this is not a database" * 100)
    code, output = _run("check", str(builder.finish()), "-o", str(tmp_path / "o"))
    assert code == 3, output
    assert "sms.db" in output and "Traceback" not in output


def test_not_an_acquisition_exit_one(tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    code, output = _run("check", str(tmp_path / "nothing"), "-o", str(tmp_path / "o"))
    assert code == 1
    assert "not an acquisition" in output and "Traceback" not in output


def test_bad_feed_exit_one(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    bad = tmp_path / "bad.stix2"
    bad.write_text("{")
    code, output = _run("check", str(builder.finish()), "--iocs", str(bad), "-o", str(tmp_path / "o"))
    assert code == 1
    assert "bad.stix2" in output


def test_output_inside_evidence_refused(tmp_path: Path) -> None:
    root = BackupBuilder(tmp_path / "b").finish()
    before = snapshot(root)
    code, output = _run("check", str(root), "-o", str(root / "out"))
    assert code == 1
    assert "must not be inside the evidence" in output
    assert snapshot(root) == before


def test_feed_folder(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db",
                       lambda c: fill_sms(c, [Message(text="go to https://x.bad.example/")]))
    feed(tmp_path / "iocs" / "one" / "a.stix2", ("[domain-name:value='bad.example']", "A"))
    feed(tmp_path / "iocs" / "two" / "b.stix2", ("[domain-name:value='other.example']", "B"))
    (tmp_path / "iocs" / "notes.json").write_text("[]")
    code, output = _run("check", str(builder.finish()), "--iocs", str(tmp_path / "iocs"), "-o", str(tmp_path / "o"))
    assert code == 2, output
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert [f["name"] for f in run["feeds"]] == ["one/a.stix2", "two/b.stix2"]


def test_output_that_cannot_be_written_stops_the_run(tmp_path: Path, pegasus_feed: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk while records are written is not an artifact that failed (exit 3, run goes on):
    it stops the run with a clear error (exit 1), since every output after it would be missing."""
    import errno

    from preuve.report.outdir import _RecordWriter

    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db",
                       lambda c: fill_sms(c, [Message(text=f"m{i}", handle="+4179") for i in range(5)]))
    root = builder.finish()
    written: list[int] = []

    def full(self: _RecordWriter, *args: object) -> None:
        written.append(1)
        if len(written) > 2:
            raise OSError(errno.ENOSPC, "No space left on device")

    # (records reach the output folder as a batch of values, or as their lines joined)
    monkeypatch.setattr(_RecordWriter, "write_records", full)
    monkeypatch.setattr(_RecordWriter, "write_joined", full)
    code, output = _run("check", str(root), "--iocs", str(pegasus_feed), "-o", str(tmp_path / "o"))
    assert code == 1, output
    assert "No space left on device" in output and "the run stopped" in output and "Traceback" not in output
    assert len(written) == 3
