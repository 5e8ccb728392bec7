"""`preuve export-stix`: share the findings of an output folder as STIX 2.1 sightings or a MISP event."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from preuve.evidence.errors import PreuveError
from preuve.messages import error_text
from preuve.report.formats.share import export


@click.command(name="export-stix")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="File to write (default: OUT/sightings.stix2, or OUT/misp-event.json with --misp).")
@click.option("--misp", is_flag=True, help="Write a MISP event (JSON) instead of a STIX 2.1 bundle.")
def export_stix(out: Path, output: Path | None, misp: bool) -> None:
    """Export the findings of a `preuve check` output folder OUT for sharing (no evidence is read)."""
    console = Console(stderr=True)
    target = output or out / ("misp-event.json" if misp else "sightings.stix2")
    try:
        count = export(out, target, misp=misp)
    except (PreuveError, OSError) as exc:
        console.print(f"[bold red]error:[/] {escape(error_text(exc))}", highlight=False)
        sys.exit(1)
    kind = "MISP event" if misp else "STIX 2.1 bundle"
    console.print(f"{count} finding(s) written as a {kind} to [bold]{escape(str(target))}[/]", highlight=False)


COMMANDS = (export_stix,)
