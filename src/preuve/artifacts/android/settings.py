"""Android settings: AndroidQF settings_*.txt (``settings list global|secure|system``) and the
``dumpsys settings`` output of a bugreport (read by :class:`DumpsysSettingsReader`).

``dumpsys settings`` prints, per user, ``GLOBAL SETTINGS (user 0)`` (also SECURE, SYSTEM,
CONFIG) and then one row per setting as space-separated ``key:value`` fields in a fixed order:
``_id:12 name:adb_enabled pkg:android value:1 default:1 defaultSystemSet:true tag:null``. A value
may hold spaces and newlines, so it runs up to the next field name dumpsys prints; a row may go on
over the following lines. A row's change history (``History (n):``) is skipped.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from preuve.artifacts.android._common import AQF
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.model import Locator, Record

_NAMESPACE = re.compile(r"^(?P<ns>CONFIG|GLOBAL|SECURE|SYSTEM) SETTINGS \(user (?P<user>\d+)\)\s*$")
# The fields of a row, in the order dumpsys prints them (the later ones only on some versions).
_ROW_FIELDS = ("_id", "name", "pkg", "value", "default", "defaultSystemSet", "tag", "isValuePreservedInRestore")
MAX_ROW_LINES = 64
MAX_ROW_CHARS = 64 * 1024


@dataclass(kw_only=True)
class AndroidSetting(Record):
    record_type: ClassVar[str] = "android:settings:setting"
    namespace: str
    key: str
    value: str

    def summary(self) -> str:
        return f"{self.namespace}/{self.key} = {self.value}"


class Settings(Artifact):
    name = "android_settings"
    platform = "android"
    title = "System settings (global, secure, system)"
    paths: ClassVar[tuple[str, ...]] = (f"{AQF}/settings_*.txt",)

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        namespace = posixpath.basename(path)[len("settings_") : -len(".txt")]
        for number, line in ctx.fs.read_text_lines(path):
            key, sep, value = line.partition("=")
            if not sep or not key.strip() or " " in key.strip():
                continue
            yield AndroidSetting(
                locator=ctx.locator(path, line=number), namespace=namespace, key=key.strip(), value=value.strip()
            )


def _split_row(text: str) -> dict[str, str]:
    """The key:value fields of one row; a field runs up to the next field name that is present."""
    fields: dict[str, str] = {}
    key = _ROW_FIELDS[0]
    if not text.startswith(key + ":"):
        return fields
    rest = text[len(key) + 1 :]
    for following in _ROW_FIELDS[1:]:
        value, sep, after = rest.partition(f" {following}:")
        if sep:
            fields[key] = value
            key, rest = following, after
    fields[key] = rest
    return fields


class DumpsysSettingsReader:
    """The lines of a ``dumpsys settings`` section in, AndroidSetting records out."""

    def __init__(self, locator: Callable[[int], Locator], warn: Callable[[str], None] | None = None) -> None:
        self.locator = locator
        self.warn = warn
        self.namespace: str | None = None
        self._start = 0
        self._lines: list[str] = []
        self._size = 0
        self._history = False

    def line(self, number: int, text: str) -> list[AndroidSetting]:
        out = self._flush() if self._closes(text) else []
        heading = _NAMESPACE.match(text) if text[:1] in "CGS" else None
        if heading is not None:
            self.namespace = heading["ns"].lower()
            return out
        if self.namespace is None or not text.strip():
            return out
        if text.startswith("_id:"):
            self._start, self._lines, self._size, self._history = number, [text], len(text), False
            return out
        if not self._lines or self._history:
            return out
        if text.strip().startswith("History ("):
            self._history = True
            return out
        if text.startswith("--------- "):  # dumpsys's duration trailer ends the service
            self.namespace = None
            return out
        self._lines.append(text)
        self._size += len(text) + 1
        if len(self._lines) > MAX_ROW_LINES or self._size > MAX_ROW_CHARS:
            if self.warn is not None:
                self.warn(f"line {self._start}: a settings row longer than {MAX_ROW_LINES} lines; kept as read")
            out += self._flush()
            self._history = True  # skip the rest of this row
        return out

    def _closes(self, text: str) -> bool:
        """A line that ends the row being read: a new row, a heading, a blank line, a section trailer."""
        if not self._lines and not self._history:
            return False
        return not text.strip() or text.startswith(("_id:", "--------- ")) or _NAMESPACE.match(text) is not None

    def end(self) -> list[AndroidSetting]:
        out = self._flush()
        self.namespace = None
        return out

    def _flush(self) -> list[AndroidSetting]:
        lines, self._lines = self._lines, []
        self._history = False
        if not lines or self.namespace is None:
            return []
        text = "\n".join(lines).rstrip()
        text = text.removesuffix(" notPreservedInRestore")
        fields = _split_row(text)
        name = fields.get("name", "").strip()
        if not name or "value" not in fields:
            return []
        return [AndroidSetting(locator=self.locator(self._start), namespace=self.namespace, key=name,
                               value=fields["value"].strip())]
