"""Hostile intrusion logs: a zip bomb among the phone's zips, a zip declaring too many members, a line of
deeply nested JSON, a line of a million digits, all in a guarded child process (time and memory bounds)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from tests.builders.intrusion_logs import DAY1, ndjson
from tests.hostile.harness import check_hostile


def _bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("2023-11-14.txt", "w", force_zip64=True) as member:
            chunk = b"\n" * (1024 * 1024)
            for _ in range(100):  # 100 MiB of empty lines in about 100 KiB
                member.write(chunk)
    return buffer.getvalue()


def _crowded(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for index in range(count):
            archive.writestr(f"{index}.txt", b"")
    return buffer.getvalue()


def test_hostile_intrusion_logs(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a-good.txt").write_bytes(ndjson(DAY1))
    (folder / "bomb.zip").write_bytes(_bomb())
    (folder / "crowded.zip").write_bytes(_crowded(10_001))
    deep = "[" * 500_000
    digits = json.dumps({"dns_event": {"event_time": int("9" * 4000)}})[:-2] + "9" * 100_000 + "}}"
    (folder / "deep.txt").write_text(deep + "\n" + digits + "\n")
    outcome = check_hostile(folder, tmp_path / "out", "--json")
    assert outcome.code == 3, outcome.text  # the crowded zip could not be read: incomplete
    summary = json.loads(outcome.stdout)
    assert summary["verdict"]
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    report = next(a for a in run["artifacts"] if a["name"] == "android_intrusion_logs")
    device = "/sdcard/Download/Intrusion Logging"
    assert report["errors"] == [
        f"{device}/crowded.zip: the zip declares 10001 members, more than 10000",
    ]
    assert report["warnings"][0] == (
        f"{device}/bomb.zip: member '2023-11-14.txt' not read: declared compression ratio is a decompression bomb"
    )
    assert report["warnings"][1].startswith(f"{device}/deep.txt:1: not JSON: ")
    assert report["warnings"][2].startswith(f"{device}/deep.txt:2: not JSON: ")
    assert report["records"] == 7
