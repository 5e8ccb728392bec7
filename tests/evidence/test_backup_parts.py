"""A big Manifest.db is listed in row ranges on the run's jobs (BackupSource._manifest_members through
evidence.parallel.in_parts), a batch of rows at a time: the acquisition opened is the same, listing,
notes, what the integrity check gathers and every file's bytes, as when one process reads it, on a
backup damaged in every way, plain and encrypted; schemas a range would read in another order are
read by one process."""

from __future__ import annotations

import dataclasses
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import preuve.evidence.sources.backup as backup_module
from preuve.builders.ios_backup import BackupBuilder
from preuve.evidence.acquisition import OpenContext, Secrets, open_acquisition
from preuve.evidence.errors import AcquisitionError, EvidenceError
from preuve.evidence.fs import MountFS
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.evidence.parallel import can_fork
from preuve.evidence.sources.backup import BackupSource
from preuve.evidence.sources.encrypted_backup import EncryptedBackupSource
from tests.builders import feed, snapshot
from tests.builders.ios_encrypted import encrypt_backup
from tests.evidence.test_ios_integrity import _damaged_backup
from tests.helpers import RecordCollector

pytestmark = pytest.mark.skipif(not can_fork(2), reason="a backup is listed in parts only where processes fork")


@pytest.fixture
def ranges_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many ranges each listing of a Manifest.db was read in; every Manifest.db is split, however
    small, and its ranges read in batches of 7 rows."""
    monkeypatch.setattr(backup_module, "PARALLEL_MIN_ROWS", 10)
    monkeypatch.setattr(backup_module, "_BATCH_ROWS", 7)
    counts: list[int] = []
    original = backup_module.in_parts

    def spy(work, parts, jobs, folder):  # noqa: ANN001, ANN202 - delegates
        counts.append(parts)
        return original(work, parts, jobs, folder)

    monkeypatch.setattr(backup_module, "in_parts", spy)
    return counts


def _hostile_rows(root: Path) -> None:
    """Rows of every kind the listing treats apart, spread over the table."""
    conn = sqlite3.connect(root / "Manifest.db")
    rows = [
        ("d" * 40, "HomeDomain", "Library/Folder", 2, None),
        ("e" * 40, "HomeDomain", "Library/Folder/link", 4, None),
        ("f" * 40, "HomeDomain", "../../escape", 1, None),
        ("0" * 40, "HomeDomain", "Library/Folder", 1, None),  # a file where a folder was listed
        ("1" * 40, "HomeDomain", "Library/Preferences/twice.plist", 1, None),
        ("2" * 40, "HomeDomain", "Library/Preferences/twice.plist", 1, None),  # the later row stands
        ("not hex", "HomeDomain", "Library/bad-id", 8, None),
    ]
    for number, row in enumerate(rows * 3):
        fid = f"{row[0][:38]}{number:02x}" if len(row[0]) == 40 else f"{row[0]} {number}"
        conn.execute("INSERT INTO Files VALUES (?, ?, ?, ?, ?)", (fid, row[1], f"{row[2]}{number // 7 or ''}",
                                                                   row[3], row[4]))
    conn.commit()
    conn.close()


def _opened(root: Path, jobs: int, password: str | None = None) -> Iterator[MountFS]:
    with tempfile.TemporaryDirectory() as workdir:
        ctx = OpenContext(ledger=HashLedger(), limits=DEFAULT_LIMITS, workdir=Path(workdir),
                          secrets=Secrets(password=password), jobs=jobs)
        fs = open_acquisition(root, ctx).fs
        assert isinstance(fs, MountFS)
        try:
            yield fs
        finally:
            fs.close()


def _state(fs: MountFS) -> dict[str, object]:
    """What an opened backup is: its listing, notes, what the integrity check gathered, each member
    as its source knows it, and the bytes of every file."""
    (source,) = fs.sources(BackupSource)
    infos = list(fs.iter_files())
    state: dict[str, object] = {
        "paths": fs.paths(),
        "infos": infos,
        "notes": list(fs.notes),
        "listed": dataclasses.asdict(source.listed_files()),
        "decoded": dataclasses.asdict(source.decoded_mbfiles()),
        "members": [(source.file_id(ref), source.member_source_name(ref, "")) for ref in range(len(source._kinds))],  # noqa: SLF001
        "bytes": {info.device_path: _read(fs, info.device_path) for info in infos if fs.is_file(info.device_path)},
    }
    if isinstance(source, EncryptedBackupSource):
        state["keys"] = [source._file_key(ref) for ref in range(len(source._kinds))]  # noqa: SLF001
    return state


def _read(fs: MountFS, path: str) -> bytes | str:
    try:
        return fs.read_bytes(path)
    except EvidenceError as exc:
        return exc.reason


def _states(root: Path, ranges_read: list[int], password: str | None = None) -> list[dict[str, object]]:
    before = snapshot(root)
    states = []
    for jobs in (1, 2, 3):
        ranges_read.clear()
        for fs in _opened(root, jobs, password):
            states.append(_state(fs))
        assert ranges_read == ([] if jobs == 1 else [2 * jobs])
    assert snapshot(root) == before
    return states


@pytest.mark.parametrize("seed", [1, 2])
def test_a_damaged_backup_listed_in_parts_is_the_same(tmp_path: Path, ranges_read: list[int], seed: int) -> None:
    root = _damaged_backup(tmp_path, seed)
    _hostile_rows(root)
    sequential, *parted = _states(root, ranges_read)
    assert sequential["notes"] and any("leave the device root" in str(n) for n in sequential["notes"])  # type: ignore[attr-defined]
    for state in parted:
        assert state == sequential


def test_an_encrypted_backup_listed_in_parts_is_the_same(tmp_path: Path, ranges_read: list[int]) -> None:
    builder = BackupBuilder(tmp_path / "plain")
    for n in range(60):
        builder.add_file(f"AppDomain-com.example.app{n % 4}", f"Library/Caches/file{n}.dat", bytes([n]) * (n * 7))
    builder.add_file("HomeDomain", "Library/empty", b"")  # no key: an empty file
    builder.add_link("HomeDomain", "Library/link", "../target")
    root = encrypt_backup(builder.finish(), tmp_path / "enc", "pw", seed="parts")
    sequential, *parted = _states(root, ranges_read, password="pw")
    assert len(sequential["bytes"]) == 61 + 4  # type: ignore[arg-type] # and Info, Manifest, Status, Manifest.db
    for state in parted:
        assert state == sequential


def test_the_integrity_check_and_the_manifest_are_the_same(tmp_path: Path, ranges_read: list[int]) -> None:
    from preuve.run.engine import run_check
    from preuve.run.results import CheckOptions

    root = _damaged_backup(tmp_path, 3)
    _hostile_rows(root)
    seen = []
    for jobs in (1, 2):
        collector = RecordCollector()
        run_check(root, CheckOptions(only_artifacts=("acquisition_integrity", "manifest"), jobs=jobs), sinks=[collector])
        seen.append(collector.records)
    assert seen[0] and seen[1] == seen[0]


def _small_backup(tmp_path: Path, manifest_wal: bool = False) -> Path:
    builder = BackupBuilder(tmp_path / "b")
    for n in range(30):
        builder.add_file("HomeDomain", f"Library/f{n}", b"x")
    return builder.finish(manifest_wal=manifest_wal)


def _altered(root: Path, *statements: str) -> None:
    conn = sqlite3.connect(root / "Manifest.db")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def _one_range(root: Path, ranges_read: list[int]) -> None:
    for fs in _opened(root, 2):
        assert fs.paths()
    assert ranges_read == []


def test_a_column_declared_rowid_is_read_by_one_process(tmp_path: Path, ranges_read: list[int]) -> None:
    root = _small_backup(tmp_path)
    _altered(
        root,
        "ALTER TABLE Files RENAME TO Old",
        "CREATE TABLE Files (fileID TEXT, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB, rowid INT)",
        "INSERT INTO Files SELECT fileID, domain, relativePath, flags, file, 1000 - rowid FROM Old",
        "DROP TABLE Old",
    )
    _one_range(root, ranges_read)


def test_an_index_covering_every_column_is_read_by_one_process(tmp_path: Path, ranges_read: list[int]) -> None:
    root = _small_backup(tmp_path)
    _altered(  # a wide column the listing does not read makes the index the smaller one to scan
        root,
        "ALTER TABLE Files ADD COLUMN pad BLOB",
        "UPDATE Files SET pad = zeroblob(3000)",
        "CREATE INDEX everything ON Files (relativePath, fileID, domain, flags, file)",
        "ANALYZE",
    )
    plan = sqlite3.connect(root / "Manifest.db").execute(
        "EXPLAIN QUERY PLAN SELECT rowid, fileID, domain, relativePath, flags, file FROM Files"
    ).fetchall()
    assert "COVERING INDEX" in str(plan)
    _one_range(root, ranges_read)


def test_a_manifest_with_a_live_wal_is_read_by_one_process(tmp_path: Path, ranges_read: list[int]) -> None:
    root = _small_backup(tmp_path, manifest_wal=True)
    assert (root / "Manifest.db-wal").stat().st_size > 0
    _one_range(root, ranges_read)


def test_the_folders_are_listed_beside_the_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A backup's hashed-name folders are listed by a process begun beside the open (what it has not
    listed when the check wants them is listed then: parallel.later), and the integrity check finds
    what it finds when this process lists them all itself."""
    from preuve.run.engine import run_check
    from preuve.run.results import CheckOptions

    root = _damaged_backup(tmp_path, 5)
    here: list[int] = []
    begun: list[int] = []
    listing, listing_later = backup_module.list_folders, backup_module.list_folders_later

    def counted(*args: object) -> object:
        here.append(1)
        return listing(*args)  # type: ignore[arg-type]

    def counted_later(root: Path, limits: object, jobs: int, folder: Path) -> object:
        begun.append(jobs)
        return listing_later(root, limits, jobs, folder)  # type: ignore[arg-type]

    monkeypatch.setattr(backup_module, "list_folders", counted)
    monkeypatch.setattr(backup_module, "list_folders_later", counted_later)

    def runs() -> list[tuple[list[object], int, list[int]]]:
        seen = []
        for jobs in (1, 2):
            here.clear()
            begun.clear()
            collector = RecordCollector()
            run_check(root, CheckOptions(only_artifacts=("acquisition_integrity",), jobs=jobs), sinks=[collector])
            seen.append((collector.records, len(here), list(begun)))
        return seen

    # A Manifest.db this small lists few files: its folders are listed when wanted, by this process.
    assert (root / "Manifest.db").stat().st_size < backup_module.LIST_BESIDE_MIN_BYTES
    small = runs()
    assert [(count, started) for _, count, started in small] == [(1, []), (1, [])]
    monkeypatch.setattr(backup_module, "LIST_BESIDE_MIN_BYTES", 0)
    seen = runs()
    assert seen[0][0] and seen[1][0] == seen[0][0] == small[0][0]
    # (with one job, parallel.later begins nothing beside: every folder is listed when wanted)
    assert [(count, started) for _, count, started in seen] == [(0, [1]), (0, [2])]


