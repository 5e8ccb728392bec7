"""A zip file as a source: members read in place through the central directory, never extracted."""

from __future__ import annotations

import calendar
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from preuve.evidence.errors import AcquisitionError, EvidenceError, LimitExceeded
from preuve.evidence.formats.zipscan import CutZip, cut_short_zip
from preuve.evidence.limits import Limits
from preuve.evidence.policy import (
    FILE,
    ZIP_OPEN_ERRORS,
    archive_member_name,
    bomb_note,
    check_entry_count,
    guarded_member,
    is_absolute_name,
    open_regular_file,
    ratio_exceeded,
    refuse_crowded_zip,
    zip_member_refusal,
    zip_member_type,
)
from preuve.evidence.sources.base import Member, Source
from preuve.messages import error_text


def zip_time(info: zipfile.ZipInfo) -> float | None:
    """The member's time as recorded (zip stores local time without a zone), read as UTC so every
    analysis host gives the same value."""
    try:
        return float(calendar.timegm((*info.date_time, 0, 0, 0)))
    except (ValueError, OverflowError, TypeError):
        return None


class ZipSource(Source):
    """Members of a zip read where they lie (random access through the central directory).

    The declared member count is checked before :mod:`zipfile` lists them; a member declaring a
    decompression ratio beyond the bound is listed and reported, never inflated; a member cut short or
    failing its CRC fails alone. A zip cut short (no central directory: an interrupted acquisition)
    is read from its local headers, up to the cut, and reported damaged."""

    def __init__(self, path: Path, limits: Limits, label: str | None = None) -> None:
        super().__init__(path, limits, label)
        shown = label if label is not None else str(path)
        self._stream: BinaryIO = open_regular_file(path, str(path))
        self._zip: zipfile.ZipFile | CutZip
        try:
            refuse_crowded_zip(path, limits)
            self._zip = zipfile.ZipFile(self._stream)
        except (*ZIP_OPEN_ERRORS, EvidenceError) as exc:
            cut = None if isinstance(exc, LimitExceeded) else cut_short_zip(
                self._stream, limits, lambda: open_regular_file(path, str(path)))
            if cut is None:
                self._stream.close()
                raise AcquisitionError(f"{shown}: not a readable zip ({error_text(exc)})") from exc
            self._zip = cut
            self.damage.append(cut.damage)
        self._infos: dict[str, zipfile.ZipInfo] = {}
        self._safe: list[str | None] | None = None  # each member's safe name, in order, once made

    def _safe_names(self) -> list[str | None]:
        # (made once for the names a detection reads and the members the listing places: the same zip's
        # names went through the policy twice, 3 µs a member)
        if self._safe is None:
            self._safe = [archive_member_name(info.filename) for info in self._zip.infolist()]
        return self._safe

    def names(self, max_entries: int | None = None) -> Iterator[str]:
        """Safe member names in the archive's order (cheap: the central directory only)."""
        for count, name in enumerate(self._safe_names(), start=1):
            if max_entries is not None and count > max_entries:
                return
            if name is not None:
                yield name

    def members(self) -> Iterator[Member]:
        for count, (info, name) in enumerate(zip(self._zip.infolist(), self._safe_names(), strict=True), start=1):
            check_entry_count(count, str(self.path), self.limits)
            if name is None:
                self.refused.append(info.filename)
                continue
            if is_absolute_name(info.filename):
                self.absolute.add(info.filename)
            kind = zip_member_type(info)
            if kind == FILE:
                self._infos.setdefault(name, info)
                if ratio_exceeded(info.file_size, info.compress_size, self.limits):
                    self.damaged.append(f"{self.where}: {bomb_note(name, info.file_size, info.compress_size, self.limits)}")
            unix_mode = (info.external_attr >> 16) & 0xFFFF
            yield Member(name, kind, info.file_size if kind == FILE else 0, zip_time(info), unix_mode or None)

    def open(self, name: str, label: str) -> BinaryIO:
        info = self._infos.get(name)
        if info is None:
            raise EvidenceError(label, "not a regular file of the archive")
        if ratio_exceeded(info.file_size, info.compress_size, self.limits):
            raise LimitExceeded(label, f"decompression ratio {info.file_size // max(info.compress_size, 1)} "
                                f"exceeds {self.limits.max_decompression_ratio} (zip bomb?)")
        refusal = zip_member_refusal(info)
        if refusal is not None:
            raise EvidenceError(label, f"cannot be read from the zip ({refusal})")
        try:
            raw = self._zip.open(info)
        except ZIP_OPEN_ERRORS as exc:
            raise EvidenceError(label, f"cannot be read from the zip ({error_text(exc)})") from exc
        # ZipExtFile stops at the declared size and checks the CRC at the end.
        return guarded_member(raw, label)

    def close(self) -> None:
        self._zip.close()
        self._stream.close()

    def after_fork(self) -> None:
        # zipfile reads every member through `fp` (seek, then read): this process gets its own file, and
        # the listing already read stays (the parent's file is left open: closing it here would not
        # close it there, and its descriptor goes with this process).
        self._stream = open_regular_file(self.path, str(self.path))
        self._zip.fp = self._stream
