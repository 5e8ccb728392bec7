"""Every MVT Android heuristic on AndroidQF files written as AndroidQF writes them: exact findings, negatives too.

The writer here does not use preuve's builders: each file has the layout of
AndroidQF's own code (acquisition.json from ``Acquisition.StoreInfo``,
packages.json from ``adb.Package``, ``settings_<namespace>.txt`` from ``cmd
settings list``, mounts.json and root_binaries.json as JSON lists of the
``mount`` lines and of the ``which -a`` outputs, files.json from the
collector's ``FileInfo``), and the bugreport's tombstones are Android's text
tombstones. Each case states the level MVT gives the same input.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from tests.builders import check, snapshot

AQF = "/.acquisition/androidqf"
STARTED = "2024-06-01T10:00:00.123456789Z"


def _package(name: str, installer: str = "com.android.vending", *, system: bool = False, disabled: bool = False,
             third_party: bool | None = None, uid: int = 10100) -> dict[str, object]:
    """One adb.Package as AndroidQF marshals it (installer: "null" when none, "" when pm has no -i)."""
    return {
        "name": name,
        "files": [{
            "path": f"/data/app/~~Zm9v==/{name}-YmFy==/base.apk", "local_name": "", "md5": "", "sha1": "",
            "sha256": "", "sha512": "", "error": "", "verified_certificate": False,
            "certificate": {"Md5": "", "Sha1": "", "Sha256": "", "ValidFrom": "0001-01-01T00:00:00Z",
                            "ValidTo": "0001-01-01T00:00:00Z", "Issuer": "", "Subject": "",
                            "SignatureAlgorithm": "", "SerialNumber": None},
            "certificate_error": "", "trusted_certificate": False,
        }],
        "installer": installer, "uid": uid, "disabled": disabled, "system": system,
        "third_party": (not system) if third_party is None else third_party,
    }


def write_aqf(root: Path, acquisition_extra: dict[str, object] | None = None, **files: object) -> Path:
    """An AndroidQF acquisition folder: acquisition.json plus the named files (str as text, others as JSON)."""
    root.mkdir(parents=True)
    acquisition = {
        "uuid": "0b6c2d1e-5f1a-4c1e-9a35-2b2e6f4c9d10", "androidqf_version": "v1.7.1",
        "storage_path": "/home/analyst/androidqf/0b6c2d1e-5f1a-4c1e-9a35-2b2e6f4c9d10",
        "started": STARTED, "completed": "2024-06-01T10:09:41.5Z",
        "collector": {"ExePath": "/data/local/tmp/collector", "Installed": False,
                      "Adb": {"ExePath": "/tmp/adb", "Serial": ""}, "Architecture": "arm64-v8a"},
        "tmp_dir": "/data/local/tmp/", "sdcard": "/sdcard/", "cpu": "arm64-v8a",
    }
    acquisition.update(acquisition_extra or {})
    (root / "acquisition.json").write_text(json.dumps(acquisition, indent=1))
    (root / "getprop.txt").write_text(files.pop("getprop.txt", "[ro.build.version.security_patch]: [2024-05-05]\n"))
    for name, content in files.items():
        data = content if isinstance(content, str) else json.dumps(content, indent=1)
        (root / name.replace("__", "/")).write_text(data)
    return root


def _findings(root: Path, rules: tuple[str, ...]) -> list[tuple[str, str, str, str]]:
    before = snapshot(root)
    result = check(root)
    assert snapshot(root) == before
    assert not result.incomplete
    return sorted(
        (f.rule or "", f.severity.label, f.locator.key_path or str(f.locator.line), f.explanation)
        for f in result.findings if f.rule in rules
    )


def test_packages_installers_as_mvt(tmp_path: Path) -> None:
    packages = [
        _package("com.android.settings", "null", system=True, uid=1000),  # preinstalled: no installer, fine
        _package("org.example.notes"),  # Play Store
        _package("com.sideload.app", "com.google.android.packageinstaller"),  # MVT: medium
        _package("com.android.chrome", "com.android.packageinstaller", system=True),  # system app updated by APK
        _package("org.example.fdroid", "org.fdroid.fdroid"),  # MVT: info
        _package("org.example.aurora", "com.aurora.store"),  # MVT: info
        _package("com.adb.pushed", "null"),  # MVT: medium
        _package("com.old.phone", ""),  # pm without -i: installer unknown, MVT: nothing
        _package("com.kept.data", "null", third_party=False),  # in neither -s nor -3: MVT medium
        _package("com.vendor.tool", "com.carrier.agent", system=True),  # maker's agent on a system app: nothing
        _package("com.odd.source", "com.carrier.agent"),  # not a store: preuve low, MVT nothing
        _package("com.via.browser", "org.mozilla.firefox"),  # preuve medium, MVT nothing
    ]
    root = write_aqf(tmp_path / "aqf", **{"packages.json": packages})
    assert _findings(root, ("android_package_installer",)) == sorted([
        ("android_package_installer", "medium", "[2]", "The app com.sideload.app was installed from an APK file "
         "opened on the phone (com.google.android.packageinstaller), not from an app store."),
        ("android_package_installer", "medium", "[3]", "The preinstalled (system) app com.android.chrome was "
         "updated from an APK file opened on the phone (com.android.packageinstaller), not from an app store. "
         "Android accepts such an update only when it is signed with the key of the preinstalled app."),
        ("android_package_installer", "info", "[4]", "The app org.example.fdroid was installed from the "
         "open-source store org.fdroid.fdroid (F-Droid or Aurora), not Google Play."),
        ("android_package_installer", "info", "[5]", "The app org.example.aurora was installed from the "
         "open-source store com.aurora.store (F-Droid or Aurora), not Google Play."),
        ("android_package_installer", "medium", "[6]", "The app com.adb.pushed has no installer recorded and is "
         "not a system app: it was installed over adb (a computer connected to the phone) or by another hidden "
         "method."),
        ("android_package_installer", "medium", "[8]", "The app com.kept.data has no installer recorded and is "
         "not a system app: it was installed over adb (a computer connected to the phone) or by another hidden "
         "method. It is in neither the system nor the third-party list of the phone's main user: its data was "
         "kept after an uninstall, or it is installed for another user or a work profile."),
        ("android_package_installer", "low", "[10]", "The app com.odd.source was installed by com.carrier.agent, "
         "which is not a known app store."),
        ("android_package_installer", "medium", "[11]", "The app com.via.browser was installed from a file "
         "downloaded with the browser org.mozilla.firefox."),
    ])


def test_root_security_and_update_packages(tmp_path: Path) -> None:
    packages = [
        _package("com.dimonvideo.luckypatcher"),  # in MVT's ROOT_PACKAGES
        _package("me.weishu.kernelsu", "null"),  # preuve's addition; also no installer
        _package("com.policydm", "null", system=True, disabled=True),  # MVT SECURITY_PACKAGES
        _package("com.motorola.ccc.ota", "null", system=True, disabled=True),  # MVT SYSTEM_UPDATE_PACKAGES
        _package("com.sec.android.soagent", "null", system=True),  # enabled: fine
        _package("com.example.disabled", "null", system=True, disabled=True),  # not a security package
    ]
    root = write_aqf(tmp_path / "aqf", **{"packages.json": packages})
    rules = ("android_root_package", "android_security_package_disabled", "android_package_installer")
    assert [(r, s, k) for r, s, k, _ in _findings(root, rules)] == [
        ("android_package_installer", "medium", "[1]"),
        ("android_root_package", "medium", "[0]"),
        ("android_root_package", "medium", "[1]"),
        ("android_security_package_disabled", "medium", "[2]"),
        ("android_security_package_disabled", "medium", "[3]"),
    ]
    explanations = [e for r, _, _, e in _findings(root, rules) if r == "android_security_package_disabled"]
    assert explanations == ["The security package com.policydm is disabled on the phone.",
                            "The system update (OTA) package com.motorola.ccc.ota is disabled on the phone."]


def test_dangerous_settings_with_mvt_safe_values(tmp_path: Path) -> None:
    root = write_aqf(
        tmp_path / "aqf",
        **{
            "settings_global.txt": "adb_enabled=1\nverifier_verify_adb_installs=0\npackage_verifier_enable=1\n"
                                   "package_verifier_state=-1\nupload_apk_enable=null\nadb_install_need_confirm=1\n",
            "settings_secure.txt": "package_verifier_user_consent=-1\nsend_action_app_error=1\n"
                                   "accessibility_enabled=0\n",
            "settings_system.txt": "samsung_errorlog_agree=0\nsend_security_reports=1\nscreen_brightness=102\n",
        },
    )
    got = [(s, k, e) for _, s, k, e in _findings(root, ("android_dangerous_setting",))]
    assert sorted(got) == sorted([
        ("medium", "2", "The global setting verifier_verify_adb_installs is '0', not '1': apps installed over "
         "adb are not checked by Google Play services."),
        ("medium", "4", "The global setting package_verifier_state is '-1', not '1': APK package verification is "
         "turned off."),
        ("low", "5", "The global setting upload_apk_enable is null (never set), not '1': the phone uses its "
         "default for it, which Android makes the safe one for Play Protect verification and accessibility; for "
         "the other settings it depends on the maker."),  # MVT: medium
        ("medium", "1", "The secure setting package_verifier_user_consent is '-1', not '1': Google Play Protect "
         "scanning has not been accepted or was refused."),
        ("medium", "1", "The system setting samsung_errorlog_agree is '0', not '1': crash logs are not shared "
         "with the manufacturer."),
    ])


def test_accessibility_enabled_setting(tmp_path: Path) -> None:
    root = write_aqf(tmp_path / "aqf", **{
        "settings_secure.txt": "accessibility_enabled=1\n"
                               "enabled_accessibility_services=com.spy.app/com.spy.app.Svc:com.x/.Reader\n",
    })
    assert _findings(root, ("android_dangerous_setting", "android_accessibility_service")) == sorted([
        ("android_dangerous_setting", "medium", "1",
         "The secure setting accessibility_enabled is '1', not '0': accessibility services are turned on."),
        ("android_accessibility_service", "medium", "2", "The accessibility service com.spy.app/com.spy.app.Svc "
         "is enabled in settings: it can read the screen and typing. Check that the owner knows this app."),
        ("android_accessibility_service", "medium", "2", "The accessibility service com.x/.Reader is enabled in "
         "settings: it can read the screen and typing. Check that the owner knows this app."),
    ])


@pytest.mark.parametrize(("patch", "flagged"), [
    ("2023-11-27", True),  # 187 days and 10 hours before the acquisition
    ("2023-11-28", True),  # 186 days and 10 hours: more than MVT's 6 x 31 days
    ("2023-11-29", False),  # 185 days and 10 hours
    ("2024-05-05", False),
])
def test_security_patch_older_than_six_months(tmp_path: Path, patch: str, flagged: bool) -> None:
    root = write_aqf(tmp_path / "aqf", **{"getprop.txt": f"[ro.build.version.security_patch]: [{patch}]\n"})
    got = _findings(root, ("android_old_security_patch",))
    assert [(r, s, k) for r, s, k, _ in got] == ([("android_old_security_patch", "medium", "1")] if flagged else [])


def test_data_local_tmp_every_file_high_but_the_collector(tmp_path: Path) -> None:
    def entry(path: str, mode: str) -> dict[str, object]:
        return {"path": path, "size": 8, "mode": mode, "user_id": 2000, "user_name": "shell", "group_id": 2000,
                "group_name": "shell", "changed_time": 1717236000, "modified_time": 1717236000,
                "access_time": 1717236000, "error": "", "context": "u:object_r:shell_data_file:s0",
                "sha1": "", "sha256": "", "sha512": "", "md5": ""}

    files = [
        entry("/data/local/tmp/collector", "-rwxrwxrwx"),  # AndroidQF's own: MVT skips it too
        entry("/data/local/tmp/collector2", "-rwxr-xr-x"),  # not AndroidQF's
        entry("/data/local/tmp/libstage.so", "-rw-r--r--"),  # dlopen needs no x bit: high as in MVT
        entry("/data/local/tmp/run", "755"),  # find -printf %m (AndroidQF without its collector)
        entry("/data/local/tmp/notes", "644"),
        entry("/sdcard/DCIM/a.jpg", "-rw-rw----"),
    ]
    root = write_aqf(tmp_path / "aqf", **{"files.json": files})
    assert _findings(root, ("android_data_local_tmp",)) == [
        ("android_data_local_tmp", "high", "[1]", "The executable file /data/local/tmp/collector2 is in "
         "/data/local/tmp, where exploit stages and adb-pushed tools are left."),
        ("android_data_local_tmp", "high", "[2]", "The file /data/local/tmp/libstage.so is in /data/local/tmp, "
         "where exploit stages and adb-pushed tools are left."),
        ("android_data_local_tmp", "high", "[3]", "The executable file /data/local/tmp/run is in "
         "/data/local/tmp, where exploit stages and adb-pushed tools are left."),
        ("android_data_local_tmp", "high", "[4]", "The file /data/local/tmp/notes is in /data/local/tmp, where "
         "exploit stages and adb-pushed tools are left."),
    ]


def test_mounts_read_write_and_options(tmp_path: Path) -> None:
    mounts = [
        "/dev/block/dm-6 on / type ext4 (ro,seclabel,relatime)",
        "/dev/block/dm-7 on /system_ext type ext4 (ro,seclabel,noatime)",  # Android's own noatime: fine
        "/dev/block/dm-8 on /system_dlkm type ext4 (ro,seclabel,noatime)",
        "/dev/block/dm-1 on /system type ext4 (rw,seclabel,relatime)",  # MVT high (and medium for rw)
        "/dev/block/dm-9 on /vendor type ext4 (ro,seclabel,remount)",  # MVT medium
        "/dev/block/dm-2 on /product type ext4 (rw,seclabel,noatime)",  # MVT high; noatime allowed there
        "/dev/block/dm-3 on /system/bin type ext4 (ro,seclabel,nodiratime)",  # MVT medium
        "/dev/block/bootdevice/by-name/system / ext4 rw,seclabel,relatime 0 0",  # system-as-root rw: preuve high
        "rootfs on / type rootfs (rw,seclabel)",  # old Android's RAM root: fine
        "/dev/block/dm-10 on /data type f2fs (rw,lazytime,seclabel,nosuid,nodev,noatime)",  # not a system one
    ]
    root = write_aqf(tmp_path / "aqf", **{"mounts.json": mounts})
    assert _findings(root, ("android_system_rw", "android_mount_options")) == [
        ("android_mount_options", "medium", "[4]",
         "The system partition /vendor is mounted with remount (ro,seclabel,remount)."),
        ("android_mount_options", "medium", "[6]",
         "The system partition /system/bin is mounted with nodiratime (ro,seclabel,nodiratime)."),
        ("android_system_rw", "high", "[3]", "The /system partition is mounted read-write (/dev/block/dm-1, "
         "ext4): the phone is rooted or its system was modified."),
        ("android_system_rw", "high", "[5]", "The system partition /product is mounted read-write "
         "(/dev/block/dm-2, ext4): the phone is rooted or its system was modified."),
        ("android_system_rw", "high", "[7]", "The system partition / is mounted read-write "
         "(/dev/block/bootdevice/by-name/system, ext4): the phone is rooted or its system was modified."),
    ]


def test_root_binaries_one_finding_per_path(tmp_path: Path) -> None:
    # Each entry is the output of `which -a <name>`: several lines when found in several PATH folders.
    root = write_aqf(tmp_path / "aqf", **{"root_binaries.json": ["/system/bin/su\n/system/xbin/su",
                                                                  "/debug_ramdisk/magisk"]})
    before = snapshot(root)
    result = check(root)
    assert snapshot(root) == before
    assert [(f.rule, f.severity.label, f.locator.key_path, f.locator.line, f.observable.value if f.observable
             else None) for f in result.findings if f.rule == "android_root_binary"] == [
        ("android_root_binary", "high", "[0]", 1, "/system/bin/su"),
        ("android_root_binary", "high", "[0]", 2, "/system/xbin/su"),
        ("android_root_binary", "high", "[1]", None, "/debug_ramdisk/magisk"),
    ]


def _tombstone(process: str, uid: int) -> str:
    return "\n".join([
        "*** *** *** *** *** *** *** *** *** *** *** *** *** *** *** ***",
        "Build fingerprint: 'google/sunfish/sunfish:14/UQ1A.240205.002/11224170:user/release-keys'",
        "Revision: 'MP1.0'",
        "ABI: 'arm64'",
        "Timestamp: 2024-05-20 08:30:00.123456789+0200",
        "Process uptime: 12s",
        f"Cmdline: {process}",
        f"pid: 612, tid: 640, name: Binder:612_2  >>> {process} <<<",
        f"uid: {uid}",
        "signal 11 (SIGSEGV), code 1 (SEGV_MAPERR), fault addr 0x0000000000000000",
        "",
    ])


def test_tombstones_of_root_system_and_shell(tmp_path: Path) -> None:
    path = tmp_path / "bugreport-sunfish-UQ1A-2024-06-01-10-00-00.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("main_entry.txt", "bugreport-sunfish-UQ1A-2024-06-01-10-00-00.txt")
        archive.writestr("version.txt", "2.0")
        archive.writestr("bugreport-sunfish-UQ1A-2024-06-01-10-00-00.txt",
                         "========================================================\n"
                         "== dumpstate: 2024-06-01 10:00:00\n"
                         "========================================================\n")
        for index, (process, uid) in enumerate([("/system/bin/vold", 0), ("/system/bin/surfaceflinger", 1000),
                                                ("/system/bin/sh", 2000), ("com.example.game", 10123)]):
            archive.writestr(f"FS/data/tombstones/tombstone_{index:02d}", _tombstone(process, uid))
    result = check(path)
    assert [(f.rule, f.severity.label, f.locator.device_path) for f in result.findings
            if f.rule == "android_tombstone_privileged"] == [
        ("android_tombstone_privileged", "medium", f"/data/tombstones/tombstone_{index:02d}") for index in range(3)
    ]


def _dumpsys(receivers: list[str], admins: list[str]) -> str:
    lines = [
        "-------------------------------------------------------------------------------",
        "DUMP OF SERVICE device_policy:",
        "Current Device Policy Manager state:",
        "  Enabled Device Admins (User 0, provisioningState: 3):",
    ]
    for component in admins:
        lines += [f"    {component}:", "      uid=10123", "      testOnlyAdmin=false"]
    lines += [
        "  Device Owner: none",
        "--------- 0.010s was the duration of dumpsys device_policy, ending at: 2024-06-01 10:00:01",
        "-------------------------------------------------------------------------------",
        "DUMP OF SERVICE package:",
        "Receiver Resolver Table:",
        "  Non-Data Actions:",
        "      android.provider.Telephony.SMS_RECEIVED:",
    ]
    lines += [f"        {index + 0xA0:x}c3 {component} filter {index + 0xF0:x}d1"
              for index, component in enumerate(receivers)]
    lines += ["", "--------- 0.020s was the duration of dumpsys package, ending at: 2024-06-01 10:00:02", ""]
    return "\n".join(lines)


def test_receivers_and_admins_judged_by_the_system_flag(tmp_path: Path) -> None:
    packages = [
        _package("com.carrier.sms", "null", system=True, uid=1001),  # preinstalled, name not on any list
        _package("com.android.systemupdate", "com.android.vending"),  # named like the system, is not
        _package("com.spy.app", "com.android.vending"),
    ]
    dumpsys = _dumpsys(
        receivers=["com.carrier.sms/.SmsReceiver", "com.android.systemupdate/.Sms", "com.spy.app/.Sms",
                   "com.android.phone/.SmsListener"],  # the last is not in packages.json: judged by its name
        admins=["com.carrier.sms/.Admin", "com.android.systemupdate/.Admin", "com.android.phone/.Admin"],
    )
    root = write_aqf(tmp_path / "aqf", **{"packages.json": packages, "dumpsys.txt": dumpsys})
    assert _findings(root, ("android_sms_receiver", "android_device_admin")) == sorted([
        ("android_device_admin", "info", "5", "com.carrier.sms/com.carrier.sms.Admin is a device administrator "
         "(a system component, usually Find My Device or the maker's security)."),
        ("android_device_admin", "medium", "8", "com.android.systemupdate/com.android.systemupdate.Admin is a "
         "device administrator: its name looks like a system app's, but it is not a system app, and it resists "
         "removal. Check that the owner knows this app."),
        ("android_device_admin", "info", "11", "com.android.phone/com.android.phone.Admin is a device "
         "administrator (a system component, usually Find My Device or the maker's security)."),
        ("android_sms_receiver", "low", "22", "The app com.android.systemupdate is registered to receive SMS "
         "(com.android.systemupdate/com.android.systemupdate.Sms). Its name looks like a system app's, but it "
         "is not a system app."),
        ("android_sms_receiver", "low", "23", "The app com.spy.app is registered to receive SMS "
         "(com.spy.app/com.spy.app.Sms)."),
    ])


def _adb_public_key(comment: str) -> str:
    """An adbkey.pub line: base64 of Android's 524-byte RSA public key structure, a space, the key name."""
    blob = b"".join(hashlib.sha256(f"{comment}:{i}".encode()).digest() for i in range(17))[:524]
    return base64.b64encode(blob).decode() + " " + comment


