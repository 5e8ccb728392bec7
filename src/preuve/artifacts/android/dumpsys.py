"""AndroidQF dumpsys.txt, read once into accessibility, device admin, receiver, appops and ADB key records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.android._common import AQF
from preuve.artifacts.android._dumpsys import DumpsysReader
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.model import Locator, Record


class Dumpsys(Artifact):
    name = "android_dumpsys"
    platform = "android"
    title = "System services state (dumpsys)"
    paths: ClassVar[tuple[str, ...]] = (f"{AQF}/dumpsys.txt",)

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        sha = ctx.fs.sha256(path)
        # AndroidQF's packages.json already lists the packages, with hashes and certificates: not twice.
        reader = DumpsysReader(lambda number: Locator(path, sha, line=number),
                               packages=not ctx.fs.is_file(f"{AQF}/packages.json"))
        for number, line in ctx.fs.read_text_lines(path):
            yield from reader.line(number, line)
        yield from reader.end_section()
