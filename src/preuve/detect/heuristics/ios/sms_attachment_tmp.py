"""A message attachment stored in /private/var/tmp, where Pegasus's FORCEDENTRY left its files."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.ios.sms_attachments import SmsAttachment
from preuve.detect.rules import Rule
from preuve.indicators.normalize import normalize_path
from preuve.model import Finding, Kind, Observable, Record, Severity


class SmsAttachmentTmp(Rule):
    name = "sms_attachment_tmp"
    severity = Severity.HIGH
    record_types: ClassVar[tuple[type[Record], ...]] = (SmsAttachment,)
    reason = (
        "Messages keeps attachments under ~/Library/SMS/Attachments. The FORCEDENTRY exploit delivered by "
        "iMessage left its files (.gif names hiding PDF exploits) under /private/var/tmp; an attachment there "
        "is a published trace of Pegasus."
    )
    reference = (
        "Amnesty International, Forensic Methodology Report: How to catch NSO Group's Pegasus (2021); "
        "Citizen Lab, FORCEDENTRY (2021)"
    )

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, SmsAttachment)
        if not record.device_path:
            return
        path = normalize_path(record.device_path)
        if path == "/var/tmp" or path.startswith("/var/tmp/"):
            yield self.finding(
                record,
                artifact,
                f"A message attachment was stored at {record.filename}, in the temporary folder where the "
                "Pegasus FORCEDENTRY exploit left its files, not in Messages' attachment folder.",
                observable=Observable(Kind.FILE_PATH, record.device_path),
            )
