"""The mutation campaign (tests/fuzz/campaign.py): a few reproducible rounds on built acquisitions find
nothing wrong, and what it judges a problem is one."""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests.builders.android import AndroidQFBuilder, PackageSpec
from tests.builders.bugreport import bugreport_members, write_zip
from tests.fuzz.campaign import Mutator, _problems, main


def test_rounds_on_built_acquisitions_find_nothing(tmp_path: Path) -> None:
    builder = AndroidQFBuilder()
    builder.packages.append(PackageSpec("com.spy.app", installer="com.android.chrome", uid=10123))
    aqf = builder.zip(tmp_path / "aqf.zip")
    (tmp_path / "br").mkdir()
    bugreport = write_zip(tmp_path / "br" / "bugreport.zip", bugreport_members())
    found = tmp_path / "found"
    assert main([str(aqf), str(bugreport), "--rounds", "6", "--seed", "7", "--found", str(found)]) == 0
    assert list(found.iterdir()) == []


def _run_json(out: Path, status: str, errors: list[str], acquisition: str = "read") -> Path:
    out.mkdir()
    (out / "run.json").write_text(json.dumps({
        "artifacts": [{"name": "sms", "status": status, "errors": errors, "warnings": []}],
        "coverage": {"acquisition": {"status": acquisition, "problems": []}}, "warnings": [],
    }))
    return out


def test_what_the_campaign_calls_a_problem(tmp_path: Path) -> None:
    clean = _run_json(tmp_path / "a", "ok", [])
    assert _problems(0, "", clean, 1.0, False) == []
    assert _problems(1, "error: unexpected error (X); please report it\n", tmp_path / "none", 1.0, False) == [
        "traceback: error: unexpected error (X); please report it"]
    assert _problems(4, "", clean, 1.0, True) == ["exit code 4", "the evidence copy changed"]
    failed = _run_json(tmp_path / "b", "failed", ["/x.db: TypeError: 'NoneType' object is not subscriptable"])
    assert _problems(0, "", failed, 61.0, False) == [
        "slow: 61 s",
        "an error naming a Python exception: sms: /x.db: TypeError: 'NoneType' object is not subscriptable",
        "exit 0 (a full check) although ['sms']",
    ]
    assert _problems(3, "", failed, 1.0, False) == [
        "an error naming a Python exception: sms: /x.db: TypeError: 'NoneType' object is not subscriptable"]


def test_xml_that_is_no_plist_is_left_to_the_byte_damage() -> None:
    """A file that begins like an XML plist but is not well-formed XML (a dump's other XML, or one
    damaged by an earlier round) gets no typed damage; the campaign goes on."""
    mutator = Mutator(random.Random(1))
    assert mutator.structured(b"<?xml version='1.0'?><plist><dict><key>a</b></plist>") is None
    assert mutator.structured(b"bplist00 not really") is None
