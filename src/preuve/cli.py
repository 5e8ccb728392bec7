"""The command line: a thin layer over the library (each command calls one library function).

Commands live in the modules of :mod:`preuve.commands`; each module lists its
click commands in ``COMMANDS`` and is found there, so adding a command is
adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil

import click

from preuve import __version__


def build_cli() -> click.Group:
    """The `preuve` command group with every command of :mod:`preuve.commands` added."""
    from preuve import commands

    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, prog_name="preuve")
    def cli() -> None:
        """preuve: check phones for mercenary spyware and stalkerware, with verifiable proof."""

    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        for command in getattr(module, "COMMANDS", ()):
            cli.add_command(command)
    return cli


def main() -> None:
    build_cli()()


if __name__ == "__main__":  # pragma: no cover
    main()
