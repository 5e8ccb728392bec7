from __future__ import annotations

import hashlib
import plistlib
from pathlib import Path

import pytest

from preuve.builders.demo import build_demo_backup
from preuve.builders.ios_backup import BackupBuilder
from preuve.evidence.acquisition import OpenContext, Secrets, open_acquisition
from preuve.evidence.crypto.ios_keybag import KeybagError, parse_keybag
from preuve.evidence.errors import AcquisitionError, EvidenceError
from preuve.evidence.ios_encrypted import derive_backup_key
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from tests.builders import snapshot
from tests.builders.demo_expected import DEMO_FINDINGS
from tests.builders.ios_encrypted import encrypt_backup

PASSWORD = "correct horse battery staple"


def _ctx(tmp_path: Path, secrets: Secrets) -> OpenContext:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return OpenContext(ledger=HashLedger(), limits=DEFAULT_LIMITS, workdir=work, secrets=secrets)


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    plain = build_demo_backup(tmp_path / "plain")
    return plain, encrypt_backup(plain, tmp_path / "enc", PASSWORD)


def _identity(result: object) -> list[dict[str, object]]:
    out = []
    for f in result.findings:  # type: ignore[attr-defined]
        item = f.identity() | {"id": f.id, "explanation": f.explanation}
        if f.locator.device_path == "/.acquisition/backup/Manifest.db":
            # An encrypted backup's Manifest.db is another file (its rows carry the file keys): same
            # row, same observable, another file hash, so another finding id.
            item["locator"] = {k: v for k, v in f.locator.as_dict().items() if k != "sha256"}
            del item["id"]
        out.append(item)
    return out


def test_encrypted_and_plain_give_identical_findings(tmp_path: Path, pegasus_feed: Path) -> None:
    plain, enc = _pair(tmp_path)
    before = snapshot(enc)
    plain_result = run_check(plain, CheckOptions(iocs=(pegasus_feed,)))
    enc_result = run_check(enc, CheckOptions(iocs=(pegasus_feed,), secrets=Secrets(password=PASSWORD)))
    assert snapshot(enc) == before
    assert enc_result.acquisition_kind == "ios_backup"
    assert len(plain_result.findings) == DEMO_FINDINGS
    assert _identity(enc_result) == _identity(plain_result)
    assert [(a.name, a.status, a.records) for a in enc_result.artifacts] == [
        (a.name, a.status, a.records) for a in plain_result.artifacts
    ]
    plain_files = {e.device_path: e.sha256 for e in plain_result.evidence_files}
    enc_files = {e.device_path: e.sha256 for e in enc_result.evidence_files}
    assert enc_files["/private/var/mobile/Library/SMS/sms.db"] == plain_files["/private/var/mobile/Library/SMS/sms.db"]
    assert "/.acquisition/backup/encrypted/Manifest.db" in enc_files
    sources = {e.device_path: e.source for e in enc_result.evidence_files}
    assert sources["/private/var/mobile/Library/SMS/sms.db"].endswith("(decrypted)")


def test_derived_key_opens_like_the_password(tmp_path: Path) -> None:
    plain, enc = _pair(tmp_path)
    key = derive_backup_key(enc, PASSWORD, DEFAULT_LIMITS)
    assert len(key) == 32
    fs = open_acquisition(enc, _ctx(tmp_path, Secrets(key=key))).fs
    try:
        data = fs.read_bytes("/private/var/mobile/Library/SMS/sms.db")
    finally:
        fs.close()
    fid_files = sorted(p for p in plain.glob("*/*") if p.parent.name != "Manifest.db")
    assert data in {p.read_bytes() for p in fid_files}
    assert data.startswith(b"SQLite format 3\x00")


