"""Android intrusion logs: Advanced Protection's Intrusion Logging (Android 16, from May 2026).

The phone keeps a year of end-to-end encrypted logs; "Download and Decrypt" in
its settings writes them to ``/sdcard/Download/Intrusion Logging/`` (a zip
such as ``Pixel 10 Pro_20260608.zip`` holding one date-named ``.txt`` per
day, or the ``.txt`` files themselves). AndroidQF pulls that folder into
``intrusion_logs/`` of its acquisition (seen here at
``/.acquisition/androidqf/intrusion_logs/``); the bare-folder acquisition
kind puts a folder of them where the phone kept them.

Each line is one JSON object naming its event type (the format MVT's
``check-intrusion-logs`` reads)::

    {"dns_event":{"event_id":0,"event_time":1700000000000,"package_name":"com.example.app",
                  "hostname":"example.com","ip_addresses":["/192.0.2.1"],"ip_addresses_count":1}}
    {"connect_event":{"event_id":1,"event_time":1700000000000,"package_name":"com.example.app",
                      "port":443,"ip_address":"/192.0.2.1"}}
    {"security_event":{"event_id":2,"event_time":1700000000000000000,"adb_shell_cmd":{"command":"id"}}}

DNS and connection times are milliseconds since 1970, security-event times
nanoseconds (the unit is taken from the magnitude). A security event names
its SecurityLog tag (``adb_shell_cmd``, ``cert_authority_installed``…) as the
one key besides ``event_id``/``event_time``; Google's exporter spells a few
differently from AOSP (``key_imported``, ``media_mounted``).

Identity of an event, for the overlapping files of several downloads: its
type and every value it carries (``event_time`` included) except
``event_id``, which the exporter numbers from 0 in each file and therefore
differs for the same event in two files. An event is counted once when the
same identity was read from another file (or another zip member): within one
file, identical lines are distinct events (two connections in the same
millisecond) and are all kept. What was already seen elsewhere is tracked per
run (at most :data:`MAX_TRACKED` identities; past that, duplicates may be
counted twice, and the run says so).

Bounds: a line longer than the text-line limit is skipped with a warning
naming it; a file (or zip member) is read up to the read limit and at most
:data:`MAX_LINES` lines, then the run says what was left unread (an error:
the analysis is incomplete); a zip of more than :data:`MAX_MEMBERS` members,
or members that would inflate past the decompression ratio, are refused. A
line that is not an event is a warning with its line number.

Records that need a sequence (an ADB session, a gap in logging, a USB mount
before the first unlock after a boot, an install that followed a sideloading
installer) are derived from the events of one evidence file (all the members
of one zip), in time order, so that ``preuve verify`` derives them again from
that file alone. Across two plain daily ``.txt`` files, such a sequence is
not joined.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, BinaryIO, ClassVar, cast

import orjson

from preuve.artifacts.android._common import AQF
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.evidence.errors import EvidenceError
from preuve.evidence.formats.zipscan import CutZip, cut_short_zip
from preuve.evidence.policy import (
    MEMBER_DAMAGE,
    ZIP_OPEN_ERRORS,
    materialize,
    vet_zip_members,
    zip_entry_count,
    zip_member_refusal,
)
from preuve.model import Kind, Locator, Observable, Record, Timestamp

DEVICE_DIR = "/sdcard/Download/Intrusion Logging"
AQF_DIR = f"{AQF}/intrusion_logs"
TEXT_SUFFIXES = (".txt", ".ndjson", ".jsonl", ".json")
MAX_LINES = 5_000_000  # per file or zip member
MAX_MEMBERS = 10_000  # per zip
MAX_TRACKED = 2_000_000  # event identities remembered per run to count overlapping files once
MAX_SEQUENCE = 200_000  # security events kept per file for the derived records
MAX_LINE_WARNINGS = 20  # per file; the rest are counted in one warning

# A session of ADB use: ADB events less than this apart.
ADB_SESSION_GAP = timedelta(minutes=15)
# An install counts as sideloaded when one of these came at most this long before it.
SIDELOAD_WINDOW = timedelta(minutes=10)
SIDELOAD_INSTALLERS = frozenset({"com.google.android.packageinstaller", "com.android.packageinstaller"})
_INSTALL_WORDS = ("pm install", "cmd package install", "package install")
_ACQUISITION_WORDS = ("intrusiondetection", "advanced_protection_mode")

KNOWN_EVENT_TYPES = frozenset({"dns_event", "connect_event", "security_event"})
_METADATA = frozenset({"event_id", "event_time", "event_type", "timestamp"})

# SecurityLog tags (android.app.admin.SecurityLog) as the exporter names them, with Google's spellings.
KNOWN_TAGS = frozenset({
    "adb_shell_interactive", "adb_shell_cmd", "adb_sync_recv_file", "adb_sync_send_file", "app_process_start",
    "keyguard_dismissed", "keyguard_dismiss_auth_attempt", "keyguard_secured", "os_startup", "os_shutdown",
    "logging_started", "logging_stopped", "media_mount", "media_mounted", "media_unmount", "media_unmounted",
    "log_buffer_size_critical", "password_expiration_set", "password_complexity_set", "password_history_length_set",
    "max_screen_lock_timeout_set", "max_password_attempts_set", "keyguard_disabled_features_set", "remote_lock",
    "wipe_failure", "key_generated", "key_import", "key_imported", "key_destruction", "user_restriction_added",
    "user_restriction_removed", "cert_authority_installed", "cert_authority_removed", "crypto_self_test_completed",
    "key_integrity_violation", "cert_validation_failure", "camera_policy_set", "password_complexity_required",
    "password_changed", "wifi_connection", "wifi_disconnection", "bluetooth_connection", "bluetooth_disconnection",
    "package_installed", "package_updated", "package_uninstalled", "backup_service_toggled", "nfc_enabled",
    "nfc_disabled",
})
ADB_TAGS = frozenset({"adb_shell_interactive", "adb_shell_cmd", "adb_sync_recv_file", "adb_sync_send_file"})
MOUNT_TAGS = frozenset({"media_mount", "media_mounted"})
_SEQUENCE_TAGS = ADB_TAGS | MOUNT_TAGS | {
    "os_startup", "keyguard_dismissed", "logging_stopped", "logging_started", "package_installed", "app_process_start",
}
_LOOPBACK = frozenset({"", "0.0.0.0", "::", "::1", "127.0.0.1"})  # noqa: S104 - values compared, nothing bound

_MIN_TIME = datetime(1990, 1, 1, tzinfo=UTC)
_MAX_TIME = datetime(2100, 1, 1, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- records --------------------------------------------------------------------------------------


def _stamp(when: datetime | None, description: str) -> Iterator[Timestamp]:
    if when is not None:
        yield Timestamp(when, description)


@dataclass(kw_only=True)
class IntrusionDnsEvent(Record):
    """A DNS lookup an app made, with the addresses it got."""

    record_type: ClassVar[str] = "android:intrusion_logs:dns_event"
    event_id: int | None
    time: datetime | None
    hostname: str | None
    ip_addresses: tuple[str, ...]
    package_name: str | None
    uid: int | None = None

    def observables(self) -> Iterator[Observable]:
        if self.hostname:
            yield Observable(Kind.DOMAIN, self.hostname)
        for address in self.ip_addresses:
            if address not in _LOOPBACK:
                yield Observable(Kind.IP, address)
        if self.package_name:
            yield Observable(Kind.APP_ID, self.package_name)

    def timestamps(self) -> Iterator[Timestamp]:
        return _stamp(self.time, "DNS lookup")

    def summary(self) -> str:
        addresses = ", ".join(self.ip_addresses) or "no address"
        return f"DNS lookup of {self.hostname or '?'} by {self.package_name or '?'} ({addresses})"


@dataclass(kw_only=True)
class IntrusionConnectEvent(Record):
    """A network connection an app opened."""

    record_type: ClassVar[str] = "android:intrusion_logs:connect_event"
    event_id: int | None
    time: datetime | None
    ip_address: str | None
    port: int | None
    package_name: str | None
    uid: int | None = None

    def observables(self) -> Iterator[Observable]:
        if self.ip_address and self.ip_address not in _LOOPBACK:
            yield Observable(Kind.IP, self.ip_address)
        if self.package_name:
            yield Observable(Kind.APP_ID, self.package_name)

    def timestamps(self) -> Iterator[Timestamp]:
        return _stamp(self.time, "network connection")

    def summary(self) -> str:
        return f"Connection to {self.ip_address or '?'}:{self.port if self.port is not None else '?'} by " \
               f"{self.package_name or '?'}"


@dataclass(kw_only=True)
class IntrusionSecurityEvent(Record):
    """A SecurityLog event (ADB use, process start, unlock, certificate, key, package, boot…).

    `details` is the event's own object (the values under its tag) as canonical JSON; the fields
    before it are the ones indicators and rules look at, read from it.
    """

    record_type: ClassVar[str] = "android:intrusion_logs:security_event"
    event_id: int | None
    time: datetime | None
    tag: str
    known_tag: bool
    package_name: str | None = None
    process: str | None = None
    uid: int | None = None
    success: bool | None = None
    path: str | None = None
    command: str | None = None
    subject: str | None = None
    key_id: str | None = None
    details: str = "{}"

    def observables(self) -> Iterator[Observable]:
        if self.package_name:
            yield Observable(Kind.APP_ID, self.package_name)
        if self.process:
            yield Observable(Kind.PROCESS, self.process)
            parts = self.process.split(":")
            if _looks_like_app_id(parts[0]) and parts[0] != self.package_name:
                yield Observable(Kind.APP_ID, parts[0])
            for part in parts[1:]:  # com.app:remote, sandboxed service names
                if _looks_like_app_id(part):
                    yield Observable(Kind.APP_ID, part)
        if self.path:
            yield Observable(Kind.FILE_PATH, self.path)
        if self.command and _looks_like_app_id(self.command.strip()):
            yield Observable(Kind.APP_ID, self.command.strip())

    def timestamps(self) -> Iterator[Timestamp]:
        return _stamp(self.time, f"security event {self.tag}")

    def summary(self) -> str:
        what = self.package_name or self.process or self.path or self.command or self.subject or self.key_id
        return f"Security event {self.tag}" + (f": {what}" if what else "")


@dataclass(kw_only=True)
class IntrusionOtherEvent(Record):
    """An event of a type preuve does not know yet, kept whole (its object as canonical JSON)."""

    record_type: ClassVar[str] = "android:intrusion_logs:other_event"
    event_type: str
    event_id: int | None
    time: datetime | None
    details: str

    def timestamps(self) -> Iterator[Timestamp]:
        return _stamp(self.time, f"{self.event_type} event")

    def summary(self) -> str:
        return f"Intrusion-log event of unknown type {self.event_type}"


@dataclass(kw_only=True)
class IntrusionAdbSession(Record):
    """ADB use: shell commands and file transfers less than 15 minutes apart (derived, located at the first)."""

    record_type: ClassVar[str] = "android:intrusion_logs:adb_session"
    start: datetime
    end: datetime
    shell_commands: int
    interactive_shells: int
    files_pulled: int
    files_pushed: int
    examples: tuple[str, ...]  # the first commands and paths, in order
    apk_pushed: bool
    install_command: bool
    # The Intrusion Logging folder was pulled, or its retrieval screen opened or Advanced Protection's state read
    # over ADB: what an acquisition (AndroidQF) does to collect these logs.
    looks_like_acquisition: bool

    def timestamps(self) -> Iterator[Timestamp]:
        yield Timestamp(self.start, "ADB session start")

    def summary(self) -> str:
        return (f"ADB session {self.start.isoformat()} to {self.end.isoformat()}: {self.shell_commands} command(s), "
                f"{self.interactive_shells} interactive shell(s), {self.files_pulled} pulled, "
                f"{self.files_pushed} pushed")


@dataclass(kw_only=True)
class IntrusionLoggingGap(Record):
    """Logging stopped, and when it started again (derived, located at the logging_stopped event)."""

    record_type: ClassVar[str] = "android:intrusion_logs:logging_gap"
    stopped: datetime
    restarted: datetime | None

    def timestamps(self) -> Iterator[Timestamp]:
        yield Timestamp(self.stopped, "intrusion logging stopped")

    def summary(self) -> str:
        until = self.restarted.isoformat() if self.restarted else "the end of this log"
        return f"Intrusion logging stopped at {self.stopped.isoformat()} until {until}"


@dataclass(kw_only=True)
class IntrusionUnattendedMount(Record):
    """Removable media mounted after a boot and before the first unlock (derived, located at the mount)."""

    record_type: ClassVar[str] = "android:intrusion_logs:unattended_mount"
    mounted: datetime
    boot: datetime
    unlocked: datetime | None  # the first unlock after the mount (None: none in this log)
    mount_point: str | None
    label: str | None

    def timestamps(self) -> Iterator[Timestamp]:
        yield Timestamp(self.mounted, "media mounted before the first unlock")

    def summary(self) -> str:
        return f"Media {self.mount_point or '?'} ({self.label or 'no label'}) mounted {self.mounted.isoformat()}, " \
               f"after the boot at {self.boot.isoformat()} and before any unlock"


@dataclass(kw_only=True)
class IntrusionSideloadedInstall(Record):
    """A package installed within 10 minutes of a sideloading installer at work (derived, located at the install)."""

    record_type: ClassVar[str] = "android:intrusion_logs:sideloaded_install"
    installed: datetime
    package_name: str | None
    version_code: int | None
    installer: str  # what came before: the package-installer app, an ADB install command, an APK pushed over ADB
    installer_time: datetime

    def observables(self) -> Iterator[Observable]:
        if self.package_name:
            yield Observable(Kind.APP_ID, self.package_name)

    def timestamps(self) -> Iterator[Timestamp]:
        yield Timestamp(self.installed, "package installed")

    def summary(self) -> str:
        return f"{self.package_name or '?'} installed after {self.installer}"


# -- values ---------------------------------------------------------------------------------------


def _looks_like_app_id(value: str) -> bool:
    return 3 <= len(value) <= 256 and "." in value and " " not in value and "/" not in value and not value[0].isdigit()


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 40:
        return int(value)
    return None


def _flag(value: object) -> bool | None:
    """A success flag: JSON true/false as exported, or the raw SecurityLog integer 1/0."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    return None


