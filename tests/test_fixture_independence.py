"""Fixture builders never derive their bytes from the code they test.

A builder that imports preuve's reader (or copies its code) writes the reader's
mistakes into the fixture, and every test built on it passes anyway. Every
module of src/preuve/builders and tests/builders is parsed with ``ast``:

* it may import from preuve only ``preuve.builders`` (absolute, relative,
  lazy inside a function, or through importlib / ``__import__``);
* from the rest of tests/ it may import only tests.builders, with one named
  exception: tests/builders/__init__.py re-exports ``check`` and ``records``
  from tests/helpers.py. Those two run preuve; they are test helpers, not byte
  builders, and the re-export keeps the older tests' imports working;
* no function body and no literal table (dict, list, tuple, set of four or more
  items) is a verbatim copy of one in the rest of src/preuve, except the one
  named in SHARED_ON_PURPOSE.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILDER_DIRS = (ROOT / "src" / "preuve" / "builders", ROOT / "tests" / "builders")

# The one exception: (module, imported module, names) with its reason in the docstring above.
REEXPORTS = {("tests.builders", "tests.helpers"): frozenset({"check", "records"})}


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    target: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT / "src") if path.is_relative_to(ROOT / "src") else path.relative_to(ROOT)
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package(module: str, is_package: bool) -> str:
    return module if is_package else module.rpartition(".")[0]


def _resolve(base: str | None, level: int, package: str) -> str:
    if level == 0:
        return base or ""
    parts = package.split(".")
    anchor = parts[: len(parts) - (level - 1)] if level > 1 else parts
    return ".".join([*anchor, *([base] if base else [])])


def _allowed(importer: str, target: str, names: frozenset[str]) -> bool:
    top = target.split(".")[0]
    if top == "preuve":
        return target == "preuve.builders" or target.startswith("preuve.builders.")
    if top == "tests":
        if target == "tests.builders" or target.startswith("tests.builders."):
            return True
        allowed = REEXPORTS.get((importer, target))
        return allowed is not None and bool(names) and names <= allowed
    return True


def _dynamic_target(node: ast.Call) -> str | None:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name not in ("import_module", "__import__") or not node.args:
        return None
    first = node.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else "<computed>"


def import_violations(source: str, module: str, is_package: bool = False) -> list[Violation]:
    """Every import in `source` (the module `module`) that a fixture builder must not make."""
    package = _package(module, is_package)
    out: list[Violation] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not _allowed(module, alias.name, frozenset()):
                    out.append(Violation(module, node.lineno, alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module, node.level, package)
            names = frozenset(a.name for a in node.names)
            if base in ("preuve", "tests"):
                # "from preuve import evidence" imports the submodule preuve.evidence
                for name in sorted(names):
                    if not _allowed(module, f"{base}.{name}", frozenset()):
                        out.append(Violation(module, node.lineno, f"{base}.{name}"))
            elif not _allowed(module, base, names):
                out.append(Violation(module, node.lineno, base))
        elif isinstance(node, ast.Call):
            target = _dynamic_target(node)
            if target is not None and (target == "<computed>" or not _allowed(module, target, frozenset())):
                out.append(Violation(module, node.lineno, f"dynamically {target}"))
    return out


def builder_modules() -> list[Path]:
    return sorted(p for d in BUILDER_DIRS for p in d.rglob("*.py"))


def test_the_scan_sees_every_builder() -> None:
    names = {module_name(p) for p in builder_modules()}
    assert {"tests.builders.android", "tests.builders.ios_dump", "preuve.builders.ios_backup",
            "tests.builders", "tests.builders.intrusion_logs"} <= names
    assert len(names) == len(builder_modules()) >= 18


@pytest.mark.parametrize("path", builder_modules(), ids=lambda p: module_name(p))
def test_builder_imports_nothing_it_tests(path: Path) -> None:
    found = import_violations(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")
    assert [str(v) for v in found] == []


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from preuve.evidence.ios_domains import device_path", "tests.builders.ios_dump",
         ["preuve.evidence.ios_domains"]),
        ("import preuve.evidence.android_ab as ab", "tests.builders.android", ["preuve.evidence.android_ab"]),
        ("from preuve import evidence, builders", "preuve.builders.x", ["preuve.evidence"]),
        ("from ..evidence.android_ab import MAGIC", "preuve.builders.android", ["preuve.evidence.android_ab"]),
        ("from .. import check", "preuve.builders.android", ["preuve.check"]),
        ("def f():\n    from preuve.run.engine import run_check\n", "tests.builders.fleet", ["preuve.run.engine"]),
        ("import importlib\nimportlib.import_module('preuve.artifacts.ios.sms')", "tests.builders.x",
         ["dynamically preuve.artifacts.ios.sms"]),
        ("__import__(name)", "tests.builders.x", ["dynamically <computed>"]),
        ("from tests.helpers import check", "tests.builders.fleet", ["tests.helpers"]),
        ("from tests.helpers import check, snapshot", "tests.builders", ["tests.helpers"]),
        ("from tests.artifacts.ios import test_sms", "tests.builders.x", ["tests.artifacts.ios"]),
        # allowed
        ("from preuve.builders.ios_backup import BackupBuilder\nfrom . import stix", "preuve.builders.demo", []),
        ("from .fleet import x\nimport hashlib, zlib", "tests.builders.y", []),
        ("from tests.helpers import check, records", "tests.builders", []),
        ("import importlib\nimportlib.import_module('preuve.builders.demo')", "tests.builders.x", []),
    ],
)
def test_the_checker_catches_each_way_of_importing(source: str, module: str, expected: list[str]) -> None:
    is_package = module == "tests.builders"
    assert [v.target for v in import_violations(source, module, is_package)] == expected


# -- copies ------------------------------------------------------------------------------------


def _function_bodies(tree: ast.AST) -> dict[str, str]:
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]
            if len(body) >= 2 or (body and len(ast.dump(body[0])) > 300):
                out["\n".join(ast.dump(s) for s in body)] = node.name
    return out


def _tables(tree: ast.AST) -> dict[str, int]:
    out = {}
    for node in ast.walk(tree):
        items = node.keys if isinstance(node, ast.Dict) else node.elts if isinstance(
            node, (ast.List, ast.Tuple, ast.Set)) else []
        if len(items) >= 4 and all(isinstance(n, (ast.Constant, ast.Tuple)) for n in
                                   (node.values if isinstance(node, ast.Dict) else items)):
            out[ast.dump(node)] = node.lineno
    return out


def copies(builder_sources: dict[str, str], reader_sources: dict[str, str]) -> list[str]:
    """Function bodies and literal tables of the builders found verbatim in the readers."""
    bodies: dict[str, str] = {}
    tables: dict[str, str] = {}
    for name, source in reader_sources.items():
        tree = ast.parse(source)
        bodies.update({k: f"{name}.{v}" for k, v in _function_bodies(tree).items()})
        tables.update({k: f"{name}:{v}" for k, v in _tables(tree).items()})
    found = []
    for name, source in builder_sources.items():
        tree = ast.parse(source)
        found += [f"{name}.{fn} copies {bodies[k]}" for k, fn in _function_bodies(tree).items() if k in bodies]
        found += [f"{name}:{line} copies the table at {tables[k]}" for k, line in _tables(tree).items() if k in tables]
    return found


# Identical on purpose, with the reason. preuve.indicators.stalkerware took the builder's way of giving
# STIX objects stable ids (uuid5 of their content); no reader parses an id's content, so no test can be
# fooled by it.
SHARED_ON_PURPOSE = frozenset({"tests.builders.stix._id copies preuve.indicators.stalkerware._id"})


def test_no_builder_copies_a_reader() -> None:
    src = ROOT / "src" / "preuve"
    readers = {module_name(p): p.read_text(encoding="utf-8") for p in sorted(src.rglob("*.py"))
               if "builders" not in p.relative_to(src).parts}
    builders = {module_name(p): p.read_text(encoding="utf-8") for p in builder_modules()}
    assert len(readers) > 50
    assert [c for c in copies(builders, readers) if c not in SHARED_ON_PURPOSE] == []


def test_the_copy_check_finds_a_copied_helper_and_table() -> None:
    reader = (
        "def _java_chars_utf8(key):\n"
        "    chars = ''.join(chr(b | 0xFF00) if b >= 0x80 else chr(b) for b in key)\n"
        "    return chars.encode('utf-8')\n"
        "ROOTS = {'HomeDomain': '/private/var/mobile', 'RootDomain': '/private/var/root',\n"
        "         'WirelessDomain': '/private/var/wireless', 'KeychainDomain': '/private/var/Keychains'}\n"
    )
    builder = (
        "def key_chars(k):\n"
        "    chars = ''.join(chr(b | 0xFF00) if b >= 0x80 else chr(b) for b in key)\n"
        "    return chars.encode('utf-8')\n"
        "TABLE = {'HomeDomain': '/private/var/mobile', 'RootDomain': '/private/var/root',\n"
        "         'WirelessDomain': '/private/var/wireless', 'KeychainDomain': '/private/var/Keychains'}\n"
    )
    assert copies({"b": builder}, {"r": reader}) == [
        "b.key_chars copies r._java_chars_utf8", "b:4 copies the table at r:4",
    ]
    assert copies({"b": builder.replace("'/private/var/root'", "'/private/var/root/'")}, {"r": reader}) == [
        "b.key_chars copies r._java_chars_utf8",
    ]
