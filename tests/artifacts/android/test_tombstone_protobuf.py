"""Tombstones written as protocol buffers (tombstone_NN.pb, Android 12 and later): read when their text
twin is absent, left to it when it is there, and a damaged one fails alone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.android.tombstones import Tombstone
from preuve.model import Locator
from tests.builders import snapshot
from tests.builders.android import tombstone_pb, tombstone_text
from tests.builders.bugreport import write_folder
from tests.helpers import check, records

WHEN = datetime(2023, 11, 10, 7, 30, tzinfo=UTC)  # 08:30:00.123456789+0100, to the second as the text is read


def _bugreport(tmp_path: Path, tombstones: dict[str, bytes]) -> Path:
    main = b"== dumpstate: 2023-11-14 22:13:20\n------ UPTIME (uptime) ------\n up 3 days\n"
    members = {"main_entry.txt": b"dumpstate.txt\n", "dumpstate.txt": main}
    members |= {f"FS/data/tombstones/{name}": data for name, data in tombstones.items()}
    return write_folder(tmp_path / "bugreport", members)


def test_a_protobuf_alone_gives_what_its_text_gives(tmp_path: Path) -> None:
    path = _bugreport(tmp_path, {
        "tombstone_00": tombstone_text("/system/bin/mediaserver", 1013).encode(),  # text only
        "tombstone_01": tombstone_text("/vendor/bin/hw/camera.provider", 1047).encode(),  # both: the text
        "tombstone_01.pb": tombstone_pb("/vendor/bin/hw/camera.provider", 1047),
        "tombstone_02.pb": tombstone_pb("/system/bin/surfaceflinger --start", 1000, (6, "SIGABRT")),  # only .pb
    })
    before = snapshot(path)
    found = records(path, "android_tombstones")
    shas = {r.locator.device_path: r.locator.sha256 for r in found}
    assert found == [
        Tombstone(locator=Locator("/data/tombstones/tombstone_00", shas["/data/tombstones/tombstone_00"]),
                  process="/system/bin/mediaserver", pid=1234, uid=1013, signal="SIGSEGV (11)",
                  abort_message="stack corruption detected", when=WHEN),
        Tombstone(locator=Locator("/data/tombstones/tombstone_01", shas["/data/tombstones/tombstone_01"]),
                  process="/vendor/bin/hw/camera.provider", pid=1234, uid=1047, signal="SIGSEGV (11)",
                  abort_message="stack corruption detected", when=WHEN),
        Tombstone(locator=Locator("/data/tombstones/tombstone_02.pb", shas["/data/tombstones/tombstone_02.pb"]),
                  process="/system/bin/surfaceflinger --start", pid=1234, uid=1000, signal="SIGABRT (6)",
                  abort_message="stack corruption detected", when=WHEN),
    ]
    rules = sorted((f.rule, f.locator.device_path) for f in check(path).findings if f.rule)
    assert ("android_tombstone_privileged", "/data/tombstones/tombstone_02.pb") in rules
    assert snapshot(path) == before


def test_a_damaged_protobuf_fails_alone(tmp_path: Path) -> None:
    whole = tombstone_pb("/system/bin/mediaserver", 1013)
    path = _bugreport(tmp_path, {
        "tombstone_00.pb": whole[: len(whole) // 2],  # cut inside a field
        "tombstone_01.pb": whole,
    })
    result = check(path)
    [report] = [a for a in result.artifacts if a.name == "android_tombstones"]
    assert report.errors == ["/data/tombstones/tombstone_00.pb: not a tombstone protobuf (field 8 runs past the end)"]
    assert [r.locator.device_path for r in records(path, "android_tombstones")] == ["/data/tombstones/tombstone_01.pb"]