def event_time(value: object) -> datetime | None:
    """An event_time (seconds, milliseconds, microseconds or nanoseconds since 1970, by magnitude), exactly."""
    number = _int(value)
    if number is None or number <= 0:
        return None
    if number >= 10**16:
        micros = number // 1000
    elif number >= 10**13:
        micros = number
    elif number >= 10**10:
        micros = number * 1000
    else:
        micros = number * 1_000_000
    try:
        when = _EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        return None
    return when if _MIN_TIME <= when < _MAX_TIME else None


def clean_address(value: object) -> str | None:
    """An address as Java prints an InetAddress (``/192.0.2.1``, ``host/192.0.2.1``): the part after the slash."""
    text = _text(value)
    if text is None:
        return None
    return text.rsplit("/", 1)[-1].strip() or None


def _canonical_bytes(value: object) -> bytes:
    """Compact JSON with sorted keys (orjson; the standard library for integers beyond 64 bits)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "replace")


def _canonical(value: object) -> str:
    return _canonical_bytes(value).decode("utf-8", "replace")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# The standard library's decoder (not orjson): it keeps integers of any length exactly and lets NaN and
# Infinity be refused.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _first(payload: dict[str, object], *names: str) -> object:
    for name in names:
        if name in payload:
            return payload[name]
    return None


# -- per-run and per-file state -------------------------------------------------------------------


class _Seen:
    """Event identities read so far in this run, to count events of overlapping files once.

    `counts` holds, per identity, the most times it occurred in any one source (file or zip member)
    read before; in the source being read, the first that many occurrences are duplicates.
    """

    def __init__(self, ctx: ArtifactContext) -> None:
        self.ctx = ctx
        # Identities are 64-bit digests (a collision among two million events has odds of about 1e-7).
        self.counts: dict[int, int] = {}
        self.derived: set[tuple[str, int]] = set()
        self.current: dict[int, int] = {}
        self.full = False

    def duplicate(self, identity: int) -> bool:
        now = self.current.get(identity, 0) + 1
        if now > 1 or len(self.current) < MAX_TRACKED:
            self.current[identity] = now
        else:
            self.full = True
        return now <= self.counts.get(identity, 0)

    def end_source(self) -> None:
        for identity, count in self.current.items():
            if count > self.counts.get(identity, 0):
                if len(self.counts) >= MAX_TRACKED and identity not in self.counts:
                    self.full = True
                    continue
                self.counts[identity] = count
        self.current = {}


@dataclass(slots=True)
class _Step:
    """What the derived records need of one security event of a file."""

    time: datetime
    order: int
    tag: str
    locator: Locator
    identity: int
    value: str | None = None  # the command, path or process
    package_name: str | None = None
    version_code: int | None = None
    label: str | None = None


@dataclass(slots=True)
class _FileScan:
    path: str
    sha256: str
    steps: list[_Step] = field(default_factory=list)
    overflow: bool = False
    unknown_types: Counter[str] = field(default_factory=Counter)
    unknown_tags: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    untimed: int = 0  # events without a usable event_time (kept, but not on the timeline)
    problems: int = 0  # lines that could not be read


# -- the artifact ---------------------------------------------------------------------------------


class IntrusionLogs(Artifact):
    name = "android_intrusion_logs"
    platform = "android"
    title = "Intrusion logs (Android Advanced Protection)"
    paths: ClassVar[tuple[str, ...]] = (f"{AQF_DIR}/**", f"{DEVICE_DIR}/**")
    description = "DNS, connection and SecurityLog events of Android's Intrusion Logging, as downloaded from the phone"

    def __init__(self) -> None:
        self._seen: _Seen | None = None

    def _run_state(self, ctx: ArtifactContext) -> _Seen:
        # One ArtifactContext is one run of this artifact (every file of one acquisition, or the one
        # file `verify` reads again): what was seen is kept for that context only.
        if self._seen is None or self._seen.ctx is not ctx:
            self._seen = _Seen(ctx)
        return self._seen

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        lower = path.lower()
        if not lower.endswith((".zip", *TEXT_SUFFIXES)):
            ctx.warn(f"{path}: not an intrusion log (.txt, .ndjson, .jsonl, .json or .zip): not read")
            return
        seen = self._run_state(ctx)
        scan = _FileScan(path, ctx.fs.sha256(path))
        if lower.endswith(".zip"):
            yield from self._zip(ctx, scan, seen)
        else:
            with ctx.fs.open(path) as stream:
                yield from self._lines(ctx, scan, seen, None, stream)
            seen.end_source()
        yield from self._derive(scan, seen)
        self._report(ctx, scan, seen)

    # -- reading ------------------------------------------------------------------------------

    def _zip(self, ctx: ArtifactContext, scan: _FileScan, seen: _Seen) -> Iterator[Record]:
        path = scan.path
        copy: Path | None = None
        stream: IO[bytes] = ctx.fs.open(path)
        try:
            if not stream.seekable():
                stream.close()
                with ctx.fs.open(path) as raw:
                    copy = materialize(raw, ctx.fs.workdir, ctx.limits.max_file_bytes, path, "logs.zip")
                stream = open(copy, "rb")  # noqa: SIM115 - closed below
            try:
                declared = zip_entry_count(cast(BinaryIO, stream), path)
            except EvidenceError:
                declared = 0  # (no end record: a zip cut short is read from its local headers below)
            if declared > MAX_MEMBERS:
                raise EvidenceError(path, f"the zip declares {declared} members, more than {MAX_MEMBERS}")
            stream.seek(0)
            archive: zipfile.ZipFile | CutZip
            try:
                archive = zipfile.ZipFile(stream)
            except ZIP_OPEN_ERRORS as exc:
                # A zip cut short (a download interrupted) is read from its local headers, up to the cut.
                cut = cut_short_zip(cast(BinaryIO, stream), ctx.limits)
                if cut is None:
                    raise EvidenceError(path, f"not a readable zip ({exc})") from exc
                if len(cut.infolist()) > MAX_MEMBERS:
                    raise EvidenceError(path, f"the zip holds more than {MAX_MEMBERS} members") from exc
                ctx.error(path, cut.damage)
                archive = cut
            with archive:
                infos = sorted((i for i in archive.infolist() if not i.is_dir()), key=lambda i: i.filename)
                safe, problems = vet_zip_members(infos, path, ctx.limits)
                for problem in problems:
                    ctx.warn(f"{path}: member {problem.member!r} not read: {problem.reason}")
                for info in safe:
                    if not info.filename.lower().endswith(TEXT_SUFFIXES):
                        ctx.warn(f"{path}: member {info.filename!r} is not an intrusion log (.txt, .ndjson, .jsonl, "
                                 ".json): not read")
                        continue
                    refusal = zip_member_refusal(info)
                    if refusal is not None:
                        ctx.error(path, f"member {info.filename!r} cannot be read ({refusal})")
                        continue
                    try:
                        member = archive.open(info)
                    except ZIP_OPEN_ERRORS as exc:
                        ctx.error(path, f"member {info.filename!r} cannot be read ({exc})")
                        continue
                    try:
                        with member:
                            yield from self._lines(ctx, scan, seen, info.filename, member)
                    except MEMBER_DAMAGE as exc:  # a damaged member (its data, its CRC, cut short): its rest is lost
                        ctx.error(path, f"member {info.filename!r} is damaged ({exc}); read up to there")
                    seen.end_source()
        finally:
            stream.close()
            if copy is not None:
                import shutil

                shutil.rmtree(copy.parent, ignore_errors=True)

    def _lines(
        self, ctx: ArtifactContext, scan: _FileScan, seen: _Seen, member: str | None, stream: IO[bytes]
    ) -> Iterator[Record]:
        where = f"{scan.path}" + (f"!{member}" if member else "")
        line_limit = ctx.limits.max_text_line_bytes
        byte_limit = ctx.limits.max_read_bytes
        total = 0
        number = 0
        while True:
            raw = stream.readline(line_limit + 1)
            if not raw:
                break
            number += 1
            total += len(raw)
            if number > MAX_LINES:
                ctx.error(scan.path, f"{where}: more than {MAX_LINES} lines; the rest was not read")
                return
            if total > byte_limit:
                ctx.error(scan.path, f"{where}: larger than {byte_limit} bytes; read up to line {number - 1}")
                return
            if len(raw) > line_limit and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):  # drain the rest of the over-long line
                    raw = stream.readline(line_limit)
                    total += len(raw)
                self._problem(ctx, scan, where, number, f"longer than {line_limit} bytes: skipped")
                continue
            ended = raw.endswith(b"\n")
            text = raw.strip()
            if number == 1:
                text = text.removeprefix(b"\xef\xbb\xbf")
            if not text:
                continue
            try:
                value = _DECODER.decode(text.decode("utf-8"))
            except (ValueError, RecursionError) as exc:
                cut = "" if ended else " (the file ends in the middle of this line)"
                self._problem(ctx, scan, where, number, f"not JSON{cut}: {str(exc)[:120]}")
                continue
            events = [(k, v) for k, v in value.items() if isinstance(v, dict)] if isinstance(value, dict) else []
            if not events:
                self._problem(ctx, scan, where, number, "not an intrusion-log event (an object naming its type)")
                continue
            locator = Locator(scan.path, scan.sha256, key_path=member, line=number)
            for event_type, data in events:
                record = self._event(scan, seen, event_type, data, locator)
                if record is not None:
                    yield record

    def _problem(self, ctx: ArtifactContext, scan: _FileScan, where: str, number: int, reason: str) -> None:
        scan.problems += 1
        if scan.problems <= MAX_LINE_WARNINGS:
            ctx.warn(f"{where}:{number}: {reason}")

    # -- events -------------------------------------------------------------------------------

    def _event(
        self, scan: _FileScan, seen: _Seen, event_type: str, data: dict[str, Any], locator: Locator
    ) -> Record | None:
        without_id = {k: v for k, v in data.items() if k != "event_id"}
        digest = hashlib.blake2b(_canonical_bytes([event_type, without_id]), digest_size=8).digest()
        identity = int.from_bytes(digest, "little")
        duplicate = seen.duplicate(identity)
        if duplicate:
            scan.duplicates += 1
        event_id = _int(data.get("event_id"))
        when = event_time(data.get("event_time"))
        if when is None and not duplicate:
            scan.untimed += 1
        record: Record
        if event_type == "dns_event":
            raw_addresses = data.get("ip_addresses")
            addresses = tuple(
                a for a in (clean_address(x) for x in (raw_addresses if isinstance(raw_addresses, list) else []))
                if a is not None
            )
            record = IntrusionDnsEvent(
                locator=locator, event_id=event_id, time=when, hostname=_text(data.get("hostname")),
                ip_addresses=addresses, package_name=_text(data.get("package_name")), uid=_int(data.get("uid")),
            )
        elif event_type == "connect_event":
            record = IntrusionConnectEvent(
                locator=locator, event_id=event_id, time=when, ip_address=clean_address(data.get("ip_address")),
                port=_int(data.get("port")), package_name=_text(data.get("package_name")), uid=_int(data.get("uid")),
            )
        elif event_type == "security_event":
            record = self._security(scan, data, event_id, when, locator, identity, duplicate)
        else:
            if not duplicate:
                scan.unknown_types[event_type[:80]] += 1
            record = IntrusionOtherEvent(
                locator=locator, event_type=event_type, event_id=event_id, time=when, details=_canonical(data),
            )
        return None if duplicate else record

    def _security(
        self, scan: _FileScan, data: dict[str, Any], event_id: int | None, when: datetime | None, locator: Locator,
        identity: int, duplicate: bool,
    ) -> IntrusionSecurityEvent:
        tag = next((k for k in data if k not in _METADATA), "")
        payload_value = data.get(tag) if tag else None
        payload: dict[str, Any] = payload_value if isinstance(payload_value, dict) else {}
        known = tag in KNOWN_TAGS
        if not known and not duplicate:
            scan.unknown_tags[tag[:80] or "(none)"] += 1
        success = _flag(payload.get("success")) if payload else _flag(payload_value)
        subject: str | None
        if tag == "cert_validation_failure" and isinstance(payload_value, str):
            subject = payload_value
        else:
            subject = _text(_first(payload, "subject", "reason", "restriction", "bssid", "addr", "mac_address"))
        record = IntrusionSecurityEvent(
            locator=locator, event_id=event_id, time=when, tag=tag or "(none)", known_tag=known,
            package_name=_text(_first(payload, "package_name", "package", "admin_package")),
            process=_text(payload.get("process")),
            uid=_int(payload.get("uid")),
            success=success,
            path=_text(_first(payload, "path", "mount_point")),
            command=_text(payload.get("command")),
            subject=subject,
            key_id=_text(payload.get("key_id")),
            details=_canonical(payload_value if payload_value is not None else {}),
        )
        if when is not None and tag in _SEQUENCE_TAGS:
            if tag == "app_process_start" and (record.process or "").split(":", 1)[0] not in SIDELOAD_INSTALLERS:
                return record  # only the installer's own starts matter here
            if len(scan.steps) < MAX_SEQUENCE:
                scan.steps.append(_Step(
                    when, len(scan.steps), tag, locator, identity,
                    value=record.command if tag == "adb_shell_cmd" else record.process or record.path,
                    package_name=record.package_name, version_code=_int(payload.get("version_code")),
                    label=_text(_first(payload, "label", "volume_label")) if tag in MOUNT_TAGS else None,
                ))
            else:
                scan.overflow = True
        return record

    # -- derived records ----------------------------------------------------------------------

    def _derive(self, scan: _FileScan, seen: _Seen) -> Iterator[Record]:
        steps = sorted(scan.steps, key=lambda s: (s.time, s.order))
        derived: list[tuple[int, Record]] = []
        derived.extend(_adb_sessions(steps))
        derived.extend(_logging_gaps(steps))
        derived.extend(_unattended_mounts(steps))
        derived.extend(_sideloaded_installs(steps))
        for identity, record in derived:
            key = (record.record_type, identity)
            if key in seen.derived:
                continue
            if len(seen.derived) < MAX_TRACKED:
                seen.derived.add(key)
            yield record

    def _report(self, ctx: ArtifactContext, scan: _FileScan, seen: _Seen) -> None:
        path = scan.path
        if scan.problems > MAX_LINE_WARNINGS:
            ctx.warn(f"{path}: {scan.problems - MAX_LINE_WARNINGS} more unreadable line(s) not listed")
        if scan.unknown_types:
            counts = ", ".join(f"{name} ×{count}" for name, count in sorted(scan.unknown_types.items()))
            ctx.warn(f"{path}: {sum(scan.unknown_types.values())} event(s) of types preuve does not know yet, kept "
                     f"as generic records: {counts}")
        if scan.unknown_tags:
            counts = ", ".join(f"{name} ×{count}" for name, count in sorted(scan.unknown_tags.items()))
            ctx.warn(f"{path}: {sum(scan.unknown_tags.values())} security event(s) with tags preuve does not know "
                     f"yet, kept: {counts}")
        if scan.untimed:
            ctx.warn(f"{path}: {scan.untimed} event(s) without a usable event_time: kept, but not on the timeline")
        if scan.duplicates:
            ctx.warn(f"{path}: {scan.duplicates} event(s) already read from another file or member (overlapping "
                     "downloads) counted once")
        if scan.overflow:
            ctx.warn(f"{path}: more than {MAX_SEQUENCE} boot, unlock, ADB, mount, logging and install events; "
                     "the sessions, gaps and unattended mounts were derived from the first ones only")
        if seen.full:
            seen.full = False
            ctx.warn(f"{path}: more than {MAX_TRACKED} distinct events in this run; events repeated in "
                     "overlapping files beyond that may be counted twice")


def _adb_sessions(steps: list[_Step]) -> Iterator[tuple[int, Record]]:
    session: list[_Step] = []

    def close() -> tuple[int, Record]:
        first = session[0]
        examples: list[str] = []
        counts: Counter[str] = Counter()
        apk = install = acquisition = False
        for step in session:
            counts[step.tag] += 1
            value = step.value
            lowered = (value or "").lower()
            if step.tag == "adb_sync_send_file" and lowered.endswith(".apk"):
                apk = True
            if step.tag == "adb_shell_cmd" and any(word in lowered for word in _INSTALL_WORDS):
                install = True
            if (step.tag == "adb_sync_recv_file" and "intrusion logging/" in lowered) or (
                step.tag == "adb_shell_cmd" and any(word in lowered for word in _ACQUISITION_WORDS)
            ):
                acquisition = True
            if value and len(examples) < 5:
                examples.append(f"{step.tag}: {value[:200]}")
        return first.identity, IntrusionAdbSession(
            locator=first.locator, start=first.time, end=session[-1].time,
            shell_commands=counts["adb_shell_cmd"], interactive_shells=counts["adb_shell_interactive"],
            files_pulled=counts["adb_sync_recv_file"], files_pushed=counts["adb_sync_send_file"],
            examples=tuple(examples), apk_pushed=apk, install_command=install, looks_like_acquisition=acquisition,
        )

    for step in steps:
        if step.tag not in ADB_TAGS:
            continue
        if session and step.time - session[-1].time > ADB_SESSION_GAP:
            yield close()
            session = []
        session.append(step)
    if session:
        yield close()


def _next_times(steps: list[_Step], tag: str) -> list[datetime | None]:
    """For each step, the time of the first later step of `tag` (one backward pass)."""
    out: list[datetime | None] = [None] * len(steps)
    upcoming: datetime | None = None
    for index in range(len(steps) - 1, -1, -1):
        out[index] = upcoming
        if steps[index].tag == tag:
            upcoming = steps[index].time
    return out


def _logging_gaps(steps: list[_Step]) -> Iterator[tuple[int, Record]]:
    restarts = _next_times(steps, "logging_started")
    for index, step in enumerate(steps):
        if step.tag == "logging_stopped":
            yield step.identity, IntrusionLoggingGap(locator=step.locator, stopped=step.time, restarted=restarts[index])


def _unattended_mounts(steps: list[_Step]) -> Iterator[tuple[int, Record]]:
    boot: datetime | None = None
    unlocks = _next_times(steps, "keyguard_dismissed")
    for index, step in enumerate(steps):
        if step.tag == "os_startup":
            boot = step.time
        elif step.tag == "keyguard_dismissed":
            boot = None  # the owner unlocked: the phone is in their hands again
        elif step.tag in MOUNT_TAGS and boot is not None:
            yield step.identity, IntrusionUnattendedMount(
                locator=step.locator, mounted=step.time, boot=boot, unlocked=unlocks[index],
                mount_point=step.value, label=step.label,
            )


def _sideloaded_installs(steps: list[_Step]) -> Iterator[tuple[int, Record]]:
    last: tuple[datetime, str] | None = None  # the latest installer activity: (when, what)
    for step in steps:
        value = step.value or ""
        if step.tag == "app_process_start":  # only the package installer's starts are kept as steps
            last = (step.time, f"the package installer ({value.split(':', 1)[0]})")
        elif step.tag == "adb_shell_cmd" and any(word in value.lower() for word in _INSTALL_WORDS):
            last = (step.time, f"an ADB install command ({value[:120]})")
        elif step.tag == "adb_sync_send_file" and value.lower().endswith(".apk"):
            last = (step.time, f"an APK pushed over ADB ({value[:200]})")
        elif step.tag == "package_installed" and last is not None and step.time - last[0] <= SIDELOAD_WINDOW:
            yield step.identity, IntrusionSideloadedInstall(
                locator=step.locator, installed=step.time, package_name=step.package_name,
                version_code=step.version_code, installer=last[1], installer_time=last[0],
            )
