"""Every record class is written as one JSON line holding its type, its locator and every field, in
declaration order (records keep their fields in a ``__dict__``, which orjson writes directly: a
field it skipped or reordered would show here)."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, datetime

import orjson
import pytest

import preuve.artifacts.android as android
import preuve.artifacts.ios as ios
import preuve.evidence as evidence
from preuve.discovery import shipped_classes
from preuve.model import DeviceFacts, Locator, Record
from preuve.model.jsonio import _default
from preuve.report.outdir import record_line

RECORD_CLASSES = sorted(
    # (the records of the acquisition kinds' own checks, such as a backup's integrity, live in evidence/)
    {cls for package in (ios, android, evidence) for cls in shipped_classes(package, Record)} | {DeviceFacts},
    key=lambda cls: (cls.__module__, cls.__qualname__),
)
WHEN = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=UTC)


def _value(kind: object, name: str, index: int) -> object:
    """A value of the annotated type, different for each field (None for every other optional one)."""
    args = typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        if index % 2:
            return None
        kind = next(arg for arg in args if arg is not type(None))
        args = typing.get_args(kind)
    if kind is str:
        return f"{name} \"{index}\" é,\n"
    if kind is bool:
        return index % 3 == 0
    if kind is int:
        return 1_000 + index
    if kind is float:
        return index + 0.25
    if kind is datetime:
        return WHEN
    if typing.get_origin(kind) is tuple:
        item = args[0]
        if item is str:
            return (f"{name}-a", f"{name}-b")
        if typing.get_origin(item) is tuple:
            return tuple(_value(part, name, index) for part in typing.get_args(item) if part is not Ellipsis),
        return ()  # a tuple of nested dataclasses: written by orjson the same way either way
    if typing.get_origin(kind) is list:
        return [f"{name}-a"]
    if typing.get_origin(kind) is dict:
        return {f"{name}-k": "v"}
    raise AssertionError(f"no test value for {kind!r} ({name})")


def test_every_record_class_is_found() -> None:
    assert len(RECORD_CLASSES) == 86  # 62, the 8 of android_intrusion_logs, 5 of the bugreport sections, DeviceFacts,
    # 4 for MVT parity (installed accessibility services, accessibility services counted and not named, invalid
    # ADB keys, ps threads), the settings' changes,
    # AndroidQF's browser history, the 3 of Samsung's framework logs and AndroidQF's Magisk modules


@pytest.mark.parametrize("cls", RECORD_CLASSES, ids=lambda cls: cls.record_type)
def test_record_line_holds_every_field_in_order(cls: type[Record]) -> None:
    hints = typing.get_type_hints(cls)
    locator = Locator("/private/var/x.db", "ab" * 32, table="t", rowid=42)
    values: dict[str, object] = {"locator": locator}
    for index, field in enumerate(dataclasses.fields(cls)):
        if field.name != "locator":
            values[field.name] = _value(hints[field.name], field.name, index)
    record = cls(**values)
    expected = {"record_type": cls.record_type}
    for field in dataclasses.fields(cls):
        if field.name == "locator":
            expected["locator"] = {f.name: getattr(locator, f.name) for f in dataclasses.fields(Locator)}
        else:
            expected[field.name] = values[field.name]
    options = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
    assert record_line(record) == orjson.dumps(expected, default=_default, option=options)
    assert list(orjson.loads(record_line(record))) == ["record_type", *(f.name for f in dataclasses.fields(cls))]
