"""The command line: a thin layer over the library (each command calls one library function).

Commands live in the modules of :mod:`preuve.commands`; each module lists its
click commands in ``COMMANDS`` and is found there, so adding a command is
adding a module. A module is imported only when one of its commands is run,
or when every command is listed (``preuve --help``).
"""

from __future__ import annotations

import gc
import importlib
import os
import pkgutil
import signal
import sqlite3
from types import FrameType
from typing import Any, NoReturn

import click

from preuve import __version__


class CommandsGroup(click.Group):
    """A group whose commands are the COMMANDS of the modules of :mod:`preuve.commands`, imported
    when needed: one module for one command (through ``COMMAND_MODULES``), all of them to list the
    commands. Every module added gives the same commands, in the same order, as adding them all."""

    def _add_module(self, name: str) -> None:
        from preuve import commands

        module = importlib.import_module(f"{commands.__name__}.{name}")
        for command in getattr(module, "COMMANDS", ()):
            self.add_command(command)

    def _add_all(self) -> None:
        from preuve import commands

        for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
            self._add_module(module_info.name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_all()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            from preuve.commands import COMMAND_MODULES

            module = COMMAND_MODULES.get(cmd_name)
            if module is not None:
                self._add_module(module)
            if cmd_name not in self.commands:
                # Not a known command (a new module not in COMMAND_MODULES, or a typo): every module is
                # imported, so the command is found, or click suggests the closest names.
                self._add_all()
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; whatever escapes it becomes one plain line on stderr and an exit code (1, or
        130 when interrupted), never a traceback (PREUVE_DEBUG=1 shows it)."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except KeyboardInterrupt as exc:
            from preuve.report.outdir import RunInterrupted

            where = ""
            if isinstance(exc, RunInterrupted) and exc.out is not None:
                where = f"; what was written is in {exc.out}, marked partial (INTERRUPTED.txt, run.json)"
            _say("interrupted", f"the run was stopped before it finished{where}")
            ctx.exit(EXIT_INTERRUPTED)
        except Exception as exc:  # noqa: BLE001 - the one place that turns errors into words
            if os.environ.get("PREUVE_DEBUG"):
                raise
            _say("error", error_text(exc))
            ctx.exit(1)


EXIT_INTERRUPTED = 130  # as a shell reports a program stopped by SIGINT (128 + 2)


def error_text(exc: BaseException) -> str:
    """Plain words for an error: preuve's own messages as they are, OS and SQLite errors mapped."""
    from preuve.evidence.errors import PreuveError
    from preuve.messages import error_text as plain

    if isinstance(exc, (PreuveError, OSError, sqlite3.Error, MemoryError)):
        return plain(exc)
    return f"unexpected error ({type(exc).__name__}: {exc}); please report it (PREUVE_DEBUG=1 shows the details)"


def _say(label: str, text: str) -> None:
    safe = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    click.echo(f"{label}: {safe}", err=True)


def _terminate(signum: int, frame: FrameType | None) -> NoReturn:
    """SIGTERM stops a run as Ctrl-C does: its output folder is marked partial, the exit code is 130."""
    raise KeyboardInterrupt


def build_cli() -> click.Group:
    """The `preuve` command group, whose commands are those of :mod:`preuve.commands`."""

    @click.group(cls=CommandsGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, prog_name="preuve")
    def cli() -> None:
        """preuve: check phones for mercenary spyware and stalkerware, with verifiable proof."""

    return cli


def main() -> None:
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _terminate)
    try:
        build_cli()(prog_name="preuve")
    finally:
        # At shutdown the interpreter runs full collections over everything still referenced (the
        # modules, the indicator index...): 0.07-0.13 s of CPU after a check (benchmarks/README.md).
        # The collector skips frozen objects, which are still freed by reference counting; the run
        # itself closes its files and removes its folders, nothing is left to the collector.
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
