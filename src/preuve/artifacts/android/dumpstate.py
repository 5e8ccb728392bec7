"""A bugreport's main dumpstate text, split into its sections in one pass.

dumpstate writes ``== dumpstate: <time>`` and then ``------ <TITLE> (<command>) ------``
sections. One pass feeds SYSTEM PROPERTIES lines to the getprop parser and
the ``DUMP OF SERVICE`` blocks of the DUMPSYS sections to the dumpsys
parser, so a file of hundreds of megabytes is read once, not once per kind
of record.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.android._common import parse_date, parse_property_line
from preuve.artifacts.android._dumpsys import reader_for
from preuve.artifacts.android.getprop import AndroidProperty, security_patch
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.evidence.android_layout import BUGREPORT_PREFIX
from preuve.evidence.fs import DeviceFS
from preuve.model import Locator, Record

_HEADER = re.compile(r"^== dumpstate: (?P<when>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})")
_SECTION = re.compile(r"^------ (?P<title>.+?) ------\s*$")
_DURATION = re.compile(r"^------ \d+(?:\.\d+)?s was the duration of ")


class Dumpstate(Artifact):
    name = "android_dumpstate"
    platform = "android"
    title = "Bugreport dumpstate (properties and dumpsys)"
    paths: ClassVar[tuple[str, ...]] = (
        f"{BUGREPORT_PREFIX}/bugreport*.txt",
        f"{BUGREPORT_PREFIX}/dumpstate*.txt",
    )

    def locate(self, fs: DeviceFS) -> list[str]:
        return [p for p in super().locate(fs) if not p.endswith(("dumpstate_log.txt", "dumpstate_board.txt"))]

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        sha = ctx.fs.sha256(path)
        reader = reader_for(ctx, path)
        acquired: tuple[datetime, str] | None = None
        in_props = in_dumpsys = False
        for number, line in ctx.fs.read_text_lines(path):
            first = line[:1]
            if first == "-" and line.startswith("------ "):
                if _DURATION.match(line):
                    continue
                match = _SECTION.match(line)
                if match is not None:
                    title = match["title"]
                    in_props = title.startswith("SYSTEM PROPERTIES")
                    in_dumpsys = title.startswith("DUMPSYS")
                    yield from reader.end_section()
                    continue
            if first == "=" and acquired is None and line.startswith("== dumpstate:"):
                header = _HEADER.match(line)
                when = parse_date(header["when"]) if header else None
                if when is not None:
                    acquired = (when, f"{path}:{number}")
                continue
            if in_dumpsys:
                found = reader.line(number, line)
                if found:
                    yield from found
            elif in_props:
                parsed = parse_property_line(line)
                if parsed is not None:
                    locator = Locator(path, sha, line=number)
                    yield AndroidProperty(locator=locator, name=parsed[0], value=parsed[1])
                    patch = security_patch(parsed[0], parsed[1], locator, acquired)
                    if patch is not None:
                        yield patch
        yield from reader.end_section()
