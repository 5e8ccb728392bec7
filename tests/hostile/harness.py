"""Run preuve on hostile inputs in a guarded child process: a time bound, a memory bound (RLIMIT_AS),
and the evidence snapshot before and after. The bounds are guards, not targets: a case only fails
them when preuve hangs or balloons."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from tests.builders import snapshot

ROOT = Path(__file__).resolve().parents[2]
TIME_BOUND = 180  # seconds: only a hang reaches it
MEMORY_BOUND = 3 * 1024**3  # bytes of address space for the whole child process


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


def _limit_memory() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BOUND, MEMORY_BOUND))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _run(argv: list[str]) -> Outcome:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    env["COLUMNS"] = "200"
    env.pop("FORCE_COLOR", None)
    proc = subprocess.run(  # noqa: S603 - our own interpreter and module
        argv, capture_output=True, timeout=TIME_BOUND, preexec_fn=_limit_memory, env=env, cwd=str(ROOT), check=False,
    )
    outcome = Outcome(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))
    assert "Traceback" not in outcome.text, outcome.text
    assert "\x1b" not in outcome.text, "an escape sequence reached the terminal"
    return outcome


def run_cli(*args: str) -> Outcome:
    """`preuve ARGS` in a guarded child process."""
    return _run([sys.executable, "-m", "preuve", *args])


def run_python(code: str) -> Outcome:
    """A snippet in a guarded child process (for library-level guards and custom limits)."""
    return _run([sys.executable, "-c", textwrap.dedent(code)])


def check_hostile(evidence: Path, out: Path, *args: str) -> Outcome:
    """`preuve check` on hostile evidence: bounded, no traceback, evidence byte-for-byte unchanged."""
    before = snapshot(evidence)
    outcome = run_cli("check", str(evidence), "-o", str(out), *args)
    assert snapshot(evidence) == before, "the evidence changed"
    return outcome
