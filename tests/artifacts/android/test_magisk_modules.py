"""AndroidQF's Magisk modules (magisk_modules/manifest.json and each module.prop): exact records, the
rule, and what a manifest AndroidQF could not complete, or a hostile one, gives.

The manifests are written as AndroidQF's magisk_modules module writes them (schema 1, its statuses,
module.prop copied to magisk_modules/NNNN/module.prop), with json and the AndroidQF builder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from preuve.artifacts.android.magisk_modules import MagiskModule, module_properties
from preuve.model import ArtifactStatus, Severity
from tests.builders import check, records, snapshot
from tests.builders.android import AndroidQFBuilder

AQF = "/.acquisition/androidqf"
MANIFEST = f"{AQF}/magisk_modules/manifest.json"
PROP = """# a module
id=zygisk_spy
name=System Helper
version=v1.2
versionCode=12
author=someone
description=Keeps things running
updateJson=https://updates.spy-domain.example/zygisk.json
"""


def _entry(index: int, folder: str, *, prop: str = "collected", states: list[str] | None = None,
           complete: bool = True) -> dict[str, object]:
    entry: dict[str, object] = {
        "device_path": f"/data/adb/modules/{folder}", "directory_name": folder, "module_prop_status": prop,
        "state_files": states or [], "state_files_complete": complete,
    }
    if prop == "collected":
        entry["module_prop_path"] = f"magisk_modules/{index:04d}/module.prop"
    return entry


def _acquisition(root: Path, manifest: dict[str, object], props: dict[str, str]) -> Path:
    builder = AndroidQFBuilder()
    builder.extra["magisk_modules/manifest.json"] = json.dumps(manifest, indent=1).encode()
    for name, text in props.items():
        builder.extra[name] = text.encode()
    return builder.folder(root)


def _manifest(modules: list[dict[str, object]], status: str = "collected") -> dict[str, object]:
    return {"schema_version": 1, "generated_at": "2026-03-01T10:00:00Z", "status": status,
            "acquisition_method": "adb exec-out su -c cat", "modules": modules}


def test_modules_read_with_their_properties_and_states(tmp_path: Path) -> None:
    root = _acquisition(tmp_path / "aqf", _manifest([
        _entry(0, "zygisk_spy", states=["disable"]),
        _entry(1, "no_prop", prop="missing"),
        _entry(2, "unknown_state", prop="too_large", complete=False),
    ]), {"magisk_modules/0000/module.prop": PROP})
    found = records(root, "android_magisk_modules")
    assert [type(r) for r in found] == [MagiskModule] * 3
    spy, bare, unknown = found
    assert (spy.device_path, spy.directory_name, spy.module_prop, spy.module_id, spy.name, spy.version,
            spy.version_code, spy.author, spy.description, spy.update_json) == (
        "/data/adb/modules/zygisk_spy", "zygisk_spy", "collected", "zygisk_spy", "System Helper", "v1.2", "12",
        "someone", "Keeps things running", "https://updates.spy-domain.example/zygisk.json",
    )
    assert (spy.disabled, spy.removal_pending, spy.update_pending) == (True, False, False)
    assert (spy.locator.device_path, spy.locator.key_path) == (MANIFEST, "/modules/0")
    assert spy.summary() == "Magisk module zygisk_spy (System Helper)"
    assert (bare.module_prop, bare.module_id, bare.disabled, bare.summary()) == (
        "missing", None, False, "Magisk module no_prop")
    assert (unknown.module_prop, unknown.disabled, unknown.removal_pending) == ("too_large", None, None)


def test_each_module_is_a_high_finding_and_its_update_address_is_matched(tmp_path: Path) -> None:
    from tests.builders import feed

    root = _acquisition(tmp_path / "aqf", _manifest([_entry(0, "zygisk_spy")]),
                        {"magisk_modules/0000/module.prop": PROP})
    before = snapshot(root)
    iocs = feed(tmp_path / "spy.stix2", ("[domain-name:value='spy-domain.example']", "Spy"))
    result = check(root, iocs)
    assert snapshot(root) == before
    mine = [f for f in result.findings if f.artifact == "android_magisk_modules"]
    assert [(f.rule, f.indicator.malware if f.indicator else None, f.severity) for f in mine] == [
        (None, "Spy", Severity.HIGH), ("android_magisk_module", None, Severity.HIGH),
    ]
    assert mine[1].explanation == (
        "Magisk module zygisk_spy (System Helper) by someone is installed in /data/adb/modules/zygisk_spy: the "
        "phone is rooted with Magisk. Ask the owner whether they installed it."
    )


@pytest.mark.parametrize(("status", "error"), [
    ("partial", "status 'partial': AndroidQF could not collect every module's metadata; modules may be missing"),
    ("collection_failed", "status 'collection_failed': AndroidQF could not list the modules; modules may be missing"),
])
def test_a_manifest_androidqf_could_not_complete_is_told(tmp_path: Path, status: str, error: str) -> None:
    root = _acquisition(tmp_path / "aqf", _manifest([], status), {})
    (report,) = [a for a in check(root).artifacts if a.name == "android_magisk_modules"]
    assert (report.status, report.errors) == (ArtifactStatus.FAILED, [f"{MANIFEST}: {error}"])


def test_no_root_on_the_phone_is_a_warning_not_a_gap(tmp_path: Path) -> None:
    root = _acquisition(tmp_path / "aqf", _manifest([], "root_unavailable"), {})
    result = check(root)
    (report,) = [a for a in result.artifacts if a.name == "android_magisk_modules"]
    assert (report.status, report.errors) == (ArtifactStatus.EMPTY, [])
    assert report.warnings == [
        f"{MANIFEST}: AndroidQF found no working root access: Magisk modules were not collected"]


@pytest.mark.parametrize("where", ["../../getprop.txt", "/etc/passwd", "magisk_modules/../getprop.txt",
                                   "magisk_modules/0000/other.txt", "magisk_modules\\0000\\module.prop", 7])
def test_a_module_prop_path_that_leaves_its_folder_is_not_read(tmp_path: Path, where: object) -> None:
    entry = _entry(0, "odd")
    entry["module_prop_path"] = where
    root = _acquisition(tmp_path / "aqf", _manifest([entry]), {"magisk_modules/0000/module.prop": PROP})
    result = check(root)
    (module,) = records(root, "android_magisk_modules")
    assert (module.module_id, module.device_path) == (None, "/data/adb/modules/odd")
    (report,) = [a for a in result.artifacts if a.name == "android_magisk_modules"]
    assert report.warnings == [f"{MANIFEST}: modules[0]: module.prop path {where!r} is missing or leaves "
                               "magisk_modules/: not read"]


@pytest.mark.parametrize(("manifest", "error"), [
    ({"schema_version": 2, "modules": []}, "schema version 2 is not one preuve reads (1)"),
    ({"schema_version": 1, "modules": {}}, "no list of modules"),
    (["a list"], "expected a JSON object"),
])
def test_a_manifest_preuve_cannot_read_fails_the_artifact(tmp_path: Path, manifest: object, error: str) -> None:
    root = _acquisition(tmp_path / "aqf", manifest, {})  # type: ignore[arg-type]
    (report,) = [a for a in check(root).artifacts if a.name == "android_magisk_modules"]
    assert (report.status, report.errors) == (ArtifactStatus.FAILED, [f"{MANIFEST}: {error}"])


def test_module_properties_as_magisk_reads_them() -> None:
    assert module_properties("id = a\n# c=d\nname=x=y\nnoequals\n=v\nid=b\n") == {"id": "b", "name": "x=y"}
