"""Parsing ``dumpsys`` output once into the records the Android rules look at.

``dumpsys`` prints one section per service, each opened by ``DUMP OF SERVICE
[CRITICAL|HIGH] <name>:``. AndroidQF keeps it in dumpsys.txt; a bugreport's
dumpstate text holds the same sections inside its ``------ DUMPSYS …``
blocks. :class:`DumpsysReader` takes lines one at a time (a single pass over
a file, whichever artifact reads it) and yields records from the services it
understands: accessibility (enabled services), device_policy (active device
admins), package (installed packages and their installer; receivers of SMS and
call broadcasts; the apps' activities), batterystats (apps installed and removed,
and the apps that ran jobs, came to the foreground or held wake locks, even long gone, in the
history; the daily package updates, uninstalls and
downgrades), appops (every operation of every app and its mode), settings
(global, secure, system, config), dbinfo (the databases apps opened),
platform_compat (apps named in compatibility overrides, removed ones too) and adb
(keys of trusted computers). Formats vary across Android versions, so every
parser keys on stable phrases and ignores the rest.

Memory stays bounded whatever the input: lines are bounded by the file reader,
the keys kept to report each thing once are capped (MAX_SEEN, then repeats are
reported again rather than remembered), and the daily package changes buffered
until the end of batterystats are capped (MAX_DAILY).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from preuve.artifacts.android._common import AQF, acquisition_value, parse_date
from preuve.artifacts.android.packages import AndroidPackage, system_flags
from preuve.artifacts.android.settings import DumpsysSettingsReader
from preuve.artifacts.base import ArtifactContext
from preuve.evidence.errors import EvidenceError
from preuve.model import Kind, Locator, Observable, Record, Timestamp

_SERVICE = re.compile(r"^DUMP OF SERVICE (?:CRITICAL |HIGH |NORMAL )?(?P<name>[\w.\-/]+):")
# A component, package/class. The lookahead bounds the package (Android makes each a folder name, at most
# 255 bytes): without it, a line of 1 MB of name characters and no "/" had every position tried, each
# scanning to the line's end (hours); with it, each position costs at most 256 characters.
_COMPONENT = re.compile(r"(?=[\w.]{1,255}/)(?P<pkg>[A-Za-z][\w]*(?:\.[\w]+)+)/(?P<cls>[\w.$]+)")
_A11Y_USER = re.compile(r"attributes:\{id=(\d{1,9})\b")
_A11Y_COUNT = re.compile(r"\binstalledServiceCount=(\d{1,9})\b")
# The lists a user's state prints; "installed" and "enabled" are read for their services, the others
# only count as naming one.
_A11Y_LISTS = ("enabled services", "installed services", "binding services", "bound services",
               "crashed services")
_ACTION = re.compile(r"^\s+(?P<action>[\w.]+):\s*$")
_RECEIVER = re.compile(r"^\s+[0-9a-f]+ (?P<pkg>[\w.]+)/(?P<cls>[\w.$]+)")
_APPOPS_UID = re.compile(r"^  Uid [^:\s]+:\s*$")
_APPOPS_PACKAGE = re.compile(r"^\s*Package (?P<pkg>[\w.]+):\s*$")
# "      REQUEST_INSTALL_PACKAGES (allow):" (Android 10+) or "      CAMERA: mode=ignore; time=…" (before)
_APPOP = re.compile(r"^\s{4,}(?P<op>[A-Z][A-Z0-9_]{2,})(?: \((?P<mode>\w+)[^)]*\))?:\s*(?:mode=(?P<old>\w+))?")
_APPOP_ACCESS = re.compile(r"^\s+Access:\s*\[[^\]]*\]\s*(?P<when>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.\d+)?")
_RESOLVER_KEY = re.compile(r"^\s{4,}(?P<key>\S[^\s]*):\s*$")
_DAILY = re.compile(r"^  Daily from (?P<start>\S+) to (?P<end>[^:\s]+):?\s*$")
# "      Update com.app vers=12" and "      Uninstall com.app" (BatteryStats.dumpDailyPackageChanges)
_DAILY_UPDATE = re.compile(r"^\s+(?:Update (?P<pkg>[^\s=]{1,256}) vers=(?P<vers>\S{1,32})|Uninstall (?P<gone>\S{1,256}))\s*$")
_DB_POOL = re.compile(r"^\s*Connection pool for (?P<path>.+?):\s*$")
_DB_OP = re.compile(
    r"^\s*\d+:\s*\[(?P<when>(?:\d{4}-)?\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3})\]\s*(?:\[Pid:\((?P<pid>\d+)\)\])?\s*"
    r"(?P<action>[\w-]+) took \d+ms - [^,]+,\s*sql=\"(?P<sql>.*)\"(?:, path=(?P<path>.+))?$"
)
_COMPAT = re.compile(r"^\s*ChangeId\((?P<id>\d{1,20});(?P<body>.*)\)\s*$")
_PACKAGE_NAME = re.compile(r"^[A-Za-z][\w]*(?:\.[A-Za-z_][\w]*)+$")
_PKG_HEADER = re.compile(r"^  Package \[(?P<pkg>[^\]\s]+)\] \(")
_PKG_FIELD = re.compile(r"^\s+(?P<key>userId|appId|installerPackageName|pkgFlags|flags)=(?P<value>.*)$")
_PKG_USER0 = re.compile(r"^\s+User 0: .*\benabled=(?P<enabled>\d)")
_PKG_EVENT = re.compile(r'\b(?P<event>pkginst|pkgunin)=(?P<uid>\d+):"(?P<pkg>[^"\s]{1,256})"')
# '+job=u0a12:"com.app/.SyncJob"', '+top=u0a12:"com.app"', ' wake_lock=u0a12:"*alarm*:com.app/.X"'
_HISTORY_EVENT = re.compile(r'[ +-](job|top|wake_lock)=([^:\s]{1,32}):"([^"]{1,512})"')
_ADB_KEY = re.compile(r"(?P<key>[A-Za-z0-9+/]{300,}={0,2})(?:\s+(?P<comment>[^\s\"]+))?")
# The keystore's <adbKey key="…" lastConnection="1628501829898" /> (milliseconds since 1970).
_LAST_CONNECTION = re.compile(r'lastConnection="(?P<ms>\d{1,15})"')

WATCHED_ACTIONS = {
    "android.provider.Telephony.SMS_RECEIVED": "receive SMS",
    "android.provider.Telephony.SMS_DELIVER": "receive SMS (as the default SMS app)",
    "android.provider.Telephony.WAP_PUSH_RECEIVED": "receive MMS",
    "android.intent.action.DATA_SMS_RECEIVED": "receive data SMS",
    "android.intent.action.NEW_OUTGOING_CALL": "see outgoing calls",
    "android.intent.action.PHONE_STATE": "see calls",
    "android.provider.Telephony.NEW_OUTGOING_SMS": "see outgoing SMS",
}
MAX_SEEN = 1_000_000
MAX_DAILY = 100_000


def _full_class(package: str, cls: str) -> str:
    return package + cls if cls.startswith(".") else cls


@dataclass(kw_only=True)
class AccessibilityService(Record):
    record_type: ClassVar[str] = "android:dumpsys:accessibility_service"
    package: str
    component: str

    def observables(self) -> Iterator[Observable]:
        yield Observable(Kind.APP_ID, self.package)

    def summary(self) -> str:
        return f"Accessibility service enabled: {self.component}"


@dataclass(kw_only=True)
class AccessibilityServiceInstalled(Record):
    """An accessibility service the dump lists as installed and not among the enabled ones."""

    record_type: ClassVar[str] = "android:dumpsys:accessibility_service_installed"
    package: str
    component: str
    enabled_stated: bool  # the dump printed its enabled services (so this one is known to be off)

    def observables(self) -> Iterator[Observable]:
        yield Observable(Kind.APP_ID, self.package)

    def summary(self) -> str:
        state = "not enabled" if self.enabled_stated else "enabled state not stated"
        return f"Accessibility service installed ({state}): {self.component}"


@dataclass(kw_only=True)
class AccessibilityServicesUnnamed(Record):
    """A user's count of installed accessibility services, as the dump states it
    (``installedServiceCount=N``), where the dump names fewer services for that user: on most builds
    the count is the dump's only statement about installed services."""

    record_type: ClassVar[str] = "android:dumpsys:accessibility_services_unnamed"
    user: int | None  # the Android user the count is of; None when the dump gives none
    stated: int
    named: int  # the user's services the dump names, in any of its lists

    def summary(self) -> str:
        of = "" if self.user is None else f" of user {self.user}"
        return f"Accessibility services{of}: {self.stated} installed, {self.named} named"


