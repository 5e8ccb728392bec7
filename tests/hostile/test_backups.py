"""Hostile iOS backups through `preuve check`, in a guarded child process.

Each case: finishes within the time bound, inside the memory bound, leaves every evidence byte and
the folder listing unchanged, shows no traceback and no escape sequence, and when an artifact is
damaged names it in the summary with exit 3 while the other artifacts still run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from preuve.builders.ios_backup import BackupBuilder, file_id, mbfile_blob
from preuve.builders.ios_dbs import Message, Process, fill_datausage, fill_sms, sms_schema
from tests.builders import feed, snapshot
from tests.hostile.harness import check_hostile, run_python

SMS = ("HomeDomain", "Library/SMS/sms.db")
DATAUSAGE = ("WirelessDomain", "Library/Databases/DataUsage.sqlite")
LINK = "https://a.evil.example/x"



def _nothing_feed(tmp_path: Path) -> Path:
    """One indicator that matches nothing here: exit 0 then means a full check found nothing (without
    indicators a run is heuristics only, exit 3)."""
    from tests.builders import feed

    return feed(tmp_path / "nothing.stix2", ("[domain-name:value='never-seen.example']", "Nobody"))

def _with_datausage(builder: BackupBuilder) -> None:
    """A sound second artifact, to show it still runs when the first is hostile."""
    builder.add_sqlite(*DATAUSAGE, lambda c: fill_datausage(c, [Process(1, "locationd"), Process(2, "bh")]))


def _feed(tmp_path: Path) -> Path:
    return feed(tmp_path / "evil.stix2", ("[domain-name:value='evil.example']", "Spy"))


def _statuses(out: Path) -> dict[str, str]:
    return {a["name"]: a["status"] for a in json.loads((out / "run.json").read_text())["artifacts"]}


def _raw_sms(builder: BackupBuilder, statements: list[str], rows: list[tuple[object, ...]] | None = None) -> None:
    def fill(conn: sqlite3.Connection) -> None:
        for statement in statements:
            conn.execute(statement)
        for row in rows or ():
            conn.execute("INSERT INTO message (ROWID, guid, text, date) VALUES (?, ?, ?, ?)", row)

    builder.add_sqlite(*SMS, fill)


def _assert_damaged(outcome_text: str, code: int, out: Path, artifact: str = "sms") -> None:
    assert code == 3, outcome_text
    assert f"{artifact} could not be read" in outcome_text
    statuses = _statuses(out)
    assert statuses[artifact] == "failed"
    assert statuses["datausage"] == "ok"  # the other artifact still ran


def test_uncheckpointed_wal_rows_not_lost(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    messages = [Message(text=f"m{i}") for i in range(30)] + [Message(text=f"go {LINK}")]
    builder.add_sqlite(*SMS, lambda c: fill_sms(c, messages), wal=True)
    root = builder.finish(manifest_wal=True)  # Manifest.db rows live only in its WAL too
    outcome = check_hostile(root, tmp_path / "o", "--iocs", str(_feed(tmp_path)))
    assert outcome.code == 2, outcome.text
    assert len((tmp_path / "o" / "artifacts" / "sms.jsonl").read_text().splitlines()) == 31
    assert sorted(p.name for p in root.iterdir() if p.name.startswith("Manifest")) == [
        "Manifest.db", "Manifest.db-wal", "Manifest.plist",
    ]  # no -shm was created beside the evidence


def _hot_journal_db(folder: Path) -> tuple[bytes, bytes]:
    """A database with two committed messages and a hot journal left by a writer that died mid-transaction."""
    db = folder / "sms.db"
    script = textwrap.dedent(
        """
        import os, sqlite3, sys
        conn = sqlite3.connect(sys.argv[1], isolation_level=None)
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("CREATE TABLE message (ROWID INTEGER PRIMARY KEY, guid TEXT, text TEXT, date INTEGER)")
        conn.execute("INSERT INTO message VALUES (1, 'g1', 'first', 0), (2, 'g2', 'second', 0)")
        conn.execute("PRAGMA cache_size=1")
        conn.execute("BEGIN")
        conn.execute("UPDATE message SET text = 'uncommitted'")
        conn.executemany("INSERT INTO message (guid, text) VALUES (?, ?)", [(str(i), 'x' * 500) for i in range(3000)])
        os._exit(0)  # dies holding the transaction: the journal stays hot
        """
    )
    subprocess.run([sys.executable, "-c", script, str(db)], check=True)  # noqa: S603
    journal = folder / "sms.db-journal"
    assert journal.stat().st_size > 0
    return db.read_bytes(), journal.read_bytes()


def test_hot_journal_rolled_back_on_a_copy(tmp_path: Path) -> None:
    work = tmp_path / "w"
    work.mkdir()
    data, journal = _hot_journal_db(work)
    builder = BackupBuilder(tmp_path / "b")
    builder.add_file(*SMS, data)
    builder.add_file(SMS[0], SMS[1] + "-journal", journal)
    _with_datausage(builder)
    root = builder.finish()
    outcome = check_hostile(root, tmp_path / "o", "--iocs", str(_nothing_feed(tmp_path)))
    assert outcome.code == 0, outcome.text
    texts = [json.loads(line)["text"] for line in (tmp_path / "o" / "artifacts" / "sms.jsonl").read_text().splitlines()]
    assert texts == ["first", "second"]  # the committed rows, as before the dead transaction


def test_paths_with_question_mark_and_hash(tmp_path: Path) -> None:
    folder = tmp_path / "case ?#1 %20&mode=rw"
    builder = BackupBuilder(folder / "backup")
    builder.add_sqlite(*SMS, lambda c: fill_sms(c, [Message(text=f"see {LINK}")]), wal=True)
    root = builder.finish()
    outcome = check_hostile(root, tmp_path / "out ?#", "--iocs", str(_feed(tmp_path)))
    assert outcome.code == 2, outcome.text
    findings = json.loads((tmp_path / "out ?#" / "findings.json").read_text())["findings"]
    assert [f["observable"]["value"] for f in findings] == [LINK]


_ERRORS = """
import sys
from pathlib import Path
from preuve.run.engine import CheckOptions, run_check
from preuve.evidence.limits import Limits
from preuve.report.outdir import OutputFolder
sink = OutputFolder(Path({out!r}), Path({root!r}))
result = run_check(Path({root!r}), CheckOptions(limits=Limits({limits})), sinks=[sink])
sink.close()
for report in result.artifacts:
    for error in report.errors:
        print(report.name, "could not be read:", error)
