"""The record fields the Android rules judge by, read from files written as AndroidQF writes them.

installer ("null": none; "": the phone's pm has no -i, so unknown), which -a
output with several paths, file modes in both of AndroidQF's notations, and
the system flag that receivers and device admins take from packages.json.
"""

from __future__ import annotations

import json
from pathlib import Path

from preuve.artifacts.android._dumpsys import BroadcastReceiver, DeviceAdmin
from preuve.artifacts.android.files import AndroidFile
from preuve.artifacts.android.packages import AndroidPackage
from preuve.artifacts.android.root_binaries import RootBinary
from tests.builders import records


def _aqf(root: Path, **files: object) -> Path:
    root.mkdir(parents=True)
    (root / "acquisition.json").write_text(json.dumps({
        "uuid": "0b6c2d1e-5f1a-4c1e-9a35-2b2e6f4c9d10", "androidqf_version": "v1.7.1",
        "started": "2024-06-01T10:00:00Z", "completed": "2024-06-01T10:09:41Z",
    }, indent=1))
    (root / "getprop.txt").write_text("[ro.build.version.security_patch]: [2024-05-05]\n")
    for name, content in files.items():
        (root / name).write_text(content if isinstance(content, str) else json.dumps(content, indent=1))
    return root


def test_installer_none_versus_unknown(tmp_path: Path) -> None:
    entries: list[dict[str, object]] = [
        {"name": "a.none", "installer": "null", "uid": 10100, "disabled": False, "system": False,
         "third_party": True, "files": []},
        {"name": "b.unknown", "installer": "", "uid": 10101, "disabled": False, "system": False,
         "third_party": True, "files": []},
        {"name": "c.play", "installer": "com.android.vending", "uid": 10102, "disabled": False, "system": False,
         "third_party": True, "files": []},
        {"name": "d.missing", "uid": 10103, "files": []},
    ]
    found = records(_aqf(tmp_path / "aqf", **{"packages.json": entries}), "android_packages")
    assert all(isinstance(p, AndroidPackage) for p in found)
    assert [(p.name, p.installer, p.installer_recorded, p.system) for p in found] == [
        ("a.none", None, True, False),
        ("b.unknown", None, False, False),
        ("c.play", "com.android.vending", True, False),
        ("d.missing", None, False, None),
    ]


def test_which_output_with_several_paths(tmp_path: Path) -> None:
    root = _aqf(tmp_path / "aqf", **{"root_binaries.json": ["/system/bin/su\n/system/xbin/su\n", "", 5,
                                                             "/debug_ramdisk/magisk"]})
    found = records(root, "android_root_binaries")
    assert all(isinstance(r, RootBinary) for r in found)
    assert [(r.path, r.locator.key_path, r.locator.line) for r in found] == [
        ("/system/bin/su", "[0]", 1), ("/system/xbin/su", "[0]", 2), ("/debug_ramdisk/magisk", "[3]", None),
    ]


def test_executable_in_both_mode_notations(tmp_path: Path) -> None:
    modes = ["-rwxr-xr-x", "-rw-r--r--", "755", "644", "4750", "0600", "-rwsr-----", "-rwSr--r--", "", None]
    entries = [{"path": f"/data/local/tmp/f{i}", "mode": mode} for i, mode in enumerate(modes)]
    found = records(_aqf(tmp_path / "aqf", **{"files.json": entries}), "android_files")
    assert all(isinstance(f, AndroidFile) for f in found)
    assert [(f.mode, f.executable) for f in found] == [
        ("-rwxr-xr-x", True), ("-rw-r--r--", False), ("755", True), ("644", False), ("4750", True),
        ("0600", False), ("-rwsr-----", True), ("-rwSr--r--", False), ("", False), (None, False),
    ]