@dataclass(kw_only=True)
class DeviceAdmin(Record):
    record_type: ClassVar[str] = "android:dumpsys:device_admin"
    package: str
    component: str
    system: bool | None = None  # the package's system flag in packages.json; None when not known

    def observables(self) -> Iterator[Observable]:
        yield Observable(Kind.APP_ID, self.package)

    def summary(self) -> str:
        return f"Device admin: {self.component}"


@dataclass(kw_only=True)
class BroadcastReceiver(Record):
    record_type: ClassVar[str] = "android:dumpsys:receiver"
    action: str
    package: str
    component: str
    system: bool | None = None  # the package's system flag in packages.json; None when not known

    def observables(self) -> Iterator[Observable]:
        yield Observable(Kind.APP_ID, self.package)

    def summary(self) -> str:
        return f"{self.component} receives {self.action}"


@dataclass(kw_only=True)
class AppOp(Record):
    record_type: ClassVar[str] = "android:dumpsys:appop"
    package: str
    op: str
    mode: str
    # The latest "Access:" time dumpsys lists for it (Android 10+), device time read as UTC; None when
    # none is listed.
    last_access: datetime | None = None

    def observables(self) -> Iterator[Observable]:
        yield Observable(Kind.APP_ID, self.package)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.last_access is not None:
            yield Timestamp(self.last_access, f"App-op {self.op} last used")

    def summary(self) -> str:
        return f"{self.package}: {self.op} ({self.mode})"


