"""A security setting (Play Protect, adb install checks, error and security reports, accessibility) is off its safe value."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.settings import AndroidSetting
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity

# Setting -> (its safe value, what any other value means). The keys and safe values are MVT's
# ANDROID_DANGEROUS_SETTINGS (mvt/android/artifacts/settings.py): every other value is reported, at medium
# as MVT does, except "null" (a row that was never given a value): the default applies, so it is low.
SAFE = {
    "verifier_verify_adb_installs": ("1", "apps installed over adb are not checked by Google Play services"),
    "package_verifier_enable": ("1", "Google Play Protect is turned off"),
    "package_verifier_state": ("1", "APK package verification is turned off"),
    "package_verifier_user_consent": ("1", "Google Play Protect scanning has not been accepted or was refused"),
    "upload_apk_enable": ("1", "unknown apps are not sent to Google Play Protect for analysis"),
    "adb_install_need_confirm": ("1", "apps installed over adb no longer ask for confirmation on the phone"),
    "send_security_reports": ("1", "security reports are not shared"),
    "samsung_errorlog_agree": ("1", "crash logs are not shared with the manufacturer"),
    "send_action_app_error": ("1", "app error reports are turned off"),
    "accessibility_enabled": ("0", "accessibility services are turned on"),
}


class AndroidDangerousSetting(Rule):
    name = "android_dangerous_setting"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (AndroidSetting,)
    reason = (
        "Stalkerware installation guides tell the buyer to turn Play Protect and its adb checks off first, "
        "because Play Protect detects and removes most stalkerware; turning error and security reports off "
        "hides crashes of exploited apps; stalkerware needs an accessibility service on. The owner may also "
        "have changed these settings themselves. A setting that is null (never set) takes Android's default, "
        "the safe value for Play Protect verification and accessibility: reported at low, where MVT says medium."
    )
    reference = "MVT (mvt-project) settings artifact (ANDROID_DANGEROUS_SETTINGS); Echap and Coalition Against Stalkerware guides"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, AndroidSetting)
        safe = SAFE.get(record.key)
        if safe is None or record.value == safe[0]:
            return
        if record.value == "null":
            yield self.finding(
                record, artifact,
                f"The {record.namespace} setting {record.key} is null (never set), not '{safe[0]}': the phone "
                "uses its default for it, which Android makes the safe one for Play Protect verification and "
                "accessibility; for the other settings it depends on the maker.",
                severity=Severity.LOW,
            )
            return
        yield self.finding(
            record, artifact,
            f"The {record.namespace} setting {record.key} is '{record.value}', not '{safe[0]}': {safe[1]}.",
        )
