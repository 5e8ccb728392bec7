"""Parsing ``dumpsys`` output once into the records the Android rules look at.

``dumpsys`` prints one section per service, each opened by ``DUMP OF SERVICE
[CRITICAL|HIGH] <name>:``. AndroidQF keeps it in dumpsys.txt; a bugreport's
dumpstate text holds the same sections inside its ``------ DUMPSYS …``
blocks. :class:`DumpsysReader` takes lines one at a time (a single pass over
a file, whichever artifact reads it) and yields records from the services it
understands: accessibility (enabled services), device_policy (active device
admins), package (installed packages and their installer; receivers of SMS and
call broadcasts), batterystats (apps installed and removed, even
long gone), appops (who may
install packages) and adb (keys of trusted computers). Formats vary across
Android versions, so every parser keys on stable phrases and ignores the
rest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from preuve.artifacts.android._common import AQF, load_json
from preuve.artifacts.android.packages import AndroidPackage, system_flags
from preuve.artifacts.base import ArtifactContext
from preuve.evidence.errors import EvidenceError
from preuve.model import Kind, Locator, Observable, Record

_SERVICE = re.compile(r"^DUMP OF SERVICE (?:CRITICAL |HIGH |NORMAL )?(?P<name>[\w.\-/]+):")
_COMPONENT = re.compile(r"(?P<pkg>[A-Za-z][\w]*(?:\.[\w]+)+)/(?P<cls>[\w.$]+)")
_ACTION = re.compile(r"^\s+(?P<action>[\w.]+):\s*$")
_RECEIVER = re.compile(r"^\s+[0-9a-f]+ (?P<pkg>[\w.]+)/(?P<cls>[\w.$]+)")
_APPOPS_PACKAGE = re.compile(r"^\s*Package (?P<pkg>[\w.]+):\s*$")
_APPOP = re.compile(r"^\s+(?P<op>[A-Z][A-Z_]{2,}) \((?P<mode>\w+)")
_PKG_HEADER = re.compile(r"^  Package \[(?P<pkg>[^\]\s]+)\] \(")
_PKG_FIELD = re.compile(r"^\s+(?P<key>userId|appId|installerPackageName|pkgFlags|flags)=(?P<value>.*)$")
_PKG_USER0 = re.compile(r"^\s+User 0: .*\benabled=(?P<enabled>\d)")
_PKG_EVENT = re.compile(r'\b(?P<event>pkginst|pkgunin)=(?P<uid>\d+):"(?P<pkg>[^"\s]{1,256})"')
_ADB_KEY = re.compile(r"(?P<key>[A-Za-z0-9+/]{300,}={0,2})(?:\s+(?P<comment>\S+))?")

WATCHED_ACTIONS = {
    "android.provider.Telephony.SMS_RECEIVED": "receive SMS",
    "android.provider.Telephony.SMS_DELIVER": "receive SMS (as the default SMS app)",
    "android.provider.Telephony.WAP_PUSH_RECEIVED": "receive MMS",
    "android.intent.action.DATA_SMS_RECEIVED": "receive data SMS",
    "android.intent.action.NEW_OUTGOING_CALL": "see outgoing calls",
    "android.intent.action.PHONE_STATE": "see calls",
}
WATCHED_OPS = {"REQUEST_INSTALL_PACKAGES"}


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

    def observables(self) -> Iterator[Observable]:
        yield Observable(Kind.APP_ID, self.package)

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
class AdbKey(Record):
    record_type: ClassVar[str] = "android:dumpsys:adb_key"
    fingerprint: str  # MD5 of the key, as ``adb`` and Android's dialog show it
    comment: str | None
    acquisition_host: bool = False  # the key of the computer that made this AndroidQF acquisition

    def summary(self) -> str:
        return f"Trusted ADB key {self.fingerprint} ({self.comment or 'no name'})"


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
    meta = f"{AQF}/acquisition.json"
    if not ctx.fs.is_file(meta):
        return None
    try:
        data = load_json(ctx, meta)
    except EvidenceError:
        return None  # reported by the artifacts that read acquisition.json
    value = data.get("adb_host_public_key") if isinstance(data, dict) else None
    found = adb_key(value) if isinstance(value, str) else None
    return found[0] if found else None


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
    # AndroidQF's packages.json already lists the packages, with hashes and certificates: not twice.
    return DumpsysReader(lambda number: Locator(path, sha, line=number),
                         packages=not ctx.fs.is_file(f"{AQF}/packages.json"), host_key=host_key,
                         system=system_flags(ctx))


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
                 system: Mapping[str, bool] | None = None) -> None:
        """`packages`: also yield installed packages (off when packages.json already lists them);
        `host_key`: fingerprint of the acquisition computer's ADB key, when known;
        `system`: package name -> system flag, when known (packages.json)."""
        self.locator = locator
        self.system = system or {}
        self.packages = packages
        self.host_key = host_key
        self.service: str | None = None
        self._state = ""
        self._package: str | None = None
        self._action: str | None = None
        self._seen: set[tuple[str, str]] = set()
        self._pending: _PendingPackage | None = None

    def end_section(self) -> Iterator[Record]:
        """Call at the end of a dumpstate section (and of the file): yields what was still open."""
        yield from self._flush()
        self.service = None
        self._state = ""

    def _flush(self) -> Iterator[Record]:
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
                self._state = ""
                self._package = None
                self._action = None
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
        if service == "batterystats" and "pkg" in text:
            return list(self._battery(number, text))
        return _NOTHING

    def _once(self, kind: str, value: str) -> bool:
        key = (kind, value)
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def _accessibility(self, number: int, text: str) -> Iterator[Record]:
        if "enabled services" not in text.lower():
            return
        for match in _COMPONENT.finditer(text.split(":", 1)[-1]):
            component = f"{match['pkg']}/{_full_class(match['pkg'], match['cls'])}"
            if self._once("a11y", component):
                yield AccessibilityService(locator=self.locator(number), package=match["pkg"], component=component)

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
        if text.startswith("Packages:") and self.packages:
            self._state = "packages"
            return
        if self._state == "packages":
            yield from self._package_block(number, text)
            return
        if self._state != "receivers":
            return
        if text and not text[0].isspace():
            self._state = ""
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
        package = _APPOPS_PACKAGE.match(text)
        if package is not None:
            self._package = package["pkg"]
            return
        op = _APPOP.match(text)
        if op is not None and self._package and op["op"] in WATCHED_OPS:
            if self._once("op:" + op["op"], self._package):
                yield AppOp(locator=self.locator(number), package=self._package, op=op["op"], mode=op["mode"])

    def _battery(self, number: int, text: str) -> Iterator[Record]:
        for match in _PKG_EVENT.finditer(text):
            event = "installed" if match["event"] == "pkginst" else "uninstalled"
            if self._once("pkgevent:" + event, match["pkg"]):
                yield PackageEvent(locator=self.locator(number), event=event, uid=int(match["uid"]),
                                   package=match["pkg"])

    def _adb(self, number: int, text: str) -> Iterator[Record]:
        found = adb_key(text)
        if found is not None and self._once("adb", found[0]):
            yield AdbKey(locator=self.locator(number), fingerprint=found[0], comment=found[1],
                         acquisition_host=found[0] == self.host_key)
