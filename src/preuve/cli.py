"""The command line: a thin layer over the library (each command calls one library function).

Commands live in the modules of :mod:`preuve.commands`; each module lists its
click commands in ``COMMANDS`` and is found there, so adding a command is
adding a module. A module is imported only when one of its commands is run,
or when every command is listed (``preuve --help``).
"""

from __future__ import annotations

import gc
import importlib
import pkgutil

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


def build_cli() -> click.Group:
    """The `preuve` command group, whose commands are those of :mod:`preuve.commands`."""

    @click.group(cls=CommandsGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, prog_name="preuve")
    def cli() -> None:
        """preuve: check phones for mercenary spyware and stalkerware, with verifiable proof."""

    return cli


def main() -> None:
    try:
        build_cli()()
    finally:
        # At shutdown the interpreter runs full collections over everything still referenced (the
        # modules, the indicator index...): 0.07-0.13 s of CPU after a check (benchmarks/README.md).
        # The collector skips frozen objects, which are still freed by reference counting; the run
        # itself closes its files and removes its folders, nothing is left to the collector.
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
