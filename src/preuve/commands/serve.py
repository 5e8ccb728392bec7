"""`preuve serve CASE.db`: the local console over a case store."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.argument("case_db", type=click.Path(path_type=Path))
@click.option("--port", default=0, show_default=True, help="Port to listen on (0: a free one).")
@click.option("--listen-on-network", "host", default=None, metavar="ADDRESS",
              help="Listen on this address instead of 127.0.0.1 (exposes the case to that network).")
@click.option("--feeds-dir", type=click.Path(path_type=Path), default=None,
              help="Data folder of the installed feeds (default: the one `preuve iocs` uses).")
def serve(case_db: Path, port: int, host: str | None, feeds_dir: Path | None) -> None:
    """Open a local console over CASE_DB: devices, findings across devices, feeds, re-hunts.

    It listens on 127.0.0.1 only, and prints an address holding a random token: only a browser
    given that address can use it. Needs `pip install 'preuve[serve]'`.
    """
    try:
        import uvicorn

        from preuve.serve.app import ConsoleSettings, create_app
    except ImportError:
        click.echo("error: the console needs its optional extra: pip install 'preuve[serve]'", err=True)
        sys.exit(1)
    from preuve.evidence.errors import PreuveError
    from preuve.store.case import CaseStore

    if not case_db.is_file():
        click.echo(f"error: {case_db}: no such case (make one with `preuve check EVIDENCE --case {case_db}`)",
                   err=True)
        sys.exit(1)
    try:
        with CaseStore(case_db):
            pass
    except PreuveError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    bind = host or "127.0.0.1"
    allowed = ("127.0.0.1", "localhost") if host is None else ("127.0.0.1", "localhost", bind)
    from preuve.commands.settings import data_dir

    settings = ConsoleSettings(case=case_db.resolve(), feeds_root=feeds_dir or data_dir(), allowed_hosts=allowed)
    app = create_app(settings)
    import socket

    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.bind((bind, port))
        sock.listen(128)  # before the address is printed: a browser opened at once is queued, not refused
    except OSError as exc:
        sock.close()
        click.echo(f"error: cannot listen on {bind}:{port}: {exc.strerror or exc}", err=True)
        sys.exit(1)
    real_port = sock.getsockname()[1]
    shown_host = f"[{bind}]" if ":" in bind else bind
    click.echo(f"preuve console for {case_db}: http://{shown_host}:{real_port}/?token={settings.token}")
    click.echo("Only a browser given this address can use the console. Press Ctrl-C to stop.")
    sys.stdout.flush()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


COMMANDS = (serve,)
