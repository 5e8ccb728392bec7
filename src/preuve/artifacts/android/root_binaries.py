"""Root binaries AndroidQF found on the device (root_binaries.json: a list of paths)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from preuve.artifacts.android._common import AQF, load_json
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.evidence.errors import EvidenceError
from preuve.model import Kind, Observable, Record


@dataclass(kw_only=True)
class RootBinary(Record):
    record_type: ClassVar[str] = "android:root_binaries:binary"
    path: str

    def observables(self) -> Iterator[Observable]:
        yield Observable(Kind.FILE_PATH, self.path)

    def summary(self) -> str:
        return f"Root binary {self.path}"


class RootBinaries(Artifact):
    name = "android_root_binaries"
    platform = "android"
    title = "Root binaries (su, magisk…)"
    paths: ClassVar[tuple[str, ...]] = (f"{AQF}/root_binaries.json",)

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        data = load_json(ctx, path)
        if data is None:
            return
        if not isinstance(data, list):
            raise EvidenceError(path, "expected a JSON list of paths")
        for index, item in enumerate(data):
            if isinstance(item, str) and item.strip():
                yield RootBinary(locator=ctx.locator(path, key_path=f"[{index}]"), path=item.strip())
