"""AndroidQF hashes.csv checked against the files it lists.

AndroidQF records the SHA-256 of every entry it wrote (``name,sha256`` per
row). A file that is missing or hashes differently was changed or lost after
the acquisition: the evidence cannot be taken as collected.

Two generations of the format: zip acquisitions name each zip entry and leave
hashes.csv out; older folder acquisitions wrote the full path on the
acquisition computer (``/home/x/androidqf/<uuid>/packages.json``,
``C:\\…\\<uuid>\\packages.json``), listed hashes.csv itself while writing
it, and kept appending to command.log after hashing. Paths are therefore
resolved relative to the acquisition folder, the row of hashes.csv is
skipped, and command.log and acquisition.json are judged leniently (see the
rule).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from preuve.artifacts.android._common import AQF, load_json
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.evidence.errors import EvidenceError
from preuve.evidence.policy import member_name as safe_member_name
from preuve.model import Record

_HEX = set("0123456789abcdef")


@dataclass(kw_only=True)
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

    def _resolve(self, ctx: ArtifactContext, name: str, anchors: set[str]) -> str | None:
        """The device path of a hashes.csv row (a zip entry name, or a host path of an old folder)."""
        parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
        absolute = name.startswith(("/", "\\")) or (len(name) > 2 and name[1] == ":")
        if not absolute:
            safe = safe_member_name(name)
            return f"{AQF}/{safe}" if safe else None
        for index in range(len(parts) - 1, -1, -1):
            if parts[index] in anchors:  # the acquisition folder (its UUID) on the host
                rel = safe_member_name("/".join(parts[index + 1 :]))
                return f"{AQF}/{rel}" if rel else None
        for index in range(1, len(parts)):  # else the longest tail that names a file here
            rel = safe_member_name("/".join(parts[index:]))
            if rel and ctx.fs.exists(f"{AQF}/{rel}"):
                return f"{AQF}/{rel}"
        return None

    def _anchors(self, ctx: ArtifactContext) -> set[str]:
        anchors = {ctx.fs.source.name}
        meta = f"{AQF}/acquisition.json"
        if ctx.fs.is_file(meta):
            try:
                data = load_json(ctx, meta)
            except EvidenceError:
                data = None
            if isinstance(data, dict) and isinstance(data.get("uuid"), str):
                anchors.add(data["uuid"])
        return anchors

    def _listed(self, ctx: ArtifactContext, path: str, listed: set[str]) -> Iterator[Record]:
        anchors = self._anchors(ctx)
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
            if name.replace("\\", "/").rsplit("/", 1)[-1] == "hashes.csv":
                continue  # older versions hashed the file while writing it
            locator = ctx.locator(path, line=number)
            device = self._resolve(ctx, name, anchors)
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
