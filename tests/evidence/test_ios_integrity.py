"""The backup kind's integrity check (one read of Manifest.db, compared folder by folder) against a plain
reference: every row of Manifest.db read again with sqlite3 and plistlib, every file of the hashed-name
folders in one dictionary by lower-cased name, on backups damaged in every way at once."""

from __future__ import annotations

import hashlib
import os
import plistlib
import random
import sqlite3
import stat
from pathlib import Path

import pytest

from preuve.builders.ios_backup import BackupBuilder, file_id
from preuve.evidence.acquisition import acquisition_checks
from preuve.evidence.ios_integrity import BackupFileIssue, BackupIntegrity
from preuve.evidence.ios_listing import FileListing
from tests.builders import snapshot
from tests.helpers import check, records

Issue = tuple[str, str, str | None, str | None, int | None, int | None, int | None, str | None]


def _reference(root: Path) -> list[Issue]:
    """What the check must report, computed the plain way."""
    stored: dict[str, tuple[str, int, bool]] = {}
    for shard in sorted(os.listdir(root)):
        folder = root / shard
        if len(shard) != 2 or any(c not in "0123456789abcdefABCDEF" for c in shard) or folder.is_symlink() \
                or not folder.is_dir():
            continue
        for name in sorted(os.listdir(folder)):
            st = (folder / name).lstat()
            regular = stat.S_ISREG(st.st_mode)
            stored[name.lower()] = (f"{shard}/{name}", st.st_size if regular else 0, regular)
    conn = sqlite3.connect(f"file:{root / 'Manifest.db'}?mode=ro&immutable=1", uri=True)
    conn.text_factory = lambda raw: raw.decode("utf-8", "backslashreplace")
    rows = conn.execute(
        "SELECT rowid, fileID, flags, domain, relativePath, file, CAST(domain AS BLOB), CAST(relativePath AS BLOB) "
        "FROM Files ORDER BY rowid"
    ).fetchall()
    encrypted = plistlib.loads((root / "Manifest.plist").read_bytes()).get("IsEncrypted") is True
    out: list[Issue] = []
    listed: set[str] = set()
    for rowid, fid, flags, domain, relative, blob, raw_domain, raw_relative in rows:
        if flags != 1 or not isinstance(fid, str):
            continue
        fid = fid.lower()
        listed.add(fid)
        dom = domain if isinstance(domain, str) else None
        rel = relative if isinstance(relative, str) else None
        if not isinstance(raw_domain, bytes) or not isinstance(raw_relative, bytes) or \
                hashlib.sha1(raw_domain + b"-" + raw_relative).hexdigest() != fid:  # noqa: S324
            out.append(("name_mismatch", fid, dom, rel, None, None, rowid, None))
        expected = None
        try:
            archive = plistlib.loads(blob)
            size = archive["$objects"][archive["$top"]["root"].data].get("Size")
            expected = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None
        except Exception:  # noqa: BLE001, S110 - no MBFile, or not one plistlib reads: no expected size
            pass
        found = stored.get(fid)
        if found is None:
            out.append(("missing", fid, dom, rel, expected, None, rowid, None))
        elif not found[2]:
            out.append(("not_regular", fid, dom, rel, expected, None, rowid, None))
        elif expected is not None and found[1] != expected and not (
            encrypted and found[1] == (expected // 16 + 1) * 16
        ):
            out.append(("size_mismatch", fid, dom, rel, expected, found[1], rowid, None))
    for name in sorted(set(stored) - listed):
        out.append(("extra", name, None, None, None, stored[name][1], None, f"folder:{stored[name][0]}"))
    return out


def _found(root: Path) -> list[Issue]:
    return [
        (r.issue, r.file_id, r.domain, r.relative_path, r.expected_size, r.actual_size, r.locator.rowid,
         r.locator.key_path)
        for r in records(root, "acquisition_integrity")
    ]


def _damaged_backup(tmp_path: Path, seed: int) -> Path:
    rng = random.Random(seed)
    builder = BackupBuilder(tmp_path / "b")
    names = [f"Library/Caches/app{i % 7}/file{i}.dat" for i in range(120)]
    for i, name in enumerate(names):
        builder.add_file(f"AppDomain-com.example.app{i % 5}", name, bytes([i % 251]) * rng.randint(0, 300))
    builder.add_entry_only("HomeDomain", "Library/Preferences/gone.plist", size=42)
    builder.add_file("HomeDomain", "Library/Weird\\name.txt", b"backslash")
    root = builder.finish()
    conn = sqlite3.connect(root / "Manifest.db")
    ids = [row[0] for row in conn.execute("SELECT fileID FROM Files WHERE flags = 1 ORDER BY rowid")]
    chosen = rng.sample(ids, 40)
    for number, fid in enumerate(chosen):
        path = root / fid[:2] / fid
        how = number % 10
        if how == 0:
            path.unlink()  # missing
        elif how == 1:
            path.write_bytes(path.read_bytes() + b"grown")  # resized
        elif how == 2:
            path.unlink()
            path.symlink_to("/etc/hostname")  # not regular
        elif how == 3:
            path.rename(root / fid[:2] / fid.upper())  # stored under its upper-case name
        elif how == 4:
            other = root / ("0f" if fid[:2] != "0f" else "f0")
            other.mkdir(exist_ok=True)
            path.rename(other / fid)  # in another folder
        elif how == 5:
            upper = root / fid[:2].upper()
            if fid[:2] != fid[:2].upper():
                upper.mkdir(exist_ok=True)
                (upper / fid).write_bytes(b"a copy in the upper-case folder, listed first")
        elif how == 6:
            (root / fid[:2] / fid.upper()).write_bytes(b"the same name in upper case, listed before it")
        elif how == 7:
            conn.execute("UPDATE Files SET relativePath = relativePath || 'x' WHERE fileID = ?", (fid,))
        elif how == 8:
            conn.execute("UPDATE Files SET domain = NULL WHERE fileID = ?", (fid,))
        else:
            conn.execute("UPDATE Files SET fileID = upper(fileID) WHERE fileID = ?", (fid,))
    conn.execute("INSERT INTO Files VALUES ('not-a-file-id', 'HomeDomain', 'Library/odd', 1, NULL)")
    conn.execute("INSERT INTO Files VALUES ('ALSO-ODD', 'HomeDomain', 'Library/odd2', 1, x'00')")
    conn.execute("INSERT INTO Files VALUES (?, 'HomeDomain', CAST(? AS TEXT), 1, NULL)",
                 (hashlib.sha1(b"HomeDomain-Library/\xff.plist").hexdigest(), b"Library/\xff.plist"))  # noqa: S324
    conn.commit()
    conn.close()
    (root / "ab").mkdir(exist_ok=True)
    (root / "ab" / ("ab" + "1" * 38)).write_bytes(b"planted")
    (root / "ab" / "notes.txt").write_bytes(b"not a file id")
    (root / "ab" / "also-odd").write_bytes(b"listed under ALSO-ODD")
    (root / "CD").mkdir(exist_ok=True)
    (root / "CD" / ("CD" + "2" * 38)).write_bytes(b"upper-case folder and name")
    os.mkfifo(root / "ab" / ("ab" + "3" * 38))
    return root


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_check_agrees_with_the_plain_reference_on_a_backup_damaged_every_way(tmp_path: Path, seed: int) -> None:
    root = _damaged_backup(tmp_path, seed)
    before = snapshot(root)
    expected = _reference(root)
    assert {issue[0] for issue in expected} == {
        "missing", "size_mismatch", "not_regular", "extra", "name_mismatch"
    }
    assert _found(root) == expected
    assert snapshot(root) == before


def test_a_manifest_whose_files_table_is_a_view_is_refused(tmp_path: Path) -> None:
    """No backup tool writes Files as a view; a view can make the listing endless: the backup is refused
    with the reason, before anything is read through it."""
    from preuve.evidence.errors import AcquisitionError

    builder = BackupBuilder(tmp_path / "b")
    builder.add_file("HomeDomain", "Library/Preferences/a.plist", b"A" * 10)
    root = builder.finish()
    conn = sqlite3.connect(root / "Manifest.db")
    conn.execute("ALTER TABLE Files RENAME TO RealFiles")
    conn.execute("CREATE VIEW Files AS SELECT * FROM RealFiles")
    conn.commit()
    conn.close()
    before = snapshot(root)
    with pytest.raises(AcquisitionError) as raised:
        check(root)
    assert str(raised.value) == (
        f"{root / 'Manifest.db'}: cannot be read ('Files' is a view, not a table: not read (no database a phone "
        "writes keeps its records in a view, and a view can make a read endless))"
    )
    assert snapshot(root) == before


def test_the_check_belongs_to_the_backup_kind_and_runs_as_an_artifact(tmp_path: Path) -> None:
    assert [type(c) for c in acquisition_checks("ios")] == [BackupIntegrity, FileListing]  # and the dump's listing
    assert [type(c).__name__ for c in acquisition_checks("android")] == ["AndroidQFIntegrity"]
    folder = tmp_path / "dump" / "private" / "var" / "mobile"
    folder.mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"a")
    report = {r.name: r for r in check(tmp_path / "dump").artifacts}["acquisition_integrity"]
    assert str(report.status) == "not_collected"


