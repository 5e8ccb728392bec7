"""Records read back from their canonical JSON (artifacts/*.jsonl, a proof package, a case store):
the inverse of ``Record.fields()``, guided by each record class's field types."""

from __future__ import annotations

import base64
import dataclasses
import types
import typing
from datetime import datetime
from typing import Any

from preuve.artifacts.base import discover_artifacts
from preuve.model import Locator, Record


def record_classes() -> dict[str, type[Record]]:
    """Every record type shipped, by its ``record_type`` name."""
    discover_artifacts()  # imports every artifact module, hence every record class
    out: dict[str, type[Record]] = {}
    stack: list[type[Record]] = [Record]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            if "record_type" in sub.__dict__:
                out[sub.record_type] = sub
    return out


def _decode_value(hint: Any, value: Any) -> Any:
    """A field value from its canonical JSON form, guided by the field's type."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    if isinstance(value, str) and datetime in options:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dict) and set(value) == {"base64"} and (bytes in options):
        return base64.b64decode(value["base64"])
    if isinstance(value, list):
        for option in options:
            if typing.get_origin(option) is tuple:
                args = typing.get_args(option)
                inner = args[0] if args else Any
                return tuple(_decode_value(inner, v) for v in value)
        return [_decode_value(Any, v) for v in value]
    return value


def rebuild_record(cls: type[Record], values: dict[str, Any], locator: Locator) -> Record:
    """A typed record from its values as the proof package holds them (raises ValueError when they do not fit)."""
    hints = typing.get_type_hints(cls)
    # Record.fields() (what the hash covers) also carries the class-level record_type.
    names = [n for n in cls.__dataclass_fields__ if n != "locator"]
    if set(values) != set(names):
        raise ValueError(f"fields {sorted(values)} do not match {cls.record_type} ({sorted(names)})")
    if values.get("record_type", cls.record_type) != cls.record_type:
        raise ValueError(f"record_type {values.get('record_type')!r} is not {cls.record_type}")
    kwargs = {
        f.name: _decode_value(hints.get(f.name, Any), values[f.name])
        for f in dataclasses.fields(cls)
        if f.init and f.name != "locator"
    }
    return cls(locator=locator, **kwargs)


