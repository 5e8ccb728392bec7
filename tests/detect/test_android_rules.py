"""Every Android heuristic on built acquisitions: which rule fires, how severe, and where."""

from __future__ import annotations

import os
from pathlib import Path

from preuve.model import ExitCode
from tests.builders import check, snapshot
from tests.builders.android import AndroidQFBuilder, DumpsysSpec, PackageSpec

AQF = "/.acquisition/androidqf"


def _suspicious() -> AndroidQFBuilder:
    b = AndroidQFBuilder()
    b.packages += [
        PackageSpec("com.spy.app", installer="com.android.chrome"),
        PackageSpec("com.adb.pushed", installer=None),
        PackageSpec("com.sideloaded", installer="com.google.android.packageinstaller"),
        PackageSpec("com.other.store", installer="com.weird.store"),
        PackageSpec("com.topjohnwu.magisk"),
        PackageSpec("com.google.android.gms", system=True, disabled=True, installer=None),
    ]
    b.settings["global"].update({"package_verifier_enable": "0", "verifier_verify_adb_installs": "0"})
    b.settings["secure"].update({"install_non_market_apps": "1",
                                 "enabled_accessibility_services": "com.spy.app/com.spy.app.A11y"})
    b.dumpsys = DumpsysSpec(
        accessibility=["com.spy.app/.A11y"],
        device_admins=["com.spy.app/.Admin", "com.google.android.gms/com.google.android.gms.mdm.Receiver"],
        sms_receivers=["com.spy.app/.Sms"], install_allowed=["com.spy.app", "com.android.chrome"],
        adb_keys=["user@laptop"],
    )
    b.root_binaries = ["/system/xbin/su"]
    b.files = [
        {"path": "/data/local/tmp/exploit", "mode": "-rwxr-xr-x"},
        {"path": "/data/local/tmp/notes.txt", "mode": "-rw-r--r--"},
        {"path": "/data/local/tmp/collector", "mode": "-rwxr-xr-x"},
        {"path": "/sdcard/DCIM/a.jpg", "mode": "-rw-r--r--"},
    ]
    b.mounts.append("/dev/block/dm-1 on /system type ext4 (rw,seclabel)")
    return b


def test_every_rule_fires_where_expected(tmp_path: Path) -> None:
    root = _suspicious().folder(tmp_path / "aqf")
    before = snapshot(root)
    result = check(root)
    assert snapshot(root) == before
    got = sorted(
        (f.rule or "", f.severity.label, f.locator.device_path.rsplit("/", 1)[-1],
         f.locator.key_path or str(f.locator.line))
        for f in result.findings
    )
    assert got == sorted([
        ("android_accessibility_service", "medium", "dumpsys.txt", "7"),
        ("android_accessibility_service", "medium", "settings_secure.txt", "2"),
        ("android_adb_key", "low", "dumpsys.txt", "17"),
        ("android_data_local_tmp", "high", "files.json", "[0]"),
        ("android_data_local_tmp", "high", "files.json", "[1]"),
        ("android_device_admin", "info", "dumpsys.txt", "39"),
        ("android_device_admin", "medium", "dumpsys.txt", "36"),
        ("android_install_packages", "medium", "dumpsys.txt", "26"),
        ("android_install_packages", "medium", "dumpsys.txt", "28"),
        ("android_install_packages", "info", "dumpsys.txt", "30"),  # asked, not allowed (MVT: medium)
        ("android_old_security_patch", "medium", "getprop.txt", "3"),
        ("android_package_installer", "low", "packages.json", "[5]"),
        ("android_package_installer", "medium", "packages.json", "[2]"),
        ("android_package_installer", "medium", "packages.json", "[3]"),
        ("android_package_installer", "medium", "packages.json", "[4]"),
        ("android_dangerous_setting", "medium", "settings_global.txt", "2"),
        ("android_dangerous_setting", "medium", "settings_global.txt", "3"),
        ("android_root_binary", "high", "root_binaries.json", "[0]"),
        ("android_root_package", "medium", "packages.json", "[6]"),
        ("android_security_package_disabled", "medium", "packages.json", "[7]"),
        ("android_sms_receiver", "low", "dumpsys.txt", "55"),
        ("android_system_rw", "high", "mounts.json", "[2]"),
        ("android_unknown_sources", "low", "settings_secure.txt", "1"),
    ])
    assert result.exit_code == ExitCode.DETECTED


def test_clean_phone_has_no_findings(tmp_path: Path) -> None:
    b = AndroidQFBuilder()
    b.props["ro.build.version.security_patch"] = "2023-10-01"
    result = check(b.folder(tmp_path / "aqf"))
    # only the review item of an app that asked to install apps and is not allowed to (info)
    assert [(f.rule, f.severity.label, f.observable.value if f.observable else None) for f in result.findings] == [
        ("android_install_packages", "info", "com.example.quiet"),
    ]
    assert result.exit_code == ExitCode.INCOMPLETE  # no indicator given: heuristics only, not a full check
    assert not result.incomplete


def test_adb_key_of_the_acquisition_computer_is_info(tmp_path: Path) -> None:
    b = AndroidQFBuilder(adb_host_key="analyst@aqf")
    b.props["ro.build.version.security_patch"] = "2023-10-01"
    b.dumpsys = DumpsysSpec(adb_keys=["user@laptop", "analyst@aqf"])
    result = check(b.folder(tmp_path / "aqf"))
    assert [(f.rule, f.severity.label, f.locator.line, "made this AndroidQF" in f.explanation) for f in result.findings] == [
        ("android_adb_key", "low", 17, False),
        ("android_adb_key", "info", 18, True),
        ("android_install_packages", "info", 27, False),
    ]


def test_old_security_patch_says_where_the_acquisitions_date_comes_from(tmp_path: Path) -> None:
    """Counted to acquisition.json's date; without one, to the file's time, and the message says so (a copy
    may have changed it)."""
    b = AndroidQFBuilder()
    b.props["ro.build.version.security_patch"] = "2023-01-05"
    with_json = check(b.folder(tmp_path / "aqf"))
    b.extra["acquisition.json"] = b"{}"
    root = b.folder(tmp_path / "bare")
    os.utime(root / "getprop.txt", (1_704_067_200, 1_704_067_200))  # 2024-01-01 00:00 UTC
    without = check(root)
    assert [f.explanation for r in (with_json, without) for f in r.findings
            if f.rule == "android_old_security_patch"] == [
        "The security patch level is 2023-01-05, 313 days before the acquisition (2023-11-14): the phone misses "
        "months of security fixes.",
        "The security patch level is 2023-01-05, 361 days before the acquisition (2024-01-01, the time of "
        f"{AQF}/getprop.txt: nothing in the acquisition records when it was made): the phone misses months of "
        "security fixes.",
    ]