def test_wrong_password_and_key_are_refused(tmp_path: Path) -> None:
    _, enc = _pair(tmp_path)
    with pytest.raises(AcquisitionError, match="wrong password") as info:
        open_acquisition(enc, _ctx(tmp_path, Secrets(password="nope")))
    assert "nope" not in str(info.value)
    with pytest.raises(AcquisitionError, match="wrong key"):
        open_acquisition(enc, _ctx(tmp_path, Secrets(key=bytes(32))))
    with pytest.raises(AcquisitionError, match="--password-file"):
        open_acquisition(enc, _ctx(tmp_path, Secrets()))
    with pytest.raises(AcquisitionError, match="wrong password"):
        derive_backup_key(enc, "nope", DEFAULT_LIMITS)
    assert list((tmp_path / "work").iterdir()) == []


def test_sizes_and_padding(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "p")
    payloads = {f"f{n}.bin": bytes(range(256))[:n] * 1 for n in (0, 1, 15, 16, 17, 255)}
    for name, data in payloads.items():
        builder.add_file("HomeDomain", name, data)
    plain = builder.finish()
    enc = encrypt_backup(plain, tmp_path / "e", "pw", seed="sizes")
    fs = open_acquisition(enc, _ctx(tmp_path, Secrets(password="pw"))).fs
    try:
        for name, data in payloads.items():
            assert fs.read_bytes(f"/private/var/mobile/{name}") == data
            assert fs.stat(f"/private/var/mobile/{name}").size == len(data)
    finally:
        fs.close()


@pytest.mark.parametrize(
    "blob",
    [b"SALT\x00\x00\x00\x04", b"SALT\x00\x00\x00\x01xITER\x00\x00\x00\x04\xff\xff\xff\xff",
     b"VERS\x00\x00\x00\x04\x00\x00\x00\x04"],
)
def test_hostile_keybags_are_refused(blob: bytes) -> None:
    with pytest.raises(KeybagError):
        parse_keybag(blob)


def test_damaged_keybag_is_a_clear_error(tmp_path: Path) -> None:
    _, enc = _pair(tmp_path)
    manifest = plistlib.loads((enc / "Manifest.plist").read_bytes())
    manifest["BackupKeyBag"] = manifest["BackupKeyBag"][:-7]
    (enc / "Manifest.plist").write_bytes(plistlib.dumps(manifest, fmt=plistlib.FMT_BINARY))
    with pytest.raises(AcquisitionError, match="damaged keybag"):
        open_acquisition(enc, _ctx(tmp_path, Secrets(password=PASSWORD)))


def test_damaged_ciphertexts(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "p")
    builder.add_file("HomeDomain", "good.txt", b"good")
    builder.add_file("HomeDomain", "cut.txt", b"x" * 40)
    plain = builder.finish()
    enc = encrypt_backup(plain, tmp_path / "e", "pw", seed="damage")
    from preuve.builders.ios_backup import file_id

    fid = file_id("HomeDomain", "cut.txt")
    blob = enc / fid[:2] / fid
    blob.write_bytes(blob.read_bytes()[:-5])  # no longer whole AES blocks
    fs = open_acquisition(enc, _ctx(tmp_path, Secrets(password="pw"))).fs
    try:
        assert fs.read_bytes("/private/var/mobile/good.txt") == b"good"
        assert fs.stat("/private/var/mobile/cut.txt").is_link  # listed, but not readable as a file
        with pytest.raises(EvidenceError, match="not a regular file"):
            fs.read_bytes("/private/var/mobile/cut.txt")
    finally:
        fs.close()
    (enc / "Manifest.db").write_bytes(bytes(4096))
    with pytest.raises(AcquisitionError, match="does not decrypt to a SQLite database"):
        open_acquisition(enc, _ctx(tmp_path, Secrets(password="pw")))
    assert list((tmp_path / "work").iterdir()) == []


