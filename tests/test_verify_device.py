"""`preuve verify` takes an output folder, and says in one line when the evidence is another device."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from preuve.builders.ios_backup import BackupBuilder, DeviceFacts
from preuve.builders.ios_dbs import Message, Process, fill_datausage, fill_sms
from preuve.cli import build_cli
from tests.builders import feed


def _invoke(*args: str) -> tuple[int, list[str]]:
    result = CliRunner(env={"COLUMNS": "300"}).invoke(build_cli(), list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output.splitlines()


def _phone(root: Path, number: int, spy: str) -> Path:
    builder = BackupBuilder(root, DeviceFacts(device_name=f"Phone {number}", udid=f"0000-{number:04d}"))
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, [
        Message(text=f"hello {number}", handle="+4179"), Message(text=f"https://{spy}/x{number}", handle="+4179"),
    ]))
    builder.add_sqlite("WirelessDomain", "Library/Databases/DataUsage.sqlite",
                       lambda c: fill_datausage(c, [Process(1, "apsd", None), Process(2, f"other{number}", None)]))
    return builder.finish()


def test_output_folder_and_another_device(tmp_path: Path) -> None:
    spy = "spy-domain.example"
    iocs = feed(tmp_path / "f.stix2", (f"[domain-name:value='{spy}']", "Spy"))
    first = _phone(tmp_path / "a", 1, spy)
    second = _phone(tmp_path / "b", 2, spy)
    out = tmp_path / "out"
    code, lines = _invoke("check", str(first), "--iocs", str(iocs), "-o", str(out), "-q")
    assert code == 2, lines

    code, lines = _invoke("verify", str(out), str(first))
    assert code == 0, lines
    assert lines[0] == "Verified from the evidence (ios backup)."
    # the two unbundled processes are one review finding, each of its occurrences re-derived
    assert lines[-1] == "2 of 2 findings confirmed (their 3 occurrences checked one by one)."

    code, lines = _invoke("verify", str(out), str(second))
    assert code == 2
    assert lines[0] == ("different device: 4 of the 6 evidence files the bundle lists are missing or differ; "
                        "this is not the acquisition the bundle was made from")
    assert lines[1:5] == [
        "          - /.acquisition/backup/Info.plist: content changed",
        "          - /.acquisition/backup/Manifest.plist: content changed",
        "          - /private/var/mobile/Library/SMS/sms.db: content changed",
        "          - /private/var/wireless/Library/Databases/DataUsage.sqlite: content changed",
    ]
    assert lines[-1] == "0 of 2 findings confirmed (their 3 occurrences checked one by one)."

    # One file changed is not another device: the finding differs, said as such.
    tampered = tmp_path / "c"
    shutil.copytree(first, tampered)
    sms = tampered / "3d" / "3d0d7e5fb2ce288813306e4d4636395e047a3d28"
    data = bytearray(sms.read_bytes())
    data[-1] ^= 0xFF  # the last byte of the last page: the file's hash changes, its rows do not
    sms.write_bytes(bytes(data))
    code, lines = _invoke("verify", str(out), str(tampered))
    assert code == 2
    assert not any(line.startswith("different device") for line in lines)
    assert any("file hash changed" in line for line in lines)

    code, lines = _invoke("verify", str(tmp_path / "a"), str(first))
    assert code == 1
    assert lines == [f"error: {tmp_path / 'a'}: no bundle.json in this folder (give a preuve output folder or "
                     "its bundle.json)"]
