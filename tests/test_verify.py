"""The verification bundle, `preuve verify` and `preuve export`, on built backups."""

from __future__ import annotations

import json
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from preuve.builders.demo import build_demo_backup
from preuve.builders.ios_backup import BackupBuilder, file_id
from preuve.builders.ios_dbs import Message, fill_sms
from preuve.cli import build_cli
from preuve.proof.verify import Status, export_proof, verify
from tests.builders import feed, snapshot
from tests.builders.demo_expected import DEMO_FINDINGS

SMS_ID = file_id("HomeDomain", "Library/SMS/sms.db")
LINK = "https://x.bad.example/p/1"


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_cli(), list(args))
    return result.exit_code, " ".join(result.output.split())


def _scenario(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A backup with one message carrying an indicator's domain; returns (backup, feed, out)."""
    builder = BackupBuilder(tmp_path / "backup")
    messages = [Message(text="hello"), Message(text=f"parcel waiting: {LINK}"), Message(text="bye")]
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, messages))
    backup = builder.finish()
    stix = feed(tmp_path / "iocs" / "bad.stix2", ("[domain-name:value='bad.example']", "Predator"))
    out = tmp_path / "out"
    code, output = _cli("check", str(backup), "--iocs", str(stix), "-o", str(out), "-q")
    assert code == 2, output
    return backup, stix, out


def _sms_blob(backup: Path) -> Path:
    return backup / SMS_ID[:2] / SMS_ID


def _edit_sms(backup: Path, sql: str, *params: str) -> None:
    conn = sqlite3.connect(_sms_blob(backup))
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def test_bundle_contents(tmp_path: Path) -> None:
    backup, stix, out = _scenario(tmp_path)
    doc = json.loads((out / "bundle.json").read_text())
    assert doc["format"] == "preuve-bundle/1"
    assert doc["tool"] == {"name": "preuve", "version": "0.1.0"}
    assert [f["name"] for f in doc["feeds"]] == ["iocs/bad.stix2"]
    assert doc["feeds"][0]["sha256"] == __import__("hashlib").sha256(stix.read_bytes()).hexdigest()
    paths = {e["device_path"]: e["sha256"] for e in doc["evidence_files"]}
    assert "/private/var/mobile/Library/SMS/sms.db" in paths
    assert len(doc["findings"]) == 1
    finding = doc["findings"][0]
    assert finding["record_type"] == "ios:sms:message"
    assert finding["locator"]["table"] == "message" and finding["locator"]["rowid"] == 2
    assert finding["locator"]["sha256"] == paths["/private/var/mobile/Library/SMS/sms.db"]
    assert finding["indicator"]["malware"] == "Predator"
    assert len(finding["record_sha256"]) == 64
    assert "parcel waiting" not in (out / "bundle.json").read_text()  # no record values in the bundle
    md = (out / "bundle.md").read_text()
    assert finding["record_sha256"] in md and "bad.stix2" in md


def test_findings_and_bundle_byte_identical(tmp_path: Path, pegasus_feed: Path) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    for name in ("a", "b"):
        code, _ = _cli("check", str(backup), "--iocs", str(pegasus_feed), "-o", str(tmp_path / name), "-q")
        assert code == 2
    for produced in ("findings.json", "bundle.json", "bundle.md"):
        assert (tmp_path / "a" / produced).read_bytes() == (tmp_path / "b" / produced).read_bytes()
    run = json.loads((tmp_path / "a" / "run.json").read_text())
    assert "started" in run  # wall-clock times live in run.json only
    assert "started" not in (tmp_path / "a" / "bundle.json").read_text()


def test_verify_demo_moved_elsewhere(tmp_path: Path, pegasus_feed: Path) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    _cli("check", str(backup), "--iocs", str(pegasus_feed), "-o", str(tmp_path / "out"), "-q")
    moved = tmp_path / "elsewhere" / "copy"
    shutil.copytree(backup, moved)
    shutil.rmtree(backup)
    before = snapshot(moved)
    code, output = _cli("verify", str(tmp_path / "out" / "bundle.json"), str(moved))
    assert code == 0, output
    assert f"{DEMO_FINDINGS} of {DEMO_FINDINGS} findings confirmed" in output  # indicator findings and rule findings alike
    assert snapshot(moved) == before


