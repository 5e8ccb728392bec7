"""Test helpers that run preuve (not fixture builders): a check, and the records one artifact yields.

They live apart from tests/builders, whose modules write acquisitions and must
never import the code under test (tests/test_fixture_independence.py).
"""

from __future__ import annotations

from pathlib import Path


def check(evidence: Path, *iocs: Path, heuristics: bool = True, only: tuple[str, ...] = ()):  # noqa: ANN201
    """Run a check with no output folder and return the CheckResult."""
    from preuve.run.engine import CheckOptions, run_check

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
    from preuve.run.engine import CheckOptions, run_check

    collector = RecordCollector()
    run_check(evidence, CheckOptions(only_artifacts=(artifact,)), sinks=[collector])
    return collector.records