@dataclass(kw_only=True)
class PackageEvent(Record):
    """A package installed or removed, as the battery history remembers it (it survives uninstalls)."""

    record_type: ClassVar[str] = "android:dumpsys:package_event"
    event: str  # "installed" or "uninstalled"
    uid: int
    package: str

    def observables(self) -> Iterator[Observable]:
        yield Observable(Kind.APP_ID, self.package)

    def summary(self) -> str:
        return f"{self.package} {self.event} (uid {self.uid})"


@dataclass(kw_only=True)
class BatteryHistoryEvent(Record):
    """An app seen in the battery history (a job it ran, its coming to the foreground, a wake lock it
    held), first occurrence per app and kind of event: the history outlives the app's removal."""

    record_type: ClassVar[str] = "android:dumpsys:battery_history"
    event: str  # "job", "top" or "wake_lock"
    uid: str  # as the history prints it (u0a123)
    package: str
    name: str  # the job's service, the wake lock's tag, or the package

    def observables(self) -> Iterator[Observable]:
        yield Observable(Kind.APP_ID, self.package)

    def summary(self) -> str:
        return f"{self.package}: {self.event} {self.name} in the battery history"


def history_package(event: str, name: str) -> str | None:
    """The app a history event names: the package of a job's service or of an alarm's component."""
    if event == "top":
        return name if _PACKAGE_NAME.match(name) else None
    if "@" in name:  # WorkManager decorates jobs: "*job*/.../androidx.work...@com.app/..."
        parts = [p for p in name.split("@") if "/" in p]
        name = parts[-1] if parts else name
    for prefix in ("*walarm*:", "*alarm*:", "*job*/", "*sync*/"):
        name = name.removeprefix(prefix)
    first = name.split("/", 1)[0].split(":", 1)[0]
    return first if "/" in name and _PACKAGE_NAME.match(first) else None


@dataclass(kw_only=True)
class CompatOverride(Record):
    """An app named in a compatibility override (dumpsys platform_compat): overrides outlive the app,
    so this can name apps removed since. First override per app."""

    record_type: ClassVar[str] = "android:dumpsys:platform_compat"
    package: str
    change_id: int
    change_name: str | None

    def observables(self) -> Iterator[Observable]:
        yield Observable(Kind.APP_ID, self.package)

    def summary(self) -> str:
        return f"{self.package}: compatibility override {self.change_name or self.change_id}"


@dataclass(kw_only=True)
class PackageActivity(Record):
    """An activity an app declares (first intent it answers), from the package manager's resolver table."""

    record_type: ClassVar[str] = "android:dumpsys:activity"
    package: str
    component: str
    intent: str

    def observables(self) -> Iterator[Observable]:
        yield Observable(Kind.APP_ID, self.package)

    def summary(self) -> str:
        return f"Activity {self.component} ({self.intent})"


@dataclass(kw_only=True)
class BatteryDailyUpdate(Record):
    """A package change the battery daily stats recorded: an ``Uninstall`` line or version 0 is an
    uninstall; a version lower than the one recorded before it is a downgrade."""

    record_type: ClassVar[str] = "android:dumpsys:battery_daily"
    package: str
    version_code: str | None  # None on an "Uninstall" line
    action: str  # "update", "uninstall" or "downgrade"
    previous_version_code: str | None
    period_start: datetime | None
    period_end: datetime | None

    def observables(self) -> Iterator[Observable]:
        yield Observable(Kind.APP_ID, self.package)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.period_start is not None:
            yield Timestamp(self.period_start, f"Package {self.action} recorded (day starting)")

    def summary(self) -> str:
        if self.action == "downgrade":
            return f"{self.package} downgraded from version {self.previous_version_code} to {self.version_code}"
        if self.action == "uninstall":
            return f"{self.package} uninstalled"
        return f"{self.package} updated to version {self.version_code}"


