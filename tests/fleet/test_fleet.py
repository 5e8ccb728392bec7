from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from preuve.cli import build_cli
from preuve.fleet.runner import list_acquisitions, run_fleet
from preuve.store.case import CaseStore
from tests.builders import feed, snapshot
from tests.builders.fleet import KNOWN_DOMAIN, build_fleet

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fleet")
    build_fleet(root / "devices")
    feed(root / "iocs" / "known.stix2", (f"[domain-name:value='{KNOWN_DOMAIN}']", "Known Spy"))
    return root


def _findings(case: Path) -> dict[str, set[tuple[str, str]]]:
    with CaseStore(case) as store:
        out = {}
        for acquisition in store.acquisitions():
            docs = store.finding_docs(acquisition.id)
            out[Path(acquisition.evidence).name] = {(str(d["id"]), str(d["severity"])) for d in docs}
        return out


def test_local_pool_then_resume(fleet_dir: Path, tmp_path: Path) -> None:
    devices = list_acquisitions(fleet_dir / "devices")
    assert len(devices) == 13
    before = {d.name: snapshot(d) for d in devices}
    case = tmp_path / "case.db"
    first = run_fleet(devices[:6], case, tmp_path / "out", [fleet_dir / "iocs"], workers=2)
    assert [o.status for o in first] == ["done"] * 6
    # interrupted after six devices: the next run does only the rest
    outcomes = run_fleet(devices, case, tmp_path / "out", [fleet_dir / "iocs"], workers=2)
    statuses = {Path(o.evidence).name: o.status for o in outcomes}
    assert sorted(statuses.values()).count("skipped") == 6
    assert statuses["device99"] == "failed"
    assert sum(1 for s in statuses.values() if s == "done") == 6
    [broken] = [o for o in outcomes if o.status == "failed"]
    assert "Manifest.mbdb" in broken.reason
    found = _findings(case)
    assert len(found) == 12
    with_known = sorted(name for name, items in found.items() if any(sev == "high" for _, sev in items))
    assert with_known == ["device00", "device03", "device06", "device09"]
    assert {d.name: snapshot(d) for d in devices} == before
    with CaseStore(case) as store:
        jobs = store.jobs()
    assert sum(1 for j in jobs.values() if j[0] == "done") == 12


def test_dask_cluster_matches_local_pool(fleet_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    distributed = pytest.importorskip("distributed")
    # worker processes must import this checkout's preuve
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    devices = list_acquisitions(fleet_dir / "devices")
    local_case = tmp_path / "local.db"
    run_fleet(devices, local_case, tmp_path / "local", [fleet_dir / "iocs"], workers=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        outcomes = run_fleet(devices, tmp_path / "dask.db", tmp_path / "dask", [fleet_dir / "iocs"], scheduler=cluster)
    assert sorted(o.status for o in outcomes) == ["done"] * 12 + ["failed"]
    assert _findings(tmp_path / "dask.db") == _findings(local_case)


def test_fleet_command(fleet_dir: Path, tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(str(p) for p in sorted((fleet_dir / "devices").iterdir())[:3]) + "\n# comment\n")
    result = CliRunner(env={"COLUMNS": "250"}).invoke(
        build_cli(), ["fleet", str(listing), "--case", str(tmp_path / "c.db"), "--iocs", str(fleet_dir / "iocs"),
                      "--workers", "2", "-o", str(tmp_path / "reports")]
    )
    assert result.exit_code == 0, result.output
    assert "3 done" in result.output
    assert len(list((tmp_path / "reports").glob("device*/findings.json"))) == 3