print("records", [(report.name, report.records) for report in result.artifacts if report.name == "sms"])
sys.exit(int(result.exit_code))
"""


def _errors(tmp_path: Path, root: Path, limits: str = "") -> tuple[str, int]:
    """`run_check` with the given Limits arguments: the artifacts' errors, one line each, then the sms
    artifact's record count; and the exit code."""
    before = snapshot(root)
    outcome = run_python(_ERRORS.format(out=str(tmp_path / "o"), root=str(root), limits=limits))
    assert snapshot(root) == before, "the evidence changed"
    _assert_damaged(outcome.text, outcome.code, tmp_path / "o")
    return outcome.stdout, outcome.code


_SMS_ERROR = "sms could not be read: /private/var/mobile/Library/SMS/sms.db: SQLite error: "


def _assert_sms_refused(tmp_path: Path, builder: BackupBuilder, reason: str) -> None:
    """The backup built (with a DataUsage database beside) reports sms.db refused for `reason`, and
    nothing else, and the sms artifact reads no record."""
    _with_datausage(builder)
    text, _ = _errors(tmp_path, builder.finish())
    assert text.splitlines() == [_SMS_ERROR + reason, "records [('sms', 0)]"]


def test_view_that_never_ends_refused(tmp_path: Path) -> None:
    """A view where sms.db has its message table, recursive and endless: refused as a view at once, with
    the default limits (it used to run until the 600 s deadline)."""
    builder = BackupBuilder(tmp_path / "b")
    _raw_sms(builder, [
        "CREATE VIEW message AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
        "SELECT n AS ROWID, 'x' AS text FROM r",
    ])
    _assert_sms_refused(tmp_path, builder, "'message' is a view, not a table: not read (no database a phone "
                        "writes keeps its records in a view, and a view can make a read endless)")


