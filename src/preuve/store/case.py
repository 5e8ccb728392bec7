"""The case store: every acquisition a lab examined, its records, observables and findings.

One SQLite file per case. It holds enough to answer "which phones we already
examined carry the traces just published?" without reading any evidence
again: every stored observable carries the lookup keys of
:mod:`preuve.indicators.keys`, indexed, so a retro-hunt is one index seek per
indicator. The schema is versioned and migrated in order; one writer at a
time (an exclusive lock file beside the case); every acquisition is written
in one transaction, so a crash mid-run leaves the case as it was, and a
re-run of the same acquisition replaces it.
"""

from __future__ import annotations

import fcntl
import sqlite3
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

import orjson

from preuve import __version__
from preuve.artifacts.base import Artifact
from preuve.detect.match import finding_for
from preuve.evidence.acquisition import Opened
from preuve.evidence.errors import PreuveError
from preuve.indicators.index import IndicatorIndex
from preuve.indicators.keys import indicator_queries, observable_keys
from preuve.model import Coverage, DeviceFacts, Finding, Kind, Locator, Observable, Record, Timestamp
from preuve.model.jsonio import to_iso
from preuve.report.formats.findings import finding_to_dict, summary_dict
from preuve.report.outdir import record_line
from preuve.run.sinks import RenderingSink

if TYPE_CHECKING:
    from preuve.run.results import CheckResult

SCHEMA_VERSION = 1

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
        "CREATE TABLE acquisitions (id INTEGER PRIMARY KEY, evidence TEXT UNIQUE NOT NULL, kind TEXT, "
        "platform TEXT, device TEXT, tool_version TEXT, started TEXT, finished TEXT, exit_code INTEGER, "
        "complete INTEGER, verdict TEXT, summary TEXT, run TEXT)",
        "CREATE TABLE evidence_files (acquisition_id INTEGER NOT NULL, device_path TEXT, source TEXT, "
        "size INTEGER, sha256 TEXT)",
        "CREATE INDEX evidence_files_acq ON evidence_files(acquisition_id)",
        "CREATE TABLE artifacts (acquisition_id INTEGER NOT NULL, name TEXT, title TEXT, status TEXT, "
        "records INTEGER, findings INTEGER, errors TEXT)",
        "CREATE INDEX artifacts_acq ON artifacts(acquisition_id)",
        "CREATE TABLE records (id INTEGER PRIMARY KEY, acquisition_id INTEGER NOT NULL, artifact TEXT, "
        "record_type TEXT, line BLOB, summary TEXT, timestamps TEXT, first_timestamp TEXT, record_sha256 TEXT, "
        "severity TEXT)",
        "CREATE INDEX records_acq ON records(acquisition_id)",
        "CREATE TABLE observables (record_id INTEGER NOT NULL, kind TEXT, value TEXT, key_kind TEXT, key TEXT)",
        "CREATE INDEX observables_key ON observables(key_kind, key)",
        "CREATE INDEX observables_record ON observables(record_id)",
        "CREATE TABLE findings (acquisition_id INTEGER NOT NULL, id TEXT NOT NULL, severity INTEGER, "
        "origin TEXT, doc BLOB, PRIMARY KEY (acquisition_id, id))",
        "CREATE TABLE fleet_jobs (evidence TEXT PRIMARY KEY, status TEXT, reason TEXT, exit_code INTEGER, "
        "findings INTEGER, updated TEXT)",
    ),
}


class CaseError(PreuveError):
    """The case store cannot be used as asked (locked, newer schema, not a case)."""


def _sqlite_words(exc: sqlite3.Error) -> str:
    from preuve.messages import sqlite_error_text

    return sqlite_error_text(exc)


@dataclass(frozen=True, slots=True)
class StoredAcquisition:
    id: int
    evidence: str
    kind: str
    platform: str
    device: str | None
    finished: str | None
    exit_code: int
    complete: bool
    verdict: str
    findings: int


@dataclass(frozen=True, slots=True)
class RehuntHit:
    acquisition: StoredAcquisition
    finding: Finding


