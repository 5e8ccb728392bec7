"""`preuve iocs convert`: turn Echap's stalkerware ioc.yaml into a STIX 2.1 file (added to the `iocs` group)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from preuve.evidence.errors import PreuveError


@click.command("convert")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="STIX 2.1 file to write (e.g. stalkerware.stix2).")
def iocs_convert(source: Path, output: Path) -> None:
    """Convert the stalkerware indicators (AssoEchap/stalkerware-indicators ioc.yaml) to STIX 2.1."""
    # Here rather than at the top: the module (and YAML) is only needed by this command, not by
    # the other `iocs` commands this one is added to.
    from preuve.indicators.stalkerware import LICENSE, SOURCE_URL, convert_file

    console = Console(stderr=True)
    try:
        stats = convert_file(source, output)
    except PreuveError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(1)
    console.print(
        f"{stats.indicators} indicators of {stats.families} stalkerware families written to "
        f"[bold]{escape(str(output))}[/]" + (f" ({stats.skipped} values skipped)" if stats.skipped else "")
        + f".\nSource: {SOURCE_URL} ({LICENSE}); keep this attribution when you share the file.",
        highlight=False,
    )


