"""`preuve verify` and `preuve export`: re-derive a bundle's findings; package only what they cite."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click
from rich.console import Console

from preuve.commands.backup import gather_secrets
from preuve.commands.check import escape
from preuve.evidence.acquisition import Secrets
from preuve.evidence.errors import PreuveError
from preuve.proof.verify import Status, VerifyResult, export_proof, verify
from preuve.run.results import CheckOptions

EXIT_CONFIRMED, EXIT_FATAL, EXIT_DIFFERS = 0, 1, 2

F = TypeVar("F", bound=Callable[..., None])


def _secret_options(command: F) -> F:
    """The same secret options as `check`, for evidence that is encrypted."""
    command = click.option("--age-key", type=click.Path(path_type=Path, dir_okay=False, exists=True),
                           help="AndroidQF .zip.age: the age identity file.")(command)
    command = click.option("--key-file", type=click.Path(path_type=Path, dir_okay=False),
                           help="Encrypted iOS backup: key written by `preuve backup-key`.")(command)
    return click.option("--password-file", type=click.Path(path_type=Path, dir_okay=False),
                        help="Encrypted backup: file whose first line is the password "
                             "(or $PREUVE_BACKUP_PASSWORD).")(command)


def _secrets(evidence: Path, password_file: Path | None, key_file: Path | None, age_key: Path | None) -> Secrets:
    secrets = gather_secrets(evidence, password_file, key_file)
    if age_key is not None:
        secrets = dataclasses.replace(secrets, age_identity=age_key.read_bytes()[:65536].decode("utf-8", "replace"))
    return secrets


def print_verification(console: Console, result: VerifyResult) -> None:
    sameness = result.sameness
    if sameness is not None and sameness.different_device:
        # One line that says what matters; the details follow.
        console.print(f"[bold red]{escape(sameness.headline())}[/]", highlight=False)
        for line in sameness.differing[:20]:
            console.print(f"          - {escape(line)}", highlight=False)
        if len(sameness.differing) > 20:
            console.print(f"          - … and {len(sameness.differing) - 20} more", highlight=False)
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
    # A grouped finding's occurrences are checked one by one (ids "<id>#2"…); the finding is confirmed
    # when every occurrence is.
    by_finding: dict[str, bool] = {}
    for check in result.checks:
        base = check.finding.id.split("#", 1)[0]
        by_finding[base] = by_finding.get(base, True) and check.status == Status.CONFIRMED
    confirmed = sum(by_finding.values())
    extra = len(result.checks) - len(by_finding)
    occurrences = f" (their {len(result.checks)} occurrences checked one by one)" if extra else ""
    console.print(f"{confirmed} of {len(by_finding)} findings confirmed{occurrences}.", highlight=False)


@click.command("verify")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.argument("evidence", type=click.Path(path_type=Path))
@click.option("--iocs", multiple=True, type=click.Path(path_type=Path),
              help="STIX 2.1 file or folder to re-match against (default: the indicators the bundle cites).")
@_secret_options
def verify_command(bundle: Path, evidence: Path, iocs: tuple[Path, ...], password_file: Path | None,
                   key_file: Path | None, age_key: Path | None) -> None:
    """Re-derive every finding of BUNDLE from EVIDENCE (an acquisition, or a proof package from `export`).

    BUNDLE is a bundle.json or the output folder of `preuve check` or `preuve fleet` that holds it.

    Exit codes: 0 every finding confirmed, 2 some finding differs (or another device), 1 fatal error.
    """
    console = Console(soft_wrap=True)
    try:
        options = CheckOptions(secrets=_secrets(evidence, password_file, key_file, age_key))
        result = verify(bundle, evidence, iocs, options)
    except PreuveError as exc:
        Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(EXIT_FATAL)
    print_verification(console, result)
    sys.exit(EXIT_CONFIRMED if result.confirmed else EXIT_DIFFERS)


@click.command("export")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.argument("evidence", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="The proof package (.zip).")
@_secret_options
def export_command(bundle: Path, evidence: Path, output: Path, password_file: Path | None, key_file: Path | None,
                   age_key: Path | None) -> None:
    """Write a proof package: the bundle and only the records its findings cite, with their hashes."""
    console = Console(stderr=True)
    try:
        options = CheckOptions(secrets=_secrets(evidence, password_file, key_file, age_key))
        count = export_proof(bundle, evidence, output, options)
    except PreuveError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_FATAL)
    console.print(f"{count} records written to [bold]{escape(str(output))}[/]", highlight=False)


COMMANDS = (verify_command, export_command)
