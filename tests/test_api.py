"""Retro-hunting a case through the library (what `preuve rehunt` and the console call)."""

from __future__ import annotations

from pathlib import Path

import pytest

from preuve.indicators.index import load_index
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from preuve.store.case import CaseError, CaseStore, rehunt_case
from tests.builders import feed
from tests.builders.fleet import KNOWN_DOMAIN, LATER_DOMAIN, build_device


def test_check_then_rehunt_through_the_library(tmp_path: Path) -> None:
    known = feed(tmp_path / "known.stix2", (f"[domain-name:value='{KNOWN_DOMAIN}']", "Known Spy"))
    later = feed(tmp_path / "later.stix2", (f"[domain-name:value='{LATER_DOMAIN}']", "Later Spy"))
    case = tmp_path / "case.db"
    device = build_device(tmp_path / "d1", 1)
    with CaseStore(case, write=True) as store:
        result = run_check(device, CheckOptions(iocs=(known,), only_artifacts=("sms",)), sinks=[store.sink(device)])
    assert result.findings == []
    hits = rehunt_case(case, load_index([later], lambda message: None))
    assert [(h.finding.indicator.malware, h.finding.observable.value) for h in hits  # type: ignore[union-attr]
            ] == [("Later Spy", "published-later.example/p1")]
    with pytest.raises(CaseError, match="no such case"):
        rehunt_case(tmp_path / "nowhere.db", load_index([later], lambda message: None))
    assert not (tmp_path / "nowhere.db").exists()


def test_the_package_exports_the_library_api() -> None:
    import preuve

    assert sorted(preuve.__all__) == sorted(["__version__", *preuve._API])
    for name in preuve.__all__:
        assert getattr(preuve, name) is not None, name
    from preuve.proof.verify import verify
    from preuve.run.engine import run_check

    # importing the engine's and the proof's modules does not hide the functions of the same names
    assert preuve.check is run_check and preuve.verify is verify


def test_import_preuve_runs_nothing() -> None:
    import subprocess
    import sys

    code = "import sys, preuve; print(sorted(m for m in sys.modules if m.startswith('preuve')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['preuve']"


def test_check_then_verify_through_the_package(tmp_path: Path) -> None:
    import preuve

    known = feed(tmp_path / "known.stix2", (f"[domain-name:value='{KNOWN_DOMAIN}']", "Known Spy"))
    device = build_device(tmp_path / "d0", 0)
    result = preuve.check_into_folder(device, preuve.CheckOptions(iocs=(known,)), tmp_path / "out")
    assert result.verdict().headline == "Traces of known spyware found"
    checked = preuve.verify(tmp_path / "out" / "bundle.json", device)
    assert [c.status for c in checked.checks] == ["confirmed"] * len(result.findings)


def test_a_locator_is_formatted_from_one_definition() -> None:
    from preuve.model import Locator, Record
    from preuve.report.outdir import locator_text

    row = Locator("/a.db", "0" * 64, table="message", rowid=2)
    deep = Locator("/b.plist", "0" * 64, key_path="a/b", line=7, offset=9)
    assert row.inside() == [("table", "message"), ("rowid", 2)]
    assert row.words() == "table message, row 2" and deep.words() == "key a/b; line 7; offset 9"
    assert row.as_dict() == {"device_path": "/a.db", "sha256": "0" * 64, "table": "message", "rowid": 2}
    assert locator_text(Record(locator=row)) == "table=message;rowid=2"
    assert locator_text(Record(locator=deep)) == "key_path=a/b;line=7;offset=9"