def test_an_encrypted_backup_s_problems_name_their_rows(tmp_path: Path) -> None:
    """The rows reported are read again from the decrypted Manifest.db, not from the encrypted file."""
    from preuve.evidence.acquisition import Secrets
    from preuve.run.engine import run_check
    from preuve.run.results import CheckOptions
    from tests.builders.ios_encrypted import encrypt_backup

    builder = BackupBuilder(tmp_path / "p")
    builder.add_file("HomeDomain", "Library/Preferences/a.plist", b"A" * 40)
    builder.add_file("HomeDomain", "Library/Preferences/b.plist", b"B" * 40)
    enc = encrypt_backup(builder.finish(), tmp_path / "e", "pw", seed="integrity")
    gone = file_id("HomeDomain", "Library/Preferences/b.plist")
    (enc / gone[:2] / gone).unlink()
    before = snapshot(enc)
    found: list[BackupFileIssue] = []

    class Collect:
        def begin(self, opened: object, index: object) -> None: ...
        def artifact_started(self, artifact: object) -> None: ...
        def artifact_finished(self, artifact: object, report: object) -> None: ...
        def finish(self, result: object) -> None: ...

        def record(self, artifact: object, record: object, findings: object, stamps: object) -> None:
            if isinstance(record, BackupFileIssue):
                found.append(record)

    run_check(enc, CheckOptions(secrets=Secrets(password="pw"), only_artifacts=("acquisition_integrity",)),
              [Collect()])
    assert [(r.issue, r.file_id, r.domain, r.relative_path, r.expected_size) for r in found] == [
        ("missing", gone, "HomeDomain", "Library/Preferences/b.plist", 40)
    ]
    assert snapshot(enc) == before
