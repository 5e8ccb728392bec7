"""MVT Android checks preuve lacked or doubled, on files written the way AndroidQF and Android write them.

mounts.json is AndroidQF's mounts module: the lines of ``mount | grep '/system'`` then those of
``cat /proc/mounts | grep '/system'`` that are not byte-identical to one already listed, as one
JSON list of strings. The writer does not use preuve's builders.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.builders import check, feed, snapshot

STARTED = "2024-06-01T10:00:00.123456789Z"


def write_aqf(root: Path, **files: object) -> Path:
    root.mkdir(parents=True)
    (root / "acquisition.json").write_text(json.dumps({
        "uuid": "0b6c2d1e-5f1a-4c1e-9a35-2b2e6f4c9d10", "androidqf_version": "v1.7.1",
        "storage_path": "/home/analyst/androidqf/0b6c2d1e", "started": STARTED,
        "completed": "2024-06-01T10:09:41.5Z", "collector": None, "tmp_dir": "/data/local/tmp/",
        "sdcard": "/sdcard/", "cpu": "arm64-v8a"}, indent=1))
    (root / "getprop.txt").write_text("[ro.build.version.security_patch]: [2024-05-05]\n")
    for name, content in files.items():
        (root / name).write_text(content if isinstance(content, str) else json.dumps(content, indent=1))
    return root


# `mount` output first, then /proc/mounts: the same three mounts in both spellings.
MOUNTS = [
    "/dev/block/dm-1 on /system type ext4 (rw,seclabel,relatime)",
    "/dev/block/dm-3 on /system/bin type ext4 (ro,seclabel,nodiratime)",
    "/data/local/tmp/.x/img on /system/app/Stk type ext4 (ro,seclabel,relatime)",
    "/dev/block/dm-1 /system ext4 rw,seclabel,relatime 0 0",
    "/dev/block/dm-3 /system/bin ext4 ro,seclabel,nodiratime 0 0",
    "/data/local/tmp/.x/img /system/app/Stk ext4 ro,seclabel,relatime 0 0",
]


def test_a_mount_listed_by_mount_and_by_proc_mounts_is_one_finding(tmp_path: Path) -> None:
    root = write_aqf(tmp_path / "aqf", **{"mounts.json": MOUNTS})
    before = snapshot(root)
    result = check(root)
    assert snapshot(root) == before
    assert sorted((f.rule or "", f.severity.label, f.locator.key_path or "") for f in result.findings
                  if f.artifact == "android_mounts") == [
        ("android_mount_options", "medium", "[1]"),
        ("android_system_rw", "high", "[0]"),
    ]


def test_mount_point_and_device_matched_against_file_path_indicators(tmp_path: Path) -> None:
    root = write_aqf(tmp_path / "aqf", **{"mounts.json": MOUNTS})
    iocs = feed(tmp_path / "spy.stix2", ("[file:path='/data/local/tmp/.x/img']", "Spy"),
                ("[file:path='/system/app/Stk']", "Spy"))
    result = check(root, iocs, heuristics=False)
    assert sorted((f.severity.label, f.locator.key_path or "", f.observable.value if f.observable else "")
                  for f in result.findings if f.indicator) == [
        ("critical", "[2]", "/data/local/tmp/.x/img"),
        ("critical", "[2]", "/system/app/Stk"),
    ]


def test_app_process_named_after_the_last_15_characters_of_its_package(tmp_path: Path) -> None:
    # The collector's ps: "filename" is the kernel's name in parentheses, which Android sets to the last 15
    # characters of a longer dotted package name; with no command line, that is the only name there is.
    processes = [
        {"pid": 1, "uid": 0, "ppid": 0, "filename": "(init)", "command_line": ["/system/bin/init"],
         "context": "u:r:init:s0"},
        {"pid": 5678, "uid": 10123, "ppid": 690, "filename": "(.fintur.support)", "command_line": None,
         "context": "u:r:untrusted_app:s0:c123,c256,c512,c768"},
        {"pid": 5679, "uid": 10124, "ppid": 690, "filename": "(.fintur.suppore)", "command_line": None,
         "context": "u:r:untrusted_app:s0:c124,c256,c512,c768"},
    ]
    root = write_aqf(tmp_path / "aqf", **{"processes.txt": processes})
    iocs = feed(tmp_path / "spy.stix2", ("[app:id='com.fintur.support']", "Spy"))
    result = check(root, iocs, heuristics=False)
    assert [(f.severity.label, f.locator.key_path, f.observable.value if f.observable else "",
             f.indicator.value if f.indicator else "") for f in result.findings] == [
        ("critical", "[1]", ".fintur.support", "com.fintur.support"),
    ]


RULE = "-" * 79


def _accessibility_dumpsys(enabled_line: bool) -> str:
    """dumpsys accessibility as AccessibilityUserState.dump prints it (toShortString: {pkg/.Cls}), framed as
    dumpsys frames a service."""
    lines = [
        RULE,
        "DUMP OF SERVICE accessibility:",
        "ACCESSIBILITY MANAGER (dumpsys accessibility)",
        "",
        "currentUserId=0",
        "User state[",
        "     attributes:{id=0, touchExplorationEnabled=false, serviceHandlesDoubleTap=false, "
        "installedServiceCount=3, nonInteractiveUiTimeout=0, interactiveUiTimeout=0}",
        "     installed services: {",
        "          {com.google.android.marvin.talkback/com.google.android.accessibility.talkback.TalkBackService}",
        "          {com.example.reader/.ReaderService}",
        "          {com.spy.app/.A11y}",
        "     }",
        "     Bound services:{}",
    ]
    if enabled_line:
        lines.append("     Enabled services:{{com.spy.app/com.spy.app.A11y}}")
    lines += [
        "     Binding services:{}",
        "     Crashed services:{}",
        "]",
        "--------- 0.004s was the duration of dumpsys accessibility, ending at: 2024-06-01 10:01:02",
    ]
    return "\n".join(lines) + "\n"


def test_accessibility_services_installed_and_not_enabled_are_low(tmp_path: Path) -> None:
    root = write_aqf(tmp_path / "aqf", **{"dumpsys.txt": _accessibility_dumpsys(enabled_line=True)})
    before = snapshot(root)
    result = check(root)
    assert snapshot(root) == before
    assert [(f.rule, f.severity.label, f.locator.line, f.observable.value if f.observable else "")
            for f in result.findings if f.rule == "android_accessibility_service"] == [
        ("android_accessibility_service", "medium", 14, "com.spy.app"),
        ("android_accessibility_service", "low", 9, "com.google.android.marvin.talkback"),
        ("android_accessibility_service", "low", 10, "com.example.reader"),
    ]


def test_accessibility_services_installed_with_no_enabled_list_are_medium(tmp_path: Path) -> None:
    root = write_aqf(tmp_path / "aqf", **{"dumpsys.txt": _accessibility_dumpsys(enabled_line=False)})
    result = check(root)
    assert [(f.severity.label, f.locator.line, f.observable.value if f.observable else "")
            for f in result.findings if f.rule == "android_accessibility_service"] == [
        ("medium", 9, "com.google.android.marvin.talkback"),
        ("medium", 10, "com.example.reader"),
        ("medium", 11, "com.spy.app"),
    ]


def _adb_key(seed: str) -> str:
    """An adb public key as adb writes it: base64 of the 524-byte RSA structure (700 characters)."""
    import base64
    import hashlib

    raw = b"".join(hashlib.sha256(f"{seed}:{i}".encode()).digest() for i in range(17))[:524]
    return base64.b64encode(raw).decode()


def test_a_trusted_adb_key_that_is_not_valid_base64_is_low(tmp_path: Path) -> None:
    damaged = _adb_key("lost")[:-3]  # cut short: 697 characters are no base64
    text = "\n".join([
        RULE,
        "DUMP OF SERVICE adb:",
        "ADB MANAGER STATE (dumpsys adb):",
        "{",
        "  debugging_manager={",
        "    connected_to_adb=true",
        f"    user_keys={_adb_key('laptop')} user@laptop",
        f"{damaged} old@desk",
        "",
        "  }",
        "}",
        "--------- 0.001s was the duration of dumpsys adb, ending at: 2024-06-01 10:01:02",
    ]) + "\n"
    root = write_aqf(tmp_path / "aqf", **{"dumpsys.txt": text})
    result = check(root)
    assert [(f.severity.label, f.locator.line, f.explanation) for f in result.findings
            if f.rule == "android_adb_key"] == [
        ("low", 7, f"The computer 'user@laptop' (key {_fingerprint(_adb_key('laptop'))}) is trusted for USB "
         "debugging. Check it is the acquisition computer or one the owner knows."),
        ("low", 8, f"A computer ('old@desk') is trusted for USB debugging with a key that is not valid "
         f"({damaged[:24]}…): the trusted-keys file was altered or damaged, and which computer it stands for "
         "cannot be told."),
    ]


def _fingerprint(key: str) -> str:
    import base64
    import hashlib

    digest = hashlib.md5(base64.b64decode(key)).hexdigest().upper()  # noqa: S324 - Android's fingerprint format
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def test_thread_names_of_ps_threads_are_matched_against_process_indicators(tmp_path: Path) -> None:
    # The bugreport's PROCESSES AND THREADS section (toybox ps -A -T -Z -O …): 'spyworker' is a thread of the
    # app process com.spy.agent, on a row of its own; MVT matches every row's name.
    from tests.builders.bugreport import MAIN, bugreport_members, write_zip

    path = write_zip(tmp_path / "bugreport.zip", bugreport_members())
    iocs = feed(tmp_path / "spy.stix2", ("[process:name='spyworker']", "Spy"))
    result = check(path, iocs, heuristics=False)
    assert [(f.severity.label, f.artifact, f.locator.device_path.rsplit("/", 1)[-1], f.locator.line,
             f.observable.value if f.observable else "") for f in result.findings] == [
        ("critical", "android_dumpstate", MAIN, 23, "spyworker"),
    ]
