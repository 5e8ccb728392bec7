"""`preuve verify` on acquisitions other than a plain backup: an encrypted backup, a filesystem dump."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from preuve.builders.demo import build_demo_backup
from preuve.cli import build_cli
from tests.builders import feed, snapshot
from tests.builders.demo_expected import DEMO_FINDINGS
from tests.builders.ios_dump import backup_files, write_dump
from tests.builders.ios_encrypted import encrypt_backup

PASSWORD = "correct horse battery staple"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner(env={"COLUMNS": "250"}).invoke(build_cli(), list(args))
    return result.exit_code, " ".join(result.output.split())


def test_verify_encrypted_backup_with_password(tmp_path: Path, pegasus_feed: Path) -> None:
    enc = encrypt_backup(build_demo_backup(tmp_path / "plain"), tmp_path / "enc", PASSWORD)
    before = snapshot(enc)
    secret = tmp_path / "pw.txt"
    secret.write_text(PASSWORD + "\n")
    out = tmp_path / "out"
    code, output = _run("check", str(enc), "--iocs", str(pegasus_feed), "-o", str(out), "-q",
                        "--password-file", str(secret))
    assert code == 2, output
    code, output = _run("verify", str(out / "bundle.json"), str(enc), "--password-file", str(secret))
    assert code == 0, output
    assert f"{DEMO_FINDINGS} of {DEMO_FINDINGS} findings confirmed" in output
    code, output = _run("verify", str(out / "bundle.json"), str(enc))
    assert code == 1 and "encrypted" in output  # no secret given: a clear refusal, not a crash
    assert snapshot(enc) == before


def test_verify_filesystem_listing_finding(tmp_path: Path) -> None:
    files = [*backup_files(build_demo_backup(tmp_path / "plain")), ("private/var/db/roleaccountd.plist", b"x")]
    dump = write_dump(files, tmp_path / "dumpdir" / "dump.tar", fmt="tar")
    before = snapshot(tmp_path / "dumpdir")
    stix = feed(tmp_path / "i" / "f.stix2", ("[file:name='roleaccountd.plist']", "Pegasus"))
    out = tmp_path / "out"
    code, output = _run("check", str(dump), "--iocs", str(stix), "-o", str(out), "-q", "--artifact", "filesystem")
    assert code == 2, output
    code, output = _run("verify", str(out / "bundle.json"), str(dump))
    assert code == 0, output
    assert "2 of 2 findings confirmed" in output  # the planted file, and sms.db? no: see below
    assert "a file-listing entry" in output
    assert snapshot(tmp_path / "dumpdir") == before


def test_verify_listing_findings_on_a_folder_and_a_link(tmp_path: Path) -> None:
    """A listing entry is read again whatever it is: an implant's folder named like its process, a link
    named like one (once reported as a missing file, the folder and the link being no regular files)."""
    import io
    import tarfile

    dump = tmp_path / "dumpdir" / "dump.tar"
    dump.parent.mkdir()
    with tarfile.open(dump, "w") as archive:
        for name, kind, data in (
            ("private/var/db/com.apple.xpc.roleaccountd.staging", tarfile.DIRTYPE, b""),
            ("private/var/db/com.apple.xpc.roleaccountd.staging/roleaccountd", tarfile.REGTYPE, b"x"),
            ("private/var/tmp/bh", tarfile.SYMTYPE, b""),
            ("private/var/mobile/Library/x.db", tarfile.REGTYPE, b"y"),
        ):
            member = tarfile.TarInfo(name)
            member.type, member.mtime, member.size = kind, 1_700_000_000, len(data)
            member.linkname = "../db/com.apple.xpc.roleaccountd.staging/roleaccountd" if kind == tarfile.SYMTYPE else ""
            archive.addfile(member, io.BytesIO(data) if data else None)
    before = snapshot(tmp_path / "dumpdir")
    stix = feed(tmp_path / "i" / "f.stix2", ("[process:name = 'com.apple.xpc.roleaccountd.staging']", "Pegasus"),
                ("[process:name = 'bh']", "Pegasus"))
    out = tmp_path / "out"
    code, output = _run("check", str(dump), "--iocs", str(stix), "-o", str(out), "-q", "--artifact", "filesystem")
    assert code == 2, output
    code, output = _run("verify", str(out / "bundle.json"), str(dump))
    assert code == 0, output
    assert "confirmed" in output and "differs" not in output
    assert "2 of 2 findings confirmed" in output
    package = tmp_path / "proof.zip"  # the proof package holds the two entries, and verifies alone
    code, output = _run("export", str(out / "bundle.json"), str(dump), "-o", str(package))
    assert code == 0, output
    code, output = _run("verify", str(out / "bundle.json"), str(package))
    assert code == 0 and "2 of 2 findings confirmed" in output, output
    assert snapshot(tmp_path / "dumpdir") == before


def test_a_dump_of_absolute_names_is_checked_and_verified(tmp_path: Path, pegasus_feed: Path) -> None:
    """A dump written with ``tar -P`` (every name ``/private/var/...``) was not recognised at all; it is
    read as tar extracts it, its findings are those of the same files under relative names, and verify
    confirms each one on it."""
    files = backup_files(build_demo_backup(tmp_path / "plain"))
    relative = write_dump(files, tmp_path / "rel" / "dump.tar", fmt="tar")
    dump = write_dump(files, tmp_path / "dumpdir" / "dump.tar", fmt="tar", top="/")
    before = snapshot(tmp_path / "dumpdir")
    found = {}
    for name, evidence in (("rel", relative), ("abs", dump)):
        out = tmp_path / f"out-{name}"
        code, output = _run("check", str(evidence), "--iocs", str(pegasus_feed), "-o", str(out), "-q")
        assert code == 2, output
        found[name] = (out / "findings.json").read_text().replace(str(evidence), "EVIDENCE")
    code, output = _run("verify", str(tmp_path / "out-abs" / "bundle.json"), str(dump))
    assert code == 0, output
    count = len(json.loads(found["abs"])["findings"])
    assert count > 0 and f"{count} of {count} findings confirmed" in output
    assert snapshot(tmp_path / "dumpdir") == before
    assert found["abs"] == found["rel"]
