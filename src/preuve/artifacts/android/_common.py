"""Helpers shared by the Android artifacts: bounded JSON, property lines, value coercion."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from preuve.artifacts.base import ArtifactContext
from preuve.evidence.errors import EvidenceError

AQF = "/.acquisition/androidqf"
_PROP = re.compile(r"^\[(?P<name>[^\]]{1,512})\]: \[(?P<value>.*)\]\s*$")


def load_json(ctx: ArtifactContext, path: str) -> object:
    """A JSON document, or JSON lines (AndroidQF wrote files.json both ways); EvidenceError when neither."""
    data = ctx.fs.read_bytes(path)
    text = data.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        items: list[object] = []
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except (ValueError, RecursionError):
                raise EvidenceError(path, f"malformed JSON ({exc})") from None
        if not items:
            raise EvidenceError(path, f"malformed JSON ({exc})") from None
        return items


def text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def parse_property_line(line: str) -> tuple[str, str] | None:
    """('ro.build.version.security_patch', '2024-01-05') from '[ro.build…]: [2024-01-05]'."""
    match = _PROP.match(line)
    if match is None:
        return None
    return match.group("name"), match.group("value")


def parse_date(value: str | None) -> datetime | None:
    """A date or time as phones write them (2024-01-05, 2024-01-05T10:11:12Z, 2024-01-05 10:11:12)."""
    if not value:
        return None
    value = value.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            when = datetime.strptime(value.replace("Z", "+0000"), fmt)
        except ValueError:
            continue
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
