"""The change history ``dumpsys settings`` keeps for each row: one record a change, its year taken from
the time the dump was printed, and the rule that names who set a security setting off its safe value."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.android.settings import AndroidSetting, AndroidSettingChange
from preuve.model import Locator
from tests.builders.bugreport import write_folder
from tests.helpers import check, records

DUMP = "/.acquisition/bugreport/dumpstate.txt"

# As dumpsys prints it (Android 11 to 15): rows of fields, each row's "History (n)" indented with tabs,
# a time without a year, and the service's trailer saying when it was printed.
SETTINGS = [
    "DUMP OF SERVICE settings:",  # line 1
    "GLOBAL SETTINGS (user 0)",
    "_id:58 name:package_verifier_enable pkg:com.android.vending value:1 default:1 defaultSystemSet:true",
    "\tHistory (2)",
    "\t\ttime:12-30 23:59:59.500 mode:update oldValue:1 newValue:0 package:com.android.shell",  # line 5
    "\t\ttime:01-02 08:00:00.000 mode:update oldValue:0 newValue:1 package:com.android.vending",
    "_id:60 name:upload_apk_enable pkg:com.google.android.gms value:0 default:1 defaultSystemSet:true",
    "\tHistory (1)",
    "\t\ttime:02-29 10:00:00.000 mode:update oldValue:1 newValue:0 package:com.google.android.gms",
    "_id:61 name:send_action_app_error pkg:android value:1",  # line 10
    "\tHistory (1)",
    "\t\ttime:01-01 00:00:00.000 mode:update oldValue:1 newValue:0",
    "\t\t package:com.android.settings",  # (a change wrapped over two lines)
    "",
    "SECURE SETTINGS (user 10)",  # line 15
    "_id:240 name:accessibility_enabled pkg:android value:1 default:0 defaultSystemSet:true",
    "\tHistory (1)",
    "\t\ttime:01-03 09:15:00.250 mode:update oldValue:0 newValue:1 package:com.spy.helper",
    "",
    "--------- 0.019s was the duration of dumpsys settings, ending at: 2024-01-03 10:00:00",  # line 20
]


def _bugreport(tmp_path: Path, lines: list[str]) -> Path:
    return write_folder(tmp_path / "bugreport", {"main_entry.txt": b"dumpstate.txt\n",
                                                 "dumpstate.txt": ("\n".join(lines) + "\n").encode()})


def _change(line: int, namespace: str, user: int, key: str, when: datetime | None, printed: str, old: str, new: str,
            package: str, current: str, sha: str) -> AndroidSettingChange:
    return AndroidSettingChange(locator=Locator(DUMP, sha, line=line), namespace=namespace, user=user, key=key,
                                when=when, time_text=printed, mode="update", old_value=old, new_value=new,
                                package=package, current_value=current)


def test_each_change_is_a_record_with_its_year(tmp_path: Path) -> None:
    path = _bugreport(tmp_path, SETTINGS)
    found = records(path, "android_dumpstate")
    sha = found[0].locator.sha256
    assert [r for r in found if isinstance(r, AndroidSetting)] == [
        AndroidSetting(locator=Locator(DUMP, sha, line=3), namespace="global", key="package_verifier_enable",
                       value="1", user=0),
        AndroidSetting(locator=Locator(DUMP, sha, line=7), namespace="global", key="upload_apk_enable", value="0",
                       user=0),
        AndroidSetting(locator=Locator(DUMP, sha, line=10), namespace="global", key="send_action_app_error",
                       value="1", user=0),
        AndroidSetting(locator=Locator(DUMP, sha, line=16), namespace="secure", key="accessibility_enabled",
                       value="1", user=10),
    ]
    assert [r for r in found if isinstance(r, AndroidSettingChange)] == [
        # the latest date at or before the dump (2024-01-03 10:00): December is the year before
        _change(5, "global", 0, "package_verifier_enable", datetime(2023, 12, 30, 23, 59, 59, 500000, tzinfo=UTC),
                "12-30 23:59:59.500", "1", "0", "com.android.shell", "1", sha),
        _change(6, "global", 0, "package_verifier_enable", datetime(2024, 1, 2, 8, 0, tzinfo=UTC),
                "01-02 08:00:00.000", "0", "1", "com.android.vending", "1", sha),
        # 29 February: the latest leap year before the dump
        _change(9, "global", 0, "upload_apk_enable", datetime(2020, 2, 29, 10, 0, tzinfo=UTC), "02-29 10:00:00.000",
                "1", "0", "com.google.android.gms", "0", sha),
        _change(12, "global", 0, "send_action_app_error", datetime(2024, 1, 1, tzinfo=UTC), "01-01 00:00:00.000",
                "1", "0", "com.android.settings", "1", sha),
        _change(18, "secure", 10, "accessibility_enabled", datetime(2024, 1, 3, 9, 15, 0, 250000, tzinfo=UTC),
                "01-03 09:15:00.250", "0", "1", "com.spy.helper", "1", sha),
    ]


def test_without_the_trailers_time_a_change_has_no_date(tmp_path: Path) -> None:
    lines = [*SETTINGS[:-1], "--------- 0.019s was the duration of dumpsys settings"]
    changes = [r for r in records(_bugreport(tmp_path, lines), "android_dumpstate")
               if isinstance(r, AndroidSettingChange)]
    assert [(c.when, c.time_text) for c in changes] == [
        (None, "12-30 23:59:59.500"), (None, "01-02 08:00:00.000"), (None, "02-29 10:00:00.000"),
        (None, "01-01 00:00:00.000"), (None, "01-03 09:15:00.250")]


def test_who_set_a_security_setting_off_its_safe_value(tmp_path: Path) -> None:
    result = check(_bugreport(tmp_path, SETTINGS))
    found = sorted(((f.rule, f.severity.label, f.locator.line, f.explanation) for f in result.findings
                    if f.rule == "android_setting_changed"), key=lambda found: found[2])
    assert found == [
        # over adb, though it is safe again now
        ("android_setting_changed", "medium", 5,
         "The global setting package_verifier_enable of user 0 was changed from '1' to '0' on 2023-12-30 23:59:59 "
         "(device time) by a command over adb (com.android.shell): Google Play Protect is turned off."),
        # through the Settings app, and back on since: it was off for a while
        ("android_setting_changed", "low", 12,
         "The global setting send_action_app_error of user 0 was changed from '1' to '0' on 2024-01-01 00:00:00 "
         "(device time) through com.android.settings, and is '1' again now: app error reports are turned off "
         "for a while."),
        # by an app itself
        ("android_setting_changed", "medium", 18,
         "The secure setting accessibility_enabled of user 10 was changed from '0' to '1' on 2024-01-03 09:15:00 "
         "(device time) by the app com.spy.helper itself, not through the Settings app: accessibility services "
         "are turned on."),
        # (upload_apk_enable turned off through Play services and still off: the setting's own finding says it)
    ]
    assert [(f.rule, f.locator.line) for f in result.findings if f.rule == "android_dangerous_setting"] == [
        ("android_dangerous_setting", 7), ("android_dangerous_setting", 16)]
