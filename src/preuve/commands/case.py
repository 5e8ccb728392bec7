"""`preuve case`, `preuve rehunt` and `preuve fleet`: from one phone to thousands."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from preuve.evidence.errors import PreuveError
from preuve.model.jsonio import dumps


def _fail(exc: Exception) -> None:
    Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
    sys.exit(1)


@click.group()
def case() -> None:
    """Look into a case store (made by `check --case` or `fleet`)."""


@case.command("list")
@click.argument("case_db", type=click.Path(path_type=Path))
def case_list(case_db: Path) -> None:
    """Every acquisition in the case with its verdict."""
    from preuve.store.case import CaseStore

    try:
        with CaseStore(case_db) as store:
            rows = store.acquisitions()
            jobs = store.jobs()
    except PreuveError as exc:
        _fail(exc)
        return
    table = Table(title=f"{case_db}: {len(rows)} acquisition(s)")
    for column in ("id", "evidence", "kind", "device", "verdict", "findings", "complete", "exit"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r.id), escape(r.evidence), r.kind, escape(r.device or ""), r.verdict, str(r.findings),
                      "yes" if r.complete else "no", str(r.exit_code))
    console = Console()
    console.print(table)
    failed = {e: j for e, j in jobs.items() if j[0] == "failed"}
    for evidence, (_status, reason, _code, _n) in sorted(failed.items()):
        console.print(f"[red]failed[/] {escape(evidence)}: {escape(reason)}", highlight=False)


@case.command("show")
@click.argument("case_db", type=click.Path(path_type=Path))
@click.argument("acquisition")
def case_show(case_db: Path, acquisition: str) -> None:
    """One acquisition (by id, evidence path or folder name): its findings."""
    from preuve.store.case import CaseStore

    try:
        with CaseStore(case_db) as store:
            found = store.find(acquisition)
            docs = store.finding_docs(found.id)
    except PreuveError as exc:
        _fail(exc)
        return
    console = Console()
    console.print(f"[bold]{escape(found.evidence)}[/] ({found.kind}, {found.platform}): {found.verdict}")
    for doc in docs:
        indicator = doc.get("indicator")
        what = indicator["malware"] if isinstance(indicator, dict) else doc.get("rule")
        console.print(f"  {str(doc['severity']).upper():8} {escape(str(what))}: {escape(str(doc['explanation']))}",
                      highlight=False)


@case.command("report")
@click.argument("case_db", type=click.Path(path_type=Path))
@click.argument("acquisition")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Output folder.")
@click.option("--force", is_flag=True,
              help="Replace the output folder even when it holds files that are not a preuve output.")
@click.option("--timeline", type=click.Choice(["csv", "jsonl", "both", "none"]), default="none", show_default=True,
              help="Timeline files to write, as `check --timeline`.")
@click.option("--lang", type=click.Choice(["en", "fr", "es"]), default="en", show_default=True,
              help="Language of report.html.")
def case_report(case_db: Path, acquisition: str, output: Path, force: bool, timeline: str, lang: str) -> None:
    """Write every file `check` writes for a stored acquisition (findings.json, artifacts/, report.html,
    bundle.json, run.json and the timelines asked for), with the findings of later retro-hunts."""
    from preuve.store.case import CaseStore
    from preuve.store.report import write_case_report

    try:
        with CaseStore(case_db) as store:
            write_case_report(store, store.find(acquisition), output, force=force, lang=lang, timeline=timeline)
    except PreuveError as exc:
        _fail(exc)
    Console().print(f"Reports written to [bold]{escape(str(output))}[/]")


@click.command()
@click.argument("case_db", type=click.Path(path_type=Path))
@click.option("--iocs", multiple=True, type=click.Path(path_type=Path), required=True,
              help="New STIX 2.1 file or folder (repeatable).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the new findings as JSON here.")
@click.option("--json", "as_json", is_flag=True, help="Print the new findings as JSON.")
def rehunt(case_db: Path, iocs: tuple[Path, ...], output: Path | None, as_json: bool) -> None:
    """Match new indicators against every stored acquisition, without reading the evidence again.

    Reports only what is new. Exit 2 when new high/critical findings appear, else 0.
    """
    from preuve.artifacts.base import discover_artifacts
    from preuve.indicators.index import load_index
    from preuve.model import Severity
    from preuve.store.case import CaseStore
    from preuve.store.report import rehunt_document

    console = Console(stderr=True)
    try:
        index = load_index(list(iocs), lambda m: console.print(f"[yellow]warning:[/] {escape(m)}"))
        titles = {a.name: a.title for a in discover_artifacts()}
        with CaseStore(case_db, write=True, create=False) as store:
            hits = store.rehunt(index, titles)
    except PreuveError as exc:
        _fail(exc)
        return
    document = rehunt_document(hits, index.feeds)
    if output:
        output.write_bytes(dumps(document, indent=True) + b"\n")
    if as_json:
        sys.stdout.write(dumps(document, indent=True).decode() + "\n")
    else:
        out = Console()
        out.print(f"{len(hits)} new finding(s) on {len(document['devices'])} device(s) "  # type: ignore[arg-type]
                  f"from {len(index)} indicators.")
        for hit in hits:
            f = hit.finding
            what = f.indicator.malware if f.indicator else f.rule
            out.print(f"  {f.severity.label.upper():8} {escape(hit.acquisition.evidence)}: {escape(str(what))}: "
                      f"{escape(f.explanation)}", highlight=False)
    sys.exit(2 if any(h.finding.severity >= Severity.HIGH for h in hits) else 0)


@click.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--case", "case_db", type=click.Path(path_type=Path), required=True, help="Case store to fill.")
@click.option("--iocs", multiple=True, type=click.Path(path_type=Path), help="STIX 2.1 file or folder (repeatable).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Folder for per-device reports.")
@click.option("--workers", default=2, show_default=True, help="Local worker processes.")
@click.option("--scheduler", help="Dask scheduler address (tcp://HOST:PORT) instead of the local pool.")
@click.option("--no-resume", is_flag=True, help="Check again devices already done.")
@click.option("--timeline", type=click.Choice(["csv", "jsonl", "both", "none"]), default="none", show_default=True,
              help="Timeline files to write for each device, as `check --timeline`.")
def fleet(source: Path, case_db: Path, iocs: tuple[Path, ...], output: Path | None, workers: int,
          scheduler: str | None, no_resume: bool, timeline: str) -> None:
    """Check many acquisitions (a folder of them, or a file listing paths) in parallel into one case."""
    from preuve.fleet.runner import list_acquisitions, run_fleet

    console = Console()
    try:
        paths = list_acquisitions(source)
        out_root = output or case_db.resolve().parent / f"{case_db.stem}-reports"
        if not iocs:
            from preuve.commands.settings import data_dir
            from preuve.indicators.feeds import list_feeds

            installed = list_feeds(data_dir())
            if installed:
                console.print(f"Using {len(installed)} installed indicator feed(s) "
                              f"({sum(f.indicators for f in installed)} indicators); `preuve iocs list` shows them.")
            else:
                console.print("[bold yellow]WARNING: no indicator feed given (--iocs) and none installed: "
                              "only heuristics will run. Known spyware traces will NOT be recognised.[/]")

        def show(outcome: object) -> None:
            from preuve.fleet.runner import FleetOutcome

            assert isinstance(outcome, FleetOutcome)
            colour = {"done": "green", "failed": "red", "skipped": "dim"}[outcome.status]
            detail = f"exit {outcome.exit_code}, {outcome.findings} finding(s)" if outcome.status == "done" \
                else outcome.reason
            console.print(f"[{colour}]{outcome.status:7}[/] {escape(outcome.evidence)}  {escape(detail)}",
                          highlight=False)

        from preuve.commands.settings import data_dir

        outcomes = run_fleet(paths, case_db, out_root, iocs, workers=workers, scheduler=scheduler,
                             resume=not no_resume, on_outcome=show, timeline=timeline, installed_feeds=data_dir())
    except PreuveError as exc:
        _fail(exc)
        return
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    console.print(", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + f"; case: {escape(str(case_db))}")
    sys.exit(1 if counts.get("failed") else 0)


COMMANDS = (case, rehunt, fleet)