@dataclass(kw_only=True)
class DatabaseAccess(Record):
    """A database an app process opened, from dumpsys dbinfo (first operation seen)."""

    record_type: ClassVar[str] = "android:dumpsys:dbinfo"
    path: str
    pid: int | None
    operation: str
    when: str  # as dumpsys prints it, device time without a zone

    def observables(self) -> Iterator[Observable]:
        yield Observable(Kind.FILE_PATH, self.path)
        parts = self.path.split("/")
        for part in parts[:-1]:
            if _PACKAGE_NAME.match(part):
                yield Observable(Kind.APP_ID, part.split(":", 1)[0])

    def summary(self) -> str:
        return f"Database {self.path} ({self.operation}, pid {self.pid})"


@dataclass(kw_only=True)
class AdbKey(Record):
    record_type: ClassVar[str] = "android:dumpsys:adb_key"
    fingerprint: str  # MD5 of the key, as ``adb`` and Android's dialog show it
    comment: str | None
    acquisition_host: bool = False  # the key of the computer that made this AndroidQF acquisition
    # When that computer last connected, as the keystore dumpsys prints records it (lastConnection,
    # Android 11 and later); None when it does not say.
    last_connection: datetime | None = None

    def timestamps(self) -> Iterator[Timestamp]:
        if self.last_connection is not None:
            yield Timestamp(self.last_connection, "ADB key last connected")

    def summary(self) -> str:
        return f"Trusted ADB key {self.fingerprint} ({self.comment or 'no name'})"


@dataclass(kw_only=True)
class AdbKeyInvalid(Record):
    """A trusted ADB key that is not valid base64: the trusted-keys file was altered or damaged."""

    record_type: ClassVar[str] = "android:dumpsys:adb_key_invalid"
    key_start: str  # the first characters of the key as written
    comment: str | None

    def summary(self) -> str:
        return f"Invalid trusted ADB key {self.key_start}… ({self.comment or 'no name'})"


def _from_millis(text: str) -> datetime | None:
    """Milliseconds since 1970 as a UTC time; None for 0 (never) or a time no calendar holds."""
    try:
        millis = int(text)
        return datetime.fromtimestamp(millis / 1000, tz=UTC) if millis > 0 else None
    except (ValueError, OverflowError, OSError):
        return None


def adb_key(line: str) -> tuple[str, str | None] | None:
    match = _ADB_KEY.search(line)
    if match is None:
        return None
    try:
        raw = base64.b64decode(match["key"], validate=True)
    except (binascii.Error, ValueError):
        return None
    digest = hashlib.md5(raw).hexdigest()  # noqa: S324 - the fingerprint format Android shows
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2)).upper(), match["comment"]


def _acquisition_host_key(ctx: ArtifactContext) -> str | None:
    """Fingerprint of the acquisition computer's key as AndroidQF records it in acquisition.json."""
    value = acquisition_value(ctx, "adb_host_public_key")
    found = adb_key(value) if isinstance(value, str) else None
    return found[0] if found else None


def _daily_time(value: str) -> datetime | None:
    """2023-11-10-03-12-01 (how batterystats writes a day's bounds), device time read as UTC."""
    if len(value) >= 19 and value[10] == "-":
        value = f"{value[:10]} {value[11:19].replace('-', ':')}"
    return parse_date(value)


def reader_for(ctx: ArtifactContext, path: str) -> DumpsysReader:
    """A reader for one file, told what the acquisition already knows (packages.json, its ADB host key)."""
    sha = ctx.fs.sha256(path)
    host_key = None
    host_file = f"{AQF}/adb_host_key.pub"
    if ctx.fs.is_file(host_file):
        try:
            found = adb_key(ctx.fs.read_bytes(host_file, 64 * 1024).decode("ascii", "replace"))
        except EvidenceError as exc:
            ctx.warn(f"{host_file}: {exc.reason}")
            found = None
        host_key = found[0] if found else None
    if host_key is None:
        host_key = _acquisition_host_key(ctx)
    # AndroidQF's packages.json already lists the packages, with hashes and certificates, and its
    # settings_*.txt the settings: not twice.
    return DumpsysReader(lambda number: Locator(path, sha, line=number),
                         packages=not ctx.fs.is_file(f"{AQF}/packages.json"), host_key=host_key,
                         system=system_flags(ctx), settings=not ctx.fs.glob(f"{AQF}/settings_*.txt"),
                         warn=lambda message: ctx.warn(f"{path}: {message}"))


LocatorFor = Callable[[int], Locator]
_NOTHING: tuple[Record, ...] = ()


