"""Root binaries AndroidQF found on the device (root_binaries.json: the output of `which -a` for each name)."""

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
            if not isinstance(item, str):
                continue
            # Each entry is the output of `which -a NAME`: one path per line when the name is found in
            # several folders of the PATH.
            found = [line.strip() for line in item.splitlines() if line.strip()]
            for number, binary in enumerate(found, 1):
                yield RootBinary(
                    locator=ctx.locator(path, key_path=f"[{index}]", line=number if len(found) > 1 else None),
                    path=binary,
                )
