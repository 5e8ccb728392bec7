"""timeline.jsonl (Timesketch), export-stix (STIX 2.1 sightings, MISP event), check --json and -q."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from preuve.builders.demo import build_demo_backup
from preuve.cli import build_cli
from preuve.report.formats.share import finding_from_dict, load_output
from tests.builders import snapshot
from tests.builders.demo_expected import (
    DEMO_FINDINGS,
    DEMO_INDICATOR_FINDINGS,
    DEMO_RULE_FINDINGS,
    DEMO_SEVERITIES,
)


@pytest.fixture
def demo_out(tmp_path: Path, pegasus_feed: Path) -> Path:
    backup = build_demo_backup(tmp_path / "backup")
    before = snapshot(backup)
    # Both timelines (the default writes timeline.csv only): the tests below read the Timesketch one.
    result = CliRunner().invoke(build_cli(), ["check", str(backup), "--iocs", str(pegasus_feed),
                                              "-o", str(tmp_path / "out"), "-q", "--timeline", "both"])
    assert result.exit_code == 2, result.output
    assert snapshot(backup) == before
    return tmp_path / "out"


def test_timeline_jsonl_is_timesketch(demo_out: Path) -> None:
    events = [json.loads(line) for line in (demo_out / "timeline.jsonl").read_text().splitlines()]
    with open(demo_out / "timeline.csv", newline="") as handle:
        csv_rows = list(csv.DictReader(handle))
    assert len(events) == len(csv_rows) > 90
    for event, row in zip(events, csv_rows, strict=True):  # the same timeline, row by row
        assert (event["datetime"], event["timestamp_desc"], event["artifact"], event["severity"]) == (
            row["datetime"], row["timestamp_desc"], row["artifact"], row["severity"],
        )
        when = datetime.fromisoformat(event["datetime"].replace("Z", "+00:00"))
        assert event["timestamp"] == int(when.timestamp() * 1_000_000)
        assert len(event["file_sha256"]) == 64 or event["device_path"].startswith("/.acquisition/")
    assert list(events[0])[:4] == ["message", "datetime", "timestamp", "timestamp_desc"]
    fserver = [e for e in events if "fservernetd" in e["message"] and e["artifact"] == "datausage"]
    assert [e["severity"] for e in fserver] == ["critical", "critical"]  # first and last use of fservernetd
    assert {"datausage", "sms"} <= {e["artifact"] for e in events}


def test_findings_round_trip(demo_out: Path) -> None:
    doc = json.loads((demo_out / "findings.json").read_text())
    for item in doc["findings"]:
        assert finding_from_dict(item).id == item["id"]  # the id is recomputed from the content
    facts, findings = load_output(demo_out)
    assert len(findings) == DEMO_FINDINGS and facts.acquisition == "ios_backup"


def test_export_stix_sightings(demo_out: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(build_cli(), ["export-stix", str(demo_out)])
    assert result.exit_code == 0, result.output
    bundle = json.loads((demo_out / "sightings.stix2").read_text())
    objects = {o["id"]: o for o in bundle["objects"]}
    kinds = Counter(o["type"] for o in bundle["objects"])
    assert kinds["sighting"] == DEMO_INDICATOR_FINDINGS and kinds["note"] == DEMO_RULE_FINDINGS and kinds["observed-data"] == DEMO_FINDINGS and kinds["identity"] == 1
    published = {
        o["id"] for o in json.loads(Path("src/preuve/data/2021-07-18_nso/pegasus.stix2").read_text())["objects"]
    }
    for sighting in (o for o in bundle["objects"] if o["type"] == "sighting"):
        assert sighting["sighting_of_ref"] in published
        assert objects[sighting["where_sighted_refs"][0]]["identity_class"] == "system"
        observed = objects[sighting["observed_data_refs"][0]]
        assert observed["type"] == "observed-data"
        assert all(ref in objects for ref in observed["object_refs"])
    urls = sorted(o["value"] for o in bundle["objects"] if o["type"] == "url")
    assert urls == [
        "http://newenvelope.net/d/77c0", "https://free247downloads.com/8v2q/", "https://tookcheckout.com/r/8a1f2c",
    ]
    # same folder, same bytes
    again = tmp_path / "again.stix2"
    assert CliRunner().invoke(build_cli(), ["export-stix", str(demo_out), "-o", str(again)]).exit_code == 0
    assert again.read_bytes() == (demo_out / "sightings.stix2").read_bytes()


def test_export_stix_validates(demo_out: Path) -> None:
    validator = pytest.importorskip("stix2validator", reason="stix2-validator is not installed")
    target = demo_out / "sightings.stix2"
    assert CliRunner().invoke(build_cli(), ["export-stix", str(demo_out)]).exit_code == 0
    results = validator.validate_file(str(target), validator.ValidationOptions(strict=False))
    errors = [str(e) for o in results.object_results for e in o.errors]
    assert results.is_valid, errors


def test_export_misp(demo_out: Path) -> None:
    result = CliRunner().invoke(build_cli(), ["export-stix", str(demo_out), "--misp"])
    assert result.exit_code == 0, result.output
    event = json.loads((demo_out / "misp-event.json").read_text())["Event"]
    assert event["distribution"] == "0" and {"name": "tlp:red"} in event["Tag"]
    assert event["info"].endswith("Pegasus found on a device (ios, ios_backup)")
    assert event["threat_level_id"] == "1"
    types = Counter(a["type"] for a in event["Attribute"])
    # processes (2 matched, and the review list of 5 unbundled ones: one grouped finding, exported by its
    # first process) as text; Safari and SMS links; the account in idstatuscache and in Messages; the
    # Manifest file and the /var/tmp attachment as file names
    assert types == {"text": 3, "url": 3, "email-src": 2, "filename": 2}
    assert all(a["to_ids"] is False for a in event["Attribute"])
    assert len({a["uuid"] for a in event["Attribute"]}) == len(event["Attribute"]) == 10


def test_export_not_an_output_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(build_cli(), ["export-stix", str(tmp_path)])
    assert result.exit_code == 1 and "findings.json" in result.output


def test_check_json_only_json_on_stdout(tmp_path: Path, pegasus_feed: Path) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    result = CliRunner().invoke(build_cli(), ["check", str(backup), "--iocs", str(pegasus_feed),
                                              "-o", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 2
    assert result.stderr == ""
    doc = json.loads(result.stdout)
    assert doc["verdict"]["key"] == "spyware" and doc["verdict"]["text"] == "Traces of known spyware found"
    assert doc["verdict"]["headline"] == doc["verdict"]["text"] and doc["verdict"]["strength"] == "implant"
    assert doc["verdict"]["full_check"] is True and doc["verdict"]["exit_code"] == 2
    assert doc["summary"]["findings_by_severity"] == DEMO_SEVERITIES
    # Info-level review items are not among the top findings while worse ones exist.
    assert len(doc["top_findings"]) == DEMO_FINDINGS - DEMO_SEVERITIES["info"]
    assert doc["top_findings"][0]["severity"] == "critical"
    assert all(f["severity"] != "info" for f in doc["top_findings"])
    assert doc["report"] == str(tmp_path / "out" / "report.html")
    assert doc["feeds"][0]["indicators"] == 1549


def test_check_json_fatal_error(tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    result = CliRunner().invoke(build_cli(), ["check", str(tmp_path / "nothing"), "-o", str(tmp_path / "o"), "--json"])
    assert result.exit_code == 1
    assert "not an acquisition" in json.loads(result.stdout)["error"]


def test_quiet_prints_nothing(tmp_path: Path, pegasus_feed: Path) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    result = CliRunner().invoke(build_cli(), ["check", str(backup), "--iocs", str(pegasus_feed),
                                              "-o", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 2 and result.output == ""


def test_summary_names_verdict_and_report(tmp_path: Path, pegasus_feed: Path) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    result = CliRunner().invoke(build_cli(), ["check", str(backup), "--iocs", str(pegasus_feed),
                                              "-o", str(tmp_path / "out")])
    text = " ".join(result.stdout.split())
    assert "Traces of known spyware found" in text
    assert f"Top findings ({DEMO_FINDINGS} in all)" in text
    assert "report.html" in text