@dataclass(slots=True)
class _PendingPackage:
    name: str
    line: int
    uid: int | None = None
    installer: str | None = None
    installer_seen: bool = False
    system: bool = False
    disabled: bool | None = None


class DumpsysReader:
    """Feed it the lines of a dumpsys text; it yields records for the services it knows."""

    def __init__(self, locator: LocatorFor, packages: bool = True, host_key: str | None = None,
                 system: Mapping[str, bool] | None = None, warn: Callable[[str], None] | None = None,
                 settings: bool = True) -> None:
        """`packages`: also yield installed packages (off when packages.json already lists them);
        `host_key`: fingerprint of the acquisition computer's ADB key, when known;
        `system`: package name -> system flag, when known (packages.json); `settings`: also
        yield the settings (off when AndroidQF's settings_*.txt already hold them)."""
        self.locator = locator
        self.system = system or {}
        self.packages = packages
        self.settings = settings
        self.host_key = host_key
        self.warn = warn or (lambda message: None)
        self.service: str | None = None
        self.services = 0  # DUMP OF SERVICE headers seen
        self._state = ""
        self._package: str | None = None
        self._action: str | None = None
        self._seen: set[tuple[str, str]] = set()
        self._seen_full = False
        self._pending: _PendingPackage | None = None
        self._settings: DumpsysSettingsReader | None = None
        self._daily_period: tuple[datetime | None, datetime | None] | None = None
        self._daily: dict[tuple[str, str, str], tuple[int, datetime | None, datetime | None]] = {}
        self._daily_full = False
        self._db_pool: str | None = None
        self._history_seen: set[tuple[str, str]] = set()
        self._op: tuple[int, str, str, str] | None = None  # (line, package, op, mode) until its accesses are read
        self._op_last: datetime | None = None
        # accessibility: installed services (component -> line, package) and whether enabled ones were printed
        self._a11y_installed: dict[str, tuple[int, str]] = {}
        self._a11y_enabled: set[str] = set()
        self._a11y_enabled_stated = False
        # the user whose state is being printed, each user's stated count (and its line), the
        # services named for each user in any list
        self._a11y_user: int | None = None
        self._a11y_counts: dict[int | None, tuple[int, int]] = {}
        self._a11y_named: dict[int | None, set[str]] = {}
        # adb: the keys of the service, in order, and where each fingerprint is among them
        self._adb_keys: list[AdbKey | AdbKeyInvalid] = []
        self._adb_held: dict[str, int] = {}

    def end_section(self) -> Iterator[Record]:
        """Call at the end of a dumpstate section (and of the file): yields what was still open."""
        yield from self._flush()
        self.service = None
        self._state = ""

    def _flush(self) -> Iterator[Record]:
        """At the end of a service: the package block, app-op, settings row, daily changes and ADB keys
        still open."""
        yield from self._op_done()
        if self._adb_keys:
            keys, self._adb_keys = self._adb_keys, []
            self._adb_held = {}
            yield from keys
        if self._settings is not None:
            yield from self._settings.end()
            self._settings = None
        if self._daily:
            yield from self._daily_records()
        self._daily_period = None
        self._db_pool = None
        if self._a11y_installed:
            yield from self._a11y_installed_records()
        if self._a11y_counts or self._a11y_named:
            yield from self._a11y_unnamed_records()
        pending, self._pending = self._pending, None
        if pending is None or not self._once("pkg", pending.name):
            return
        yield AndroidPackage(
            locator=self.locator(pending.line), name=pending.name, installer=pending.installer, uid=pending.uid,
            system=pending.system, disabled=pending.disabled, third_party=not pending.system, files=(),
            installer_recorded=pending.installer_seen,
        )

    def line(self, number: int, text: str) -> Sequence[Record]:
        """Records completed by this line (usually none: the common path allocates nothing)."""
        if text.startswith("DUMP OF SERVICE"):
            match = _SERVICE.match(text)
            if match is not None:
                flushed = list(self._flush())
                self.service = match["name"]
                self.services += 1
                self._state = ""
                self._package = None
                self._action = None
                if self.service == "settings" and self.settings:
                    self._settings = DumpsysSettingsReader(self.locator, self.warn)
                return flushed
        service = self.service
        if service is None:
            return _NOTHING
        if service == "package":
            if self._state == "" and text[:1] == " ":
                return _NOTHING  # deep inside a table this parser does not read
            return list(self._package_section(number, text))
        if service == "accessibility":
            return list(self._accessibility(number, text))
        if service == "device_policy":
            return list(self._device_policy(number, text))
        if service == "appops":
            return list(self._appops(number, text))
        if service == "adb":
            return list(self._adb(number, text))
        if service == "batterystats":
            if ("Daily from" in text or "Update " in text or "Uninstall " in text) and self._battery_daily(
                    number, text):
                return _NOTHING
            if "pkg" in text or "job=" in text or "top=" in text or "wake_lock=" in text:
                return list(self._battery(number, text))
            return _NOTHING
        if service == "settings" and self._settings is not None:
            return self._settings.line(number, text)
        if service == "dbinfo":
            return list(self._dbinfo(number, text))
        if service == "platform_compat" and "rawOverrides={" in text:
            return list(self._compat(number, text))
        return _NOTHING

    def _once(self, kind: str, value: str) -> bool:
        key = (kind, value)
        if key in self._seen:
            return False
        if len(self._seen) >= MAX_SEEN:
            if not self._seen_full:
                self._seen_full = True
                self.warn(f"more than {MAX_SEEN} distinct items: repeats after this are reported again")
            return True
        self._seen.add(key)
        return True

    def _accessibility(self, number: int, text: str) -> Iterator[Record]:
        lowered = text.lower()
        chosen = next((name for name in _A11Y_LISTS if name in lowered), None)
        if chosen is None and self._state in ("a11y", "a11y_installed", "a11y_other"):
            # "… services: {" listed one a line, up to "}" (or the next list or user, if it has none)
            kind = self._state
            if text.strip().startswith("}"):
                self._state = ""
                return
            listed = text
            if "attributes:{" in text:
                self._state = ""
                self._a11y_attributes(number, text)
                return
        else:
            self._state = ""
            if "attributes:{" in text or "installedServiceCount=" in text:
                self._a11y_attributes(number, text)
            if chosen is None:
                return
            if chosen == "enabled services":
                kind = "a11y"
                self._a11y_enabled_stated = True
            else:
                kind = "a11y_installed" if chosen == "installed services" else "a11y_other"
            listed = text.split(":", 1)[-1]
            if listed.count("{") > listed.count("}"):
                self._state = kind
        installed = kind == "a11y_installed"
        for match in _COMPONENT.finditer(listed):
            component = f"{match['pkg']}/{_full_class(match['pkg'], match['cls'])}"
            named = self._a11y_named.setdefault(self._a11y_user, set())
            if len(named) < MAX_SEEN:
                named.add(component)
            if kind == "a11y_other":
                continue
            if installed:
                if component not in self._a11y_installed and len(self._a11y_installed) < MAX_SEEN:
                    self._a11y_installed[component] = (number, match["pkg"])
                continue
            if len(self._a11y_enabled) < MAX_SEEN:
                self._a11y_enabled.add(component)
            if self._once("a11y", component):
                yield AccessibilityService(locator=self.locator(number), package=match["pkg"], component=component)

    def _a11y_attributes(self, number: int, text: str) -> None:
        """A user state's attributes: the user whose lists follow, and the count of installed services
        it states (the first, for each user)."""
        user = _A11Y_USER.search(text)
        if user is not None:
            self._a11y_user = int(user.group(1))
        count = _A11Y_COUNT.search(text)
        if count is not None and len(self._a11y_counts) < MAX_SEEN:
            self._a11y_counts.setdefault(self._a11y_user, (int(count.group(1)), number))

    def _a11y_unnamed_records(self) -> Iterator[Record]:
        """At the end of the accessibility service: each user whose stated count of installed services
        is more than the services the dump names for that user."""
        counts, named = self._a11y_counts, self._a11y_named
        self._a11y_counts, self._a11y_named, self._a11y_user = {}, {}, None
        for user, (stated, number) in counts.items():
            known = len(named.get(user, ()))
            if stated > known and self._once("a11y_unnamed", str(user)):
                yield AccessibilityServicesUnnamed(locator=self.locator(number), user=user, stated=stated,
                                                   named=known)

    def _a11y_installed_records(self) -> Iterator[Record]:
        """At the end of the accessibility service: the installed services that are not enabled."""
        installed, self._a11y_installed = self._a11y_installed, {}
        for component, (number, package) in installed.items():
            if component in self._a11y_enabled or not self._once("a11y_installed", component):
                continue
            yield AccessibilityServiceInstalled(locator=self.locator(number), package=package, component=component,
                                                enabled_stated=self._a11y_enabled_stated)

    def _device_policy(self, number: int, text: str) -> Iterator[Record]:
        stripped = text.strip()
        if stripped.lower().startswith("enabled device admins"):
            self._state = "admins"
            return
        if self._state != "admins":
            return
        indent = len(text) - len(text.lstrip())
        match = _COMPONENT.match(stripped)
        if match is not None and stripped.endswith(":") and indent <= 6:
            component = f"{match['pkg']}/{_full_class(match['pkg'], match['cls'])}"
            if self._once("admin", component):
                yield DeviceAdmin(locator=self.locator(number), package=match["pkg"], component=component,
                                  system=self.system.get(match["pkg"]))
        elif stripped and indent <= 2:
            self._state = ""

    def _package_section(self, number: int, text: str) -> Iterator[Record]:
        if text and not text[0].isspace():
            yield from self._flush()
            self._state = ""
        if text.startswith("Receiver Resolver Table:"):
            self._state = "receivers"
            return
        if text.startswith("Activity Resolver Table:"):
            self._state = "activities"
            return
        if text.startswith("Packages:") and self.packages:
            self._state = "packages"
            return
        if self._state == "packages":
            yield from self._package_block(number, text)
            return
        if self._state == "activities":
            yield from self._activity(number, text)
            return
        if self._state != "receivers":
            return
        action = _ACTION.match(text)
        if action is not None:
            self._action = action["action"]
            return
        receiver = _RECEIVER.match(text)
        if receiver is not None and self._action in WATCHED_ACTIONS:
            component = f"{receiver['pkg']}/{_full_class(receiver['pkg'], receiver['cls'])}"
            if self._once("rx:" + self._action, component):
                yield BroadcastReceiver(
                    locator=self.locator(number), action=self._action, package=receiver["pkg"], component=component,
                    system=self.system.get(receiver["pkg"]),
                )

    def _activity(self, number: int, text: str) -> Iterator[Record]:
        key = _RESOLVER_KEY.match(text)
        if key is not None and len(text) - len(text.lstrip()) >= 6:
            self._action = key["key"]
            return
        entry = _RECEIVER.match(text)
        if entry is not None and self._action is not None:
            component = f"{entry['pkg']}/{_full_class(entry['pkg'], entry['cls'])}"
            if self._once("activity", component):
                yield PackageActivity(locator=self.locator(number), package=entry["pkg"], component=component,
                                      intent=self._action)

    def _package_block(self, number: int, text: str) -> Iterator[Record]:
        header = _PKG_HEADER.match(text)
        if header is not None:
            yield from self._flush()
            self._pending = _PendingPackage(header["pkg"], number)
            return
        pending = self._pending
        if pending is None:
            return
        field_match = _PKG_FIELD.match(text)
        if field_match is not None:
            key, value = field_match["key"], field_match["value"].strip()
            if key in ("userId", "appId") and value.isdigit() and pending.uid is None:
                pending.uid = int(value)
            elif key == "installerPackageName":
                pending.installer_seen = True
                pending.installer = None if value in ("", "null") else value
            elif key in ("pkgFlags", "flags") and " SYSTEM " in f" {value.strip('[] ')} ":
                pending.system = True
            return
        user0 = _PKG_USER0.match(text)
        if user0 is not None:
            # COMPONENT_ENABLED_STATE_DISABLED (2), _DISABLED_USER (3), _DISABLED_UNTIL_USED (4)
            pending.disabled = user0["enabled"] in ("2", "3", "4")

    def _appops(self, number: int, text: str) -> Iterator[Record]:
        if self._op is not None and "Access:" in text:
            access = _APPOP_ACCESS.match(text)
            when = parse_date(access["when"]) if access else None
            if when is not None and (self._op_last is None or when > self._op_last):
                self._op_last = when
            return
        if text.startswith("  Uid ") and _APPOPS_UID.match(text):
            yield from self._op_done()
            self._package = None  # the uid's own default modes follow, until its first package
            return
        if "Package " in text:
            package = _APPOPS_PACKAGE.match(text)
            if package is not None:
                yield from self._op_done()
                self._package = package["pkg"]
                return
        if self._package is None:
            return
        op = _APPOP.match(text)
        if op is not None:
            yield from self._op_done()
            if self._once(f"op:{op['op']}", self._package):
                self._op = (number, self._package, op["op"], op["mode"] or op["old"] or "")

    def _op_done(self) -> Iterator[Record]:
        """The app-op being read, once the accesses listed under it are."""
        pending, last = self._op, self._op_last
        self._op, self._op_last = None, None
        if pending is not None:
            number, package, name, mode = pending
            yield AppOp(locator=self.locator(number), package=package, op=name, mode=mode, last_access=last)

    def _battery(self, number: int, text: str) -> Iterator[Record]:
        if "pkg" in text:
            for match in _PKG_EVENT.finditer(text):
                event = "installed" if match["event"] == "pkginst" else "uninstalled"
                if self._once("pkgevent:" + event, match["pkg"]):
                    yield PackageEvent(locator=self.locator(number), event=event, uid=int(match["uid"]),
                                       package=match["pkg"])
        seen = self._history_seen
        for event, uid, name in _HISTORY_EVENT.findall(text):
            key = (event, name)
            if key in seen:  # the history repeats the same jobs and wake locks all day long
                continue
            if len(seen) < MAX_SEEN:
                seen.add(key)
            package = history_package(event, name)
            if package is not None and self._once("history:" + event, package):
                yield BatteryHistoryEvent(locator=self.locator(number), event=event, uid=uid, package=package,
                                          name=name)

    def _battery_daily(self, number: int, text: str) -> bool:
        """Daily package changes are kept until the end of batterystats: dumpsys prints the newest day
        first, and a downgrade is a version lower than an earlier day's. True when the line was one."""
        period = _DAILY.match(text)
        if period is not None:
            self._daily_period = (_daily_time(period["start"]), _daily_time(period["end"]))
            return True
        if self._daily_period is None:
            return False
        update = _DAILY_UPDATE.match(text)
        if update is None:
            return False
        start, end = self._daily_period
        package, version = (update["pkg"], update["vers"]) if update["pkg"] else (update["gone"], "")
        key = (start.isoformat() if start else "", package, version)
        if key in self._daily:
            return True
        if len(self._daily) >= MAX_DAILY:
            if not self._daily_full:
                self._daily_full = True
                self.warn(f"more than {MAX_DAILY} daily package changes; the rest are not read")
            return True
        self._daily[key] = (number, start, end)
        return True

    def _daily_records(self) -> Iterator[Record]:
        daily, self._daily = self._daily, {}
        latest: dict[str, int] = {}
        # Oldest day first; within a day, in the order recorded (the order printed).
        for (_, package, version), (number, start, end) in sorted(daily.items(),
                                                                  key=lambda item: (item[0][0], item[1][0])):
            action, previous = "update", None
            if version in ("0", ""):
                action = "uninstall"
                latest.pop(package, None)
            elif version.isdigit():
                before = latest.get(package)
                if before is not None and int(version) < before:
                    action, previous = "downgrade", str(before)
                latest[package] = int(version)
            yield BatteryDailyUpdate(locator=self.locator(number), package=package, version_code=version or None,
                                     action=action, previous_version_code=previous, period_start=start,
                                     period_end=end)

    def _dbinfo(self, number: int, text: str) -> Iterator[Record]:
        if text.startswith("Connection pool for "):
            pool = _DB_POOL.match(text)
            self._db_pool = pool["path"] if pool else None
            return
        if "took" not in text or "sql=" not in text:
            return
        op = _DB_OP.match(text)
        if op is None:
            return
        path = (op["path"] or self._db_pool or "").strip()
        if path and self._once("db", path):
            yield DatabaseAccess(locator=self.locator(number), path=path,
                                 pid=int(op["pid"]) if op["pid"] else None, operation=op["action"], when=op["when"])

    def _compat(self, number: int, text: str) -> Iterator[Record]:
        """``ChangeId(168419799; name=DOWNSCALED; disabled; overridable; rawOverrides={com.app=true, …})``"""
        match = _COMPAT.match(text)
        if match is None:
            return
        body = match["body"]
        name = next((part.strip()[5:] for part in body.split(";") if part.strip().startswith("name=")), None)
        overrides = body.split("rawOverrides={", 1)[1].split("}", 1)[0]
        for entry in overrides.split(","):
            package = entry.partition("=")[0].strip()
            if _PACKAGE_NAME.match(package) and self._once("compat", package):
                yield CompatOverride(locator=self.locator(number), package=package, change_id=int(match["id"]),
                                     change_name=name)

    def _adb(self, number: int, text: str) -> Iterator[Record]:
        """The trusted keys, kept until the service ends: a key is listed once as user_keys and again in
        the keystore, which alone says when its computer last connected."""
        found = adb_key(text)
        if found is None:
            bad = _ADB_KEY.search(text)
            if bad is not None and self._once("adb_invalid", bad["key"][:128]):
                self._adb_keys.append(
                    AdbKeyInvalid(locator=self.locator(number), key_start=bad["key"][:24], comment=bad["comment"]))
            return
        connected = _LAST_CONNECTION.search(text)
        when = _from_millis(connected["ms"]) if connected is not None else None
        held = self._adb_held.get(found[0])
        if held is not None:
            key = self._adb_keys[held]
            assert isinstance(key, AdbKey)
            if when is not None and (key.last_connection is None or when > key.last_connection):
                key.last_connection = when
            return
        if self._once("adb", found[0]):
            self._adb_held[found[0]] = len(self._adb_keys)
            self._adb_keys.append(AdbKey(locator=self.locator(number), fingerprint=found[0], comment=found[1],
                                         acquisition_host=found[0] == self.host_key, last_connection=when))
        yield from ()