def test_verify_with_feeds(tmp_path: Path) -> None:
    backup, stix, out = _scenario(tmp_path)
    result = verify(out / "bundle.json", backup, [stix])
    assert [c.status for c in result.checks] == [Status.CONFIRMED]
    assert result.source == "evidence (ios backup)"


def test_verify_changed_text(tmp_path: Path) -> None:
    backup, stix, out = _scenario(tmp_path)
    _edit_sms(backup, "UPDATE message SET text = ? WHERE ROWID = 2", f"parcel now: {LINK}")
    code, output = _cli("verify", str(out / "bundle.json"), str(backup), "--iocs", str(stix))
    assert code == 2, output
    assert "file hash changed" in output and "value changed" in output
    assert "0 of 1 findings confirmed" in output
    check = verify(out / "bundle.json", backup, [stix]).checks[0]
    assert len(check.problems) == 2  # the link is still there, so the indicator still matches


def test_verify_changed_link_no_longer_matches(tmp_path: Path) -> None:
    backup, stix, out = _scenario(tmp_path)
    _edit_sms(backup, "UPDATE message SET text = 'parcel waiting: https://good.example/', attributedBody = NULL WHERE ROWID = 2")
    problems = verify(out / "bundle.json", backup).checks[0].problems
    assert problems[0].startswith("file hash changed")
    assert problems[1].startswith("value changed")
    assert problems[2].startswith("indicator indicator--") and problems[2].endswith("no longer matches the record")


def test_verify_deleted_row(tmp_path: Path) -> None:
    backup, stix, out = _scenario(tmp_path)
    _edit_sms(backup, "DELETE FROM message WHERE ROWID = 2")
    check = verify(out / "bundle.json", backup, [stix]).checks[0]
    assert check.status == Status.DIFFERS
    assert check.problems[1] == "record missing: nothing at this location any more (row deleted?)"


def test_verify_feed_without_indicator(tmp_path: Path) -> None:
    backup, _, out = _scenario(tmp_path)
    other = feed(tmp_path / "other.stix2", ("[domain-name:value='other.example']", "Other"))
    code, output = _cli("verify", str(out / "bundle.json"), str(backup), "--iocs", str(other))
    assert code == 2
    assert "indicator absent from the given feeds" in output


def test_verify_file_missing(tmp_path: Path) -> None:
    backup, stix, out = _scenario(tmp_path)
    _sms_blob(backup).unlink()
    check = verify(out / "bundle.json", backup, [stix]).checks[0]
    assert check.problems == ("file missing (or no longer a regular file): /private/var/mobile/Library/SMS/sms.db",)


def test_export_and_verify_from_package(tmp_path: Path) -> None:
    backup, stix, out = _scenario(tmp_path)
    before = snapshot(backup)
    proof = tmp_path / "proof.zip"
    code, output = _cli("export", str(out / "bundle.json"), str(backup), "-o", str(proof))
    assert code == 0, output
    assert snapshot(backup) == before
    with zipfile.ZipFile(proof) as archive:
        assert sorted(archive.namelist()) == ["bundle.json", "proof.json", "records.jsonl"]
        lines = archive.read("records.jsonl").decode().splitlines()
        assert archive.read("bundle.json") == (out / "bundle.json").read_bytes()
    assert len(lines) == 1  # only the located record: "hello" and "bye" are not exported
    assert "hello" not in proof.read_bytes().decode("latin-1")
    record = json.loads(lines[0])
    assert record["record"]["text"] == f"parcel waiting: {LINK}"
    shutil.rmtree(backup)
    code, output = _cli("verify", str(out / "bundle.json"), str(proof), "--iocs", str(stix))
    assert code == 0, output
    assert "file hashes are taken from the bundle" in output and "1 of 1 findings confirmed" in output


