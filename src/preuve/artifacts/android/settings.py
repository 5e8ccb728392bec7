"""Android settings: AndroidQF settings_*.txt (``settings list global|secure|system``) and the
``dumpsys settings`` output of a bugreport (read by :class:`DumpsysSettingsReader`).

``dumpsys settings`` prints, per user, ``GLOBAL SETTINGS (user 0)`` (also SECURE, SYSTEM,
CONFIG) and then one row per setting as space-separated ``key:value`` fields in a fixed order:
``_id:12 name:adb_enabled pkg:android value:1 default:1 defaultSystemSet:true tag:null``. A value
may hold spaces and newlines, so it runs up to the next field name dumpsys prints; a row may go on
over the following lines. A row's change history (``History (n):``, then one
``time:MM-DD HH:MM:SS.mmm mode:update oldValue:0 newValue:1 package:com.example`` a change) gives one
AndroidSettingChange each: who changed the setting, from what to what, and when. dumpsys prints
those times without a year: it is the latest one at or before the time the section says it was
printed (``ending at: …`` on its duration trailer), and unknown without it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from preuve.artifacts.android._common import AQF
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.model import Kind, Locator, Observable, Record, Timestamp

_NAMESPACE = re.compile(r"^(?P<ns>CONFIG|GLOBAL|SECURE|SYSTEM) SETTINGS \(user (?P<user>\d+)\)\s*$")
# The fields of a row, in the order dumpsys prints them (the later ones only on some versions).
_ROW_FIELDS = ("_id", "name", "pkg", "value", "default", "defaultSystemSet", "tag", "isValuePreservedInRestore")
# The fields of a change in a row's history, in the order dumpsys prints them.
_CHANGE_FIELDS = ("time", "mode", "oldValue", "newValue", "package")
_CHANGE_TIME = re.compile(r"(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?")
_ENDING = re.compile(r"ending at: (\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})")
_PACKAGE = re.compile(r"[A-Za-z][\w]*(?:\.[\w]+)+")
MAX_ROW_LINES = 64
MAX_ROW_CHARS = 64 * 1024
MAX_CHANGES = 10_000  # changes of one settings dump kept until its end (each a few hundred bytes)


@dataclass(kw_only=True)
class AndroidSetting(Record):
    record_type: ClassVar[str] = "android:settings:setting"
    namespace: str
    key: str
    value: str
    user: int | None = None  # the Android user whose settings hold it, when the source says (dumpsys does)

    def summary(self) -> str:
        return f"{self.namespace}/{self.key} = {self.value}"


@dataclass(kw_only=True)
class AndroidSettingChange(Record):
    """One change in a setting's history, as ``dumpsys settings`` keeps it: who wrote the setting (the
    package that called the settings provider: com.android.settings when the owner used the Settings
    app, com.android.shell for a command over adb, or an app itself), from what value to what."""

    record_type: ClassVar[str] = "android:settings:change"
    namespace: str
    user: int | None
    key: str
    when: datetime | None  # device time read as UTC; None when the dump gives no year to complete it
    time_text: str  # as dumpsys prints it, without a year
    mode: str  # "update", "insert", "delete", "reset"…
    old_value: str
    new_value: str
    package: str
    current_value: str  # the setting's value when the bugreport was taken

    def observables(self) -> Iterator[Observable]:
        if _PACKAGE.fullmatch(self.package):
            yield Observable(Kind.APP_ID, self.package)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.when is not None:
            yield Timestamp(self.when, f"Setting {self.key} changed")

    def summary(self) -> str:
        return f"{self.namespace}/{self.key}: {self.old_value} -> {self.new_value} by {self.package}"


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


def _split_row(text: str, names: tuple[str, ...] = _ROW_FIELDS) -> dict[str, str]:
    """The key:value fields of one row (or change); a field runs up to the next field name that is present."""
    fields: dict[str, str] = {}
    key = names[0]
    if not text.startswith(key + ":"):
        return fields
    rest = text[len(key) + 1 :]
    for following in names[1:]:
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
        self.user: int | None = None
        self._changes: list[tuple[int, str]] = []  # the row's history: (line, text)
        # Changes of the rows read, until the dump's end gives their year: (line, namespace, user, key,
        # current value, text).
        self._pending: list[tuple[int, str, int | None, str, str, str]] = []
        self._pending_full = False
        self._ending: datetime | None = None

    def line(self, number: int, text: str) -> list[AndroidSetting | AndroidSettingChange]:
        if text.startswith("--------- ") and "ending at: " in text:
            self._ending = _ending_time(text)
        out: list[AndroidSetting | AndroidSettingChange] = list(self._flush()) if self._closes(text) else []
        heading = _NAMESPACE.match(text) if text[:1] in "CGS" else None
        if heading is not None:
            self.namespace = heading["ns"].lower()
            self.user = int(heading["user"]) if len(heading["user"]) <= 9 else None
            return out
        if self.namespace is None or not text.strip():
            return out
        if text.startswith("_id:"):
            self._start, self._lines, self._size, self._history = number, [text], len(text), False
            self._changes = []
            return out
        if self._history and self._lines:
            change = text.strip()
            if change.startswith("time:"):
                if len(self._changes) < MAX_ROW_LINES:
                    self._changes.append((number, change[:MAX_ROW_CHARS]))
            elif self._changes and len(self._changes[-1][1]) + len(change) < MAX_ROW_CHARS:
                # (a change wrapped over several lines)
                self._changes[-1] = (self._changes[-1][0], f"{self._changes[-1][1]} {change}")
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

    def end(self) -> list[AndroidSetting | AndroidSettingChange]:
        """The row still open, then every change read (their year known now, or never)."""
        out: list[AndroidSetting | AndroidSettingChange] = list(self._flush())
        self.namespace = None
        pending, self._pending = self._pending, []
        for number, namespace, user, key, current, text in pending:
            fields = _split_row(text, _CHANGE_FIELDS)
            printed = fields.get("time", "").strip()
            out.append(AndroidSettingChange(
                locator=self.locator(number), namespace=namespace, user=user, key=key,
                when=_with_year(printed, self._ending), time_text=printed, mode=fields.get("mode", "").strip(),
                old_value=fields.get("oldValue", "").strip(), new_value=fields.get("newValue", "").strip(),
                package=fields.get("package", "").strip(), current_value=current,
            ))
        return out

    def _flush(self) -> list[AndroidSetting]:
        lines, self._lines = self._lines, []
        changes, self._changes = self._changes, []
        self._history = False
        if not lines or self.namespace is None:
            return []
        text = "\n".join(lines).rstrip()
        text = text.removesuffix(" notPreservedInRestore")
        fields = _split_row(text)
        name = fields.get("name", "").strip()
        if not name or "value" not in fields:
            return []
        value = fields["value"].strip()
        for number, change in changes:
            if len(self._pending) >= MAX_CHANGES:
                if not self._pending_full and self.warn is not None:
                    self.warn(f"line {number}: more than {MAX_CHANGES} setting changes; the rest are not read")
                self._pending_full = True
                break
            self._pending.append((number, self.namespace, self.user, name, value, change))
        return [AndroidSetting(locator=self.locator(self._start), namespace=self.namespace, key=name,
                               value=value, user=self.user)]


def _ending_time(trailer: str) -> datetime | None:
    """When dumpsys printed a service, from its trailer (device time read as UTC)."""
    found = _ENDING.search(trailer)
    if found is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in found.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def _with_year(printed: str, ending: datetime | None) -> datetime | None:
    """A history time (MM-DD HH:MM:SS.mmm, no year) in the latest year that puts it at or before
    `ending` (a 29 February in the latest leap year); None without `ending` or for a time that is none."""
    found = _CHANGE_TIME.fullmatch(printed)
    if found is None or ending is None:
        return None
    month, day, hour, minute, second = (int(part) for part in found.groups()[:5])
    micro = int((found[6] or "0").ljust(6, "0"))
    for year in range(ending.year, ending.year - 8, -1):
        try:
            when = datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
        except ValueError:
            continue
        if when <= ending:
            return when
    return None
