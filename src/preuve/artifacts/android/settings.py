"""Android settings (``settings list global|secure|system``): AndroidQF settings_*.txt."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from preuve.artifacts.android._common import AQF
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.model import Record


@dataclass(kw_only=True)
class AndroidSetting(Record):
    record_type: ClassVar[str] = "android:settings:setting"
    namespace: str
    key: str
    value: str

    def summary(self) -> str:
        return f"{self.namespace}/{self.key} = {self.value}"


class Settings(Artifact):
    name = "android_settings"
    platform = "android"
    title = "System settings (global, secure, system)"
    paths: ClassVar[tuple[str, ...]] = (f"{AQF}/settings_*.txt",)

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        namespace = posixpath.basename(path)[len("settings_") : -len(".txt")]
        for number, line in ctx.fs.read_text_lines(path):
            key, sep, value = line.partition("=")
            if not sep or not key.strip() or " " in key.strip():
                continue
            yield AndroidSetting(
                locator=ctx.locator(path, line=number), namespace=namespace, key=key.strip(), value=value.strip()
            )
