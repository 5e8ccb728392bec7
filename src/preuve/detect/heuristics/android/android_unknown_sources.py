"""Installing apps from unknown sources is allowed for the whole phone (Android 7 and older)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.settings import AndroidSetting
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class AndroidUnknownSources(Rule):
    name = "android_unknown_sources"
    severity = Severity.LOW
    record_types: ClassVar[tuple[type[Record], ...]] = (AndroidSetting,)
    reason = "Stalkerware is installed from outside app stores, which needs this setting (or a per-app grant)."
    reference = "MVT (mvt-project) settings module (install_non_market_apps)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, AndroidSetting)
        if record.key == "install_non_market_apps" and record.value == "1":
            yield self.finding(record, artifact, "Apps from unknown sources may be installed on this phone.")
