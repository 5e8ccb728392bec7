"""Retro-hunting a case through the library (what `preuve rehunt` and the console call)."""

from __future__ import annotations

from pathlib import Path

import pytest

from preuve.check import CheckOptions, run_check
from preuve.indicators.index import load_index
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
