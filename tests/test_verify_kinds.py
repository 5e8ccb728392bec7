"""`preuve verify` on acquisitions other than a plain backup: an encrypted backup, a filesystem dump."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
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


def _check(evidence: Path, feed_path: Path, out: Path) -> str:
    code, output = _run("check", str(evidence), "--iocs", str(feed_path), "-o", str(out), "-q")
    assert code == 2, output
    return (out / "findings.json").read_text().replace(str(evidence), "EVIDENCE")


@pytest.mark.parametrize(
    ("fmt", "top"),
    [("folder", "_unback_"), ("tar", "ssh"), ("zip", "ssh"), ("tar.gz", "_unback_/00008030-001A2B3C4D5E802E")],
)
def test_a_dump_made_through_the_var_link_is_the_device_s_private_var(
    tmp_path: Path, pegasus_feed: Path, fmt: str, top: str
) -> None:
    """``tar -cf - /var/mobile`` over SSH, or ``scp -r phone:/var``, writes var/mobile/… (iOS's /var is a
    link to /private/var); so does a backup unpacked by the phone (``idevicebackup2 unback`` and
    pymobiledevice3's ``backup2 unback`` write ``_unback_/var/mobile/…``, older versions under the
    backup's UDID). It was not recognised; its var/ is now the device's /private/var/, with the findings
    of the same files dumped as private/var/…, each confirmed by verify on it."""
    files = backup_files(build_demo_backup(tmp_path / "plain"))
    assert all(name.startswith("private/var/") for name, _ in files)
    through = [(name.removeprefix("private/"), data) for name, data in files]
    name = "dump" if fmt == "folder" else f"dump.{fmt}"
    plain = write_dump(files, tmp_path / "p" / name, fmt=fmt)
    dump = write_dump(through, tmp_path / "v" / name, fmt=fmt, top=top)
    for written in (plain, dump):  # (a folder's files: the same times in both, as an archive's)
        for path in written.rglob("*") if written.is_dir() else ():
            os.utime(path, (1685620800, 1685620800), follow_symlinks=False)
    before = snapshot(tmp_path / "v")
    expected = _check(plain, pegasus_feed, tmp_path / "out-p")
    assert _check(dump, pegasus_feed, tmp_path / "out-v") == expected
    code, output = _run("verify", str(tmp_path / "out-v" / "bundle.json"), str(dump))
    assert code == 0, output
    count = len(json.loads(expected)["findings"])
    assert count > 0 and f"{count} of {count} findings confirmed" in output
    assert snapshot(tmp_path / "v") == before


def test_a_whole_file_system_tar_is_recognised_whatever_comes_before_private(
    tmp_path: Path, pegasus_feed: Path
) -> None:
    """A tar of a phone's whole file system lists its folders in the order the file system gives them:
    /private may come after a hundred thousand system files. Detection looked at 5,000 names and said
    "not an acquisition preuve recognises"; every name is now looked at until one shows the root."""
    files = backup_files(build_demo_backup(tmp_path / "plain"))
    system = [(f"System/Library/Frameworks/F{i // 100}.framework/f{i}", b"") for i in range(6000)]
    dump = write_dump([*system, *files], tmp_path / "d" / "dump.tar", fmt="tar")
    found = json.loads(_check(dump, pegasus_feed, tmp_path / "out"))["findings"]
    alone = json.loads(_check(write_dump(files, tmp_path / "p" / "dump.tar", fmt="tar"), pegasus_feed,
                              tmp_path / "o2"))["findings"]
    # The indicators' findings are the same; the heuristics know more of a whole file system (a process
    # with no file of its name in it is judged gone, not merely unbundled), so only theirs may differ.
    def indicators(findings: list[dict[str, object]]) -> list[tuple[object, ...]]:
        return [(f["artifact"], f["locator"], f["observable"], f["severity"], f["explanation"])
                for f in findings if f["rule"] is None]

    assert indicators(found) == indicators(alone) and len(indicators(found)) == 8
    assert len(found) == len(alone)
    code, output = _run("check", str(write_dump(system, tmp_path / "s" / "dump.tar", fmt="tar")), "-q",
                        "-o", str(tmp_path / "o3"))
    assert code == 1 and "not an acquisition preuve recognises" in output, output


def test_a_linux_var_is_no_ios_dump(tmp_path: Path) -> None:
    """var/ alone is not iOS's: only a var/mobile/ folder shows a dump made through the /var link."""
    for fmt, name in (("folder", "linux"), ("tar", "linux.tar")):
        evidence = write_dump([("var/log/syslog", b"x"), ("var/db/y", b"y"), ("var/mobileX/z", b"z")],
                              tmp_path / fmt / name, fmt=fmt)
        code, output = _run("check", str(evidence), "-q", "-o", str(tmp_path / f"out-{fmt}"))
        assert code == 1 and "not an acquisition preuve recognises" in output, output
