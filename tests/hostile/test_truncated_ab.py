"""A truncated Android backup (.ab), as an interrupted `adb backup` leaves it: what it holds is read and
reported (its messages, their findings), then the run says the backup is truncated (incomplete, exit 2
or 3), never a traceback. Plain and compressed, cut inside a member and at a member boundary."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.builders import feed
from tests.builders.android import android_backup_bytes, sms_backup_blob
from tests.hostile.harness import check_hostile

SPY = "spy-domain.example"
TELEPHONY = "apps/com.android.providers.telephony"


def _noise(size: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


def _backup(compressed: bool) -> bytes:
    messages = [{"address": "+4179", "body": f"see https://{SPY}/{n}", "date": 1700000000000 + n, "type": 1}
                for n in range(10)]
    members = {
        f"{TELEPHONY}/_manifest": b"1\ncom.android.providers.telephony\n",
        f"{TELEPHONY}/d_f/000000_sms_backup": sms_backup_blob(messages),
        "apps/org.example.big/f/blob.bin": _noise(200_000),  # incompressible: the bulk of the stream
    }
    return android_backup_bytes(members, compressed=compressed)


@pytest.mark.parametrize("compressed", [True, False])
def test_truncated_backup_yields_what_it_holds(tmp_path: Path, compressed: bool) -> None:
    data = _backup(compressed)
    evidence = tmp_path / "ev" / "backup.ab"
    evidence.parent.mkdir()
    evidence.write_bytes(data[: len(data) * 3 // 4])  # cut inside the last member
    iocs = feed(tmp_path / "spy.stix2", (f"[domain-name:value='{SPY}']", "Spy"))
    outcome = check_hostile(evidence, tmp_path / "out", "-q", "--iocs", str(iocs))
    assert outcome.code == 2, outcome.text  # the messages before the cut are read: their links are found
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    status = {a["name"]: (a["status"], a["records"]) for a in run["artifacts"]}
    assert status["android_backup_sms"] == ("ok", 10)
    [members] = [a for a in run["artifacts"] if a["name"] == "archive_members"]
    assert members["status"] == "failed"
    assert any("backup.ab: member apps/org.example.big/f/blob.bin is cut short (200000 bytes declared, " in e
               and e.endswith("present): the archive is truncated") for e in members["errors"])
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())["findings"]
    assert sum(1 for f in findings if f["indicator"] and f["indicator"]["malware"] == "Spy") == 10


def test_backup_cut_at_a_member_boundary(tmp_path: Path) -> None:
    data = _backup(compressed=False)
    cut = data.index(b"apps/org.example.big/")  # the big member's header: the backup stops just before it
    evidence = tmp_path / "ev" / "backup.ab"
    evidence.parent.mkdir()
    evidence.write_bytes(data[:cut])
    outcome = check_hostile(evidence, tmp_path / "out", "-q")
    assert outcome.code == 3, outcome.text
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    status = {a["name"]: (a["status"], a["records"]) for a in run["artifacts"]}
    assert status["android_backup_sms"] == ("ok", 10)
    # No member is cut: the backup is damaged as a whole (what followed the cut is lost), said the way
    # every tar acquisition says it.
    assert run["coverage"]["acquisition"]["problems"] == [
        "backup.ab: the archive is cut short: it ends after 2 member(s), before its end-of-archive marker, whose "
        f"last member ({TELEPHONY}/d_f/000000_sms_backup) may be incomplete; members after that point are lost"
    ]
    assert not [a for a in run["artifacts"] if a["name"] == "archive_members"]
