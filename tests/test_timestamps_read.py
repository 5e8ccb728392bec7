"""A record's timestamps reach the sinks as the sinks say they read them (run.sinks.timestamps_read):
every one unless each sink reads fewer, and the output folder's files are the same either way."""

from __future__ import annotations

from pathlib import Path

from preuve.builders.ios_backup import BackupBuilder
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from preuve.run.sinks import timestamps_read
from tests.helpers import QuietSink


class _Stamps(QuietSink):
    def __init__(self, reads: int | None) -> None:
        if reads is not None:
            self.timestamps_read = reads
        self.seen: list[tuple[str, int]] = []

    def record(self, artifact, record, findings, stamps):  # noqa: ANN001, ANN201
        self.seen.append((record.summary(), len(stamps)))


class _Plain(QuietSink):
    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    def record(self, artifact, record, findings, stamps):  # noqa: ANN001, ANN201
        self.seen.append((record.summary(), len(stamps)))


def _backup(tmp_path: Path) -> Path:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_file("HomeDomain", "Library/Preferences/com.apple.x.plist", b"abc")
    builder.add_link("HomeDomain", "Library/Caches/link", "/private/var/tmp/target")
    return builder.finish()


def test_the_fewest_every_sink_reads() -> None:
    class Reads:
        def __init__(self, n: int | None) -> None:
            self.timestamps_read = n

    assert timestamps_read([]) == 0
    assert timestamps_read([Reads(0), Reads(1)]) == 1
    assert timestamps_read([Reads(0), Reads(0)]) == 0
    assert timestamps_read([Reads(1), Reads(None)]) is None
    assert timestamps_read([Reads(1), object()]) is None  # a sink that does not say reads them all


def _seen(root: Path, *sinks: QuietSink) -> None:
    run_check(root, CheckOptions(only_artifacts=("manifest",)), sinks=list(sinks))


def test_sinks_get_what_they_read(tmp_path: Path) -> None:
    root = _backup(tmp_path)
    first, nothing = _Stamps(1), _Stamps(0)
    _seen(root, first, nothing)
    entry = "Backup file HomeDomain/Library/Preferences/com.apple.x.plist"
    assert (entry, 1) in first.seen and (entry, 1) in nothing.seen  # (what is made is made once for all)
    assert {n for _, n in first.seen} == {1}

    none_at_all = _Stamps(0)
    _seen(root, none_at_all)
    assert {n for _, n in none_at_all.seen} == {0}

    every, plain, first = _Stamps(None), _Plain(), _Stamps(1)
    _seen(root, every, plain, first)
    assert (entry, 2) in every.seen and (entry, 2) in plain.seen and (entry, 2) in first.seen
    assert every.seen == plain.seen == first.seen


def test_the_output_folder_reads_them_only_for_a_timeline(tmp_path: Path) -> None:
    from preuve.report.outdir import OutputFolder

    root = _backup(tmp_path)
    assert OutputFolder(tmp_path / "o1", root, timeline=()).timestamps_read == 0
    assert OutputFolder(tmp_path / "o2", root, timeline=("csv",)).timestamps_read is None