def test_decrypted_database_copies_live_only_while_open(tmp_path: Path) -> None:
    _, enc = _pair(tmp_path)
    ctx = _ctx(tmp_path, Secrets(password=PASSWORD))
    fs = open_acquisition(enc, ctx).fs
    work = tmp_path / "work"
    try:
        with fs.sqlite("/private/var/mobile/Library/SMS/sms.db") as conn:
            assert conn.execute("SELECT COUNT(*) FROM message").fetchone()[0] > 0
            assert len([p for p in work.iterdir() if p.name.startswith("file-")]) == 1
        assert [p.name[:9] for p in work.iterdir()] == ["manifest-"]
    finally:
        fs.close()
    assert list(work.iterdir()) == []


def test_keys_and_sizes_follow_their_files_whatever_the_order_of_the_rows(tmp_path: Path) -> None:
    """The listing keeps each file's key and size in compact arrays, sorted with the files: rows listed
    in another order than their device paths still open with their own key and size."""
    import sqlite3

    builder = BackupBuilder(tmp_path / "p")
    payloads = {f"Library/f{n:02d}.bin": bytes([n]) * (n * 7) for n in range(1, 12)}
    for name, data in payloads.items():
        builder.add_file("HomeDomain", name, data)
    plain = builder.finish()
    conn = sqlite3.connect(plain / "Manifest.db")
    rows = conn.execute("SELECT * FROM Files ORDER BY rowid DESC").fetchall()
    conn.execute("DELETE FROM Files")
    conn.executemany("INSERT INTO Files VALUES (?, ?, ?, ?, ?)", rows)  # the last path first
    conn.commit()
    conn.close()
    enc = encrypt_backup(plain, tmp_path / "e", "pw", seed="order")
    fs = open_acquisition(enc, _ctx(tmp_path, Secrets(password="pw"))).fs
    try:
        for name, data in payloads.items():
            assert fs.stat(f"/private/var/mobile/{name}").size == len(data)
            assert fs.read_bytes(f"/private/var/mobile/{name}") == data
    finally:
        fs.close()


def test_manifest_is_read_once_and_its_copy_hashed_as_it_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The encrypted Manifest.db is hashed as it is decrypted (one read), and its decrypted copy as it
    is written: asking for the copy's hash reads nothing, and gives what reading the copy gives."""
    import preuve.evidence.fs as fs_module

    _, enc = _pair(tmp_path)
    ctx = _ctx(tmp_path, Secrets(password=PASSWORD))
    opened = open_acquisition(enc, ctx)
    try:
        lying = (enc / "Manifest.db").read_bytes()
        entry = ctx.ledger.get("/.acquisition/backup/encrypted/Manifest.db")
        assert entry is not None
        assert (entry.sha256, entry.size) == (hashlib.sha256(lying).hexdigest(), len(lying))
        read: list[int] = []
        real = fs_module.sha256_stream
        monkeypatch.setattr(
            fs_module, "sha256_stream", lambda stream, limit=None: read.append(1) or real(stream, limit)
        )
        member = "/.acquisition/backup/Manifest.db"
        digest = opened.fs.sha256(member)
        assert read == []
        with opened.fs.open(member) as stream:
            copy = stream.read()
        assert copy[:16] == b"SQLite format 3\x00"
        assert digest == hashlib.sha256(copy).hexdigest()
        copied = ctx.ledger.get(member)
        assert copied is not None
        assert (copied.size, copied.source) == (len(copy), "Manifest.db (decrypted)")
    finally:
        opened.fs.close()


@pytest.mark.parametrize("extra", [1, 15])
def test_a_manifest_that_is_not_whole_aes_blocks_is_refused_before_it_is_read(tmp_path: Path, extra: int) -> None:
    _, enc = _pair(tmp_path)
    with open(enc / "Manifest.db", "ab") as file:
        file.write(b"\0" * extra)
    with pytest.raises(AcquisitionError, match="not a whole number of AES blocks"):
        open_acquisition(enc, _ctx(tmp_path, Secrets(password=PASSWORD)))
