"""The contract between a run and what watches it: observers (progress for people) and sinks (the
outputs, which receive every record and finding as the run produces them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from preuve.artifacts.base import Artifact
from preuve.evidence.acquisition import Opened
from preuve.indicators.index import IndicatorIndex
from preuve.model import Finding, Record, Timestamp
from preuve.run.results import ArtifactReport, CheckResult


class RunObserver(Protocol):
    """Progress for people (the CLI draws it with rich); the library never prints."""

    def acquisition_opened(self, opened: Opened) -> None: ...
    def artifact_started(self, artifact: Artifact, files: int) -> None: ...
    def records_parsed(self, count: int) -> None: ...
    def artifact_finished(self, report: ArtifactReport) -> None: ...
    def warning(self, message: str) -> None: ...


class NullObserver:
    def acquisition_opened(self, opened: Opened) -> None:
        pass

    def artifact_started(self, artifact: Artifact, files: int) -> None:
        pass

    def records_parsed(self, count: int) -> None:
        pass

    def artifact_finished(self, report: ArtifactReport) -> None:
        pass

    def warning(self, message: str) -> None:
        pass


class Sink(Protocol):
    """Receives what a run produces, as it is produced.

    A sink may also split `record` in two (see `Rendering`): the run then calls `render_record` where
    the record was read and `write_records` in order, and `record` is never called. Either way every sink gets
    every record, in the order of a sequential read, in the run's own process."""

    def begin(self, opened: Opened, index: IndicatorIndex) -> None: ...
    def artifact_started(self, artifact: Artifact) -> None: ...
    def record(
        self, artifact: Artifact, record: Record, findings: Sequence[Finding], stamps: Sequence[Timestamp]
    ) -> None:
        """One record, its findings and its timestamps (``record.timestamps()``, computed once for all sinks;
        only the first `timestamps_read` of them when every sink says how many it reads, see
        :func:`timestamps_read`)."""

    def artifact_finished(self, artifact: Artifact, report: ArtifactReport) -> None: ...
    def finish(self, result: CheckResult) -> None: ...


class Rendering(Protocol):
    """A sink's `record` in two halves: `render_record` makes what the sink keeps of one record (its
    output bytes, its counts…) from the record alone, changing nothing the sink holds but caches, and
    returns it as plain picklable values; `write_records` takes those values, a batch of records at a
    time, in order. ``write_records(artifact, [render_record(artifact, record, findings, stamps)])``
    is `record`.

    A sink may also take the values it rendered as bytes joined: ``write_joined(artifact, data)``,
    where `data` is ``b"".join(values)`` of a batch whose every value is bytes, must do what
    ``write_records(artifact, values)`` does. Records reach such a sink so whenever they can.

    And a sink may render a batch at once: ``render_records(artifact, records, findings, stamps)``
    (a sequence each) must give the list of what `render_record` gives each record; the run calls
    it where the sink has it (see engine._Reading.batches)."""

    def render_record(
        self, artifact: Artifact, record: Record, findings: Sequence[Finding], stamps: Sequence[Timestamp]
    ) -> Any: ...
    def write_records(self, artifact: Artifact, rendered: Sequence[Any]) -> None: ...


def timestamps_read(sinks: Sequence[object]) -> int | None:
    """How many of a record's timestamps (from the first) some sink reads: None for all of them.

    A sink says so by a `timestamps_read` attribute (0: none, 1: the first only; None or no such
    attribute: all). A record's timestamps are made once for all sinks, and most runs have no sink
    that reads more than the first (the report's days): making the others cost a few tenths of a
    second on a phone's half million records."""
    wanted = 0
    for sink in sinks:
        read = getattr(sink, "timestamps_read", None)
        if read is None:
            return None
        wanted = max(wanted, read)
    return wanted


class RenderingSink:
    """A base for sinks that render (see `Rendering`): a sink gives `render_record` and `write_record`
    (one record's rendering); `write_records` writes each of a batch in turn (a sink may write a batch
    at once instead), `record` is ``write_record(render_record(…))``, and what a sink has nothing to
    do at does nothing. `stamps` holds every timestamp of the record unless the sink says it reads
    fewer (`timestamps_read`, see :func:`timestamps_read`): then it holds at least those."""

    timestamps_read: int | None = None

    def begin(self, opened: Opened, index: IndicatorIndex) -> None:
        pass

    def artifact_started(self, artifact: Artifact) -> None:
        pass

    def render_record(
        self, artifact: Artifact, record: Record, findings: Sequence[Finding], stamps: Sequence[Timestamp]
    ) -> Any:
        raise NotImplementedError

    def write_record(self, artifact: Artifact, rendered: Any) -> None:
        raise NotImplementedError

    def write_records(self, artifact: Artifact, rendered: Sequence[Any]) -> None:
        write = self.write_record
        for value in rendered:
            write(artifact, value)

    def record(
        self, artifact: Artifact, record: Record, findings: Sequence[Finding], stamps: Sequence[Timestamp]
    ) -> None:
        self.write_record(artifact, self.render_record(artifact, record, findings, stamps))

    def artifact_finished(self, artifact: Artifact, report: ArtifactReport) -> None:
        pass

    def finish(self, result: CheckResult) -> None:
        pass
