"""File names whose bytes are not UTF-8 (a folder on Linux or a tar may hold any bytes but '/' and NUL):
listed as text with each such byte as \\xNN, so no output refuses them, and read back from that text.
One such name made the whole filesystem listing fail ("str is not valid UTF-8: surrogates")."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from tests.builders import feed, snapshot
from tests.hostile.harness import run_cli

BAD = b"private/var/tmp/bad\xff\xfename"
BAD_FOLDER = b"private/var/mobile/Library/\xc3(dir"
FILES = {
    b"private/var/mobile/Library/SMS/readme.txt": b"sms",
    BAD: b"planted",
    BAD_FOLDER + b"/roleaccountd": b"implant",
    b"private/var/db/roleaccountd.plist": b"x",
}


def _folder(root: Path) -> Path:
    for name, data in FILES.items():
        target = os.path.join(os.fsencode(root), name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as out:
            out.write(data)
    return root


def _tar(path: Path) -> Path:
    path.parent.mkdir(parents=True)
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape") as archive:
        for name, data in FILES.items():
            member = tarfile.TarInfo(name.decode("utf-8", "surrogateescape"))
            member.size, member.mtime = len(data), 1_700_000_000
            archive.addfile(member, io.BytesIO(data))
    return path


@pytest.mark.parametrize("layout", ["folder", "tar"])
def test_undecodable_names_are_listed_matched_and_verified(tmp_path: Path, layout: str) -> None:
    evidence = _folder(tmp_path / "dump") if layout == "folder" else _tar(tmp_path / "dumpdir" / "dump.tar")
    holder = evidence if layout == "folder" else evidence.parent
    before = snapshot(holder)
    stix = feed(tmp_path / "i" / "f.stix2", ("[process:name = 'roleaccountd']", "Pegasus"),
                ("[file:name = 'roleaccountd.plist']", "Pegasus"))
    out = tmp_path / "out"
    ran = run_cli("check", str(evidence), "--iocs", str(stix), "-o", str(out), "-q", "--artifact", "filesystem")
    assert ran.code == 2, ran.text
    run = json.loads((out / "run.json").read_text())
    assert [(a["name"], a["status"], a["errors"]) for a in run["artifacts"] if a["name"] == "filesystem"] == [
        ("filesystem", "ok", [])]
    listed = [json.loads(line)["locator"]["device_path"]
              for line in (out / "artifacts" / "filesystem.jsonl").read_text().splitlines()]
    assert "/private/var/tmp/bad\\xff\\xfename" in listed
    assert "/private/var/mobile/Library/\\xc3(dir/roleaccountd" in listed
    findings = json.loads((out / "findings.json").read_text())["findings"]
    assert sorted(f["locator"]["device_path"] for f in findings) == [
        "/private/var/db/roleaccountd.plist", "/private/var/mobile/Library/\\xc3(dir/roleaccountd"]
    verified = run_cli("verify", str(out / "bundle.json"), str(evidence))
    assert verified.code == 0, verified.text
    assert "2 of 2 findings confirmed" in verified.text
    assert snapshot(holder) == before


def test_a_file_with_an_undecodable_name_reads_back_its_bytes(tmp_path: Path) -> None:
    from preuve.evidence.fs import DeviceFS
    from preuve.evidence.ledger import HashLedger
    from preuve.evidence.limits import Limits
    from preuve.evidence.sources.folder import folder_fs

    root = _folder(tmp_path / "dump")
    work = tmp_path / "work"
    work.mkdir()
    fs: DeviceFS = folder_fs(root, HashLedger(), Limits(), work)
    assert fs.read_bytes("/private/var/tmp/bad\\xff\\xfename") == b"planted"
    assert fs.read_bytes("/private/var/mobile/Library/\\xc3(dir/roleaccountd") == b"implant"


def test_a_lone_surrogate_escape_in_json_is_kept_as_its_escape(tmp_path: Path) -> None:
    """The standard library's parser lets `\\ud800` alone through; no JSON encoder writes it back, and
    one such package name failed the whole package list. A pair (an emoji) stays the character it is."""
    from preuve.evidence.policy import json_text
    from tests.builders.android import AndroidQFBuilder
    from tests.helpers import check

    assert json_text('{"a": "x\\ud800y", "b": ["\\udcff"], "c": "\\ud83d\\ude00", "\\udc80": 1}') == {
        "a": "x\\ud800y", "b": ["\\udcff"], "c": "\U0001f600", "\\udc80": 1}
    root = AndroidQFBuilder().folder(tmp_path / "aqf")
    text = (root / "packages.json").read_text()
    (root / "packages.json").write_text(text.replace('"org.example.notes"', '"org.example.notes\\ud800"', 1))
    (root / "hashes.csv").unlink()
    result = check(root, only=("android_packages",))
    [report] = [a for a in result.artifacts if a.name == "android_packages"]
    assert (str(report.status), report.errors) == ("ok", [])
    from tests.helpers import records

    assert [r.name for r in records(root, "android_packages")] == ["com.android.settings", "org.example.notes\\ud800"]


def test_what_a_reader_lets_through_is_written_as_its_escape() -> None:
    """The last guard, where records are written: a lone surrogate as its escape, as a wide integer as text."""
    from preuve.model import Locator
    from preuve.model.jsonio import canonical_bytes, dumps_line

    assert dumps_line({"k\udc80": ["x\udfff", 2**70]}) == b'{"k\\\\udc80":["x\\\\udfff","1180591620717411303424"]}\n'
    assert canonical_bytes(Locator("/a\udcff", "0" * 64)) == canonical_bytes(Locator("/a\\udcff", "0" * 64))
