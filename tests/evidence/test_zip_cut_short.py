"""A zip cut short (no end of central directory: an interrupted acquisition) is read from its local
headers, up to the cut, and the acquisition is marked damaged.

The zips are written by the standard library's zipfile: to a stream that cannot seek, as Go's
archive/zip (AndroidQF) writes every member (sizes and CRC in a data descriptor after the data), and
to a file (sizes in the local header). They are cut with plain byte writes."""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from preuve.evidence.errors import AcquisitionError
from preuve.evidence.formats.zipscan import scan_local_headers
from preuve.evidence.limits import Limits
from preuve.evidence.sources.zip import ZipSource
from preuve.model import ExitCode
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from tests.builders import snapshot
from tests.builders.android import AndroidQFBuilder

MEMBERS = {
    "a.txt": b"first member\n" * 50,
    "b.bin": bytes(range(256)) * 40,
    "c.txt": b"".join(b"line %d of the third member\n" % n for n in range(20_000)),
}


class _Unseekable(io.RawIOBase):
    """Where a zip is written as a stream: every member gets a data descriptor."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk: bytes) -> int:  # type: ignore[override]
        self.data += chunk
        return len(chunk)


def _zip(streamed: bool) -> bytes:
    if streamed:
        out = _Unseekable()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in MEMBERS.items():
                with archive.open(name, "w") as member:
                    member.write(data)
        return bytes(out.data)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in MEMBERS.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _offsets(data: bytes) -> dict[str, tuple[int, int]]:
    """Each member's local header offset and where its data (and descriptor) end, from the central
    directory zipfile wrote."""
    infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    central = data.find(b"PK\x01\x02")
    ends = [info.header_offset for info in infos[1:]] + [central]
    return {info.filename: (info.header_offset, end) for info, end in zip(infos, ends, strict=True)}


def _read(path: Path) -> tuple[dict[str, bytes], list[str]]:
    source = ZipSource(path, Limits())
    try:
        names = [member.name for member in source.members()]
        return {name: source.open(name, name).read() for name in names}, list(source.damage)
    finally:
        source.close()


@pytest.mark.parametrize("streamed", [True, False])
def test_a_zip_cut_inside_a_member_gives_the_members_before_it(tmp_path: Path, streamed: bool) -> None:
    data = _zip(streamed)
    assert all(bool(info.flag_bits & 0x8) == streamed for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    start, _ = _offsets(data)["c.txt"]
    cut = start + 30 + len("c.txt") + 100  # inside c.txt's data
    path = tmp_path / "cut.zip"
    path.write_bytes(data[:cut])
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(path)
    before = snapshot(tmp_path)
    members, damage = _read(path)
    # c.txt is given as what the file holds of it: its first 100 bytes, inflated (as a tar cut short
    # gives its last member).
    partial = members.pop("c.txt")
    assert members == {"a.txt": MEMBERS["a.txt"], "b.bin": MEMBERS["b.bin"]}
    assert partial and MEMBERS["c.txt"].startswith(partial)
    assert damage == [
        f"the zip is cut short: it has no end of central directory; 3 member(s) were found by their local headers, "
        f"the last cut short ('c.txt': its data is cut short ({len(partial):,} bytes of it are read)); members after "
        "it are lost"
    ]
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("streamed", [True, False])
def test_a_zip_cut_before_its_central_directory_gives_every_member(tmp_path: Path, streamed: bool) -> None:
    data = _zip(streamed)
    central = data.find(b"PK\x01\x02")
    path = tmp_path / "cut.zip"
    path.write_bytes(data[:central])
    members, damage = _read(path)
    assert members == MEMBERS
    assert damage == [
        f"the zip is cut short: it has no end of central directory; 3 member(s) were found by their local headers, "
        f"up to {central:,} of its {central:,} bytes, where the zip ends; members after that point are lost"
    ]
    # Cut inside the central directory: every member, and the walk stops at it.
    path.write_bytes(data[: central + 10])
    members, damage = _read(path)
    assert members == MEMBERS
    assert damage == [
        "the zip is cut short inside its central directory: it has no end of central directory; 3 member(s) were "
        "found by their local headers, every one before it"
    ]


def test_a_member_inflating_past_the_bound_stops_the_walk(tmp_path: Path) -> None:
    data = _zip(streamed=True)
    with open(tmp_path / "z", "wb") as out:
        out.write(data[: data.find(b"PK\x01\x02")])
    with open(tmp_path / "z", "rb") as stream:
        found = scan_local_headers(stream, os.path.getsize(tmp_path / "z"), Limits(max_file_bytes=5_000))
    assert [info.filename for info in found.members] == ["a.txt"]
    assert found.stopped == "'b.bin': it inflates past 5000 bytes"


def test_a_zip_with_its_end_record_is_still_refused_when_zipfile_refuses_it(tmp_path: Path) -> None:
    """A version zipfile does not know, in the central directory (the local headers are sound): the
    zip is refused, never read around its central directory."""
    data = bytearray(_zip(streamed=False))
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        data[at + 6 : at + 8] = (117).to_bytes(2, "little")  # version needed to extract: 11.7
        at = data.find(b"PK\x01\x02", at + 4)
    path = tmp_path / "odd.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(AcquisitionError, match=r"not a readable zip \(zip file version 11.7\)"):
        ZipSource(path, Limits())


def test_an_androidqf_zip_cut_short_is_checked_as_damaged(tmp_path: Path) -> None:
    whole = AndroidQFBuilder().zip(tmp_path / "whole" / "aqf.zip").read_bytes()
    infos = zipfile.ZipFile(io.BytesIO(whole)).infolist()
    last = max(infos, key=lambda info: info.header_offset)
    path = tmp_path / "cut" / "aqf.zip"
    path.parent.mkdir()
    cut = last.header_offset + 30 + len(last.filename) + 20  # 20 bytes into the last member's data
    path.write_bytes(whole[:cut])
    before = snapshot(path.parent)
    result = run_check(path, CheckOptions())
    assert snapshot(path.parent) == before
    assert result.acquisition_kind == "androidqf"
    assert len(result.acquisition_problems) == 1
    assert result.acquisition_problems[0].startswith(
        f"the zip is cut short: it has no end of central directory; {len(infos)} member(s) were found by their "
        f"local headers, the last cut short ({last.filename!r}: its data is cut short ("
    )
    assert result.verdict().exit_code is ExitCode.INCOMPLETE
    assert {a.name for a in result.artifacts if a.status.checked} >= {"android_getprop", "android_packages"}


def test_a_stored_member_cut_short_is_given_as_its_bytes_there(tmp_path: Path) -> None:
    """As AndroidQF stores the bugreport zip inside its own: the nested zip, cut, is read in turn."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in MEMBERS.items():
            archive.writestr(name, data)
    whole = buffer.getvalue()
    start = zipfile.ZipFile(io.BytesIO(whole)).getinfo("b.bin").header_offset
    data_at = start + 30 + len("b.bin")
    path = tmp_path / "cut.zip"
    path.write_bytes(whole[: data_at + 1000])
    members, damage = _read(path)
    assert members == {"a.txt": MEMBERS["a.txt"], "b.bin": MEMBERS["b.bin"][:1000]}
    assert damage == [
        "the zip is cut short: it has no end of central directory; 2 member(s) were found by their local headers, "
        "the last cut short ('b.bin': its data is cut short (1,000 bytes of it are read)); members after it are lost"
    ]


