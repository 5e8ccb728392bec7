"""Integrity of an AndroidQF acquisition: its hashes.csv checked against the files it lists.

AndroidQF records the SHA-256 of every entry it wrote (``name,sha256`` per
row). A file that is missing or hashes differently was changed or lost after
the acquisition: the evidence cannot be taken as collected. A file of the
acquisition that hashes.csv does not name was added after it was written.

Two generations of the format: zip acquisitions name each zip entry and leave
hashes.csv out; older folder acquisitions wrote the full path on the
acquisition computer (``/home/x/androidqf/<uuid>/packages.json``,
``C:\\…\\<uuid>\\packages.json``), listed hashes.csv itself while writing
it, and kept appending to command.log after hashing. Paths are therefore
resolved relative to the acquisition folder, the row of hashes.csv is
skipped, and command.log and acquisition.json are judged leniently (see the
rule ``detect/heuristics/android/androidqf_integrity.py``).

This is a check of the AndroidQF kind itself (:class:`AndroidQFIntegrity`,
listed in the kind's ``checks``), not an artifact: it reads only the
acquisition's own files, under ``/.acquisition/androidqf/``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from preuve.evidence.acquisition import AcquisitionCheck
from preuve.evidence.errors import EvidenceError
from preuve.evidence.fs import DeviceFS
from preuve.evidence.kinds.android_layout import AQF_PREFIX
from preuve.evidence.policy import member_name as safe_member_name
from preuve.model import Locator, Record

HASHES_CSV = f"{AQF_PREFIX}/hashes.csv"
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


class AndroidQFIntegrity(AcquisitionCheck):
    name = "androidqf_integrity"
    platform = "android"
    title = "AndroidQF integrity (hashes.csv)"
    paths: ClassVar[tuple[str, ...]] = (HASHES_CSV,)

    def records(self, fs: DeviceFS, path: str, warn: Callable[[str], None]) -> Iterator[Record]:
        if path != HASHES_CSV:
            return
        listed: set[str] = set()
        yield from self._listed(fs, path, warn, listed)
        for device in fs.glob(f"{AQF_PREFIX}/**"):
            if device == path or device in listed or not fs.is_file(device):
                continue
            member = device[len(AQF_PREFIX) + 1 :]
            yield IntegrityEntry(
                locator=Locator(path, fs.sha256(path), key_path=member), member=member,
                expected_sha256="", actual_sha256=None, status="unlisted",
            )

    @staticmethod
    def _resolve(fs: DeviceFS, name: str, anchors: set[str]) -> str | None:
        """The device path of a hashes.csv row (a zip entry name, or a host path of an old folder)."""
        parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
        absolute = name.startswith(("/", "\\")) or (len(name) > 2 and name[1] == ":")
        if not absolute:
            safe = safe_member_name(name)
            return f"{AQF_PREFIX}/{safe}" if safe else None
        for index in range(len(parts) - 1, -1, -1):
            if parts[index] in anchors:  # the acquisition folder (its UUID) on the host
                rel = safe_member_name("/".join(parts[index + 1 :]))
                return f"{AQF_PREFIX}/{rel}" if rel else None
        for index in range(1, len(parts)):  # else the longest tail that names a file here
            rel = safe_member_name("/".join(parts[index:]))
            if rel and fs.exists(f"{AQF_PREFIX}/{rel}"):
                return f"{AQF_PREFIX}/{rel}"
        return None

    @staticmethod
    def _anchors(fs: DeviceFS) -> set[str]:
        """Names the acquisition folder may have on the host: its own name and its AndroidQF uuid."""
        anchors = {fs.source.name}
        meta = f"{AQF_PREFIX}/acquisition.json"
        if fs.is_file(meta):
            try:
                data = json.loads(fs.read_bytes(meta).decode("utf-8", "replace"))
            except (EvidenceError, ValueError, RecursionError):
                data = None
            if isinstance(data, dict) and isinstance(data.get("uuid"), str):
                anchors.add(data["uuid"])
        return anchors

    def _listed(self, fs: DeviceFS, path: str, warn: Callable[[str], None], listed: set[str]) -> Iterator[Record]:
        anchors = self._anchors(fs)
        for number, line in fs.read_text_lines(path):
            # One line, one row: AndroidQF quotes nothing across lines, and a line csv refuses (a bare
            # carriage return inside a field, a field over csv's size limit) is that row's warning alone.
            try:
                row = next(csv.reader([line]), [])
            except csv.Error as exc:
                warn(f"{path}:{number}: not a CSV row ({exc}), skipped")
                continue
            if not row or not row[0].strip():
                continue
            if len(row) < 2:
                warn(f"{path}:{number}: row without a hash, skipped")
                continue
            name, expected = row[0].strip(), row[1].strip().lower()
            if len(expected) != 64 or not set(expected) <= _HEX:
                if number > 1:  # a header row is fine
                    warn(f"{path}:{number}: {expected!r} is not a SHA-256, skipped")
                continue
            if name.replace("\\", "/").rsplit("/", 1)[-1] == "hashes.csv":
                continue  # older versions hashed the file while writing it
            locator = Locator(path, fs.sha256(path), line=number)
            device = self._resolve(fs, name, anchors)
            if device is not None:
                listed.add(device)
            if device is None or not fs.exists(device):
                yield IntegrityEntry(locator=locator, member=name, expected_sha256=expected, actual_sha256=None,
                                     status="missing")
                continue
            try:
                actual = fs.sha256(device)
            except EvidenceError as exc:
                warn(f"{device}: {exc.reason}")
                yield IntegrityEntry(locator=locator, member=name, expected_sha256=expected, actual_sha256=None,
                                     status="unreadable")
                continue
            yield IntegrityEntry(
                locator=locator, member=name, expected_sha256=expected, actual_sha256=actual,
                status="ok" if actual == expected else "mismatch",
            )