def test_trusted_adb_key_other_than_the_acquiring_host(tmp_path: Path) -> None:
    host, other = _adb_public_key("analyst@aqf-laptop"), _adb_public_key("someone@elsewhere")
    dumpsys = "\n".join([
        "DUMP OF SERVICE adb:",
        "ADB MANAGER STATE (dumpsys adb):",
        "{",
        "  debugging_manager={",
        "    connected_to_adb=true",
        f"    user_keys={other}",
        host,
        "",
        "  }",
        "}",
        "--------- 0.002s was the duration of dumpsys adb, ending at: 2024-06-01 10:00:03",
        "",
    ])
    # Recent AndroidQF writes the acquiring computer's key into acquisition.json only.
    root = write_aqf(tmp_path / "aqf", acquisition_extra={"adb_host_public_key": host}, **{"dumpsys.txt": dumpsys})
    got = _findings(root, ("android_adb_key",))
    assert [(r, s, k, "made this AndroidQF" in e) for r, s, k, e in got] == [
        ("android_adb_key", "info", "7", True),
        ("android_adb_key", "low", "6", False),
    ]


def test_mounts_left_by_rooting_tools(tmp_path: Path) -> None:
    # Not an MVT check: Magisk and KernelSU leave the system partitions read-only.
    mounts = [
        "/dev/block/dm-0 on /sbin/.magisk/mirror/system type ext4 (ro,seclabel,relatime)",
        "magisk on /system/bin type tmpfs (ro,seclabel,relatime,size=1923052k,mode=755)",
        "KSU /system/app/Stk overlay ro,seclabel,relatime,lowerdir=/data/adb/modules/x/system/app/Stk 0 0",
        "/dev/block/dm-1 on /system_ext type ext4 (ro,seclabel,noatime)",
        "tmpfs on /system/etc/magisk.conf.d type tmpfs (ro,seclabel)",  # a name, not Magisk's folder
    ]
    root = write_aqf(tmp_path / "aqf", **{"mounts.json": mounts})
    assert _findings(root, ("android_root_mount",)) == [
        ("android_root_mount", "high", "[0]", "/dev/block/dm-0 is mounted on /sbin/.magisk/mirror/system by "
         "Magisk: the phone is rooted. Ask the owner whether they did it."),
        ("android_root_mount", "high", "[1]", "magisk is mounted on /system/bin by Magisk: the phone is rooted. "
         "Ask the owner whether they did it."),
        ("android_root_mount", "high", "[2]", "KSU is mounted on /system/app/Stk by KernelSU: the phone is "
         "rooted. Ask the owner whether they did it."),
    ]


