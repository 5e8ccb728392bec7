"""Every command the CLI offers is shown in the README (as datasette does for its docs)."""

from __future__ import annotations

from pathlib import Path

import click

from preuve.cli import build_cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group) -> dict[str, click.Command]:
    """The commands of a group as `preuve --help` lists them (the root group imports them when asked)."""
    ctx = click.Context(group)
    found = {name: group.get_command(ctx, name) for name in group.list_commands(ctx)}
    return {name: command for name, command in found.items() if command is not None}


def _paths(group: click.Group, prefix: str = "") -> list[str]:
    out = []
    for name, command in sorted(_commands(group).items()):
        if isinstance(command, click.Group):
            out.extend(_paths(command, f"{prefix}{name} "))
        else:
            out.append(prefix + name)
    return out


def test_every_command_is_in_the_readme() -> None:
    missing = [path for path in _paths(build_cli()) if f"preuve {path}" not in README]
    assert missing == []


def test_readme_keeps_the_two_setup_commands() -> None:
    assert "    pip install . && preuve demo\n" in README
    assert "    pip install '.[test]' && pytest\n" in README


def test_every_command_has_help() -> None:
    for path in _paths(build_cli()):
        command: click.Command = build_cli()
        for part in path.split():
            assert isinstance(command, click.Group)
            command = _commands(command)[part]
        assert command.help, path
