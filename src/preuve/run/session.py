"""The one lifecycle of an opened acquisition, shared by `check`, `verify` and `export`.

``with open_evidence(path, limits, secrets) as session:`` makes a private work folder that
cannot lie inside the evidence, opens the acquisition read-only with a fresh hash ledger, and on
leaving closes the acquisition and removes the work folder, whatever happened inside.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from preuve.evidence.acquisition import OpenContext, Opened, Secrets, open_acquisition
from preuve.evidence.backup_folders import EarlyListing
from preuve.evidence.early_tar import EarlyHeaders
from preuve.evidence.errors import EvidenceError
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits


def private_workdir(evidence: Path) -> Path:
    """A fresh temporary folder for private copies, guaranteed not to lie inside the evidence."""
    workdir = Path(tempfile.mkdtemp(prefix="preuve-"))
    try:
        workdir.resolve().relative_to(evidence.resolve())
    except ValueError:
        return workdir
    shutil.rmtree(workdir, ignore_errors=True)
    raise EvidenceError(str(evidence), "the temporary folder lies inside the evidence; set TMPDIR elsewhere")


@dataclass(frozen=True, slots=True)
class Session:
    """An acquisition opened for one run: what it is, the hashes of what was read, the private folder."""

    opened: Opened
    ledger: HashLedger
    workdir: Path


def _ignore(message: str) -> None:
    return None


@contextmanager
def open_evidence(
    evidence: Path,
    limits: Limits,
    secrets: Secrets,
    warn: Callable[[str], None] = _ignore,
    ledger: HashLedger | None = None,
    jobs: int = 1,
    artifacts: Collection[str] | None = None,
    early: EarlyListing | EarlyHeaders | None = None,
    wants: Callable[[str], tuple[str, ...]] | None = None,
) -> Iterator[Session]:
    """Open `evidence` (any acquisition kind) for one run, listed by up to `jobs` processes, for the
    artifacts named (None: all; see OpenContext.runs); raises AcquisitionError when it cannot. `early`:
    what was begun for the open when the run began (see OpenContext.early), stopped once the open is
    done when it did not take it. `wants`: see OpenContext.wants."""
    ledger = ledger if ledger is not None else HashLedger()
    workdir = private_workdir(evidence)
    opened: Opened | None = None
    try:
        ctx = OpenContext(ledger=ledger, limits=limits, workdir=workdir, secrets=secrets, warn=warn, jobs=jobs,
                          runs=frozenset(artifacts) if artifacts is not None else None, early=early)
        if wants is not None:
            ctx.wants = wants
        try:
            opened = open_acquisition(evidence, ctx)
        finally:
            if early is not None and not early.taken:
                early.close()  # (begun for an open that did not take it: its core is the run's again)
        yield Session(opened, ledger, workdir)
    finally:
        if opened is not None:
            opened.fs.close()
        shutil.rmtree(workdir, ignore_errors=True)
