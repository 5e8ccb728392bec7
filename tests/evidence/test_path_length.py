"""Paths longer than any a phone's file system holds (Limits.max_path_chars) are refused by the
listing, which keeps every path it places for the whole run, with a note that shows the path cut;
the Manifest artifact still gives the rows, whole. A hostile Manifest.db of 30 paths of 20 MB each
took 1.6 GB; the listing now keeps none of them, and the artifact reads rows in blocks bounded by
the characters of their texts."""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
import tempfile
from pathlib import Path

from preuve.builders.ios_backup import BackupBuilder, file_id, mbfile_blob
from preuve.builders.ios_dbs import Message, fill_sms
from preuve.evidence.acquisition import OpenContext, open_acquisition
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits
from preuve.evidence.policy import SHOWN_CHARS, shown
from tests.builders import feed
from tests.hostile.harness import check_hostile

_LIMITS = Limits(max_path_chars=120)


def _open(evidence: Path, limits: Limits = _LIMITS):  # noqa: ANN202 - the acquisition opened
    return open_acquisition(
        evidence,
        OpenContext(ledger=HashLedger(), limits=limits, workdir=Path(tempfile.mkdtemp()), warn=lambda m: None),
    )


def _backup_with_long_paths(root: Path, long: int) -> Path:
    builder = BackupBuilder(root)
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, [Message(text="fine")]))
    root = builder.finish()
    conn = sqlite3.connect(root / "Manifest.db")
    for n in range(3):
        relative = f"Library/{'a' * long}{n}"
        conn.execute(
            "INSERT INTO Files VALUES (?, ?, ?, ?, ?)",
            (file_id("HomeDomain", relative), "HomeDomain", relative, 2, mbfile_blob(relative, 0, 0, 0o40755, 2)),
        )
    conn.commit()
    conn.close()
    return root


def test_shown_keeps_a_name_up_to_its_bound_and_cuts_a_longer_one() -> None:
    assert shown("a" * SHOWN_CHARS) == "a" * SHOWN_CHARS
    name = "b" * 600 + "c" * 1000 + "d" * 600
    cut = shown(name)
    half = SHOWN_CHARS // 2
    assert cut == "b" * half + "…(2,200 characters)…" + "d" * half


def test_a_backup_row_longer_than_a_path_is_refused_by_the_listing_and_read_by_its_artifact(tmp_path: Path) -> None:
    root = _backup_with_long_paths(tmp_path / "b", 200)
    opened = _open(root)
    try:
        paths = opened.fs.paths()
        assert not [p for p in paths if "aaaa" in p]
        assert "/private/var/mobile/Library/SMS/sms.db" in paths
        too_long = [n for n in opened.fs.notes if "longer than any a phone" in n]
        assert too_long == [
            f"member refused: /private/var/mobile/Library/{'a' * 200}{n}: a path of 229 characters, longer than "
            "any a phone's file system holds (120)"
            for n in range(3)
        ]
    finally:
        opened.fs.close()
    # The same backup with the default bound (4,096): every row listed.
    opened = _open(root, Limits())
    try:
        assert len([p for p in opened.fs.paths() if "aaaa" in p]) == 3
        assert not [n for n in opened.fs.notes if "longer than any a phone" in n]
    finally:
        opened.fs.close()


def test_a_member_of_an_archive_longer_than_a_path_is_refused(tmp_path: Path) -> None:
    """Any source's member (here a pax header's name in a file-system dump) goes through the same bound."""
    dump = tmp_path / "dump.tar"
    with tarfile.open(dump, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in (("private/var/mobile/Library/SMS/sms.db", b"x"), (f"private/var/{'z' * 300}", b"y")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    opened = _open(dump)
    try:
        assert "/private/var/mobile/Library/SMS/sms.db" in opened.fs.paths()
        assert not [p for p in opened.fs.paths() if "zzz" in p]
        assert [n for n in opened.fs.notes if "longer than any a phone" in n] == [
            f"member refused: /private/var/{'z' * 300}: a path of 313 characters, longer than any a phone's "
            "file system holds (120)"
        ]
    finally:
        opened.fs.close()


def test_a_manifest_of_paths_of_megabytes_through_check(tmp_path: Path) -> None:
    """Three rows whose paths are 3 MB each: the notes show them cut, the Manifest artifact's records
    hold them whole, the rest of the backup is read."""
    root = _backup_with_long_paths(tmp_path / "b", 3 << 20)
    out = tmp_path / "o"
    outcome = check_hostile(root, out, "--iocs", str(feed(tmp_path / "f.stix2", ("[domain-name:value='x.example']", "X"))))
    assert outcome.code in (0, 3), outcome.text
    run = json.loads((out / "run.json").read_text())
    refused = [w for w in run["warnings"] if "longer than any a phone" in w]
    assert refused == [
        f"{root / 'Manifest.db'}: member refused: {shown(f'/private/var/mobile/Library/{chr(97) * (3 << 20)}{n}')}: "
        "a path of 3,145,757 characters, longer than any a phone's file system holds (4,096)"
        for n in range(3)
    ]
    assert all(len(w) < SHOWN_CHARS + 300 for w in refused)
    lines = (out / "artifacts" / "manifest.jsonl").read_text().splitlines()
    long_rows = [json.loads(line) for line in lines if len(line) > 3 << 20]
    assert [row["relative_path"] for row in long_rows] == [f"Library/{'a' * (3 << 20)}{n}" for n in range(3)]
    assert len((out / "artifacts" / "sms.jsonl").read_text().splitlines()) == 1
