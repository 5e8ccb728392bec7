"""Play Protect (the package verifier) is turned off."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.settings import AndroidSetting
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity

# Setting -> (value that means "off", what it means)
OFF = {
    "package_verifier_enable": ("0", "Play Protect no longer scans apps"),
    "verifier_verify_adb_installs": ("0", "apps installed over adb are no longer scanned"),
    "package_verifier_user_consent": ("-1", "the owner's consent to Play Protect scanning is withdrawn"),
    "upload_apk_enable": ("0", "unknown apps are no longer sent to Google for analysis"),
}


class AndroidPlayProtectOff(Rule):
    name = "android_play_protect_off"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (AndroidSetting,)
    reason = (
        "Stalkerware installation guides tell the buyer to turn Play Protect off first, because Play "
        "Protect detects and removes most stalkerware."
    )
    reference = "Echap and Coalition Against Stalkerware guides; MVT (mvt-project) settings module"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, AndroidSetting)
        off = OFF.get(record.key)
        if off is not None and record.value == off[0]:
            yield self.finding(
                record, artifact, f"The setting {record.key}={record.value}: {off[1]}."
            )
