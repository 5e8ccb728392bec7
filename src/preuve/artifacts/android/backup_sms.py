"""SMS and MMS from an Android backup (the telephony provider's ``*_sms_backup``/``*_mms_backup``).

The telephony backup agent writes zlib-compressed JSON arrays: SMS with
address, body, date (ms), type (1 received, 2 sent); MMS with
mms_addresses, mms_body, date (s), msg_box. Links in the text are the
observables (Pegasus and Predator arrived as SMS links).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.artifacts.timeconv import from_unix
from preuve.artifacts.values import as_int_digits, text_or_number
from preuve.evidence.errors import EvidenceError, LimitExceeded
from preuve.evidence.policy import json_text
from preuve.indicators.normalize import extract_urls
from preuve.model import Kind, Observable, Record, Timestamp

_TELEPHONY = "com.android.providers.telephony"


@dataclass(kw_only=True)
class BackupMessage(Record):
    record_type: ClassVar[str] = "android:backup_sms:message"
    kind: str  # "sms" or "mms"
    address: str | None
    body: str | None
    when: datetime | None
    outgoing: bool

    def observables(self) -> Iterator[Observable]:
        for url in extract_urls(self.body or ""):
            yield Observable(Kind.URL, url)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.when is not None:
            yield Timestamp(self.when, "Message sent" if self.outgoing else "Message received")

    def summary(self) -> str:
        way = "to" if self.outgoing else "from"
        return f"{self.kind.upper()} {way} {self.address or '?'}: {(self.body or '')[:80]}"


def inflate(data: bytes, limit: int, ratio: int, path: str) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise EvidenceError(path, f"not a zlib stream ({exc})") from exc
    if len(out) > limit or (len(out) > 1024 * 1024 and len(out) > ratio * max(len(data), 1)):
        raise LimitExceeded(path, "decompressed content exceeds the bounds")
    return out


class BackupSms(Artifact):
    name = "android_backup_sms"
    platform = "android"
    title = "SMS and MMS (Android backup)"
    paths: ClassVar[tuple[str, ...]] = (
        f"/data/user_de/0/{_TELEPHONY}/files/*_sms_backup",
        f"/data/user_de/0/{_TELEPHONY}/files/*_mms_backup",
        f"/data/data/{_TELEPHONY}/files/*_sms_backup",
        f"/data/data/{_TELEPHONY}/files/*_mms_backup",
    )

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        raw = ctx.fs.read_bytes(path)
        data = inflate(raw, ctx.limits.max_read_bytes, ctx.limits.max_decompression_ratio, path)
        try:
            items = json_text(data.decode("utf-8", "replace"))
        except (ValueError, RecursionError) as exc:
            raise EvidenceError(path, f"malformed JSON ({exc})") from exc
        if not isinstance(items, list):
            raise EvidenceError(path, "expected a JSON list of messages")
        mms = path.endswith("_mms_backup")
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            locator = ctx.locator(path, key_path=f"[{index}]")
            if mms:
                addresses = item.get("mms_addresses")
                address = None
                if isinstance(addresses, list):
                    found = [text_or_number(a.get("address")) for a in addresses if isinstance(a, dict)]
                    address = ", ".join(a for a in found if a) or None
                body = text_or_number(item.get("mms_body"))
                subject = text_or_number(item.get("sub"))
                if subject:
                    body = f"{subject}\n{body}" if body else subject
                yield BackupMessage(
                    locator=locator, kind="mms", address=address, body=body, when=from_unix(item.get("date")),
                    outgoing=as_int_digits(item.get("msg_box")) == 2,
                )
            else:
                yield BackupMessage(
                    locator=locator, kind="sms", address=text_or_number(item.get("address")), body=text_or_number(item.get("body")),
                    when=from_unix(item.get("date")), outgoing=as_int_digits(item.get("type")) == 2,
                )
