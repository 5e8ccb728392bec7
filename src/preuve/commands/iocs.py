"""`preuve iocs`: install and list indicator feeds (update from the public index, import files)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from preuve.commands.iocs_convert import iocs_convert
from preuve.commands.settings import ENV_BASE_URL, ENV_INDEX_URL, data_dir
from preuve.evidence.errors import PreuveError
from preuve.indicators.feeds import (
    DEFAULT_INDEX_URL,
    DEFAULT_RAW_BASE,
    UpdateReport,
    feeds_dir,
    import_feeds,
    list_feeds,
    update_feeds,
)


def _print_report(console: Console, report: UpdateReport) -> int:
    for feed in report.updated:
        console.print(f"[green]updated[/] {escape(feed.name)}: {feed.indicators} indicators", highlight=False)
    for feed in report.unchanged:
        console.print(f"[dim]unchanged[/] {escape(feed.name)}: {feed.indicators} indicators", highlight=False)
    for name, why in report.failed:
        console.print(f"[red]failed[/] {escape(name)}: {escape(why)} (previous copy kept, if any)", highlight=False)
    return 1 if report.failed else 0


@click.group()
def iocs() -> None:
    """Install, update and list indicator feeds (used by `check` when no --iocs is given)."""


@iocs.command()
@click.option("--index-url", envvar=ENV_INDEX_URL, help="URL of the feed index (indicators.yaml).")
@click.option("--base-url", envvar=ENV_BASE_URL, help="Base of raw file URLs (owner/repo/branch/path).")
def update(index_url: str | None, base_url: str | None) -> None:
    """Fetch every feed of the public index (mvt-project/mvt-indicators) into the data folder.

    This is the only command that goes on the network. Exit 1 when some feed failed.
    """
    console = Console(stderr=True)
    try:
        report = update_feeds(data_dir(), index_url or DEFAULT_INDEX_URL, base_url or DEFAULT_RAW_BASE)
    except PreuveError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(1)
    code = _print_report(console, report)
    console.print(f"Feeds in [bold]{escape(str(feeds_dir(data_dir())))}[/]", highlight=False)
    sys.exit(code)


@iocs.command(name="list")
def list_() -> None:
    """Show the installed feeds: source, indicators, SHA-256, when fetched."""
    console = Console()
    try:
        feeds = list_feeds(data_dir())
    except PreuveError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(1)
    if not feeds:
        console.print("No feed installed: run `preuve iocs update` (online) or `preuve iocs import FILE` (offline).")
        return
    console.print(f"[bold]{len(feeds)} indicator feed(s)[/] in {escape(str(feeds_dir(data_dir())))}", highlight=False)
    for feed in feeds:
        console.print(
            f"\n[bold]{escape(feed.name)}[/]: {feed.indicators} indicators, fetched {escape(feed.fetched)}",
            highlight=False,
        )
        console.print(f"  source: {escape(feed.source)}", highlight=False, soft_wrap=True)
        console.print(f"  sha256: {feed.sha256}" + (f"  etag: {escape(feed.etag)}" if feed.etag else ""),
                      highlight=False, soft_wrap=True)
        if feed.last_error:
            console.print(f"  [red]last update failed (this copy kept):[/] {escape(feed.last_error)}",
                          highlight=False, soft_wrap=True)


@iocs.command(name="import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def import_(paths: tuple[Path, ...]) -> None:
    """Install STIX 2.1 files (or folders of them) for offline use."""
    console = Console(stderr=True)
    try:
        report = import_feeds(paths, data_dir())
    except PreuveError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(1)
    sys.exit(_print_report(console, report))


iocs.add_command(iocs_convert)

COMMANDS = (iocs,)
