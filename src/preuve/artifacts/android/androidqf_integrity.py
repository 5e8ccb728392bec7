"""AndroidQF hashes.csv checked against the files it lists.

AndroidQF records the SHA-256 of every entry it wrote (``name,sha256`` per
row, not itself). A file that is missing or hashes differently was changed
or lost after the acquisition: the evidence cannot be taken as collected.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from preuve.artifacts.android._common import AQF
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.evidence.android_archive import safe_member_name
from preuve.evidence.errors import EvidenceError
from preuve.model import Record

_HEX = set("0123456789abcdef")


@dataclass(frozen=True, slots=True, kw_only=True)
class IntegrityEntry(Record):
    record_type: ClassVar[str] = "android:androidqf_integrity:entry"
    member: str
    expected_sha256: str
    actual_sha256: str | None
    status: str  # "ok", "mismatch", "missing", "unreadable", "unlisted"

    def summary(self) -> str:
        return f"{self.member}: {self.status}"


class AndroidQFIntegrity(Artifact):
    name = "androidqf_integrity"
    platform = "android"
    title = "AndroidQF integrity (hashes.csv)"
    paths: ClassVar[tuple[str, ...]] = (f"{AQF}/hashes.csv",)

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        listed: set[str] = set()
        yield from self._listed(ctx, path, listed)
        # Files of the acquisition that hashes.csv does not name were added after it was written.
        for device in ctx.fs.glob(f"{AQF}/**"):
            if device == path or device in listed or not ctx.fs.is_file(device):
                continue
            yield IntegrityEntry(
                locator=ctx.locator(path, key_path=device[len(AQF) + 1 :]), member=device[len(AQF) + 1 :],
                expected_sha256="", actual_sha256=None, status="unlisted",
            )

    def _listed(self, ctx: ArtifactContext, path: str, listed: set[str]) -> Iterator[Record]:
        lines = (line for _, line in ctx.fs.read_text_lines(path))
        for number, row in enumerate(csv.reader(lines), start=1):
            if not row or not row[0].strip():
                continue
            if len(row) < 2:
                ctx.warn(f"{path}:{number}: row without a hash, skipped")
                continue
            name, expected = row[0].strip(), row[1].strip().lower()
            if len(expected) != 64 or not set(expected) <= _HEX:
                if number > 1:  # a header row is fine
                    ctx.warn(f"{path}:{number}: {expected!r} is not a SHA-256, skipped")
                continue
            safe = safe_member_name(name)
            locator = ctx.locator(path, line=number)
            device = f"{AQF}/{safe}" if safe else None
            if device is not None:
                listed.add(device)
            if device is None or not ctx.fs.exists(device):
                yield IntegrityEntry(locator=locator, member=name, expected_sha256=expected, actual_sha256=None,
                                     status="missing")
                continue
            try:
                actual = ctx.fs.sha256(device)
            except EvidenceError as exc:
                ctx.warn(f"{device}: {exc.reason}")
                yield IntegrityEntry(locator=locator, member=name, expected_sha256=expected, actual_sha256=None,
                                     status="unreadable")
                continue
            yield IntegrityEntry(
                locator=locator, member=name, expected_sha256=expected, actual_sha256=actual,
                status="ok" if actual == expected else "mismatch",
            )
