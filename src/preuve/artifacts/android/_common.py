"""Helpers shared by the Android artifacts: bounded JSON, property lines, dates (values: artifacts/values.py)."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime

from preuve.artifacts.base import ArtifactContext
from preuve.evidence.errors import EvidenceError
from preuve.evidence.policy import json_text, may_escape_surrogates, surrogate_free

AQF = "/.acquisition/androidqf"
_PROP = re.compile(r"^\[(?P<name>[^\]]{1,512})\]: \[(?P<value>.*)\]\s*$")


def load_json(ctx: ArtifactContext, path: str) -> object:
    """A JSON document, or JSON lines (AndroidQF wrote files.json both ways); EvidenceError when neither."""
    data = ctx.fs.read_bytes(path)
    text = data.decode("utf-8", "replace")
    try:
        return json_text(text)
    except (ValueError, RecursionError) as exc:
        items: list[object] = []
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                items.append(json_text(line))
            except (ValueError, RecursionError):
                raise EvidenceError(path, f"malformed JSON ({exc})") from None
        if not items:
            raise EvidenceError(path, f"malformed JSON ({exc})") from None
        return items


_WS = " \t\r\n"
_CHUNK = 1024 * 1024


def iter_json_items(ctx: ArtifactContext, path: str) -> Iterator[tuple[int, object]]:
    """(index, item) of a JSON array, or of JSON lines, streamed: memory stays flat however long the list.

    The standard library parses each item (``raw_decode``); only the cutting of
    the stream into items is written here, because json.load would hold a
    files.json of a million entries in memory at once. One item larger than the
    read limit, or a malformed item, raises EvidenceError after the items before
    it were yielded.
    """
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")("replace")
    limit = ctx.limits.max_read_bytes
    buf = ""
    pos = 0
    index = 0
    mode: str | None = None  # "array" or "lines"
    eof = False
    escapes = False  # whether the text read may write a surrogate as an escape
    with ctx.fs.open(path) as stream:

        def fill() -> bool:
            nonlocal buf, pos, eof, escapes
            if eof:
                return False
            # Read at least as much as is pending, so an item spanning many chunks is re-parsed
            # O(log n) times, not once per chunk.
            chunk = stream.read(max(_CHUNK, len(buf) - pos))
            buf = buf[pos:] + utf8.decode(chunk, final=not chunk)
            pos = 0
            eof = not chunk
            escapes = may_escape_surrogates(buf)  # (nearly never: then each item is looked at)
            return True

        fill()
        while True:
            while pos < len(buf) and (buf[pos] in _WS or (mode == "array" and buf[pos] == ",")):
                pos += 1
            if pos >= len(buf):
                if fill():
                    continue
                break
            char = buf[pos]
            if mode is None:
                if char == "[":
                    mode = "array"
                    pos += 1
                    continue
                mode = "lines"
            if mode == "array" and char == "]":
                return
            try:
                item, end = decoder.raw_decode(buf, pos)
            except ValueError as exc:
                if not eof and len(buf) - pos <= limit:
                    fill()
                    continue
                raise EvidenceError(path, f"malformed JSON at item [{index}] ({exc})") from None
            except RecursionError:
                raise EvidenceError(path, f"item [{index}] is nested too deeply") from None
            if (
                not eof
                and isinstance(item, (int, float))
                and (end >= len(buf) or buf[end] in "0123456789.eE+-")
            ):
                # A number cut by the chunk edge ("1." of "1.5e3"): read more and parse it again.
                fill()
                continue
            if escapes and may_escape_surrogates(buf[pos:end]):
                try:
                    item = surrogate_free(item)
                except RecursionError:
                    raise EvidenceError(path, f"item [{index}] is nested too deeply") from None
            pos = end
            yield index, item
            index += 1
        if mode == "array":
            raise EvidenceError(path, f"malformed JSON: the list ends without ']' after {index} items")


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


def acquisition_value(ctx: ArtifactContext, key: str) -> object:
    """One value of AndroidQF's acquisition.json, or None when the file or the key is absent or the
    file cannot be read (the artifacts that read acquisition.json itself report that)."""
    meta = f"{AQF}/acquisition.json"
    if not ctx.fs.is_file(meta):
        return None
    try:
        data = load_json(ctx, meta)
    except EvidenceError:
        return None
    return data.get(key) if isinstance(data, dict) else None
