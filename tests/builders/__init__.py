"""Fixture builders for the tests (they build on the package's own builders in preuve.builders)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from preuve.builders.stix import IndicatorSpec, write_bundle


def snapshot(root: Path) -> dict[str, tuple[str, int, str]]:
    """Every entry under `root` with its kind, size (or mode) and SHA-256, to prove nothing changed."""
    out: dict[str, tuple[str, int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in sorted(dirnames + filenames):
            full = Path(dirpath) / name
            rel = str(full.relative_to(root))
            st = full.lstat()
            if full.is_symlink():
                out[rel] = ("link", 0, os.readlink(full))
            elif full.is_dir():
                out[rel] = ("dir", st.st_mode, "")
            elif full.is_file():
                out[rel] = ("file", st.st_size, hashlib.sha256(full.read_bytes()).hexdigest())
            else:
                out[rel] = ("other", st.st_mode, "")
    return out


def feed(path: Path, *specs: tuple[str, str]) -> Path:
    """A STIX file from (pattern, malware) pairs."""
    return write_bundle(path, [IndicatorSpec(pattern, malware) for pattern, malware in specs], name=path.stem)


def check(evidence: Path, *iocs: Path, heuristics: bool = True, only: tuple[str, ...] = ()):  # noqa: ANN201
    """Run a check with no output folder and return the CheckResult."""
    from preuve.check import CheckOptions, run_check

    return run_check(evidence, CheckOptions(iocs=tuple(iocs), heuristics=heuristics, only_artifacts=only))


def records(evidence: Path, artifact: str) -> list:  # noqa: ANN201 - records of one artifact, in order
    """Every record one artifact yields on an acquisition, collected by a sink."""
    from preuve.check import CheckOptions, run_check

    collected: list = []

    class _Collect:
        def begin(self, opened, index):  # noqa: ANN001, ANN202
            pass

        def artifact_started(self, a):  # noqa: ANN001, ANN202
            pass

        def record(self, a, record, findings, stamps):  # noqa: ANN001, ANN202
            collected.append(record)

        def artifact_finished(self, a, report):  # noqa: ANN001, ANN202
            pass

        def finish(self, result):  # noqa: ANN001, ANN202
            pass

    run_check(evidence, CheckOptions(only_artifacts=(artifact,)), sinks=[_Collect()])
    return collected
