"""Structure rules the architecture states (docs/architecture.md), checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "preuve"
CLI = {SRC / "cli.py", SRC / "__main__.py"}


def _library_modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p not in CLI and (SRC / "commands") not in p.parents)


def _reads_environment(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "environb"}:
            if isinstance(node.value, ast.Name) and node.value.id == "os":
                lines.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            if any(alias.name in {"environ", "getenv", "environb"} for alias in node.names):
                lines.append(node.lineno)
    return sorted(lines)


def test_settings_are_resolved_by_the_command_line_only() -> None:
    readers = {
        str(path.relative_to(SRC)): lines
        for path in _library_modules()
        if (lines := _reads_environment(ast.parse(path.read_text(), str(path))))
    }
    assert readers == {}


def test_the_rule_sees_an_environment_read() -> None:
    assert _reads_environment(ast.parse("import os\nx = os.environ.get('A')\nfrom os import getenv\n")) == [2, 3]
