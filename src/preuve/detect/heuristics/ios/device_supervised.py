"""The phone is supervised or enrolled in device management."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.ios.configuration_profiles import CloudConfiguration
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class DeviceSupervised(Rule):
    name = "device_supervised"
    severity = Severity.LOW
    record_types: ClassVar[tuple[type[Record], ...]] = (CloudConfiguration,)
    reason = (
        "A supervised phone can be managed far more deeply (apps installed silently, settings locked, "
        "traffic routed) by whoever supervises it. That is normal for a company or school phone and a "
        "concern on a personal one."
    )
    reference = "Apple Platform Deployment, 'About Apple device supervision'"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, CloudConfiguration)
        if record.supervised is not True and not record.configuration_url:
            return
        by = f" by {record.organization}" if record.organization else ""
        server = f" and enrolled with the management server {record.configuration_url}" if record.configuration_url \
            else ""
        state = "supervised" if record.supervised else "set up for management"
        yield self.finding(
            record,
            artifact,
            f"The phone is {state}{by}{server}. Expected for a work or school phone; on a personal phone, "
            "ask who set it up.",
        )