class CaseStore:
    """A case file. Open with ``write=True`` to add acquisitions (takes the writer lock)."""

    def __init__(self, path: Path, *, write: bool = False, create: bool = True) -> None:
        """Open a case; ``create=False`` (with write) refuses a path where no case exists yet."""
        self.path = path
        self._lock: IO[str] | None = None
        if path.is_dir():
            raise CaseError(f"{path}: is a folder, not a case file")
        if (not write or not create) and not path.exists():
            raise CaseError(f"{path}: no such case (a case is made by `preuve check --case` or `preuve fleet`)")
        self._made_lock = False
        if write and create and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        if write:
            self._made_lock = not Path(str(path) + ".lock").exists()
            self._lock = open(str(path) + ".lock", "a")  # noqa: SIM115 - held until close()
            try:
                fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self._lock.close()
                raise CaseError(
                    f"{path}: another preuve process is writing this case; try again when it ends"
                ) from None
        try:
            if write:
                self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            else:
                # Reading never changes the file (nor turns a stranger's database to WAL).
                uri = "file:" + urllib.parse.quote(str(path.absolute()), safe="/") + "?mode=ro"
                self.conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            try:
                # Validated before anything is written: a file that is not a case is refused as it is.
                self.schema_version()
                if write:
                    self.conn.execute("PRAGMA journal_mode=WAL")
                    self.conn.execute("PRAGMA synchronous=NORMAL")
                self.conn.execute("PRAGMA foreign_keys=OFF")
                self._migrate(write)
            except BaseException:
                self.conn.close()
                raise
        except sqlite3.Error as exc:
            self._release(refused=True)
            raise CaseError(f"{path}: not a preuve case ({_sqlite_words(exc)})") from None
        except BaseException:
            self._release(refused=True)
            raise

    def _release(self, refused: bool = False) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None
            if refused and self._made_lock:
                Path(str(self.path) + ".lock").unlink(missing_ok=True)  # a refused file is left as it was

    def close(self) -> None:
        self.conn.close()
        self._release()

    def __enter__(self) -> CaseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ------------------------------------------------------------------------------
    def schema_version(self) -> int:
        has_meta = self.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
        if not has_meta:
            others = self.conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
            if others:
                raise CaseError(f"{self.path}: not a preuve case (a SQLite file with other tables)")
            return 0
        row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self, write: bool) -> None:
        current = self.schema_version()
        if current > SCHEMA_VERSION:
            raise CaseError(f"{self.path}: made by a newer preuve (schema {current}); upgrade preuve")
        if current == SCHEMA_VERSION:
            return
        if not write:
            raise CaseError(f"{self.path}: case schema {current} needs migrating; open it for writing once")
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    self.conn.execute(statement)
            self.conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    # -- writing -----------------------------------------------------------------------------
    def sink(self, evidence: Path) -> CaseSink:
        if self._lock is None:
            raise CaseError(f"{self.path}: opened read-only")
        return CaseSink(self, evidence)

    def _delete_acquisition(self, acquisition_id: int) -> None:
        c = self.conn
        c.execute(
            "DELETE FROM observables WHERE record_id IN (SELECT id FROM records WHERE acquisition_id = ?)",
            (acquisition_id,),
        )
        for table in ("records", "findings", "evidence_files", "artifacts"):
            c.execute(f"DELETE FROM {table} WHERE acquisition_id = ?", (acquisition_id,))  # noqa: S608
        c.execute("DELETE FROM acquisitions WHERE id = ?", (acquisition_id,))

    def set_job(self, evidence: str, status: str, reason: str = "", exit_code: int | None = None,
                findings: int = 0) -> None:
        from datetime import UTC, datetime

        self.conn.execute(
            "INSERT OR REPLACE INTO fleet_jobs VALUES (?, ?, ?, ?, ?, ?)",
            (evidence, status, reason, exit_code, findings, to_iso(datetime.now(UTC))),
        )

    def jobs(self) -> dict[str, tuple[str, str, int | None, int]]:
        rows = self.conn.execute("SELECT evidence, status, reason, exit_code, findings FROM fleet_jobs")
        return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}

    def merge_from(self, other: Path) -> None:
        """Copy every acquisition of another case file into this one (replacing same evidence)."""
        source = sqlite3.connect(f"file:{other}?mode=ro", uri=True)
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                for row in source.execute(
                    "SELECT id, evidence, kind, platform, device, tool_version, started, finished, exit_code, "
                    "complete, verdict, summary, run FROM acquisitions"
                ):
                    old = self.conn.execute("SELECT id FROM acquisitions WHERE evidence = ?", (row[1],)).fetchone()
                    if old:
                        self._delete_acquisition(old[0])
                    cur = self.conn.execute(
                        "INSERT INTO acquisitions (evidence, kind, platform, device, tool_version, started, "
                        "finished, exit_code, complete, verdict, summary, run) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                        row[1:],
                    )
                    new_id = cur.lastrowid
                    for table, columns in (
                        ("evidence_files", "device_path, source, size, sha256"),
                        ("artifacts", "name, title, status, records, findings, errors"),
                        ("findings", "id, severity, origin, doc"),
                    ):
                        rows = source.execute(
                            f"SELECT {columns} FROM {table} WHERE acquisition_id = ?", (row[0],)  # noqa: S608
                        )
                        marks = ", ".join("?" for _ in columns.split(","))
                        self.conn.executemany(
                            f"INSERT INTO {table} (acquisition_id, {columns}) VALUES (?, {marks})",  # noqa: S608
                            ((new_id, *r) for r in rows),
                        )
                    ids: dict[int, int] = {}
                    for rec in source.execute(
                        "SELECT id, artifact, record_type, line, summary, timestamps, first_timestamp, "
                        "record_sha256, severity FROM records WHERE acquisition_id = ? ORDER BY id",
                        (row[0],),
                    ):
                        cur = self.conn.execute(
                            "INSERT INTO records (acquisition_id, artifact, record_type, line, summary, timestamps, "
                            "first_timestamp, record_sha256, severity) VALUES (?,?,?,?,?,?,?,?,?)",
                            (new_id, *rec[1:]),
                        )
                        ids[rec[0]] = int(cur.lastrowid or 0)
                    self.conn.executemany(
                        "INSERT INTO observables VALUES (?, ?, ?, ?, ?)",
                        (
                            (ids[o[0]], *o[1:])
                            for o in source.execute(
                                "SELECT o.record_id, o.kind, o.value, o.key_kind, o.key FROM observables o "
                                "JOIN records r ON r.id = o.record_id WHERE r.acquisition_id = ?",
                                (row[0],),
                            )
                        ),
                    )
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        finally:
            source.close()

    # -- reading -----------------------------------------------------------------------------
    def acquisitions(self) -> list[StoredAcquisition]:
        rows = self.conn.execute(
            "SELECT a.id, a.evidence, a.kind, a.platform, a.device, a.finished, a.exit_code, a.complete, a.verdict, "
            "(SELECT COUNT(*) FROM findings f WHERE f.acquisition_id = a.id) FROM acquisitions a ORDER BY a.evidence"
        )
        return [
            StoredAcquisition(r[0], r[1], r[2], r[3], r[4], r[5], int(r[6] or 0), bool(r[7]), r[8] or "", int(r[9]))
            for r in rows
        ]

    def find(self, ident: str) -> StoredAcquisition:
        for acquisition in self.acquisitions():
            if str(acquisition.id) == ident or acquisition.evidence == ident or Path(acquisition.evidence).name == ident:
                return acquisition
        raise CaseError(f"{self.path}: no acquisition {ident!r} in this case")

    def finding_docs(self, acquisition_id: int) -> list[dict[str, object]]:
        rows = self.conn.execute(
            "SELECT doc FROM findings WHERE acquisition_id = ? ORDER BY severity DESC, id", (acquisition_id,)
        )
        return [orjson.loads(r[0]) for r in rows]

    def stored_document(self, acquisition_id: int, column: str) -> dict[str, object]:
        if column not in ("summary", "run"):
            raise ValueError(column)
        row = self.conn.execute(f"SELECT {column} FROM acquisitions WHERE id = ?", (acquisition_id,)).fetchone()  # noqa: S608
        return orjson.loads(row[0]) if row and row[0] else {}

    def record_lines(self, acquisition_id: int) -> Iterator[tuple[str, bytes]]:
        rows = self.conn.execute(
            "SELECT artifact, line FROM records WHERE acquisition_id = ? ORDER BY artifact, id", (acquisition_id,)
        )
        for artifact, line in rows:
            yield artifact, bytes(line)

    def timeline_rows(self, acquisition_id: int) -> Iterator[tuple[str, ...]]:
        """Rows in the columns of timeline.csv (see preuve.report.outdir.TIMELINE_COLUMNS)."""
        rows = self.conn.execute(
            "SELECT artifact, record_type, summary, timestamps, severity, line FROM records "
            "WHERE acquisition_id = ? AND timestamps IS NOT NULL ORDER BY artifact, id",
            (acquisition_id,),
        )
        for artifact, record_type, summary, stamps, severity, line in rows:
            locator = orjson.loads(line)["locator"]
            where = ";".join(
                f"{k}={v}" for k, v in locator.items() if v is not None and k not in ("device_path", "sha256")
            )
            for when, description in orjson.loads(stamps):
                yield (when, description, summary, artifact, severity or "", record_type,
                       locator["device_path"], where)

    def _refresh(self, acquisition_ids: set[int], hunted_indicators: int) -> None:
        """The verdict, exit code and summary of these acquisitions again, from every finding the case
        now holds for them (a retro-hunt added some, with `hunted_indicators` indicators): `case list`,
        `case show` and `case report` then agree with the findings they list. The coverage is the one
        stored with the check, its indicators counted as the larger of the check's and the hunt's."""
        from preuve.model import Severity, verdict
        from preuve.report.formats.findings import verdict_to_dict
        from preuve.report.formats.share import finding_from_dict

        for acquisition_id in sorted(acquisition_ids):
            findings = [finding_from_dict(doc) for doc in self.finding_docs(acquisition_id)]
            summary = self.stored_document(acquisition_id, "summary")
            run = self.stored_document(acquisition_id, "run")
            coverage = stored_coverage(summary, run, hunted_indicators)
            decided = verdict(findings, coverage)
            counts = {s.label: 0 for s in sorted(Severity, reverse=True)}
            for finding in findings:
                counts[finding.severity.label] += 1
            if summary:
                summary["findings_by_severity"] = counts
                summary["findings"] = len(findings)
                summary["exit_code"] = int(decided.exit_code)
                summary["verdict"] = verdict_to_dict(decided)
            self.conn.execute(
                "UPDATE acquisitions SET verdict = ?, exit_code = ?, summary = ? WHERE id = ?",
                (decided.headline, int(decided.exit_code), orjson.dumps(summary) if summary else None,
                 acquisition_id),
            )

    def note_hunted(self, feed_sha256s: Sequence[str], when: str) -> None:
        """Record that every stored acquisition was hunted with these feeds (by SHA-256) at `when`."""
        self.conn.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)", ((f"hunted:{sha}", when) for sha in feed_sha256s)
        )

    def hunted(self) -> dict[str, str]:
        """Feeds (by SHA-256) the whole case was re-hunted with, and when (ISO 8601, UTC)."""
        rows = self.conn.execute("SELECT key, value FROM meta WHERE key LIKE 'hunted:%'")
        return {str(key)[len("hunted:"):]: str(value) for key, value in rows}

    def observable_count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM observables").fetchone()[0])

    def rehunt(self, index: IndicatorIndex, titles: dict[str, str]) -> list[RehuntHit]:
        """Findings the given indicators produce on stored observables and that the case does not hold yet.

        New findings are stored (origin ``rehunt``), so a second hunt with the same feeds reports nothing.
        """
        acquisitions = {a.id: a for a in self.acquisitions()}
        known = {(r[0], r[1]) for r in self.conn.execute("SELECT acquisition_id, id FROM findings")}
        hits: list[RehuntHit] = []
        seen: set[tuple[int, str]] = set()
        for indicator in index.indicators():
            for key_kind, key, prefix in indicator_queries(indicator):
                if prefix:
                    sql = (
                        "SELECT o.record_id, o.kind, o.value FROM observables o WHERE o.key_kind = ? "
                        "AND o.key >= ? AND o.key < ?"
                    )
                    params: tuple[str, ...] = (key_kind, key, key + "\U0010ffff")
                else:
                    sql = "SELECT o.record_id, o.kind, o.value FROM observables o WHERE o.key_kind = ? AND o.key = ?"
                    params = (key_kind, key)
                for record_id, kind, value in self.conn.execute(sql, params).fetchall():
                    rec = self.conn.execute(
                        "SELECT acquisition_id, artifact, line, first_timestamp, record_sha256 FROM records WHERE id = ?",
                        (record_id,),
                    ).fetchone()
                    if rec is None:
                        continue
                    acquisition_id, artifact, line, first, record_sha = rec
                    loc = orjson.loads(line)["locator"]
                    locator = Locator(**{k: v for k, v in loc.items() if v is not None})
                    observable = Observable(Kind(kind), value)
                    when = datetime.fromisoformat(first.replace("Z", "+00:00")) if first else None
                    finding = finding_for(indicator, observable, artifact, titles.get(artifact, artifact),
                                          locator, when, record_sha)
                    key_id = (acquisition_id, finding.id)
                    if key_id in known or key_id in seen:
                        continue
                    seen.add(key_id)
                    hits.append(RehuntHit(acquisitions[acquisition_id], finding))
        hits.sort(key=lambda h: (h.acquisition.evidence, h.finding.sort_key()))
        if hits:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.executemany(
                    "INSERT OR IGNORE INTO findings VALUES (?, ?, ?, 'rehunt', ?)",
                    (
                        (h.acquisition.id, h.finding.id, int(h.finding.severity), orjson.dumps(finding_to_dict(h.finding)))
                        for h in hits
                    ),
                )
                self._refresh({h.acquisition.id for h in hits}, len(index))
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        return hits