def test_verify_tampered_package(tmp_path: Path) -> None:
    backup, stix, out = _scenario(tmp_path)
    proof = tmp_path / "proof.zip"
    assert export_proof(out / "bundle.json", backup, proof) == 1
    with zipfile.ZipFile(proof) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members["records.jsonl"] = members["records.jsonl"].replace(b"parcel waiting", b"parcel pending")
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(forged, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    check = verify(out / "bundle.json", forged, [stix]).checks[0]
    assert check.status == Status.DIFFERS
    assert check.problems[0].startswith("value changed")


def _damage_member(package: Path, name: str, how: str) -> None:
    """Rewrite one member's headers in a proof package (the zip format's own offsets, not zipfile)."""
    import struct

    data = bytearray(package.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        length = struct.unpack_from("<H", data, at + 28)[0]
        local = struct.unpack_from("<I", data, at + 42)[0]
        if bytes(data[at + 46 : at + 46 + length]) == name.encode():
            if how == "crc":
                struct.pack_into("<I", data, at + 16, 0x12345678)
            else:  # compression method 99 (AES), which zipfile cannot read
                struct.pack_into("<H", data, at + 10, 99)
                struct.pack_into("<H", data, local + 8, 99)
        at = data.find(b"PK\x01\x02", at + 4)
    package.write_bytes(bytes(data))


@pytest.mark.parametrize(("name", "how", "said"), [
    ("records.jsonl", "crc", "records.jsonl in the proof package cannot be read (Bad CRC-32 for file 'records.jsonl')"),
    ("bundle.json", "aes", "bundle.json in the proof package cannot be read (compression method 99 (AES) is not supported)"),
])
def test_verify_damaged_package_says_which_member(tmp_path: Path, name: str, how: str, said: str) -> None:
    backup, stix, out = _scenario(tmp_path)
    proof = tmp_path / "proof.zip"
    assert export_proof(out / "bundle.json", backup, proof) == 1
    _damage_member(proof, name, how)
    code, output = _cli("verify", str(out / "bundle.json"), str(proof), "--iocs", str(stix))
    assert code == 1
    assert said in " ".join(output.split())
    assert "unexpected error" not in output


def test_export_refuses_changed_evidence(tmp_path: Path) -> None:
    backup, _, out = _scenario(tmp_path)
    _edit_sms(backup, "DELETE FROM message WHERE ROWID = 2")
    code, output = _cli("export", str(out / "bundle.json"), str(backup), "-o", str(tmp_path / "p.zip"))
    assert code == 1
    assert "no longer match the evidence" in output
    assert not (tmp_path / "p.zip").exists()


def test_verify_rejects_non_bundle(tmp_path: Path) -> None:
    backup, _, _ = _scenario(tmp_path)
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"format": "something else"}')
    code, output = _cli("verify", str(bogus), str(backup))
    assert code == 1 and "not a preuve verification bundle" in output and "Traceback" not in output


def test_forged_finding_is_not_confirmed(tmp_path: Path) -> None:
    backup, _, out = _scenario(tmp_path)
    doc = json.loads((out / "bundle.json").read_text())
    doc["findings"][0]["indicator"]["value"] = "other.example"
    doc["findings"][0]["observable"]["value"] = "https://other.example/"
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    check = verify(forged, backup).checks[0]
    assert check.status == Status.DIFFERS
    assert check.problems == (
        f"indicator {doc['findings'][0]['indicator']['stix_id']} (other.example) no longer matches the record",
    )


def test_verify_finds_a_file_by_name_as_the_run_did(tmp_path: Path) -> None:
    """A backup without Manifest.db: the run found sms.db by the name a backup stores it under, and
    verify finds it the same way (its findings' paths, looked for by name)."""
    backup, stix, _ = _scenario(tmp_path)
    (backup / "Manifest.db").unlink()
    out = tmp_path / "damaged"
    code, output = _cli("check", str(backup), "--iocs", str(stix), "-o", str(out), "-q")
    assert code == 2, output
    result = verify(out / "bundle.json", backup, [stix])
    assert [c.status for c in result.checks] == [Status.CONFIRMED] and result.confirmed