def test_copies_of_the_tmp_folder_give_the_hash(tmp_path: Path) -> None:
    # AndroidQF's temp module pulls every file of TMPDIR into tmp/; files.json lists them without hashes.
    from tests.builders import feed

    stage = b"\x7fELF\x02\x01\x01 second stage"
    digest = hashlib.sha256(stage).hexdigest()
    listing = [{"path": "/data/local/tmp/.x/stage", "size": len(stage), "mode": "-rwxr-xr-x", "user_id": 2000,
                "user_name": "shell", "group_id": 2000, "group_name": "shell", "changed_time": 1717236000,
                "modified_time": 1717236000, "access_time": 1717236000, "error": "", "context": "",
                "sha1": "", "sha256": "", "sha512": "", "md5": ""}]
    root = write_aqf(tmp_path / "aqf", **{"files.json": listing})
    (root / "tmp" / ".x").mkdir(parents=True)
    (root / "tmp" / ".x" / "stage").write_bytes(stage)
    (root / "tmp" / "collector").write_bytes(b"\x7fELF the collector")  # AndroidQF's own, copied too
    iocs = feed(tmp_path / "feed.stix2", (f"[file:hashes.'SHA-256'='{digest}']", "ExampleSpy"))
    before = snapshot(root)
    result = check(root, iocs)
    assert snapshot(root) == before
    assert sorted((f.rule or "ioc", f.severity.label, f.locator.device_path, f.locator.key_path or "",
                   f.explanation if f.rule else "") for f in result.findings) == [
        ("android_data_local_tmp", "high", f"{AQF}/files.json", "[0]", "The executable file "
         "/data/local/tmp/.x/stage is in /data/local/tmp, where exploit stages and adb-pushed tools are left."),
        ("android_data_local_tmp", "high", f"{AQF}/tmp/.x/stage", "", "The file /data/local/tmp/.x/stage is in "
         "/data/local/tmp, where exploit stages and adb-pushed tools are left. AndroidQF copied it "
         f"({AQF}/tmp/.x/stage, SHA-256 {digest})."),
        ("ioc", "critical", f"{AQF}/tmp/.x/stage", "", ""),
    ]
