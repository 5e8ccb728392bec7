"""Echap's stalkerware ioc.yaml to STIX 2.1, and detection of a stalkerware app on a built AndroidQF."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from preuve.cli import build_cli
from preuve.indicators.stalkerware import StalkerwareFeedError, convert, convert_file
from preuve.model import Kind
from tests.builders import check
from tests.builders.android import AndroidQFBuilder, PackageSpec

WHEN = datetime(2024, 5, 1, tzinfo=UTC)
SAMPLE = """
- name: TestSpy
  names: [TestSpy, SpyClone]
  type: stalkerware
  packages: [com.test.spy, com.test.spy2]
  certificates: [31A6ECECD97CF39BC4126B8745CD94A7C30BF81C, nothex, abcd]
  websites: [testspy.com]
  distribution: [dl.testspy.com, 203.0.113.7]
  c2:
    ips: [198.51.100.2]
    domains: [api.testspy.com, testspy.com]
- not a family
- name: ''
"""


def test_convert_sample_exactly() -> None:
    bundle, stats = convert(yaml.safe_load(SAMPLE), WHEN)
    assert (stats.families, stats.indicators, stats.skipped) == (1, 8, 4)
    objects = bundle["objects"]
    assert isinstance(objects, list)
    malware = [o for o in objects if o["type"] == "malware"]
    assert [(m["name"], m["aliases"], m["created"]) for m in malware] == [
        ("TestSpy", ["SpyClone"], "2024-05-01T00:00:00.000Z")
    ]
    patterns = [o["pattern"] for o in objects if o["type"] == "indicator"]
    assert patterns == [
        "[app:id = 'com.test.spy']",
        "[app:id = 'com.test.spy2']",
        "[app:cert.'SHA-1' = '31A6ECECD97CF39BC4126B8745CD94A7C30BF81C']",
        "[domain-name:value = 'testspy.com']",
        "[domain-name:value = 'dl.testspy.com']",
        "[ipv4-addr:value = '203.0.113.7']",
        "[domain-name:value = 'api.testspy.com']",
        "[ipv4-addr:value = '198.51.100.2']",
    ]
    relations = [o for o in objects if o["type"] == "relationship"]
    assert len(relations) == 8 and {r["target_ref"] for r in relations} == {malware[0]["id"]}
    again, _ = convert(yaml.safe_load(SAMPLE), WHEN)
    assert json.dumps(again) == json.dumps(bundle)


def test_convert_rejects_non_list(tmp_path: Path) -> None:
    with pytest.raises(StalkerwareFeedError):
        convert({"a": 1}, WHEN)
    bad = tmp_path / "bad.yaml"
    bad.write_text("- [unclosed")
    with pytest.raises(StalkerwareFeedError, match="not valid YAML"):
        convert_file(bad, tmp_path / "out.stix2")


def test_real_feed_detects_app_and_certificate(tmp_path: Path, shared_iocs: Path) -> None:
    source = shared_iocs / "stalkerware-indicators" / "ioc.yaml"
    out = tmp_path / "stalkerware.stix2"
    result = CliRunner().invoke(build_cli(), ["iocs", "convert", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    b = AndroidQFBuilder()
    # A TheTruthSpy package name, and an innocent-looking app signed with a TheTruthSpy certificate.
    b.packages.append(PackageSpec("com.thetruth", installer="com.android.chrome"))
    b.packages.append(PackageSpec("com.example.flashlight", cert_sha1="31a6ececd97cf39bc4126b8745cd94a7c30bf81c"))
    check_result = check(b.folder(tmp_path / "aqf"), out)
    matched = sorted(
        (f.indicator.malware, str(f.indicator.kind), f.observable.value if f.observable else "", f.locator.key_path or "")
        for f in check_result.findings if f.indicator is not None
    )
    assert matched == [
        ("TheTruthSpy", str(Kind.APP_ID), "com.thetruth", "[2]"),
        ("TheTruthSpy", str(Kind.CERT_SHA1), "31a6ececd97cf39bc4126b8745cd94a7c30bf81c", "[3]"),
    ]
    assert all(f.severity.label == "critical" for f in check_result.findings if f.indicator is not None)
    assert check_result.indicator_count == 2610


def test_uninstalled_stalkerware_still_found_in_battery_history(tmp_path: Path, shared_iocs: Path) -> None:
    from tests.builders.android import DumpsysSpec

    out = tmp_path / "stalkerware.stix2"
    convert_file(shared_iocs / "stalkerware-indicators" / "ioc.yaml", out)
    b = AndroidQFBuilder()
    b.dumpsys = DumpsysSpec(uninstalled=["com.thetruth"])
    result = check(b.folder(tmp_path / "aqf"), out)
    hits = [(f.indicator.malware, f.observable.value if f.observable else "", f.locator.line)
            for f in result.findings if f.indicator]
    assert hits == [("TheTruthSpy", "com.thetruth", 66)]
