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


# The flow, bottom to top (docs/architecture.md): a package imports only from its own layer or below.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"model", "discovery", "builders"}),
    frozenset({"evidence", "messages"}),
    frozenset({"artifacts", "indicators"}),
    frozenset({"detect"}),
    frozenset({"run"}),
    frozenset({"report"}),
    frozenset({"proof"}),
    frozenset({"store"}),
    frozenset({"fleet", "serve"}),
    frozenset({"commands", "cli", "__main__", "__init__"}),
)


def _layer(top: str) -> int:
    return next(i for i, names in enumerate(LAYERS) if top in names)


def _imported_packages(tree: ast.AST) -> list[tuple[str, int]]:
    out = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        out.extend((name.split(".")[1], node.lineno) for name in names if name.startswith("preuve."))
    return out


def test_nothing_imports_upward() -> None:
    every = sorted(p for p in SRC.rglob("*.py"))
    upward = []
    for path in every:
        top = path.relative_to(SRC).parts[0].removesuffix(".py")
        for imported, line in _imported_packages(ast.parse(path.read_text(), str(path))):
            if _layer(imported) > _layer(top):
                upward.append(f"{path.relative_to(SRC)}:{line} imports preuve.{imported}")
    assert upward == []


def test_every_package_has_a_layer() -> None:
    tops = {p.relative_to(SRC).parts[0].removesuffix(".py") for p in SRC.rglob("*.py")}
    assert sorted(t for t in tops if not any(t in names for names in LAYERS)) == []