def test_schema_function_in_a_view_refused(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    _raw_sms(builder, ["CREATE VIEW message AS SELECT 1 AS ROWID, hex(randomblob(16)) AS text"])
    _with_datausage(builder)
    outcome = check_hostile(builder.finish(), tmp_path / "o")
    _assert_damaged(outcome.text, outcome.code, tmp_path / "o")
    assert "'message' is a view, not a table" in outcome.text


def test_value_computed_when_read_refused(tmp_path: Path) -> None:
    """A generated column makes a value as big as SQLite allows (64 MB; 1 MB here, so that the builder
    is quick) of each row of a small file when it is read (its value is in no byte of the database):
    refused, with its reason, where a reader names the column."""
    builder = BackupBuilder(tmp_path / "b")

    def fill(conn: sqlite3.Connection) -> None:
        conn.execute(
            "CREATE TABLE message (ROWID INTEGER PRIMARY KEY, guid TEXT, date INTEGER, "
            "text TEXT GENERATED ALWAYS AS (printf('%.*c', 1000000, 'x')) VIRTUAL)"
        )
        conn.executemany("INSERT INTO message (ROWID, guid, date) VALUES (?, ?, 0)", [(i, f"g{i}") for i in range(1, 21)])

    builder.add_sqlite(*SMS, fill)
    _assert_sms_refused(tmp_path, builder, "column 'text' of 'message' is computed when read (a generated "
                        "column), not stored: not read (a phone's databases store their values; a computed one "
                        "can be made any size)")


def test_join_that_multiplies_rows_stopped(tmp_path: Path) -> None:
    """A handle table whose ROWID is a plain column, 3,000 rows all 1, and 3,000 messages from handle 1:
    the artifact's join gives 9,000,000 rows from a small file. Stopped by the work budget, which grows
    with the file (a small floor here so the test is quick); the rows read before it are kept."""
    builder = BackupBuilder(tmp_path / "b")

    def fill(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE message (ROWID INTEGER PRIMARY KEY, guid TEXT, text TEXT, date INTEGER, handle_id INTEGER)")
        conn.execute("CREATE TABLE handle (ROWID INTEGER, id TEXT)")
        conn.executemany("INSERT INTO message VALUES (?, ?, 'hi', 0, 1)", [(i, f"g{i}") for i in range(1, 3001)])
        conn.executemany("INSERT INTO handle VALUES (1, ?)", [(f"+{i}",) for i in range(3000)])

    builder.add_sqlite(*SMS, fill)
    _with_datausage(builder)
    root = builder.finish()
    sms = next(root.glob(f"*/{file_id(*SMS)}"))
    size = sms.stat().st_size
    text, _ = _errors(tmp_path, root, "min_sqlite_steps=2_000_000, sqlite_steps_per_byte=4")
    lines = text.splitlines()
    steps = max(2_000_000, 4 * size)
    assert lines[0] == (
        _SMS_ERROR + f"stopped after {steps:,} SQLite steps (4 per byte of this {size:,}-byte database): real "
        "databases need about one; a hostile schema can make a query endless"
    )
    assert len(lines) == 2
    read = int(lines[1].removeprefix("records [('sms', ").removesuffix(")]"))
    assert 10_000 < read < 1_000_000  # some rows were read, and nowhere near the 9,000,000


def test_huge_blob_refused_by_length_limit(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")

    def fill(conn: sqlite3.Connection) -> None:
        for statement in sms_schema(16):
            conn.execute(statement)
        conn.execute("INSERT INTO message (guid, text, attributedBody) VALUES ('g', 'hi', zeroblob(3000000))")

    builder.add_sqlite(*SMS, fill)
    _with_datausage(builder)
    root = builder.finish()
    out = tmp_path / "o"
    outcome = run_python(
        f"""
        import sys
        from pathlib import Path
        from preuve.run.engine import CheckOptions, run_check
        from preuve.evidence.limits import Limits
        from preuve.report.outdir import OutputFolder
        sink = OutputFolder(Path({str(out)!r}), Path({str(root)!r}))
        result = run_check(Path({str(root)!r}), CheckOptions(limits=Limits(max_sqlite_cell_bytes=1_000_000)),
                           sinks=[sink])
        sink.close()
        for report in result.artifacts:
            for error in report.errors:
                print(report.name, "could not be read:", error)
        sys.exit(int(result.exit_code))
        """
    )
    _assert_damaged(outcome.text, outcome.code, out)
    assert "too big" in outcome.text


def test_invalid_utf8_kept_visible(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    _raw_sms(
        builder,
        sms_schema(16)[2:3],
        [(1, "g1", "ok", 0)],
    )
    root = builder.finish()
    sms_blob = root / file_id(*SMS)[:2] / file_id(*SMS)
    conn = sqlite3.connect(sms_blob)
    conn.execute("INSERT INTO message (ROWID, guid, text) VALUES (2, 'g2', CAST(X'6261649FFF20C3' AS TEXT))")
    conn.commit()
    conn.close()
    root = _refresh_manifest_sizes(builder)
    outcome = check_hostile(root, tmp_path / "o", "--iocs", str(_nothing_feed(tmp_path)))
    assert outcome.code == 0, outcome.text
    lines = (tmp_path / "o" / "artifacts" / "sms.jsonl").read_text().splitlines()
    assert [json.loads(line)["text"] for line in lines] == ["ok", "bad\\x9f\\xff \\xc3"]


def _refresh_manifest_sizes(builder: BackupBuilder) -> Path:
    """After editing a stored file in place, record its new size so the backup stays consistent."""
    for entry in builder._entries.values():
        if entry.flags == 1:
            fid = file_id(entry.domain, entry.relative_path)
            entry.size = (builder.root / fid[:2] / fid).stat().st_size
    return builder.finish()


def test_schema_drift_minimal_table(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    _raw_sms(builder, ["CREATE TABLE message (ROWID INTEGER PRIMARY KEY, guid TEXT, text TEXT, date INTEGER)"],
             [(1, "g", f"x {LINK}", 700000000)])
    outcome = check_hostile(builder.finish(), tmp_path / "o", "--iocs", str(_feed(tmp_path)))
    assert outcome.code == 2, outcome.text
    record = json.loads((tmp_path / "o" / "artifacts" / "sms.jsonl").read_text())
    assert record["handle"] is None and record["links"] == [LINK]


def test_truncated_database(tmp_path: Path) -> None:
    with_data = tmp_path / "full.db"
    conn = sqlite3.connect(with_data)
    fill_sms(conn, [Message(text=f"message {i} " + "x" * 200) for i in range(200)])
    conn.commit()
    conn.close()
    builder = BackupBuilder(tmp_path / "b")
    builder.add_file(*SMS, with_data.read_bytes()[:6000])
    _with_datausage(builder)
    outcome = check_hostile(builder.finish(), tmp_path / "o")
    _assert_damaged(outcome.text, outcome.code, tmp_path / "o")


def test_not_a_database(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_file(*SMS, b"SQLite format 3\x00" + os.urandom(5000))
    _with_datausage(builder)
    outcome = check_hostile(builder.finish(), tmp_path / "o")
    _assert_damaged(outcome.text, outcome.code, tmp_path / "o")


def test_nan_and_out_of_range_timestamps(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    _raw_sms(builder, ["CREATE TABLE message (ROWID INTEGER PRIMARY KEY, guid TEXT, text TEXT, date)"], [
        (1, "a", "nan", "NaN"), (2, "b", "inf", 1e308), (3, "c", "neg", -9.2e18), (4, "d", "text", "soon"),
        (5, "e", "ok", 700000000),
    ])
    outcome = check_hostile(builder.finish(), tmp_path / "o", "--iocs", str(_nothing_feed(tmp_path)))
    assert outcome.code == 0, outcome.text
    dates = [json.loads(x)["date"] for x in (tmp_path / "o" / "artifacts" / "sms.jsonl").read_text().splitlines()]
    assert dates == [None, None, None, None, "2023-03-08T20:26:40Z"]


def test_symlinked_and_fifo_files_never_followed(tmp_path: Path) -> None:
    secret = tmp_path / "outside-secret.db"
    conn = sqlite3.connect(secret)
    fill_sms(conn, [Message(text="SECRET-OUTSIDE-THE-EVIDENCE")])
    conn.commit()
    conn.close()
    builder = BackupBuilder(tmp_path / "b")
    blob = builder.add_file(*SMS, b"placeholder")
    _with_datausage(builder)
    fifo_blob = builder.add_file("HomeDomain", "Library/Preferences/x.plist", b"x")
    root = builder.finish()
    blob.unlink()
    blob.symlink_to(secret)
    fifo_blob.unlink()
    os.mkfifo(fifo_blob)
    out = tmp_path / "o"
    outcome = check_hostile(root, out)
    assert outcome.code == 3, outcome.text
    assert "sms could not be read" in outcome.text and "not a regular file" in outcome.text
    secret_hash = hashlib.sha256(secret.read_bytes()).hexdigest()
    for produced in out.rglob("*"):
        if produced.is_file():
            data = produced.read_bytes()
            assert b"SECRET-OUTSIDE" not in data and secret_hash.encode() not in data
    assert _statuses(out)["datausage"] == "ok"


def test_file_ids_that_leave_the_backup(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite(*SMS, lambda c: fill_sms(c, [Message(text="fine")]))
    root = builder.finish()
    conn = sqlite3.connect(root / "Manifest.db")
    rows = [
        ("../../../../../../etc/passwd", "HomeDomain", "Library/a", 1, mbfile_blob("a", 1, 0, 0o100644, 1)),
        ("0" * 40, "HomeDomain", "../../../../etc/passwd", 1, mbfile_blob("b", 1, 0, 0o100644, 1)),
        ("1" * 40, "../../..", "x", 1, mbfile_blob("c", 1, 0, 0o100644, 1)),
        ("/etc/passwd", "HomeDomain", "Library/b", 1, mbfile_blob("d", 1, 0, 0o100644, 1)),
    ]
    conn.executemany("INSERT INTO Files VALUES (?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    outcome = check_hostile(root, tmp_path / "o", "--iocs", str(_nothing_feed(tmp_path)))
    assert outcome.code == 0, outcome.text
    assert outcome.text.count("invalid file id") == 2
    assert outcome.text.count("path would leave the device root") == 2
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert all("passwd" not in e["source"] for e in run["evidence_files"])


def test_manifest_plist_with_entity_declarations(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite(*SMS, lambda c: fill_sms(c, [Message(text="fine")]))
    root = builder.finish()
    laughs = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    (root / "Manifest.plist").write_text(
        f'<?xml version="1.0"?><!DOCTYPE plist [{laughs}]><plist version="1.0"><dict><key>IsEncrypted</key>'
        "<string>&a9;</string></dict></plist>"
    )
    outcome = check_hostile(root, tmp_path / "o")
    # the artifact that reads Manifest.plist is named as damaged; every other artifact still runs
    assert outcome.code == 3, outcome.text
    assert "Manifest.plist: not a valid plist (XML entity declarations are not supported" in outcome.text
    statuses = _statuses(tmp_path / "o")
    assert statuses["applications"] == "failed"
    assert statuses["sms"] == "ok"


def test_terminal_and_spreadsheet_output_inert(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    hostile = [
        Message(text=f"<script>alert(1)</script> \x1b[2J\x1b]0;pwned\x07 {LINK}", handle="=HYPERLINK(\"http://x\")"),
        Message(text="=cmd|' /C calc'!A0", handle="+41790000002"),
    ]
    builder.add_sqlite(*SMS, lambda c: fill_sms(c, hostile))
    root = builder.finish()
    conn = sqlite3.connect(root / "Manifest.db")
    conn.execute(
        "INSERT INTO Files VALUES (?, 'HomeDomain', ?, 1, NULL)",
        ("2" * 40, "../\x1b[31mred\x1b[0m\x1b]8;;http://evil\x07link"),
    )
    conn.commit()
    conn.close()
    out = tmp_path / "o"
    outcome = check_hostile(root, out, "--iocs", str(_feed(tmp_path)), "--timeline", "csv")  # the harness asserts no ESC reached us
    assert outcome.code == 2, outcome.text
    assert "\\x1b[31mred" in outcome.text  # shown, escaped, in the warning
    with open(out / "timeline.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell
    messages = [row[2] for row in rows[1:]]
    assert any("'=HYPERLINK" in m or "=HYPERLINK" in m for m in messages)


def test_schema_with_invalid_utf8_names(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")

    def fill(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE message (ROWID INTEGER PRIMARY KEY, guid TEXT, text TEXT)")
        conn.execute("CREATE TABLE other (a)")
        conn.commit()
        conn.execute("PRAGMA writable_schema=ON")
        conn.execute("UPDATE sqlite_master SET name = CAST(X'6f7468ff1b5b326a' AS TEXT) WHERE name = 'other'")

    builder.add_sqlite(*SMS, fill)
    _with_datausage(builder)
    outcome = check_hostile(builder.finish(), tmp_path / "o")
    _assert_damaged(outcome.text, outcome.code, tmp_path / "o")
    assert "malformed database schema (oth\\xff\\x1b[2j)" in outcome.text.lower()


def test_manifest_files_view_that_never_ends(tmp_path: Path) -> None:
    root = BackupBuilder(tmp_path / "b").finish()
    conn = sqlite3.connect(root / "Manifest.db")
    conn.execute("DROP TABLE Files")
    conn.execute(
        "CREATE VIEW Files AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
        "SELECT printf('%040d', n) AS fileID, 'HomeDomain' AS domain, 'f' || n AS relativePath, 1 AS flags, "
        "NULL AS file FROM r"
    )
    conn.commit()
    conn.close()
    before = snapshot(root)
    outcome = run_python(
        f"""
        import sys
        from pathlib import Path
        from preuve.run.engine import CheckOptions, run_check
        from preuve.evidence.errors import PreuveError
        try:
            run_check(Path({str(root)!r}), CheckOptions())
        except PreuveError as exc:
            print("error:", exc)
            sys.exit(1)
        """
    )
    assert snapshot(root) == before
    assert outcome.code == 1, outcome.text
    assert outcome.stdout == (
        f"error: {root / 'Manifest.db'}: cannot be read ('Files' is a view, not a table: not read (no database "
        "a phone writes keeps its records in a view, and a view can make a read endless))\n"
    )