class CaseSink(RenderingSink):
    """A Sink that stores one acquisition's run in the case, in a single transaction."""

    _BATCH = 5000

    def __init__(self, store: CaseStore, evidence: Path) -> None:
        self.store = store
        self.evidence = str(evidence.resolve())
        self.conn = store.conn
        self.acquisition_id = 0
        self._records: list[tuple[object, ...]] = []
        self._observables: list[tuple[object, ...]] = []
        self._next_id = 0
        self._device: str | None = None
        self._open = False

    def begin(self, opened: Opened, index: IndicatorIndex) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self._open = True
        old = self.conn.execute("SELECT id FROM acquisitions WHERE evidence = ?", (self.evidence,)).fetchone()
        if old:
            self.store._delete_acquisition(old[0])
        cur = self.conn.execute(
            "INSERT INTO acquisitions (evidence, kind, platform, tool_version) VALUES (?, ?, ?, ?)",
            (self.evidence, opened.kind, opened.platform, __version__),
        )
        self.acquisition_id = int(cur.lastrowid or 0)
        self._next_id = int(self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM records").fetchone()[0]) + 1

    def render_record(
        self, artifact: Artifact, record: Record, findings: Sequence[Finding], stamps: Sequence[Timestamp]
    ) -> tuple[tuple[object, ...], list[tuple[str, str, str, str]], bool]:
        """The record's row (without its ids), its observables' rows (without the record id), and whether
        it holds the device's facts."""
        texts = [(to_iso(t.when), t.description) for t in stamps]
        severity = max(f.severity for f in findings).label if findings else None
        row = (
            artifact.name, record.record_type, record_line(record), record.summary(),
            orjson.dumps(texts).decode() if texts else None, texts[0][0] if texts else None,
            record.content_sha256(), severity,
        )
        keys = [
            (str(observable.kind), observable.value, key_kind, key)
            for observable in record.observables()
            for key_kind, key in observable_keys(observable)
        ]
        return row, keys, type(record) is DeviceFacts

    def write_record(
        self, artifact: Artifact, rendered: tuple[tuple[object, ...], list[tuple[str, str, str, str]], bool]
    ) -> None:
        row, keys, device = rendered
        record_id = self._next_id
        self._next_id += 1
        if self._device is None and device:
            self._device = cast(str, row[3])
        self._records.append((record_id, self.acquisition_id, *row))
        self._observables.extend((record_id, *key) for key in keys)
        if len(self._records) >= self._BATCH:
            self._flush()

    def _flush(self) -> None:
        self.conn.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self._records)
        self.conn.executemany("INSERT INTO observables VALUES (?, ?, ?, ?, ?)", self._observables)
        self._records.clear()
        self._observables.clear()

    def finish(self, result: CheckResult) -> None:
        from preuve.report.outdir import run_document

        self._flush()
        c = self.conn
        c.executemany(
            "INSERT INTO evidence_files VALUES (?, ?, ?, ?, ?)",
            ((self.acquisition_id, e.device_path, e.source, e.size, e.sha256) for e in result.evidence_files),
        )
        c.executemany(
            "INSERT INTO artifacts VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (self.acquisition_id, r.name, r.title, str(r.status), r.records, r.findings, orjson.dumps(r.errors))
                for r in result.artifacts
            ),
        )
        c.executemany(
            "INSERT OR IGNORE INTO findings VALUES (?, ?, ?, 'check', ?)",
            (
                (self.acquisition_id, f.id, int(f.severity), orjson.dumps(finding_to_dict(f)))
                for f in result.findings
            ),
        )
        c.execute(
            "UPDATE acquisitions SET device = ?, started = ?, finished = ?, exit_code = ?, complete = ?, verdict = ?, "
            "summary = ?, run = ? WHERE id = ?",
            (
                self._device, to_iso(result.started), to_iso(result.finished), int(result.exit_code),
                int(not result.incomplete), result.verdict().headline,
                orjson.dumps(summary_dict(result)), orjson.dumps(run_document(result), default=str),
                self.acquisition_id,
            ),
        )
        c.execute("COMMIT")
        self._open = False

    def abort(self) -> None:
        """Roll back what this run wrote (the case stays as it was before the run)."""
        if self._open:
            self.conn.execute("ROLLBACK")
            self._open = False


