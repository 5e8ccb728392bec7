"""A bugreport's main dumpstate text, read in one pass whatever the number of sections.

dumpstate writes ``== dumpstate: <time>`` and then ``------ <TITLE> (<command>) ------``
sections. A single loop over the lines hands each line to the reader of the section it is in:

- SYSTEM PROPERTIES: the getprop reader (values over several lines are kept whole);
- PROCESSES AND THREADS (``ps -A -T -Z …``) and other ``ps`` sections: the ps reader, one
  record per process (thread rows are counted, not yielded);
- a mounts section (``/proc/mounts`` or ``mount`` output): the mount line parser;
- DUMPSYS sections, and any ``DUMP OF SERVICE <name>:`` block wherever it is: the dumpsys
  reader (accessibility, device admins, packages, receivers, activities, app-ops, battery
  history and daily stats, settings, dbinfo, adb keys).

A file made only of ``dumpsys`` output (as ``adb shell dumpsys > dumpstate.txt`` saves it, with
no ``------`` headers) is read through its ``DUMP OF SERVICE`` lines. A file in which no section
preuve reads was found gives a warning saying so, never a silent zero.

The readers are the ones AndroidQF's getprop.txt, processes.txt, mounts and dumpsys.txt go
through: one parser per format. Lines are bounded by the file reader, and every multi-line
value (a property, a settings row, the daily package changes) by its reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.android._common import parse_date
from preuve.artifacts.android._dumpsys import reader_for
from preuve.artifacts.android.getprop import PropertyReader, device_facts, property_records
from preuve.artifacts.android.mounts import Mount, parse_mount_line
from preuve.artifacts.android.processes import PsReader
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.evidence.errors import EvidenceError
from preuve.evidence.fs import DeviceFS
from preuve.evidence.kinds.android_layout import BUGREPORT_PREFIX
from preuve.model import Locator, Record

_HEADER = re.compile(r"^== dumpstate: (?P<when>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})")
_SECTION = re.compile(r"^------ (?P<title>.+?) ------\s*$")
_DURATION = re.compile(r"^------ \d+(?:\.\d+)?s was the duration of ")
# "MOUNTS (/proc/mounts)", "MOUNT POINTS (mount)": a section of mount lines.
_MOUNTS_TITLE = re.compile(r"^(?:MOUNTS?|MOUNT POINTS)\b(?! INFO)|\((?:mount|cat /proc/(?:self/)?mounts|/proc/(?:self/)?mounts)\)")

NONE, PROPS, PS, MOUNTS, DUMPSYS = range(5)


def section_kind(title: str) -> int:
    if title.startswith("SYSTEM PROPERTIES"):
        return PROPS
    if title.startswith("DUMPSYS"):
        return DUMPSYS
    if title.startswith("PROCESSES") and "(ps" in title:
        return PS
    if _MOUNTS_TITLE.search(title):
        return MOUNTS
    return NONE


class Dumpstate(Artifact):
    name = "android_dumpstate"
    platform = "android"
    title = "Bugreport dumpstate (properties, processes, mounts, dumpsys)"
    paths: ClassVar[tuple[str, ...]] = (
        f"{BUGREPORT_PREFIX}/bugreport*.txt",
        f"{BUGREPORT_PREFIX}/dumpstate*.txt",
        f"{BUGREPORT_PREFIX}/dumpState_*.log",
    )

    def locate(self, fs: DeviceFS) -> list[str]:
        found = [p for p in super().locate(fs) if not p.endswith(("dumpstate_log.txt", "dumpstate_board.txt"))]
        # main_entry.txt names the main text; vendors do not always call it bugreport-*.txt.
        entry = f"{BUGREPORT_PREFIX}/main_entry.txt"
        if fs.is_file(entry):
            try:
                named = fs.read_bytes(entry, 4096).decode("utf-8", "replace").strip()
            except EvidenceError:
                named = ""
            target = f"{BUGREPORT_PREFIX}/{named}"
            if named and "/" not in named and ".." not in named and fs.is_file(target) and target not in found:
                found.append(target)
        return sorted(found)

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        sha = ctx.fs.sha256(path)

        def locator_for(number: int) -> Locator:
            return Locator(path, sha, line=number)

        dumpsys = reader_for(ctx, path)
        props = PropertyReader(path, ctx.warn)
        ps: PsReader | None = None
        acquired: tuple[datetime, str] | None = None
        kind = NONE
        sections = 0  # sections of a kind this reads
        for number, line in ctx.fs.read_text_lines(path):
            first = line[:1]
            if first == "-" and line.startswith("------ "):
                if _DURATION.match(line):
                    continue
                match = _SECTION.match(line)
                if match is not None:
                    yield from property_records(props.end(), locator_for, acquired)
                    yield from dumpsys.end_section()
                    kind = section_kind(match["title"])
                    if kind != NONE:
                        sections += 1
                    ps = PsReader(path, sha, ctx.warn) if kind == PS else None
                    continue
            if first == "=" and acquired is None and line.startswith("== dumpstate:"):
                header = _HEADER.match(line)
                when = parse_date(header["when"]) if header else None
                if when is not None:
                    acquired = (when, f"{path}:{number}")
                continue
            if first == "D" and kind != DUMPSYS and line.startswith("DUMP OF SERVICE"):
                # dumpsys output outside a DUMPSYS section (or with no dumpstate headers at all)
                yield from property_records(props.end(), locator_for, acquired)
                kind, ps = DUMPSYS, None
            if kind == DUMPSYS:
                found = dumpsys.line(number, line)
                if found:
                    yield from found
            elif kind == PROPS:
                yield from property_records(props.line(number, line), locator_for, acquired)
            elif kind == PS and ps is not None:
                process = ps.line(number, line)
                if process is not None:
                    yield process
            elif kind == MOUNTS:
                parsed = parse_mount_line(line)
                if parsed is not None:
                    dev, point, fs_type, opts = parsed
                    yield Mount(locator=locator_for(number), device=dev, mount_point=point, fs_type=fs_type,
                                options=opts)
        yield from property_records(props.end(), locator_for, acquired)
        yield from dumpsys.end_section()
        yield from device_facts(props.device, Locator(path, sha, key_path="device"))
        if sections == 0 and dumpsys.services == 0:
            ctx.warn(
                f"{path}: no section preuve reads was found (SYSTEM PROPERTIES, PROCESSES AND THREADS, DUMPSYS, "
                "DUMP OF SERVICE …): nothing was read from this file"
            )
