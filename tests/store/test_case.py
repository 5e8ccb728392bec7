from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from preuve.cli import build_cli
from preuve.model import HEADLINE_SELECTED, HEADLINE_SPYWARE
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from preuve.store.case import SCHEMA_VERSION, CaseError, CaseStore
from tests.builders import feed, snapshot
from tests.builders.fleet import KNOWN_DOMAIN, LATER_DOMAIN, LATER_PROCESS, build_device
from tests.helpers import QuietSink


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner(env={"COLUMNS": "250"}).invoke(build_cli(), list(args))
    return result.exit_code, " ".join(result.output.split())


ONLY = ("sms", "datausage")


@pytest.fixture
def known(tmp_path: Path) -> Path:
    return feed(tmp_path / "iocs" / "known.stix2", (f"[domain-name:value='{KNOWN_DOMAIN}']", "Known Spy"))


@pytest.fixture
def later(tmp_path: Path) -> Path:
    return feed(
        tmp_path / "iocs2" / "later.stix2",
        (f"[domain-name:value='{LATER_DOMAIN}']", "Later Spy"),
        (f"[process:name='{LATER_PROCESS}']", "Later Spy"),
        (f"[domain-name:value='{KNOWN_DOMAIN}']", "Known Spy"),
    )


def test_check_into_case_and_rehunt(tmp_path: Path, known: Path, later: Path) -> None:
    devices = [build_device(tmp_path / f"d{n}", n) for n in (0, 1, 5)]
    before = [snapshot(d) for d in devices]
    case = tmp_path / "case.db"
    for device in devices:
        code, output = _run("check", str(device), "--iocs", str(known), "-o", str(tmp_path / "out" / device.name),
                            "-q", "--case", str(case), "--artifact", "sms", "--artifact", "datausage")
        assert code in (2, 3), output  # two artifacts asked for: never a full check, never exit 0
    with CaseStore(case) as store:
        rows = store.acquisitions()
        # The verdict the run printed (model.verdict), never "nothing found" for a partial check.
        assert [(Path(r.evidence).name, r.verdict) for r in rows] == [
            ("d0", HEADLINE_SPYWARE), ("d1", HEADLINE_SELECTED), ("d5", HEADLINE_SELECTED),
        ]
        assert store.schema_version() == SCHEMA_VERSION
        # lookup keys: a link gives 2 (url, reversed domain), a process 1.
        # d0: 1 link + apsd; d1: 1 link + apsd; d5: 1 link + apsd + latespyd
        assert store.observable_count() == 3 + 3 + 4

    # The evidence is not needed for a retro-hunt: move it away.
    for device in devices:
        device.rename(device.with_name(device.name + "-gone"))
    code, output = _run("rehunt", str(case), "--iocs", str(later), "-o", str(tmp_path / "rehunt.json"))
    assert code == 2, output
    doc = json.loads((tmp_path / "rehunt.json").read_text())
    got = sorted((Path(f["acquisition"]).name, f["indicator"]["malware"], f["observable"]["value"])
                 for f in doc["new_findings"])
    # The known domain republished in another feed is another indicator (other STIX id and feed): new.
    assert got == [
        ("d0", "Known Spy", "https://x0.known-bad.example/a"),
        ("d1", "Later Spy", "published-later.example/p1"),
        ("d5", "Later Spy", LATER_PROCESS),
        ("d5", "Later Spy", "published-later.example/p5"),
    ]
    # The stored verdicts and summaries follow the new findings: list, show and report agree.
    with CaseStore(case) as store:
        assert [(Path(r.evidence).name, r.verdict, r.exit_code, r.findings) for r in store.acquisitions()] == [
            ("d0", HEADLINE_SPYWARE, 2, 3),
            ("d1", HEADLINE_SPYWARE, 2, 2),
            ("d5", HEADLINE_SPYWARE, 2, 3),
        ]
    code, output = _run("case", "report", str(case), "d1", "-o", str(tmp_path / "d1-report"))
    assert code == 0, output
    report = json.loads((tmp_path / "d1-report" / "findings.json").read_text())
    assert report["summary"]["findings"] == len(report["findings"]) == 2
    assert report["summary"]["findings_by_severity"]["high"] == 1
    assert report["summary"]["exit_code"] == 2
    # Hunting again with the same feeds reports nothing new.
    code, output = _run("rehunt", str(case), "--iocs", str(later), "--json")
    assert code == 0
    assert json.loads(output)["new_findings"] == []
    for device, snap in zip(devices, before, strict=True):
        assert snapshot(device.with_name(device.name + "-gone")) == snap


