"""`preuve <command>` imports that command's module only; COMMAND_MODULES says which one it is."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import click

from preuve import commands
from preuve.cli import build_cli
from preuve.commands import COMMAND_MODULES

SRC = Path(__file__).resolve().parent.parent / "src"


def test_command_modules_match_what_the_modules_declare() -> None:
    declared: list[tuple[str, str]] = []
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        declared.extend((command.name or "", info.name) for command in getattr(module, "COMMANDS", ()))
    assert len({name for name, _ in declared}) == len(declared)  # no command is declared twice
    assert dict(declared) == COMMAND_MODULES


def test_every_listed_command_is_the_one_its_module_declares() -> None:
    group = build_cli()
    ctx = click.Context(group)
    assert group.list_commands(ctx) == sorted(COMMAND_MODULES)
    for name, module in COMMAND_MODULES.items():
        declared = importlib.import_module(f"{commands.__name__}.{module}").COMMANDS
        assert group.get_command(ctx, name) in declared


def test_an_unknown_name_is_looked_for_in_every_module() -> None:
    group = build_cli()
    ctx = click.Context(group)
    assert group.get_command(ctx, "chek") is None
    assert sorted(group.commands) == sorted(COMMAND_MODULES)  # click suggests "check" from these


_PROBE = """
import json, sys
import click
from preuve.cli import build_cli
group = build_cli()
command = group.get_command(click.Context(group), sys.argv[1])
# preuve.commands.settings resolves settings for any command: not a command module
commands = sorted(m for m in sys.modules if m.startswith("preuve.commands.") and m != "preuve.commands.settings")
print(json.dumps([command.name, commands]))
"""


def _imported_for(name: str) -> list[object]:
    env = dict(os.environ, PYTHONPATH=str(SRC))
    done = subprocess.run([sys.executable, "-c", _PROBE, name], env=env, capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout))


def test_one_command_imports_its_module_only() -> None:
    assert _imported_for("check") == ["check", ["preuve.commands.check"]]
    assert _imported_for("export-stix") == ["export-stix", ["preuve.commands.export_stix"]]
    assert _imported_for("iocs") == ["iocs", ["preuve.commands.iocs", "preuve.commands.iocs_convert"]]


_HEAVY_PROBE = """
import json, sys
import click
from preuve.cli import build_cli
group = build_cli()
group.get_command(click.Context(group), "check")
print(json.dumps(sorted(m for m in sys.modules if m.startswith("preuve"))))
"""


def test_the_check_command_imports_none_of_the_run_before_it_starts() -> None:
    """`preuve check` starts listing a backup's folders (backup_folders.list_folders_early), or reading a
    tar's headers (early_tar.scan_headers_early), as it begins, on the core its start-up leaves idle: the
    command's module imports none of the run, which is imported after."""
    env = dict(os.environ, PYTHONPATH=str(SRC))
    done = subprocess.run([sys.executable, "-c", _HEAVY_PROBE], env=env, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [
        "preuve", "preuve.cli", "preuve.commands", "preuve.commands.check", "preuve.evidence",
        "preuve.evidence.backup_folders", "preuve.evidence.early_tar", "preuve.evidence.errors",
        "preuve.evidence.formats", "preuve.evidence.formats.gzindex", "preuve.evidence.formats.tarheaders",
        "preuve.evidence.limits", "preuve.evidence.parallel", "preuve.messages", "preuve.report",
        "preuve.report.choices", "preuve.report.formats", "preuve.report.formats.catalog",
    ]


_RUN = """
import json, sys
from preuve.cli import main
sys.argv = ["preuve", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps([code, sorted(m for m in sys.modules if m == "rich" or m.startswith("rich."))]))
"""


def test_a_quiet_check_does_not_import_rich(tmp_path: Path) -> None:
    """-q and --json show nothing, so rich (a tenth of the start-up) is not imported; without them it is."""
    from preuve.builders.ios_backup import BackupBuilder

    builder = BackupBuilder(tmp_path / "backup")
    builder.add_file("HomeDomain", "Library/Preferences/x.plist", b"not a plist")
    root = builder.finish()
    env = dict(os.environ, PYTHONPATH=str(SRC))

    def run(*flags: str) -> list[object]:
        args = [sys.executable, "-c", _RUN, "check", str(root), "-o", str(tmp_path / f"out{flags}"), *flags]
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
        return list(json.loads(done.stdout.strip().splitlines()[-1]))

    # No indicator is given: heuristics only, exit 3 (and -q still warns, without rich).
    assert run("-q") == [3, []]
    assert run("--json") == [3, []]
    code, modules = run()
    assert code == 3
    assert "rich.console" in modules  # type: ignore[operator]