def rehunt_case(case: Path, index: IndicatorIndex) -> list[RehuntHit]:
    """Match `index` against every acquisition stored in `case`, without the evidence: the new
    findings are stored, the verdicts they change are updated, and they are returned."""
    from preuve.artifacts.base import discover_artifacts

    if not case.is_file():
        raise CaseError(f"{case}: no such case")
    titles = {a.name: a.title for a in discover_artifacts()}
    with CaseStore(case, write=True) as store:
        return store.rehunt(index, titles)


def stored_coverage(summary: dict[str, object], run: dict[str, object], hunted_indicators: int = 0) -> Coverage:
    """The coverage of a stored check, rebuilt from the summary and run documents it wrote."""
    from preuve.model import Absence, ArtifactStatus

    artifacts = summary.get("artifacts")
    reports = artifacts if isinstance(artifacts, dict) else {}
    checked: list[str] = []
    failed: list[str] = []
    lost: list[str] = []
    not_selected: list[str] = []
    partial: list[str] = []
    for name, doc in sorted(reports.items()):
        if not isinstance(doc, dict):
            continue
        status, absence = str(doc.get("status")), doc.get("absence")
        if status in (ArtifactStatus.OK, ArtifactStatus.EMPTY):
            checked.append(name)
        if status == ArtifactStatus.FAILED or (doc.get("errors") and status in (ArtifactStatus.OK, ArtifactStatus.EMPTY)):
            failed.append(name)
        if status == ArtifactStatus.NOT_SELECTED:
            not_selected.append(name)
        if isinstance(absence, str) and absence in Absence.__members__.values() and Absence(absence).loses_evidence:
            lost.append(name)
            if Absence(absence) is Absence.PARTIAL:
                partial.append(name)
    problems = summary.get("acquisition_problems")
    options = run.get("options")
    heuristics = bool(options.get("heuristics", True)) if isinstance(options, dict) else True
    indicators = summary.get("indicators")
    return Coverage(
        acquisition_problems=tuple(str(p) for p in problems) if isinstance(problems, list) else (),
        checked=tuple(checked), failed=tuple(failed), lost=tuple(lost), partial=tuple(partial),
        not_selected=tuple(not_selected),
        indicators=max(int(indicators) if isinstance(indicators, int) else 0, hunted_indicators),
        heuristics=heuristics,
    )
