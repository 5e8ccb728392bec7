"""preuve: check phones for mercenary spyware and stalkerware, with proof anyone can re-derive.

The library API lives here; the command line (:mod:`preuve.cli`) only calls it::

    from pathlib import Path
    import preuve

    result = preuve.check(Path("backup"), preuve.CheckOptions(iocs=(Path("pegasus.stix2"),)))
    print(result.verdict().headline, result.exit_code)
    preuve.check_into_folder(Path("backup"), preuve.CheckOptions(), Path("out"))   # the output folder
    preuve.verify(Path("out/bundle.json"), Path("backup"))                        # re-derive each finding
    preuve.rehunt(Path("lab.db"), preuve.load_indicators([Path("new.stix2")], print))

Nothing runs at import time: each name is imported from its module when it is first used, so
``import preuve`` stays cheap (the command line's start-up counts).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# name -> (module, attribute)
_API: dict[str, tuple[str, str]] = {
    "check": ("preuve.run.engine", "run_check"),
    "check_into_folder": ("preuve.report.outdir", "check_into_folder"),
    "CheckOptions": ("preuve.run.results", "CheckOptions"),
    "CheckResult": ("preuve.run.results", "CheckResult"),
    "verify": ("preuve.proof.verify", "verify"),
    "export_proof": ("preuve.proof.verify", "export_proof"),
    "rehunt": ("preuve.store.case", "rehunt_case"),
    "run_fleet": ("preuve.fleet.runner", "run_fleet"),
    "load_indicators": ("preuve.indicators.index", "load_index"),
    "Finding": ("preuve.model", "Finding"),
    "Severity": ("preuve.model", "Severity"),
    "Verdict": ("preuve.model", "Verdict"),
}

__all__ = [
    "CheckOptions",
    "CheckResult",
    "Finding",
    "Severity",
    "Verdict",
    "__version__",
    "check",
    "check_into_folder",
    "export_proof",
    "load_indicators",
    "rehunt",
    "run_fleet",
    "verify",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors only
    from preuve.fleet.runner import run_fleet
    from preuve.indicators.index import load_index as load_indicators
    from preuve.model import Finding, Severity, Verdict
    from preuve.proof.verify import export_proof, verify
    from preuve.report.outdir import check_into_folder
    from preuve.run.engine import run_check as check
    from preuve.run.results import CheckOptions, CheckResult
    from preuve.store.case import rehunt_case as rehunt


def __getattr__(name: str) -> object:
    try:
        module, attribute = _API[name]
    except KeyError:
        raise AttributeError(f"module 'preuve' has no attribute {name!r}") from None
    return getattr(import_module(module), attribute)
