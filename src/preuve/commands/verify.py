"""`preuve verify` and `preuve export`: re-derive a bundle's findings; package only what they cite."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from preuve.commands.check import escape
from preuve.evidence.errors import PreuveError
from preuve.verify import Status, VerifyResult, export_proof, verify

EXIT_CONFIRMED, EXIT_FATAL, EXIT_DIFFERS = 0, 1, 2


def print_verification(console: Console, result: VerifyResult) -> None:
    console.print(f"Verified from the {escape(result.source)}.", highlight=False)
    for note in result.notes:
        console.print(f"[dim]note: {escape(note)}[/]", highlight=False)
    for check in result.checks:
        finding = check.finding
        loc = finding.locator
        where = loc.device_path + (f" [{loc.table} row {loc.rowid}]" if loc.table is not None else "")
        if loc.key_path is not None:
            where += f" [{loc.key_path}]"
        if check.status == Status.CONFIRMED:
            console.print(f"[green]confirmed[/] {finding.id} {escape(where)}", highlight=False)
        else:
            console.print(f"[bold red]differs[/]   {finding.id} {escape(where)}", highlight=False)
            for problem in check.problems:
                console.print(f"          - {escape(problem)}", highlight=False)
        for note in check.notes:
            console.print(f"          [dim]{escape(note)}[/]", highlight=False)
    confirmed = sum(1 for c in result.checks if c.status == Status.CONFIRMED)
    console.print(f"{confirmed} of {len(result.checks)} findings confirmed.", highlight=False)


@click.command("verify")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.argument("evidence", type=click.Path(path_type=Path))
@click.option("--iocs", multiple=True, type=click.Path(path_type=Path),
              help="STIX 2.1 file or folder to re-match against (default: the indicators the bundle cites).")
def verify_command(bundle: Path, evidence: Path, iocs: tuple[Path, ...]) -> None:
    """Re-derive every finding of BUNDLE from EVIDENCE (an acquisition, or a proof package from `export`).

    Exit codes: 0 every finding confirmed, 2 some finding differs, 1 fatal error.
    """
    console = Console(soft_wrap=True)
    try:
        result = verify(bundle, evidence, iocs)
    except (PreuveError, OSError) as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(EXIT_FATAL)
    print_verification(console, result)
    sys.exit(EXIT_CONFIRMED if result.confirmed else EXIT_DIFFERS)


@click.command("export")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.argument("evidence", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="The proof package (.zip).")
def export_command(bundle: Path, evidence: Path, output: Path) -> None:
    """Write a proof package: the bundle and only the records its findings cite, with their hashes."""
    console = Console(stderr=True)
    try:
        count = export_proof(bundle, evidence, output)
    except (PreuveError, OSError) as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(EXIT_FATAL)
    console.print(f"{count} records written to [bold]{escape(str(output))}[/]", highlight=False)


COMMANDS = (verify_command, export_command)