def test_rerun_replaces_acquisition(tmp_path: Path, known: Path) -> None:
    device = build_device(tmp_path / "d0", 0)
    case = tmp_path / "case.db"
    for _ in range(2):
        with CaseStore(case, write=True) as store:
            run_check(device, CheckOptions(iocs=(known,), only_artifacts=ONLY), sinks=[store.sink(device)])
    with CaseStore(case) as store:
        assert len(store.acquisitions()) == 1
        [acq] = store.acquisitions()
        assert acq.findings == 2  # the indicator match and the INFO unbundled-process rule
        conn = store.conn
        assert conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 3


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    case = tmp_path / "case.db"
    with CaseStore(case, write=True):
        with pytest.raises(CaseError, match="another preuve process is writing"):
            CaseStore(case, write=True)
        CaseStore(case).close()  # readers are fine


def test_crash_mid_run_leaves_case_unchanged(tmp_path: Path, known: Path) -> None:
    device = build_device(tmp_path / "d0", 0)
    case = tmp_path / "case.db"
    with CaseStore(case, write=True) as store:
        run_check(device, CheckOptions(iocs=(known,), only_artifacts=ONLY), sinks=[store.sink(device)])

    class Boom(QuietSink):
        def record(self, artifact, record, findings, stamps):  # noqa: ANN001, ANN202
            raise KeyboardInterrupt

    with CaseStore(case, write=True) as store:
        sink = store.sink(device)
        with pytest.raises(KeyboardInterrupt):
            try:
                run_check(device, CheckOptions(iocs=(known,), only_artifacts=ONLY), sinks=[sink, Boom()])
            except BaseException:
                sink.abort()
                raise
    with CaseStore(case) as store:
        [acq] = store.acquisitions()
        assert acq.findings == 2  # the indicator match and the INFO unbundled-process rule
        assert store.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 3


def test_not_a_case_and_newer_schema(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (a)").connection.commit()
    with pytest.raises(CaseError, match="not a preuve case"):
        CaseStore(other, write=True)
    case = tmp_path / "case.db"
    CaseStore(case, write=True).close()
    conn = sqlite3.connect(case)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(CaseError, match="newer preuve"):
        CaseStore(case)


def test_case_list_show_report(tmp_path: Path, known: Path) -> None:
    device = build_device(tmp_path / "d3", 3)
    case = tmp_path / "case.db"
    _run("check", str(device), "--iocs", str(known), "-o", str(tmp_path / "out"), "-q", "--case", str(case),
         "--timeline", "csv")
    code, output = _run("case", "list", str(case))
    assert code == 0 and HEADLINE_SPYWARE in output and "d3" in output
    code, output = _run("case", "show", str(case), "d3")
    assert code == 0 and "Known Spy" in output
    code, output = _run("case", "report", str(case), "d3", "-o", str(tmp_path / "report"), "--timeline", "csv")
    assert code == 0, output
    original = json.loads((tmp_path / "out" / "findings.json").read_text())
    stored = json.loads((tmp_path / "report" / "findings.json").read_text())
    assert stored["findings"] == original["findings"]
    for name in ("sms.jsonl", "datausage.jsonl"):
        assert (tmp_path / "report" / "artifacts" / name).read_bytes() == (
            tmp_path / "out" / "artifacts" / name
        ).read_bytes()
    assert (tmp_path / "report" / "timeline.csv").read_text().splitlines() == (
        tmp_path / "out" / "timeline.csv"
    ).read_text().splitlines()
    code, output = _run("case", "show", str(case), "nope")
    assert code == 1 and "no acquisition 'nope'" in output


def test_a_case_from_androidqf_names_its_device(tmp_path: Path, known: Path) -> None:
    """The device comes from the DeviceFacts record type, whatever the artifact (here Android's properties)."""
    from tests.builders.android import AndroidQFBuilder

    builder = AndroidQFBuilder()
    builder.props["ro.product.manufacturer"] = "Google"
    evidence = builder.folder(tmp_path / "aqf")
    case = tmp_path / "case.db"
    code, output = _run("check", str(evidence), "--iocs", str(known), "-o", str(tmp_path / "out"), "-q",
                        "--case", str(case))
    assert code in (0, 2, 3), output
    with CaseStore(case) as store:
        [row] = store.acquisitions()
        assert row.device == "Google Pixel 4a, Android 13"
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "<dt>model</dt><dd>Pixel 4a</dd><dt>OS version</dt><dd>13</dd>" in page
