"""AndroidQF's hashes.csv is a check of the AndroidQF kind, run and reported as an artifact of its name."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from click.testing import CliRunner

from preuve.artifacts.base import discover_artifacts
from preuve.artifacts.records import record_classes
from preuve.cli import build_cli
from preuve.evidence.acquisition import acquisition_kinds, kind_named
from preuve.evidence.androidqf_integrity import AndroidQFIntegrity, IntegrityEntry
from preuve.proof.verify import Status, verify
from tests.builders import check, snapshot
from tests.builders.android import AndroidQFBuilder, DumpsysSpec, bugreport_members, write_zip

PROCESSES = "USER PID PPID VSZ RSS WCHAN ADDR S NAME\nroot 1 0 1 1 0 0 S init\n"


def _tampered(root: Path) -> Path:
    """An AndroidQF folder changed after its hashes.csv was written: one file edited, one lost, one added."""
    AndroidQFBuilder().folder(root)
    (root / "processes.txt").write_text(PROCESSES)
    (root / "mounts.json").unlink()
    (root / "added.txt").write_text("planted")
    return root


def test_the_check_belongs_to_the_androidqf_kind_only() -> None:
    owner = kind_named("androidqf")
    assert owner is not None and owner.checks == (AndroidQFIntegrity,)
    # No other kind mounts files under /.acquisition/androidqf/, so none lists the check.
    assert [k.name for k in acquisition_kinds() if AndroidQFIntegrity in k.checks] == ["androidqf"]
    assert importlib.util.find_spec("preuve.artifacts.android.androidqf_integrity") is None
    artifact = {a.name: a for a in discover_artifacts("android")}["androidqf_integrity"]
    assert (artifact.platform, artifact.title, artifact.paths) == (
        "android", "AndroidQF integrity (hashes.csv)", ("/.acquisition/androidqf/hashes.csv",))
    assert record_classes()["android:androidqf_integrity:entry"] is IntegrityEntry


def test_records_and_findings_of_a_tampered_acquisition(tmp_path: Path) -> None:
    root = _tampered(tmp_path / "aqf")
    before = snapshot(root)
    result = check(root, only=("androidqf_integrity",))
    assert snapshot(root) == before
    report = {a.name: a for a in result.artifacts}["androidqf_integrity"]
    assert (str(report.status), report.records, report.files) == ("ok", 12, ["/.acquisition/androidqf/hashes.csv"])
    found = sorted((f.severity.label, f.locator.line, f.locator.key_path, f.explanation.split(" ")[0])
                   for f in result.findings)
    assert found == [
        ("high", 4, None, "processes.txt"),
        ("low", None, "added.txt", "added.txt"),
        ("medium", 7, None, "mounts.json,"),
    ]


def test_a_bugreport_alone_holds_no_hashes_csv(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "bugreport.zip", bugreport_members({"ro.product.model": "Pixel 4a"}, DumpsysSpec().text()))
    report = {a.name: a for a in check(archive).artifacts}["androidqf_integrity"]
    assert (str(report.status), report.records) == ("not_collected", 0)


def test_verify_confirms_the_integrity_findings_and_sees_a_repair(tmp_path: Path) -> None:
    root = _tampered(tmp_path / "aqf")
    out = tmp_path / "out"
    ran = CliRunner().invoke(build_cli(), ["check", str(root), "-o", str(out), "--artifact", "androidqf_integrity"])
    assert ran.exit_code == 2, ran.output
    assert [f["rule"] for f in json.loads((out / "findings.json").read_text())["findings"]] == [
        "androidqf_integrity"] * 3
    assert [c.status for c in verify(out / "bundle.json", root).checks] == [Status.CONFIRMED] * 3
    # processes.txt put back as AndroidQF hashed it: its finding no longer follows from the evidence.
    (root / "processes.txt").write_bytes(AndroidQFBuilder().members()["processes.txt"])
    by_line = {c.finding.locator.line: c.status for c in verify(out / "bundle.json", root).checks}
    assert by_line[4] == Status.DIFFERS
    assert [by_line[7], by_line[None]] == [Status.CONFIRMED, Status.CONFIRMED]


def test_rows_csv_refuses_are_warned_alone(tmp_path: Path) -> None:
    """A bare carriage return inside a field, or a field over csv's size limit, is that row's warning; the
    rows after it are still checked, each at its own line."""
    root = AndroidQFBuilder().folder(tmp_path / "aqf")
    rows = (root / "hashes.csv").read_text().splitlines()
    damaged = [rows[0], "getprop\r.txt,0000", "x" * 200_000 + ",1111", *rows[1:]]
    (root / "hashes.csv").write_text("\n".join(damaged) + "\n")
    before = snapshot(root)
    result = check(root, only=("androidqf_integrity",))
    assert snapshot(root) == before
    report = {a.name: a for a in result.artifacts}["androidqf_integrity"]
    assert (str(report.status), report.records) == ("ok", 11)
    path = "/.acquisition/androidqf/hashes.csv"
    assert report.warnings == [
        f"{path}:2: not a CSV row (new-line character seen in unquoted field - do you need to open the file in "
        "universal-newline mode?), skipped",
        f"{path}:3: not a CSV row (field larger than field limit (131072)), skipped",
    ]
    assert sorted(f.locator.line for f in result.findings) == []
