"""A received message attachment with no stored file name and no name from the sender."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.ios.sms_attachments import SmsAttachment
from preuve.detect.rules import Rule
from preuve.model import Finding, Record, Severity


class SmsAttachmentUnnamed(Rule):
    name = "sms_attachment_unnamed"
    severity = Severity.LOW
    record_types: ClassVar[tuple[type[Record], ...]] = (SmsAttachment,)
    reason = (
        "Messages names every attachment it stores. A received attachment row with neither a stored path nor a "
        "transfer name was written outside the normal flow or cleaned afterwards; zero-click exploits have "
        "arrived as attachments and their files were removed. Failed downloads look the same, so it is for review."
    )
    reference = "Amnesty International, Mobile Verification Toolkit (iOS sms_attachments check)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, SmsAttachment)
        if record.is_from_me or (record.filename or "").strip() or (record.transfer_name or "").strip():
            return
        yield self.finding(
            record,
            artifact,
            f"A received attachment (#{record.attachment_id}, {record.mime_type or 'unknown type'}, "
            f"{record.total_bytes if record.total_bytes is not None else '?'} bytes) has no file name at all; "
            "look at the message that carried it.",
        )
