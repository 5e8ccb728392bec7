"""Samsung's framework log shows a computer allowed to debug the phone over USB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android.samsung_sfs_logs import SamsungAdbAuthorization
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity

ALLOWED = frozenset({"user_allowed", "automatically_allowed"})


class AndroidAdbAuthorized(Rule):
    name = "android_adb_authorized"
    severity = Severity.LOW
    record_types: ClassVar[tuple[type[Record], ...]] = (SamsungAdbAuthorization,)
    reason = (
        "A computer allowed to debug the phone over USB can install apps and read data without asking again; "
        "stalkerware is often installed that way by someone holding the phone. Samsung's log says when it was "
        "allowed, which the list of trusted keys does not. The acquisition computer's own authorization is left out."
    )
    reference = "Android Debug Bridge documentation; MVT (mvt-project) samsung_sfs_logs module"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, SamsungAdbAuthorization)
        if record.state_name not in ALLOWED or record.acquisition_host:
            return
        when = f" on {record.when:%Y-%m-%d %H:%M:%S} UTC" if record.when is not None else ""
        always = ", and to always do so" if record.always_allow else ""
        yield self.finding(
            record, artifact,
            f"The phone allowed the computer '{record.comment or 'unnamed'}' (key {record.fingerprint or 'not valid'}) "
            f"to debug it over USB{when}{always}: check it is a computer the owner knows.",
        )
