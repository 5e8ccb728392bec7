"""Test helpers that run preuve (not fixture builders): a check, and the records one artifact yields.

They live apart from tests/builders, whose modules write acquisitions and must
never import the code under test (tests/test_fixture_independence.py).
"""

from __future__ import annotations

from pathlib import Path


def check(evidence: Path, *iocs: Path, heuristics: bool = True, only: tuple[str, ...] = ()):  # noqa: ANN201
    """Run a check with no output folder and return the CheckResult."""
    from preuve.run.engine import run_check
    from preuve.run.results import CheckOptions

    return run_check(evidence, CheckOptions(iocs=tuple(iocs), heuristics=heuristics, only_artifacts=only))


class QuietSink:
    """A run sink that does nothing: tests subclass it and override what they watch."""

    def begin(self, opened, index):  # noqa: ANN001, ANN201
        pass

    def artifact_started(self, artifact):  # noqa: ANN001, ANN201
        pass

    def record(self, artifact, record, findings, stamps):  # noqa: ANN001, ANN201
        pass

    def artifact_finished(self, artifact, report):  # noqa: ANN001, ANN201
        pass

    def finish(self, result):  # noqa: ANN001, ANN201
        pass


class RecordCollector(QuietSink):
    """Every record of the run, in the order the sinks received them."""

    def __init__(self) -> None:
        self.records: list = []

    def record(self, artifact, record, findings, stamps):  # noqa: ANN001, ANN201
        self.records.append(record)


def records(evidence: Path, artifact: str) -> list:  # noqa: ANN201 - records of one artifact, in order
    """Every record one artifact yields on an acquisition, collected by a sink."""
    from preuve.run.engine import run_check
    from preuve.run.results import CheckOptions

    collector = RecordCollector()
    run_check(evidence, CheckOptions(only_artifacts=(artifact,)), sinks=[collector])
    return collector.records


class ArtifactRun:
    """What one artifact made of a device tree: its records, warnings and errors, in order."""

    def __init__(self, records: list, warnings: list[str], errors: list[str]) -> None:
        self.records = records
        self.warnings = warnings
        self.errors = errors


def run_artifact(name: str, files: dict[str, bytes], folder: Path) -> ArtifactRun:
    """Lay `files` (device path -> bytes) out under `folder` as the device's own tree, open it as an
    acquisition folder and run the artifact `name` over every file of it the artifact reads.

    The unit-test door to an artifact: no backup, no kind, no run around it; the test maps bytes at
    device paths and asserts the records, warnings and errors exactly.
    """
    from preuve.artifacts.base import ArtifactContext, discover_artifacts
    from preuve.evidence.errors import EvidenceError
    from preuve.evidence.ledger import HashLedger
    from preuve.evidence.limits import DEFAULT_LIMITS
    from preuve.evidence.sources.folder import folder_fs

    tree = folder / "tree"
    for device_path, data in files.items():
        target = tree / device_path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    tree.mkdir(parents=True, exist_ok=True)
    (folder / "work").mkdir(exist_ok=True)
    artifact = next(a for a in discover_artifacts() if a.name == name)
    fs = folder_fs(tree, HashLedger(), DEFAULT_LIMITS, folder / "work")
    try:
        ctx = ArtifactContext(fs=fs, limits=DEFAULT_LIMITS)
        paths = sorted({path for pattern in artifact.paths for path in fs.glob(pattern) if fs.is_file(path)})
        found: list = []
        for path in paths:
            try:
                found.extend(artifact.parse(ctx, path))
            except EvidenceError as exc:  # as the run reports it: the file's error, the other files read
                ctx.error(exc.path, exc.reason)
        return ArtifactRun(found, list(ctx.warnings), list(ctx.errors))
    finally:
        fs.close()


def sqlite_bytes(folder: Path, fill) -> bytes:  # noqa: ANN001 - fill(conn) writes the tables
    """The bytes of an SQLite database written by `fill` (a builder function), as a phone would hold it."""
    import sqlite3

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "db.sqlite"
    conn = sqlite3.connect(path)
    try:
        fill(conn)
        conn.commit()
    finally:
        conn.close()
    data = path.read_bytes()
    path.unlink()
    return data


def assert_one_record(folder: Path, name: str, domain: str, relative: str, ddl: str, insert: str) -> None:
    """A backup holding one database written by `ddl` and `insert` gives exactly one record of the
    artifact `name`, no error, and leaves the evidence as it was."""
    from preuve.builders.ios_backup import BackupBuilder
    from tests.builders import snapshot

    builder = BackupBuilder(folder)
    builder.add_sqlite(domain, relative, lambda c: (c.executescript(ddl), c.executescript(insert)))
    root = builder.finish()
    before = snapshot(root)
    result = check(root, only=(name,))
    assert snapshot(root) == before
    report = next(a for a in result.artifacts if a.name == name)
    assert (report.status.value, report.records, report.errors) == ("ok", 1, [])


def check_then_verify(evidence: Path, iocs: Path, out: Path) -> tuple[int, int, str]:
    """`preuve check` then `preuve verify` on `evidence`, each as the command line a user runs: their
    exit codes, and verify's last line."""
    import subprocess
    import sys

    run = [sys.executable, "-m", "preuve"]
    checked = subprocess.run([*run, "check", str(evidence), "--iocs", str(iocs), "-o", str(out), "-q"],
                             capture_output=True, text=True, check=False)
    verified = subprocess.run([*run, "verify", str(out), str(evidence)], capture_output=True, text=True, check=False)
    lines = verified.stdout.strip().splitlines()
    return checked.returncode, verified.returncode, lines[-1] if lines else verified.stderr