def test_folders_past_the_bound_beside_the_open_fail_the_check_as_listed_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More stored files than the bound: the process beside gives up, the check lists the folders
    itself and reports the bound exactly as with one job."""
    from preuve.run.engine import run_check
    from preuve.run.results import CheckOptions

    root = _small_backup(tmp_path)  # 30 files listed
    (root / "ab").mkdir(exist_ok=True)
    for n in range(10):  # stored, listed nowhere: 40 stored files in all
        (root / "ab" / f"ab{n:038x}").write_bytes(b"y")
    monkeypatch.setattr(backup_module, "LIST_BESIDE_MIN_BYTES", 0)
    limits = dataclasses.replace(DEFAULT_LIMITS, max_archive_entries=35)
    reports = []
    for jobs in (1, 2):
        result = run_check(root, CheckOptions(only_artifacts=("acquisition_integrity",), jobs=jobs, limits=limits))
        (report,) = [r for r in result.artifacts if r.name == "acquisition_integrity"]
        reports.append((report.status, report.errors, report.records))
    assert reports[1] == reports[0]
    assert reports[0][1] and "more than 35" in reports[0][1][0]


def test_an_encrypted_backups_folders_are_listed_while_its_keys_are_unlocked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folders' listing starts before the password unlocks the keys (seconds on one core), and
    a password that unlocks nothing leaves no process and no file behind."""
    import multiprocessing

    import preuve.evidence.ios_encrypted as encrypted_module

    root = encrypt_backup(_small_backup(tmp_path), tmp_path / "enc", "pw")
    monkeypatch.setattr(backup_module, "LIST_BESIDE_MIN_BYTES", 0)
    unlock = encrypted_module.unlock_backup
    beside: list[int] = []

    def unlocking(*args: object, **kwargs: object) -> object:
        beside.append(len(multiprocessing.active_children()))
        return unlock(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(encrypted_module, "unlock_backup", unlocking)
    work = tmp_path / "work"
    work.mkdir()
    for password, opens in (("pw", True), ("wrong", False)):
        ctx = OpenContext(ledger=HashLedger(), limits=DEFAULT_LIMITS, workdir=work, secrets=Secrets(password=password),
                          jobs=2)
        if opens:
            opened = open_acquisition(root, ctx)
            assert opened.fs.paths()
            opened.fs.close()
        else:
            with pytest.raises(AcquisitionError, match="password"):
                open_acquisition(root, ctx)
        assert multiprocessing.active_children() == []
        assert [p.name for p in work.iterdir() if p.name.startswith("later-")] == []
    assert beside == [1, 1]


@pytest.mark.parametrize("encrypted", [False, True])
def test_the_folders_are_listed_beside_only_for_a_run_with_the_integrity_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encrypted: bool
) -> None:
    """The folders' listing beside the open serves the integrity check alone: a run of every artifact or
    of the check starts it, a run of other artifacts (`--artifact`) does not, and a verify starts it
    only when some finding is the check's. Each run finds what it finds when every listing is made."""
    from preuve.proof.verify import Status, verify
    from preuve.report.outdir import check_into_folder
    from preuve.run.engine import run_check
    from preuve.run.results import CheckOptions

    if encrypted:
        root, secrets = encrypt_backup(_small_backup(tmp_path), tmp_path / "enc", "pw"), Secrets(password="pw")
        stored = sorted(path for path in root.glob("??/*") if path.is_file())
        stored[0].unlink()  # (an integrity problem: a file listed, not stored)
        planted = "/private/var/mobile/Library/f7"
    else:
        root, secrets = _damaged_backup(tmp_path, 5), Secrets()
        planted = "/private/var/mobile/Containers/Data/Application/com.example.app0/Library/Caches/app0/file0.dat"
    monkeypatch.setattr(backup_module, "LIST_BESIDE_MIN_BYTES", 0)
    started: list[int] = []
    original = backup_module.list_folders_later

    def spy(root, limits, jobs, folder):  # noqa: ANN001, ANN202 - delegates
        started.append(jobs)
        return original(root, limits, jobs, folder)

    monkeypatch.setattr(backup_module, "list_folders_later", spy)
    seen = {}
    for only in ((), ("acquisition_integrity",), ("manifest", "backup_info")):
        started.clear()
        collector = RecordCollector()
        result = run_check(root, CheckOptions(only_artifacts=only, jobs=2, secrets=secrets), sinks=[collector])
        assert [(r.name, r.errors) for r in result.artifacts if r.errors] == []
        statuses = {r.name: str(r.status) for r in [*result.artifacts, *result.left_out]}
        assert (statuses["acquisition_integrity"] == "not_selected") == (only == ("manifest", "backup_info"))
        seen[only] = (len(started), sorted(r.record_type for r in collector.records))
    assert [count for count, _ in seen.values()] == [1, 1, 0]
    everything = seen[()][1]
    assert seen[("acquisition_integrity",)][1] == [t for t in everything if t == "ios:backup:integrity"]
    assert "ios:backup:integrity" in everything and "ios:manifest:file" in everything
    restricted = seen[("manifest", "backup_info")][1]
    assert "ios:backup:integrity" not in restricted
    assert [t for t in restricted if t == "ios:manifest:file"] == [t for t in everything if t == "ios:manifest:file"]
    iocs = (feed(tmp_path / "planted.stix2", (f"[file:path = '{planted}']", "Planted")),)
    for only, artifacts, starts in (((), {"acquisition_integrity", "manifest"}, 1), (("manifest",), {"manifest"}, 0)):
        out = tmp_path / f"out-{len(only)}"
        check_into_folder(root, CheckOptions(iocs=iocs, only_artifacts=only, jobs=2, secrets=secrets), out)
        started.clear()
        checks = verify(out / "bundle.json", root, iocs, options=CheckOptions(jobs=2, secrets=secrets)).checks
        assert {c.finding.artifact for c in checks} == artifacts
        assert {c.status for c in checks} == {Status.CONFIRMED}
        assert len(started) == starts


def test_a_backup_listed_for_a_run_without_the_integrity_check_gathers_nothing_for_it(tmp_path: Path) -> None:
    """Made for a run without the check, the source lists the same members and gathers nothing of the
    rows for the check: asked for what it gathered, it refuses rather than report a backup with no file."""
    root = _small_backup(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    listings = []
    for integrity in (True, False):
        source = BackupSource(root, DEFAULT_LIMITS, HashLedger(), work, 2, None, integrity)
        try:
            listings.append(list(source.members()))
            if integrity:
                assert len(source.listed_files()) == 30
            else:
                with pytest.raises(EvidenceError, match="without the backup's integrity check"):
                    source.listed_files()
        finally:
            source.close()
    assert listings[0] == listings[1] and len(listings[0]) > 30
    assert list(work.iterdir()) == []