def test_receivers_and_admins_take_the_system_flag_of_packages_json(tmp_path: Path) -> None:
    packages = [{"name": "com.carrier.sms", "installer": "null", "uid": 1001, "disabled": False, "system": True,
                 "third_party": False, "files": []},
                {"name": "com.spy.app", "installer": "null", "uid": 10123, "disabled": False, "system": False,
                 "third_party": True, "files": []}]
    dumpsys = "\n".join([
        "DUMP OF SERVICE device_policy:",
        "  Enabled Device Admins (User 0, provisioningState: 3):",
        "    com.spy.app/.Admin:",
        "      uid=10123",
        "DUMP OF SERVICE package:",
        "Receiver Resolver Table:",
        "  Non-Data Actions:",
        "      android.provider.Telephony.SMS_RECEIVED:",
        "        a1c3 com.carrier.sms/.Rx filter f0d1",
        "        a2c3 com.spy.app/.Rx filter f1d1",
        "        a3c3 com.unlisted.app/.Rx filter f2d1",
        "",
    ])
    found = records(_aqf(tmp_path / "aqf", **{"packages.json": packages, "dumpsys.txt": dumpsys}), "android_dumpsys")
    assert [(type(r).__name__, r.package, r.system) for r in found
            if isinstance(r, (DeviceAdmin, BroadcastReceiver))] == [
        ("DeviceAdmin", "com.spy.app", False),
        ("BroadcastReceiver", "com.carrier.sms", True),
        ("BroadcastReceiver", "com.spy.app", False),
        ("BroadcastReceiver", "com.unlisted.app", None),
    ]


def test_damaged_packages_json_keeps_the_flags_read_before_the_damage(tmp_path: Path) -> None:
    from preuve.model import ArtifactStatus
    from tests.builders import check

    good = json.dumps({"name": "com.carrier.sms", "installer": "null", "uid": 1001, "disabled": False,
                       "system": True, "third_party": False, "files": []})
    packages = "[\n" + good + ',\n{"name": "com.spy.app", "system": fal'  # cut in the middle of an item
    dumpsys = "\n".join([
        "DUMP OF SERVICE package:",
        "Receiver Resolver Table:",
        "  Non-Data Actions:",
        "      android.provider.Telephony.SMS_RECEIVED:",
        "        a1c3 com.carrier.sms/.Rx filter f0d1",
        "        a2c3 com.spy.app/.Rx filter f1d1",
        "",
    ])
    root = _aqf(tmp_path / "aqf", **{"packages.json": packages, "dumpsys.txt": dumpsys})
    found = records(root, "android_dumpsys")
    assert [(r.package, r.system) for r in found if isinstance(r, BroadcastReceiver)] == [
        ("com.carrier.sms", True), ("com.spy.app", None),
    ]
    result = check(root)
    status = {a.name: a.status for a in result.artifacts}
    assert status["android_packages"] == ArtifactStatus.FAILED
    assert status["android_dumpsys"] == ArtifactStatus.OK
    assert [(f.rule, f.locator.line) for f in result.findings if f.rule == "android_sms_receiver"] == [
        ("android_sms_receiver", 6),
    ]


def test_tmp_copies_at_the_device_path_of_the_acquisition_tmp_dir(tmp_path: Path) -> None:
    import hashlib

    for tmp_dir, expected in (("/data/local/tmp/", "/data/local/tmp/a/b.so"), ("/sdcard/tmp", "/sdcard/tmp/a/b.so"),
                              ("/data/local/tmp/../../etc/", "/data/local/tmp/a/b.so"), (None, "/data/local/tmp/a/b.so")):
        root = _aqf(tmp_path / f"aqf{len(expected)}{tmp_dir is None}{'..' in (tmp_dir or '')}")
        meta = json.loads((root / "acquisition.json").read_text())
        if tmp_dir is not None:
            meta["tmp_dir"] = tmp_dir
        (root / "acquisition.json").write_text(json.dumps(meta))
        (root / "tmp" / "a").mkdir(parents=True)
        (root / "tmp" / "a" / "b.so").write_bytes(b"payload")
        found = records(root, "android_tmp_copies")
        assert [(f.path, f.size, f.sha256, f.locator.device_path) for f in found] == [
            (expected, 7, hashlib.sha256(b"payload").hexdigest(), "/.acquisition/androidqf/tmp/a/b.so")
        ], tmp_dir
