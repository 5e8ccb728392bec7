"""AndroidQF files.json: files found on the device, with mode, owner, times and hashes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.android._common import AQF, iter_json_items
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.artifacts.timeconv import from_unix
from preuve.artifacts.values import as_int_digits, text_or_number
from preuve.model import Kind, Locator, Observable, Record, Timestamp


@dataclass(kw_only=True)
class AndroidFile(Record):
    record_type: ClassVar[str] = "android:files:file"
    path: str
    size: int | None
    mode: str | None
    owner: str | None
    sha256: str | None
    modified: datetime | None
    changed: datetime | None

    @property
    def executable(self) -> bool:
        """Whether any execute bit is set: the collector writes the mode as ``-rwxr-xr-x``, AndroidQF's
        fallback ``find -printf %m`` as octal digits (``755``)."""
        mode = (self.mode or "").strip()
        if mode.isdigit() and set(mode) <= set("01234567"):
            return any(int(digit) & 1 for digit in mode[-3:])
        return "x" in mode or "s" in mode[3::3] or "t" in mode[-1:]

    def observables(self) -> Iterator[Observable]:
        yield Observable(Kind.FILE_PATH, self.path)
        if self.sha256:
            yield Observable(Kind.SHA256, self.sha256)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.modified is not None:
            yield Timestamp(self.modified, "File modified")
        if self.changed is not None and self.changed != self.modified:
            yield Timestamp(self.changed, "File metadata changed")

    def summary(self) -> str:
        return f"File {self.path} ({self.mode or '?'}, {self.size if self.size is not None else '?'} bytes)"


class Files(Artifact):
    name = "android_files"
    platform = "android"
    title = "Files on the device (AndroidQF files.json)"
    paths: ClassVar[tuple[str, ...]] = (f"{AQF}/files.json",)

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        sha = ctx.fs.sha256(path)
        for index, item in iter_json_items(ctx, path):
            if not isinstance(item, dict) or not text_or_number(item.get("path")):
                continue
            yield AndroidFile(
                locator=Locator(path, sha, key_path=f"[{index}]"),
                path=str(text_or_number(item.get("path"))),
                size=as_int_digits(item.get("size")),
                mode=text_or_number(item.get("mode")),
                owner=text_or_number(item.get("user_name")) or text_or_number(item.get("user_id")),
                sha256=text_or_number(item.get("sha256")) or None,
                modified=from_unix(item.get("modified_time")),
                changed=from_unix(item.get("changed_time")),
            )
