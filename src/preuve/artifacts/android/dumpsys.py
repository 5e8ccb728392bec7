"""AndroidQF dumpsys.txt, read once into accessibility, device admin, receiver, appops and ADB key records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android._common import AQF
from preuve.artifacts.android._dumpsys import reader_for
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.model import Record


class Dumpsys(Artifact):
    name = "android_dumpsys"
    platform = "android"
    title = "System services state (dumpsys)"
    paths: ClassVar[tuple[str, ...]] = (f"{AQF}/dumpsys.txt",)

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        reader = reader_for(ctx, path)
        for number, line in ctx.fs.read_text_lines(path):
            yield from reader.line(number, line)
        yield from reader.end_section()
        if reader.services == 0:
            ctx.warn(f"{path}: no 'DUMP OF SERVICE' section was found: nothing was read from this file")