def test_intrusion_logs_downloaded_cut_short_are_read_up_to_the_cut(tmp_path: Path) -> None:
    """The zip of intrusion logs a phone downloads, its download interrupted: the artifact reads it
    itself, from the members' local headers, and says what was lost."""
    from tests.builders.intrusion_logs import DAY1, DAY2, ndjson, write_zip
    from tests.helpers import RecordCollector

    whole = write_zip(tmp_path / "whole" / "Pixel 8_20231115.zip",
                      {"2023-11-14.txt": ndjson(DAY1), "2023-11-15.txt": ndjson(DAY2)})
    data = whole.read_bytes()
    second = zipfile.ZipFile(whole).getinfo("2023-11-15.txt").header_offset
    cut = tmp_path / "cut" / whole.name
    cut.parent.mkdir()
    cut.write_bytes(data[:second])  # the first day's log whole, the second's lost
    records = {}
    for name, path in (("whole", whole), ("cut", cut)):
        collector = RecordCollector()
        result = run_check(path, CheckOptions(only_artifacts=("android_intrusion_logs",)), sinks=[collector])
        records[name] = (collector.records, result)
    (everything, _), (kept, result) = records["whole"], records["cut"]
    (report,) = [a for a in result.artifacts if a.name == "android_intrusion_logs"]
    assert report.errors == [
        "/sdcard/Download/Intrusion Logging/Pixel 8_20231115.zip: the zip is cut short: it has no end of central "
        f"directory; 1 member(s) were found by their local headers, up to {second:,} of its {second:,} bytes, "
        "where the zip ends; members after that point are lost"
    ]
    # Every record of the first day's log, as from the whole zip (but for the zip's own hash), and none else.
    first_day = [replace(r, locator=replace(r.locator, sha256="")) for r in everything
                 if r.locator.key_path == "2023-11-14.txt"]
    assert first_day and len(first_day) < len(everything)
    assert [replace(r, locator=replace(r.locator, sha256="")) for r in kept] == first_day
