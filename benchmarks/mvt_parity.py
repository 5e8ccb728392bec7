"""MVT and preuve side by side: every MVT alert that preuve does not raise at the same object.

    python3 benchmarks/mvt_parity.py ACQUISITION... --iocs FEED_OR_FOLDER... [--mvt-venv DIR]
    python3 benchmarks/mvt_parity.py --build DIR      # write the built acquisitions used for parity
    python3 benchmarks/mvt_parity.py DIR/* --iocs FEEDS --mvt-venv MVT_VENV

For each acquisition, MVT (from its own virtualenv, run as a subprocess: it is never a dependency
of preuve) and ``python3 -m preuve check`` (from this source tree when there is one) each run on a
private copy, with the same STIX files. MVT's alerts are read from its output folder (alerts.json,
or the modules' ``*_detected.json``), preuve's findings from findings.json, and each MVT alert is
paired with a preuve finding about the same object: the same indicator in the artifact that reads
the same data, and the same record (the value that identifies it: domain or URL, process, package,
file path, account, setting key, row). The table lists every MVT alert with its counterpart and
both levels, or MISSING.

Exit status: 1 when at least one MVT alert lacks a counterpart; otherwise 2 when a tool could not
run on an input (the reason is printed; MVT or preuve failing on one input never stops the others);
0 when every MVT alert has a counterpart.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHIPPED_FEED = REPO / "src" / "preuve" / "data" / "2021-07-18_nso" / "pegasus.stix2"

LEVELS = ("info", "low", "medium", "high", "critical")
_LEVEL_RANK = {"informational": 0, "info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

MAX_JSON_BYTES = 256 * 1024 * 1024  # one MVT or preuve output file
MAX_EXTRACT_BYTES = 16 * 1024 * 1024 * 1024  # a dump archive unpacked for MVT's check-fs
MAX_EXTRACT_MEMBERS = 2_000_000
MAX_RANGE = 10_000  # "Z_PK 9-11": the largest id range expanded into objects
MAX_RECORD_LINES = 5_000_000  # lines read from one artifacts/<name>.jsonl to find the records of findings
MAX_RECORD_LINE = 1024 * 1024  # a longer record line is skipped
MAX_GROUP_MEMBERS = 100_000  # occurrences of one grouped finding read for pairing

# MVT module slug -> preuve artifacts that read the same data (fnmatch patterns). A module that is
# not listed may be paired with a finding of any artifact, and the pairing says so.
MODULE_ARTIFACTS: dict[str, tuple[str, ...]] = {
    # iOS, backup
    "backup_info": ("backup_info",),
    "configuration_profiles": ("configuration_profiles",),
    "manifest": ("manifest", "filesystem"),
    "profile_events": ("profile_events",),
    # iOS, file-system dump
    "cache_files": ("cache_db",),
    "filesystem": ("filesystem", "manifest"),
    "netusage": ("netusage",),
    "analytics": ("analytics",),
    "analytics_ios_versions": ("analytics", "version_history"),
    "safari_favicon": ("safari_favicons",),
    "shutdown_log": ("shutdown_log",),
    "ios_version_history": ("version_history",),
    "webkit_indexeddb": ("webkit_origins",),
    "webkit_local_storage": ("webkit_origins",),
    "webkit_safari_view_service": ("webkit_origins",),
    # iOS, both
    "calls": ("calls",),
    "chrome_favicon": ("chrome_favicons",),
    "chrome_history": ("chrome_history",),
    "contacts": ("contacts",),
    "firefox_favicon": ("firefox_favicons",),
    "firefox_history": ("firefox_history",),
    "id_status_cache": ("idstatuscache",),
    "interaction_c": ("interactionc",),
    "locationd_clients": ("locationd_clients",),
    "os_analytics_ad_daily": ("osanalytics_addaily",),
    "datausage": ("datausage",),
    "safari_browser_state": ("safari_browser_state",),
    "safari_history": ("safari_history",),
    "tcc": ("tcc",),
    "sms": ("sms", "android_backup_sms"),  # iOS sms.db, or the Android backup's SMS
    "sms_attachments": ("sms_attachments",),
    "webkit_resource_load_statistics": ("webkit_resource_load_statistics",),
    "webkit_session_resource_log": ("webkit_session_resource_log",),
    "whatsapp": ("whatsapp_messages",),
    "whatsapp_contacts": ("whatsapp_contacts",),
    "shortcuts": ("shortcuts",),
    "applications": ("applications",),
    "calendar": ("calendar",),
    "global_preferences": ("global_preferences",),
    # iOS, sysdiagnose
    "sysdiagnose_info": ("shutdown_log", "processes", "sysdiagnose*"),
    # Android, AndroidQF
    "aqf_packages": ("android_packages", "android_dumpsys", "android_dumpstate"),
    "aqf_processes": ("android_processes",),
    "aqf_get_prop": ("android_getprop", "android_dumpstate"),
    "aqf_settings": ("android_settings",),
    "aqf_files": ("android_files", "android_device_files", "android_tmp_copies"),
    "aqf_log_timestamps": ("android_files", "android_device_files", "android_*log*"),
    "root_binaries": ("android_root_binaries", "android_files"),
    "mounts": ("android_mounts", "android_dumpstate"),
    # Android, bugreport (also run inside AndroidQF on its bugreport.zip)
    "dumpsys_accessibility": ("android_dumpsys", "android_dumpstate"),
    "dumpsys_activities": ("android_dumpsys", "android_dumpstate"),
    "dumpsys_appops": ("android_dumpsys", "android_dumpstate"),
    "dumpsys_battery_daily": ("android_dumpsys", "android_dumpstate"),
    "dumpsys_battery_history": ("android_dumpsys", "android_dumpstate"),
    "dbinfo": ("android_dumpsys", "android_dumpstate"),
    "dumpsys_get_prop": ("android_getprop", "android_dumpstate"),
    "dumpsys_packages": ("android_dumpsys", "android_dumpstate", "android_packages"),
    "dumpsys_platform_compat": ("android_dumpsys", "android_dumpstate"),
    "dumpsys_receivers": ("android_dumpsys", "android_dumpstate"),
    "dumpsys_adb_state": ("android_dumpsys", "android_dumpstate"),
    "bugreport_timestamps": ("android_device_files", "android_dumpstate"),
    "tombstones": ("android_tombstones",),
    "processes": ("android_processes", "android_dumpstate", "processes"),
    "settings": ("android_settings", "android_dumpstate"),
    # Android, intrusion logs
    "dns_event": ("android_intrusion_logs",),
    "connect_event": ("android_intrusion_logs",),
    "security_event": ("android_intrusion_logs",),
}



@dataclass(frozen=True)
class Heuristic:
    """An MVT alert raised by a rule rather than an indicator, and the preuve rules that are its counterpart."""

    modules: tuple[str, ...]
    pattern: str  # matched against the start of MVT's message
    label: str
    rules: tuple[str, ...]  # "@indicator": an indicator finding on the same record is the counterpart
    # (MVT event field, preuve record field) pairs that identify the object where no string does (a count
    # per Android user): each gives both sides the object "key:<preuve field>=<value>".
    keys: tuple[tuple[str, str], ...] = ()


ANY_DATAUSAGE = ("datausage", "netusage")
DUMPSYS_PACKAGES = ("dumpsys_packages", "aqf_packages")
HEURISTICS: tuple[Heuristic, ...] = (
    Heuristic(("configuration_profiles",), r"Found a potentially suspicious configuration profile",
              "profile with a notification-settings payload", ("configuration_profile_installed",)),
    Heuristic(("profile_events",), r"On .* process .* started operation", "every profile event", ("profile_event",)),
    Heuristic(("applications",), r"Suspicious application identified without softwareVersionBundleId",
              "app without a bundle id in its metadata", ("app_metadata_without_bundle_id", "app_unusual_installer")),
    Heuristic(("applications",), r"Suspicious app not installed from the App Store", "app from another installer",
              ("app_unusual_installer",)),
    Heuristic(("calendar",), r"Potential Quadream exploit event", "QuaDream calendar invitation",
              ("calendar_quadream_invitation",)),
    Heuristic(("global_preferences",), r"Lockdown mode (enabled|disabled)", "Lockdown Mode state", ("lockdown_mode",)),
    Heuristic(("id_status_cache",), r"Found an ID Status Cache entry with suspicious patterns",
              "lookup with NUL bytes in the handle", ("idstatuscache_nul_handle",)),
    Heuristic(("safari_history",), r"Redirect took less than a second", "http page redirected within a second",
              ("safari_fast_redirect",)),
    Heuristic(("sms",), r"Apple warning about state-sponsored attack", "Apple threat notification",
              ("apple_threat_notification",)),
    Heuristic(("sms_attachments",), r"Suspicious iMessage attachment", "received attachment in /var/tmp ending -1",
              ("sms_attachment_tmp", "sms_attachment_unnamed")),
    Heuristic(("webkit_session_resource_log",), r"Found HTTP redirect between suspicious domains",
              "redirect chain of an entry that matched an indicator", ("webkit_redirect_indicator_domain", "@indicator")),
    Heuristic(ANY_DATAUSAGE, r"Found manipulated process entry", "usage rows of a deleted process",
              ("datausage_deleted_process",)),
    Heuristic(ANY_DATAUSAGE, r"Missing process \d+", "gap in process ids",
              ("datausage_process_gap", "datausage_deleted_process")),
    Heuristic(ANY_DATAUSAGE, r"Could not find the binary associated", "process with no app and no binary in the dump",
              ("datausage_unbundled_process",)),
    Heuristic(ANY_DATAUSAGE, r"Found process entry with empty 'proc_name'", "usage of a process with no name",
              ("datausage_deleted_process", "datausage_unbundled_process")),
    Heuristic(("dumpsys_accessibility",), r"The accessibility dump states", "services counted but not named",
              ("android_accessibility_unnamed",), keys=(("user_id", "user"),)),
    Heuristic(("dumpsys_accessibility",), r"Found accessibility service", "accessibility service",
              ("android_accessibility_service",)),
    Heuristic(("dumpsys_appops",), r"Package '.*' had risky permission", "REQUEST_INSTALL_PACKAGES app op",
              ("android_install_packages",)),
    Heuristic(("dumpsys_appops",), r"Risky package '.*' had", "app ops of com.android.shell", ("android_shell_appops",)),
    Heuristic(("dumpsys_battery_daily",), r"Detected uninstall of package", "uninstall in battery daily stats",
              ("android_battery_daily_change",)),
    Heuristic(("dumpsys_battery_daily",), r"Detected downgrade of package", "downgrade in battery daily stats",
              ("android_battery_daily_change",)),
    Heuristic(DUMPSYS_PACKAGES, r"Found an installed package related to rooting", "rooting app installed",
              ("android_root_package",)),
    Heuristic(("aqf_packages",), r"Found a package installed via a third party store", "third-party store install",
              ("android_package_installer",)),
    Heuristic(("aqf_packages",), r"Found a package installed via a browser", "install from a browser download",
              ("android_package_installer",)),
    Heuristic(("aqf_packages",), r"Found a non-system package installed via adb", "install with no installer",
              ("android_package_installer",)),
    Heuristic(("aqf_packages",), r"Security package .* disabled", "security package disabled",
              ("android_security_package_disabled",)),
    Heuristic(("aqf_packages",), r"System OTA update package .* disabled", "update package disabled",
              ("android_security_package_disabled",)),
    Heuristic(("aqf_packages",), r"VirusTotal flagged package", "VirusTotal detections (network, opt-in)", ()),
    Heuristic(("aqf_get_prop", "dumpsys_get_prop"), r"This phone has not received security updates",
              "security patch older than six months", ("android_old_security_patch",)),
    Heuristic(("mounts",), r"Root detected /system partition is mounted as read-write|System partition .* read-write",
              "system partition mounted read-write", ("android_system_rw",)),
    Heuristic(("mounts",), r"Suspicious mount options found", "rw/remount/noatime on a system partition",
              ("android_mount_options", "android_system_rw")),
    Heuristic(("aqf_settings", "settings"), r"Found suspicious \".*\" setting", "setting with an unsafe value",
              ("android_dangerous_setting", "android_play_protect_off", "android_unknown_sources")),
    Heuristic(("tombstones",), r"Potentially suspicious crash in process", "crash of a root/system/shell process",
              ("android_tombstone_privileged",)),
    Heuristic(("aqf_files",), r"Found (executable )?file at suspicious path", "file in /data/local/tmp",
              ("android_data_local_tmp",)),
    Heuristic(("root_binaries",), r"Found root binary", "root binary present", ("android_root_binary",)),
    Heuristic(("dumpsys_adb_state",), r"Found an invalid trusted ADB host key|Found a trusted ADB host key",
              "trusted ADB key (invalid / not the acquisition's / older than a day)", ("android_adb_key",)),
    Heuristic(("security_event",), r"Certificate validation failure", "certificate validation failure",
              ("android_intrusion_cert_validation_failure",)),
    Heuristic(("security_event",), r"Key integrity violation", "key integrity violation",
              ("android_intrusion_key_integrity_violation",)),
    Heuristic(("security_event",), r"Certificate authority installed", "CA certificate installed",
              ("android_intrusion_cert_authority_installed",)),
    Heuristic(("security_event",), r"Device wipe failure", "wipe failure", ("android_intrusion_wipe_failure",)),
    Heuristic(("security_event",), r"Cryptographic self test failed", "crypto self-test failure",
              ("android_intrusion_crypto_self_test_failed",)),
)


def heuristic_of(alert: MvtAlert) -> Heuristic | None:
    return heuristic_of_message(alert.module, alert.message)


def heuristic_of_message(module: str, message: str) -> Heuristic | None:
    for heuristic in HEURISTICS:
        if module in heuristic.modules and re.match(heuristic.pattern, message):
            return heuristic
    return None


# The preuve record fields some heuristics name as identifying keys (Heuristic.keys).
_KEY_FIELDS = frozenset(mine for heuristic in HEURISTICS for _theirs, mine in heuristic.keys)


# Event fields holding a row id, and the table it is a row of when the field says ("row": not known).
_ROW_FIELDS = {"ROWID": "row", "rowid": "row", "Z_PK": "row", "id": "row", "visit_id": "row",
               "proc_id": "zprocess", "live_proc_id": "zprocess", "live_id": "zliveusage"}
# preuve locator tables whose row ids MVT names by field (DataUsage/netusage): qualified the same way.
_QUALIFIED_TABLES = {"ZPROCESS": "zprocess", "ZLIVEUSAGE": "zliveusage"}
_DATE = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d")
_CONSTANT = re.compile(r"^[A-Z][A-Z0-9_]*$")
_CATEGORIES = frozenset({"allow", "allowed", "default", "deny", "denied", "ignore", "foreground", "true", "false",
                         "none", "null", "unknown", "received", "sent", "install", "remove", "enabled", "disabled"})
_QUOTED = re.compile(r"\"([^\"]{2,300})\"")
_PROC_NUMBER = re.compile(r"process(?: entry)? #?(\d+)", re.IGNORECASE)
_ID_RANGE = re.compile(r"^(?:z_pk|ids?) (\d+)-(\d+)$", re.IGNORECASE)


# -- the two sides, as typed values ------------------------------------------------------------


@dataclass(frozen=True)
class MvtAlert:
    """One MVT alert: its module, level (None for an MVT too old to give one) and what it is about."""

    module: str
    level: int | None
    message: str
    indicator_type: str | None
    indicator_value: str | None
    objects: frozenset[str]


@dataclass(frozen=True)
class PreuveFinding:
    artifact: str
    rule: str | None
    severity: int
    indicator_kind: str | None
    indicator_value: str | None
    objects: frozenset[str]
    explanation: str


@dataclass(frozen=True)
class Pair:
    alert: MvtAlert
    finding: PreuveFinding | None
    note: str  # how they were paired, or why not


@dataclass
class Comparison:
    acquisition: str
    command: str
    pairs: list[Pair] = field(default_factory=list)
    unmatched_findings: list[PreuveFinding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # a tool failed or said it could not read something
    failed: bool = False
    mvt_version: str = ""  # as MVT wrote it in info.json

    @property
    def missing(self) -> list[Pair]:
        return [p for p in self.pairs if p.finding is None]


# -- normalisation -------------------------------------------------------------------------------


def norm(value: object) -> str | None:
    """The comparable form of an identifying value, or None when it identifies nothing."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip().lower()
    for prefix in ("mailto:", "tel:"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    text = text.rstrip("/")
    if len(text) < 2 or len(text) > 2048:
        return None
    return text


def level_rank(text: object) -> int | None:
    return _LEVEL_RANK.get(str(text).strip().lower()) if text is not None else None


def level_name(rank: int | None) -> str:
    return "?" if rank is None else LEVELS[rank]


def _host(url: str) -> str | None:
    match = re.match(r"^[a-z][a-z0-9+.-]*://([^/?#:@]+)", url)
    return match.group(1) if match else None


def _value_objects(value: object) -> set[str]:
    """A value as objects: itself (and a URL's host), unless it is a date or a category shared by many records."""
    out: set[str] = set()
    if isinstance(value, str) and _CONSTANT.match(value.strip()):
        return out  # REQUEST_INSTALL_PACKAGES, SIGSEGV, MODE_ALLOWED: a category, not an identity
    text = norm(value)
    if text is None or _DATE.match(text) or text in _CATEGORIES:
        return out
    out.add("v:" + text)
    host = _host(text)
    if host:
        out.add("v:" + host)
    return out


def _row_object(value: object, table: str = "row") -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit() and len(value) < 19):
        return f"{table}:{int(value)}"
    return None


def _scan(value: object, out: set[str], depth: int, budget: list[int]) -> None:
    """String values (and row numbers of known row fields) of a JSON value, a few levels deep, bounded."""
    if budget[0] <= 0 or depth > 4:
        return
    budget[0] -= 1
    if isinstance(value, str):
        if len(value) <= 2048:
            out |= _value_objects(value)
    elif isinstance(value, dict):
        # A setting or a property, as MVT ({"name", "value"}) and preuve ({"key", "value"}) write it: the
        # pair identifies it where neither its name (one per user) nor its value ("1") does.
        name, setting = value.get("name", value.get("key")), value.get("value")
        named = norm(name)
        if named is not None and isinstance(setting, (str, int)) and not isinstance(setting, bool):
            pair = f"{named}={str(setting).strip().lower()}"  # (the value as it is: "1" is one)
            if len(pair) <= 2048:
                out.add("kv:" + pair)
        for key, item in list(value.items())[:200]:
            if key in _ROW_FIELDS:
                row = _row_object(item, _ROW_FIELDS[key])
                if row:
                    out.add(row)
            _scan(item, out, depth + 1, budget)
    elif isinstance(value, list):
        for item in value[:100]:
            _scan(item, out, depth + 1, budget)


def mvt_objects(event: object, message: str, indicator_value: str | None) -> frozenset[str]:
    """What an MVT alert is about: the event's string values and row numbers, and the message's quoted values."""
    out: set[str] = set()
    _scan(event, out, 0, [2000])
    for quoted in _QUOTED.findall(message or ""):
        out |= _value_objects(quoted)
    for number in _PROC_NUMBER.findall(message or ""):
        out.add(f"proc:{int(number)}")
    if indicator_value:
        out |= _value_objects(indicator_value)
    return frozenset(out)


def locator_key(locator: object) -> tuple[object, ...] | None:
    if not isinstance(locator, dict):
        return None
    return tuple(locator.get(k) for k in ("device_path", "table", "rowid", "key_path", "line", "offset"))


def record_objects(record: dict[str, object]) -> frozenset[str]:
    """The values of the record a finding is about (its fields as preuve wrote them to artifacts/*.jsonl)."""
    out: set[str] = set()
    fields = {k: v for k, v in record.items() if k not in ("record_type", "locator")}
    _scan(fields, out, 0, [500])
    out |= {f"key:{k}={v}" for k, v in fields.items() if k in _KEY_FIELDS and isinstance(v, int)
            and not isinstance(v, bool)}
    locator = record.get("locator")
    if isinstance(locator, dict) and all(locator.get(k) is None for k in ("table", "rowid", "key_path", "line")):
        path = str(locator.get("device_path") or "")
        out |= _value_objects(path.rsplit("/", 1)[-1])  # the whole file is the record: its name identifies it
    return frozenset(out)


def preuve_objects(doc: dict[str, object], record: frozenset[str] = frozenset()) -> frozenset[str]:
    """What a preuve finding is about: its observable and indicator, its row and key path, the process id it
    names, and the values of its record."""
    out: set[str] = set(record)
    observable = doc.get("observable")
    if isinstance(observable, dict):
        out |= _value_objects(observable.get("value"))
    indicator = doc.get("indicator")
    if isinstance(indicator, dict):
        out |= _value_objects(indicator.get("value"))
    locator = doc.get("locator")
    if isinstance(locator, dict):
        row = _row_object(locator.get("rowid"), _QUALIFIED_TABLES.get(str(locator.get("table")), "row"))
        if row:
            out.add(row)
        key_path = locator.get("key_path")
        if isinstance(key_path, str):
            for part in re.split(r"[/=]", key_path):
                out |= _value_objects(part)
                found = _ID_RANGE.match(part.strip())
                if found:
                    low, high = int(found.group(1)), int(found.group(2))
                    if 0 <= high - low <= MAX_RANGE:
                        out |= {f"proc:{n}" for n in range(low, high + 1)}
    explanation = str(doc.get("explanation") or "")
    for number in _PROC_NUMBER.findall(explanation):
        out.add(f"proc:{int(number)}")
    return frozenset(out)


def objects_meet(left: frozenset[str], right: frozenset[str]) -> bool:
    """Same object: a shared value, or one path ending with the other (a backup's relative path)."""
    if left & right:
        return True
    left_paths = [v[2:] for v in left if v.startswith("v:") and "/" in v and "://" not in v]
    right_paths = [v[2:] for v in right if v.startswith("v:") and "/" in v and "://" not in v]
    for a in left_paths:
        for b in right_paths:
            short, long = (a, b) if len(a) <= len(b) else (b, a)
            short = short.lstrip("/")
            if short.count("/") >= 1 and long.endswith("/" + short):
                return True
    return False


# -- reading the outputs -------------------------------------------------------------------------


def _load_json(path: Path) -> object:
    if path.stat().st_size > MAX_JSON_BYTES:
        raise ValueError(f"{path.name} is larger than {MAX_JSON_BYTES} bytes")
    return json.loads(path.read_text(encoding="utf-8", errors="replace"))


def _mvt_alert(doc: object, default_module: str) -> MvtAlert | None:
    if not isinstance(doc, dict):
        return None
    if "level" in doc and "message" in doc:  # MVT 2.7 and later: an Alert
        module = str(doc.get("module") or default_module)
        level = level_rank(doc.get("level"))
        message = str(doc.get("message") or "")
        event = doc.get("event")
        indicator = doc.get("matched_indicator")
        if indicator is None and isinstance(event, dict):
            indicator = event.get("matched_indicator")
    else:  # older MVT: *_detected.json holds the detected records, with no level
        module, level, message, event = default_module, None, "", doc
        indicator = doc.get("matched_indicator")
    ind_type = ind_value = None
    if isinstance(indicator, dict):
        ind_type = str(indicator.get("type")) if indicator.get("type") is not None else None
        ind_value = str(indicator.get("value")) if indicator.get("value") is not None else None
    elif isinstance(indicator, str):
        ind_value = indicator
    objects = mvt_objects(event, message, ind_value)
    heuristic = heuristic_of_message(module, message)
    if heuristic is not None and isinstance(event, dict):
        objects |= {f"key:{mine}={value}" for theirs, mine in heuristic.keys
                    if isinstance(value := event.get(theirs), int) and not isinstance(value, bool)}
    return MvtAlert(module, level, message, ind_type, ind_value, objects)


def read_mvt_alerts(out_dir: Path) -> list[MvtAlert]:
    """MVT's alerts: alerts.json (all modules, sub-commands included), else every ``*_detected.json``."""
    main = out_dir / "alerts.json"
    docs: list[tuple[object, str]] = []
    if main.is_file():
        loaded = _load_json(main)
        docs = [(d, "unknown") for d in (loaded if isinstance(loaded, list) else [])]
    else:
        for path in sorted(out_dir.rglob("*_detected.json")):
            loaded = _load_json(path)
            slug = path.name[: -len("_detected.json")]
            docs += [(d, slug) for d in (loaded if isinstance(loaded, list) else [loaded])]
    alerts = [a for a in (_mvt_alert(d, slug) for d, slug in docs) if a is not None]
    return list(dict.fromkeys(alerts))  # the same alert read twice counts once


def read_records(artifacts_dir: Path, wanted: dict[str, set[tuple[object, ...]]]) -> dict[tuple[object, ...], frozenset[str]]:
    """Objects of the records some findings point to, by locator, from preuve's artifacts/<name>.jsonl.

    A value that more than one record of the artifact holds (a settings namespace, a permission
    mode) identifies none of them and is left out.
    """
    out: dict[tuple[object, ...], frozenset[str]] = {}
    for artifact, keys in sorted(wanted.items()):
        path = artifacts_dir / f"{artifact}.jsonl"
        if not re.fullmatch(r"[a-z0-9_]+", artifact) or not path.is_file():
            continue
        found: dict[tuple[object, ...], frozenset[str]] = {}
        seen_in: Counter[str] = Counter()
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle):
                if number >= MAX_RECORD_LINES:
                    break
                if len(line) > MAX_RECORD_LINE:
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(record, dict):
                    continue
                objects = record_objects(record)
                seen_in.update(objects)
                key = locator_key(record.get("locator"))
                if key is not None and key in keys and key not in found:
                    found[key] = objects
        for key, objects in found.items():
            out[key] = frozenset(o for o in objects if seen_in[o] <= 1)
    return out


def group_members(row: dict[str, object]) -> list[dict[str, object]]:
    """The occurrences a grouped finding lists (``group.members``: each with its locator and observable)."""
    group = row.get("group")
    members = group.get("members") if isinstance(group, dict) else None
    if not isinstance(members, list):
        return []
    return [m for m in members[:MAX_GROUP_MEMBERS] if isinstance(m, dict)]


def read_preuve_findings(findings_json: Path) -> list[PreuveFinding]:
    """preuve's findings, each with the objects of its record when preuve wrote the record beside it."""
    doc = _load_json(findings_json)
    rows = doc.get("findings", []) if isinstance(doc, dict) else []
    rows = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
    wanted: dict[str, set[tuple[object, ...]]] = {}
    for row in rows:
        for occurrence in [row, *group_members(row)]:
            key = locator_key(occurrence.get("locator"))
            if key is not None:
                wanted.setdefault(str(row.get("artifact") or ""), set()).add(key)
    records = read_records(findings_json.parent / "artifacts", wanted)

    def objects_of(doc: dict[str, object]) -> frozenset[str]:
        key = locator_key(doc.get("locator"))
        return preuve_objects(doc, records.get(key, frozenset()) if key is not None else frozenset())

    out = []
    for row in rows:
        indicator = row.get("indicator") if isinstance(row.get("indicator"), dict) else None
        objects = objects_of(row)
        for member in group_members(row):  # a grouped finding is about every occurrence it lists
            objects |= objects_of(member)
        out.append(
            PreuveFinding(
                artifact=str(row.get("artifact") or ""),
                rule=str(row["rule"]) if row.get("rule") else None,
                severity=level_rank(row.get("severity")) or 0,
                indicator_kind=str(indicator.get("kind")) if indicator else None,
                indicator_value=str(indicator.get("value")) if indicator else None,
                objects=objects,
                explanation=str(row.get("explanation") or ""),
            )
        )
    return out


# -- pairing -------------------------------------------------------------------------------------


def artifact_fits(module: str, artifact: str) -> bool | None:
    """True/False for a mapped MVT module; None when the module is not mapped (any artifact may fit)."""
    patterns = MODULE_ARTIFACTS.get(module)
    if patterns is None:
        return None
    return any(fnmatch(artifact, p) for p in patterns)


def pair_alert(alert: MvtAlert, findings: Sequence[PreuveFinding]) -> Pair:
    fitting = [f for f in findings if artifact_fits(alert.module, f.artifact) is not False]
    unmapped = alert.module not in MODULE_ARTIFACTS
    suffix = " (module not mapped: any artifact)" if unmapped else ""
    if alert.indicator_value is not None:
        wanted = norm(alert.indicator_value)
        same_ioc = [f for f in fitting if f.indicator_value is not None and norm(f.indicator_value) == wanted]
        ioc_objects = frozenset(_value_objects(alert.indicator_value))  # shared by every record it matched
        same_record = [f for f in same_ioc if objects_meet(alert.objects - ioc_objects, f.objects - ioc_objects)]
        if same_record:
            return Pair(alert, max(same_record, key=lambda f: f.severity), "same indicator, same record" + suffix)
        if same_ioc:
            best = max(same_ioc, key=lambda f: f.severity)
            return Pair(alert, best, "same indicator, record not confirmed" + suffix)
        other_ioc = [f for f in fitting if f.indicator_value is not None and objects_meet(alert.objects, f.objects)]
        if other_ioc:  # e.g. MVT matched a folder indicator, preuve the file's own indicator
            best = max(other_ioc, key=lambda f: f.severity)
            return Pair(alert, best, "another indicator on the same record" + suffix)
        return Pair(alert, None, "no finding for this indicator in " + _artifacts_text(alert.module))
    heuristic = heuristic_of(alert)
    if heuristic is None:
        suffix += " (MVT heuristic not in the table: any rule)"

    def counterpart(f: PreuveFinding) -> bool:
        if heuristic is None:
            return f.rule is not None
        if f.rule is None:
            return "@indicator" in heuristic.rules and f.indicator_value is not None
        return f.rule in heuristic.rules

    rules = [f for f in fitting if counterpart(f) and objects_meet(alert.objects, f.objects)]
    if rules:
        return Pair(alert, max(rules, key=lambda f: f.severity), "counterpart on the same record" + suffix)
    if heuristic is not None and not heuristic.rules:
        return Pair(alert, None, "preuve has no rule for this MVT heuristic (a gap in docs/mvt-parity.md)")
    wanted = "/".join(heuristic.rules) if heuristic else "a rule"
    return Pair(alert, None, f"expected {wanted} in {_artifacts_text(alert.module)}" + suffix)


def _artifacts_text(module: str) -> str:
    patterns = MODULE_ARTIFACTS.get(module)
    return "/".join(patterns) if patterns else "any artifact"


def pair_all(alerts: Sequence[MvtAlert], findings: Sequence[PreuveFinding]) -> tuple[list[Pair], list[PreuveFinding]]:
    """Every MVT alert with its counterpart (or None); and the preuve findings no MVT alert pairs with."""
    pairs = [pair_alert(a, findings) for a in alerts]
    used = {id(p.finding) for p in pairs if p.finding is not None}
    return pairs, [f for f in findings if id(f) not in used]


# -- the table -----------------------------------------------------------------------------------


def _object_text(alert: MvtAlert) -> str:
    text = alert.indicator_value or alert.message or "(no message)"
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _finding_text(finding: PreuveFinding | None) -> str:
    if finding is None:
        return "MISSING"
    what = finding.rule or f"{finding.indicator_kind}:{finding.indicator_value}"
    text = f"{finding.artifact}/{what}"
    return text if len(text) <= 60 else text[:57] + "..."


def render(comparison: Comparison) -> str:
    version = f"{comparison.mvt_version} " if comparison.mvt_version else ""
    lines = [f"== {comparison.acquisition}  (MVT {version}{comparison.command})"]
    lines += [f"   problem: {' '.join(p.split())[:300]}" for p in comparison.problems]
    if comparison.failed:
        lines.append("   not compared: a tool did not produce its output")
        return "\n".join(lines)
    rows = [("MVT module", "MVT level", "indicator, or MVT message", "preuve finding", "preuve level", "note")]
    order = sorted(comparison.pairs, key=lambda p: (p.finding is not None, -(p.alert.level or 0), p.alert.module))
    for pair in order:
        preuve_level = level_name(pair.finding.severity) if pair.finding else "-"
        note = pair.note
        if pair.finding is not None and pair.alert.level is not None and pair.finding.severity < pair.alert.level:
            note = "preuve LOWER; " + note
        rows.append((pair.alert.module, level_name(pair.alert.level), _object_text(pair.alert),
                     _finding_text(pair.finding), preuve_level, note))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        lines.append("   " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(row[:5])) + "  " + row[5])
    missing = len(comparison.missing)
    lower = sum(1 for p in comparison.pairs if p.finding and p.alert.level is not None
                and p.finding.severity < p.alert.level)
    extra: dict[str, int] = {}
    for finding in comparison.unmatched_findings:
        extra[level_name(finding.severity)] = extra.get(level_name(finding.severity), 0) + 1
    extra_text = ", ".join(f"{extra[name]} {name}" for name in reversed(LEVELS) if name in extra) or "none"
    lines.append(
        f"   MVT alerts: {len(comparison.pairs)}; with a preuve counterpart: {len(comparison.pairs) - missing}; "
        f"MISSING: {missing}; preuve level lower: {lower}; preuve findings without an MVT alert: {extra_text}"
    )
    return "\n".join(lines)


# -- running the tools ---------------------------------------------------------------------------


def expand_feeds(paths: Iterable[Path]) -> list[Path]:
    """STIX files: each file given, and every ``*.stix2`` under each folder given (sorted)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.rglob("*.stix2") if p.is_file())
        elif path.is_file():
            out.append(path)
        else:
            raise FileNotFoundError(f"no feed at {path}")
    by_content: dict[str, Path] = {}
    for path in out:  # the same feed given twice (a copy in another folder) is read once
        by_content.setdefault(hashlib.sha256(path.read_bytes()).hexdigest(), path.resolve())
    return list(by_content.values())


def _zip_names(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()[:100_000]
    except (zipfile.BadZipFile, OSError):
        return []


def _android_names(names: Iterable[str]) -> str | None:
    base = {n.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] for n in names}
    if "main_entry.txt" in base or any(b.startswith(("dumpstate", "bugreport-")) and b.endswith(".txt") for b in base):
        return "check-bugreport"
    if base & {"acquisition.json", "packages.json", "getprop.txt", "processes.txt", "dumpsys.txt"}:
        return "check-androidqf"
    return None


def choose_command(path: Path) -> tuple[str, str]:
    """(mvt-ios or mvt-android, command) for what the acquisition is."""
    name = path.name.lower()
    if path.is_file():
        if name.endswith(".ab"):
            return "mvt-android", "check-backup"
        if name.endswith(".zip"):
            names = _zip_names(path)
            found = _android_names(names)
            if found:
                return "mvt-android", found
            if "intrusion" in name:
                return "mvt-android", "check-intrusion-logs"
            return "mvt-ios", "check-fs"
        if name.startswith("sysdiagnose") and name.endswith((".tar.gz", ".tgz")):
            return "mvt-ios", "check-sysdiagnose"
        return "mvt-ios", "check-fs"  # a tar or tar.gz dump, unpacked first
    if (path / "Manifest.db").exists() or (path / "Manifest.plist").exists():
        return "mvt-ios", "check-backup"
    top = [p.name for p in list(path.iterdir())[:10_000]]
    found = _android_names(top)
    if found:
        return "mvt-android", found
    if name.startswith("sysdiagnose"):
        return "mvt-ios", "check-sysdiagnose"
    if "intrusion" in name:
        return "mvt-android", "check-intrusion-logs"
    return "mvt-ios", "check-fs"


def safe_unpack(archive: Path, into: Path) -> None:
    """Unpack a dump archive for MVT's check-fs (which reads folders only), bounded, nothing outside `into`."""
    total = count = 0
    into.mkdir(parents=True)
    root = into.resolve()

    def target(member: str) -> Path | None:
        where = (into / member.lstrip("/")).resolve()
        return where if where.is_relative_to(root) and where != root else None

    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                count += 1
                total += info.file_size
                if count > MAX_EXTRACT_MEMBERS or total > MAX_EXTRACT_BYTES:
                    raise ValueError("archive too large to unpack for MVT")
                dest = target(info.filename)
                if dest is None or info.is_dir():
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, dest.open("wb") as out:
                    shutil.copyfileobj(src, out)
        return
    with tarfile.open(archive) as tar:
        for member in tar:
            count += 1
            total += member.size
            if count > MAX_EXTRACT_MEMBERS or total > MAX_EXTRACT_BYTES:
                raise ValueError("archive too large to unpack for MVT")
            dest = target(member.name)
            if dest is None or not member.isfile():
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is not None:
                with dest.open("wb") as out:
                    shutil.copyfileobj(source, out)


def dump_root(unpacked: Path) -> Path:
    """The folder of an unpacked dump that holds private/ (the archive may wrap it in one folder)."""
    if (unpacked / "private").is_dir():
        return unpacked
    entries = list(unpacked.iterdir())
    if len(entries) == 1 and (entries[0] / "private").is_dir():
        return entries[0]
    return unpacked


def _private_copy(src: Path, into: Path) -> Path:
    into.mkdir(parents=True)
    dest = into / src.name
    if src.is_dir():
        shutil.copytree(src, dest, symlinks=True)
    else:
        shutil.copy2(src, dest)
    return dest


def _supported_flags(executable: Path) -> list[str]:
    try:
        text = subprocess.run([str(executable), "--help"], capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [f for f in ("--disable-update-check", "--disable-indicator-update-check") if f in text]


def mvt_problems(out_dir: Path, console: str) -> list[str]:
    """What MVT said it could not do: its ERROR lines (command.log, else the console) and exceptions."""
    command_log = out_dir / "command.log"
    if command_log.is_file() and command_log.stat().st_size < MAX_JSON_BYTES:
        text = command_log.read_text(encoding="utf-8", errors="replace")
        errors = [re.sub(r"^.*? - ERROR - ", "", line) for line in text.splitlines() if " - ERROR - " in line]
    else:
        text = console
        errors = [line[5:] for line in text.splitlines() if line.startswith("ERROR")]
    errors += [line for line in text.splitlines() if re.match(r"^[A-Za-z_.]*(Error|Exception)\b.*", line)]
    found: list[str] = []
    for line in errors:
        clean = " ".join(line.split())[:240]
        if clean and clean not in found:
            found.append(clean)
    return found[:20]


def run_mvt(venv: Path, tool: str, command: str, target: Path, feeds: Sequence[Path], work: Path,
            timeout: float) -> tuple[Path | None, list[str]]:
    """Run MVT on a private copy; return its output folder (None if it did not finish) and its problems."""
    executable = venv / "bin" / tool
    if not executable.exists():
        return None, [f"MVT not found: {executable}"]
    copy = _private_copy(target, work / "mvt-input")
    if command == "check-fs" and copy.is_file():
        unpacked = work / "mvt-unpacked"
        try:
            safe_unpack(copy, unpacked)
        except (OSError, ValueError, tarfile.TarError, zipfile.BadZipFile) as exc:
            return None, [f"could not unpack {target.name} for MVT check-fs: {exc}"]
        copy = dump_root(unpacked)
    out = work / "mvt-out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MVT_")}
    env.update(MVT_NETWORK_ACCESS_ALLOWED="False", MVT_DATA_FOLDER=str(work / "mvt-data"),
               MVT_CONFIG_FOLDER=str(work / "mvt-config"), NO_COLOR="1", COLUMNS="200")
    args = [str(executable), *_supported_flags(executable), command]
    for feed in feeds:
        args += ["--iocs", str(feed)]
    if command == "check-backup" and tool == "mvt-android":
        args.append("--non-interactive")
    args += ["--output", str(out), str(copy)]
    try:
        done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, [f"MVT {command} did not finish in {timeout:.0f} s"]
    log_text = done.stdout + "\n" + done.stderr
    (work / "mvt-console.txt").write_text(log_text, encoding="utf-8")
    problems = mvt_problems(out, log_text)
    if done.returncode != 0:
        last = [line for line in log_text.splitlines() if line.strip()][-1:] or ["(no message)"]
        problems.insert(0, f"MVT {command} exit {done.returncode}: {' '.join(last[0].split())[:200]}")
    if not (out / "info.json").is_file():
        problems.append(f"MVT {command} wrote no info.json: it did not complete")
        return None, problems
    return out, problems


def run_preuve(target: Path, feeds: Sequence[Path], work: Path, source: Path | None,
               timeout: float) -> tuple[Path | None, list[str]]:
    copy = _private_copy(target, work / "preuve-input")
    out = work / "preuve-out"
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    args = [sys.executable, "-m", "preuve", "check", str(copy), "-o", str(out), "-q"]
    for feed in feeds:
        args += ["--iocs", str(feed)]
    try:
        done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, [f"preuve did not finish in {timeout:.0f} s"]
    problems = []
    text = done.stdout + done.stderr
    if "Traceback (most recent call last)" in text:
        problems.append("preuve printed a traceback: " + " ".join(text.strip().splitlines()[-1:])[:200])
    if done.returncode not in (0, 2, 3):
        message = " ".join(done.stderr.split()) or " ".join(done.stdout.split())
        problems.append(f"preuve exit {done.returncode}: {message[:240]}")
    findings = out / "findings.json"
    if not findings.is_file():
        problems.append("preuve wrote no findings.json")
        return None, problems
    run = out / "run.json"
    if run.is_file():
        try:
            doc = _load_json(run)
            for artifact in doc.get("artifacts", []) if isinstance(doc, dict) else []:
                if isinstance(artifact, dict) and artifact.get("status") == "failed":
                    why = "; ".join(str(e) for e in artifact.get("errors") or [])[:200]
                    problems.append(f"preuve artifact {artifact.get('name')} failed: {why}")
        except (OSError, ValueError):
            problems.append("preuve run.json unreadable")
    return findings, problems


def compare(target: Path, feeds: Sequence[Path], venv: Path, command: str | None, source: Path | None,
            timeout: float, keep: Path | None) -> Comparison:
    if not target.exists():
        return Comparison(str(target), command or "?", problems=["no such file or folder"], failed=True)
    try:
        tool, chosen = choose_command(target)
    except OSError as exc:
        return Comparison(str(target), command or "?", problems=[f"unreadable: {exc}"], failed=True)
    if command:
        chosen = command
        tool = "mvt-ios" if command in ("check-fs", "check-sysdiagnose") or (
            command == "check-backup" and not target.name.lower().endswith(".ab")) else "mvt-android"
    comparison = Comparison(str(target), f"{tool} {chosen}")
    work = Path(tempfile.mkdtemp(prefix="mvt-parity-"))
    try:
        return _compare_in(comparison, work, tool, chosen, target, feeds, venv, source, timeout)
    except (OSError, shutil.Error, subprocess.SubprocessError) as exc:  # a copy or a run that could not be made
        comparison.problems.append(f"{type(exc).__name__}: {exc}")
        comparison.failed = True
        return comparison
    finally:
        if keep is not None:
            dest = keep / re.sub(r"[^A-Za-z0-9._-]", "_", target.name)
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(work, dest, ignore=shutil.ignore_patterns("mvt-input", "preuve-input", "mvt-unpacked"))
        shutil.rmtree(work, ignore_errors=True)


def _compare_in(comparison: Comparison, work: Path, tool: str, chosen: str, target: Path, feeds: Sequence[Path],
                venv: Path, source: Path | None, timeout: float) -> Comparison:
    mvt_out, mvt_problems_found = run_mvt(venv, tool, chosen, target, feeds, work, timeout)
    comparison.problems += mvt_problems_found
    preuve_out, preuve_problems = run_preuve(target, feeds, work, source, timeout)
    comparison.problems += preuve_problems
    if mvt_out is None:
        comparison.failed = True
        return comparison
    if preuve_out is None:
        # preuve could not read the acquisition at all: every MVT alert is one it does not raise.
        comparison.problems.append("preuve raised nothing: each MVT alert is listed without a counterpart")
    try:
        info = _load_json(mvt_out / "info.json")
        comparison.mvt_version = str(info.get("mvt_version") or "") if isinstance(info, dict) else ""
        alerts = read_mvt_alerts(mvt_out)
        findings = read_preuve_findings(preuve_out) if preuve_out is not None else []
    except (OSError, ValueError) as exc:
        comparison.problems.append(f"unreadable output: {exc}")
        comparison.failed = True
        return comparison
    comparison.pairs, comparison.unmatched_findings = pair_all(alerts, findings)
    return comparison


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("acquisitions", nargs="*", type=Path)
    parser.add_argument("--iocs", action="append", type=Path, default=[],
                        help="STIX file or folder (repeatable); default: the shipped Pegasus feed")
    parser.add_argument("--mvt-venv", type=Path, default=os.environ.get("MVT_VENV"),
                        help="MVT's virtualenv (default: $MVT_VENV)")
    parser.add_argument("--mvt-command", help="MVT command to run instead of the one chosen from the path")
    parser.add_argument("--preuve-source", type=Path, default=REPO / "src" if (REPO / "src" / "preuve").is_dir()
                        else None, help="put this folder first on PYTHONPATH for preuve (default: this tree's src)")
    parser.add_argument("--installed-preuve", action="store_true", help="run the installed preuve, not this tree's")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per tool run")
    parser.add_argument("--keep", type=Path, help="keep each run's outputs (not the copies) under this folder")
    parser.add_argument("--build", type=Path, help="write the built acquisitions into this folder and stop")
    args = parser.parse_args(argv)

    if args.build:
        sys.path[:0] = [str(REPO / "src"), str(REPO)]
        for path in build_all(args.build):
            print(path)
        return 0
    if not args.acquisitions:
        parser.error("name at least one acquisition")
    if args.mvt_venv is None:
        parser.error("--mvt-venv or $MVT_VENV is needed")
    feeds = expand_feeds(args.iocs or [SHIPPED_FEED])
    source = None if args.installed_preuve else args.preuve_source
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    comparisons = []
    for target in args.acquisitions:
        comparison = compare(target.resolve(), feeds, args.mvt_venv, args.mvt_command, source, args.timeout,
                             args.keep)
        print(render(comparison), flush=True)
        comparisons.append(comparison)
    alerts = sum(len(c.pairs) for c in comparisons)
    missing = sum(len(c.missing) for c in comparisons)
    failed = sum(1 for c in comparisons if c.failed)
    print(f"total: {len(comparisons)} acquisition(s), {failed} not compared; {alerts} MVT alert(s), {missing} without "
          f"a preuve counterpart; {len(feeds)} feed file(s)")
    return exit_status(comparisons)


def exit_status(comparisons: Sequence[Comparison]) -> int:
    """1 when an MVT alert lacks a counterpart; else 2 when a tool could not run on an input; else 0."""
    if any(c.missing for c in comparisons):
        return 1
    return 2 if any(c.failed for c in comparisons) else 0


# -- acquisitions built for parity ----------------------------------------------------------------
#
# Each carries traces that some MVT module alerts on, written with preuve's own builders and real
# indicators of public feeds (Pegasus, Predator/Cytrox, QuaDream KingSpawn, RCS Lab, ResidentBat,
# NoviSpy, the 2023 Android campaign). The harness only reads them: what both tools say about them
# is the measurement.

PEGASUS_DOMAIN = "free247downloads.com"
PEGASUS_DOMAIN_2 = "tookcheckout.com"
PEGASUS_EMAIL = "bogaardlisa803@gmail.com"
PEGASUS_PROCESS = "roleaccountd"
PREDATOR_PROFILE = "76DAB334-7E17-475D-A5D6-0794EB5818A5"
KINGSPAWN_PATH = "/private/var/db/com.apple.xpc.roleaccountd.staging/subridged"  # QuaDream KingSpawn feed
RCS_APP = "com.fintur.support"  # an app:id of the RCS Lab feed
CAMPAIGN_PROPERTY = "sys.brand.note"  # android-property:name of the 2023 Android campaign
PREDATOR_ANDROID_PATH = "/data/local/tmp/wd/pred.so"
PREDATOR_ANDROID_DIR = "/data/local/tmp/wd/"  # a file:path indicator of the Predator feed (a folder)
NOVISPY_IP = "176.223.111.131"  # an IP address the NoviSpy feed gives as domain-name:value


def _sqlite_bytes(fill: Callable[[sqlite3.Connection], None]) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "db.sqlite"
        conn = sqlite3.connect(path)
        try:
            fill(conn)
            conn.commit()
        finally:
            conn.close()
        return path.read_bytes()


def _ios_traces_backup(root: Path) -> Path:
    """A backup whose artifacts each carry what one MVT iOS module alerts on."""
    from tests.builders.ios_apps import (
        WHATSAPP_GROUP,
        ShortcutRow,
        WaMessage,
        fill_shortcuts,
        fill_whatsapp_chats,
    )
    from tests.builders.ios_browsers import (
        CHROME_BUNDLE,
        CHROME_DIR,
        FIREFOX_GROUP,
        Favicon,
        Observed,
        SessionEntry,
        Visit,
        fill_chrome_favicons,
        fill_chrome_history,
        fill_firefox_browser_db,
        fill_firefox_places,
        fill_observations,
        session_resource_log,
    )
    from tests.builders.ios_personal import Event, fill_calendar

    from preuve.builders.ios_backup import AppFacts, BackupBuilder, DeviceFacts
    from preuve.builders.ios_dbs import Attachment, Message, fill_sms
    from preuve.builders.ios_plists import (
        IdLookup,
        LocationClient,
        Payload,
        Profile,
        ProfileEvent,
        TccEntry,
        fill_tcc,
        idstatuscache,
        locationd_clients,
        profile_events,
        profile_stub,
    )
    from preuve.builders.safari import Tab, fill_browser_state

    when = datetime(2023, 5, 2, 10, 0, tzinfo=UTC)
    apps = (
        AppFacts("net.whatsapp.WhatsApp", "WhatsApp Messenger", "23.10.77", "23.10.77.75"),
        AppFacts("com.example.enterprise", "Field Tool", source_app="com.example.enterprise.installer"),
        # An app with no iTunesMetadata (sideloaded) makes MVT's Applications module fail (reported): left out.
    )
    facts = DeviceFacts(apps=apps, installed_apps=("com.apple.mobilesafari", *(a.bundle_id for a in apps)))
    builder = BackupBuilder(root, facts)
    ink = f"https://{PEGASUS_DOMAIN}/a/1"
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, [
        Message(text="Photo", handle="+41790000009", date=when,
                attachments=[Attachment("/var/tmp/com.apple.messages/IMG_0001.JPG-1", "image/jpeg", "IMG.JPG")]),
        Message(text=f"Delivery {ink}", handle="+41790000009", date=when),
    ], ios_major=16))
    profiles = "SysSharedContainerDomain-systemgroup.com.apple.configurationprofiles"
    folder = "Library/ConfigurationProfiles/"
    builder.add_plist(profiles, folder + "profile-aa01.stub", profile_stub(Profile(
        PREDATOR_PROFILE, "com.example.predator", "Update", payloads=[
            Payload("com.apple.webClip.managed", "com.example.clip", "11111111-1111-4111-8111-111111111111")])))
    builder.add_plist(profiles, folder + "profile-bb02.stub", profile_stub(Profile(
        "22222222-2222-4222-8222-222222222222", "com.example.quiet", "Quiet", payloads=[
            Payload("com.apple.notificationsettings", "com.example.notif", "33333333-3333-4333-8333-333333333333")])))
    builder.add_plist(profiles, folder + "MCProfileEvents.plist", profile_events([
        ProfileEvent(PREDATOR_PROFILE, "install", when=when),
        ProfileEvent("22222222-2222-4222-8222-222222222222", "install", when=when),
    ]))
    def calendar(conn: sqlite3.Connection) -> None:
        fill_calendar(conn, [
            Event("Meeting", when, when, when, description="Notes", organizer="organiser@example.net"),
            Event("Lunch", when, when, when, organizer=PEGASUS_EMAIL),
        ])
        # iOS has these columns; the builder leaves them out and MVT's query needs them (reported).
        have = {row[1] for row in conn.execute("PRAGMA table_info(CalendarItem)")}
        for column in ("all_day", "calendar_id", "url", "last_modified", "external_id", "external_mod_tag",
                       "unique_identifier", "hidden", "UUID", "creation_date", "action", "created_by_id"):
            if column not in have:
                conn.execute(f"ALTER TABLE CalendarItem ADD COLUMN {column}")

    builder.add_sqlite("HomeDomain", "Library/Calendar/Calendar.sqlitedb", calendar)
    builder.add_sqlite("HomeDomain", "Library/TCC/TCC.db", lambda c: fill_tcc(c, [
        TccEntry("kTCCServiceMicrophone", PEGASUS_PROCESS),
        TccEntry("kTCCServiceCamera", "com.apple.camera"),
    ], 16))
    builder.add_plist("RootDomain", "Library/Caches/locationd/clients.plist", locationd_clients([
        LocationClient(f"com.apple.{PEGASUS_PROCESS}", bundle_id=PEGASUS_PROCESS),
        LocationClient(KINGSPAWN_PATH, executable=KINGSPAWN_PATH),
    ]))
    builder.add_plist("HomeDomain", "Library/Preferences/com.apple.identityservices.idstatuscache.plist",
                      idstatuscache([IdLookup("mailto:\x00\x00probe@example.net"), IdLookup(f"mailto:{PEGASUS_EMAIL}")]))
    builder.add_sqlite("HomeDomain", "Library/Shortcuts/Shortcuts.sqlite", lambda c: fill_shortcuts(c, [
        ShortcutRow("Sync", when, [("is.workflow.actions.url", {"WFURLActionURL": ink})])]))
    builder.add_sqlite(f"AppDomainGroup-{WHATSAPP_GROUP}", "ChatStorage.sqlite",
                       lambda c: fill_whatsapp_chats(c, [WaMessage(f"Look {ink}", date=when)]))
    builder.add_sqlite(f"AppDomain-{CHROME_BUNDLE}", f"{CHROME_DIR}/History",
                       lambda c: fill_chrome_history(c, [Visit(f"https://{PEGASUS_DOMAIN_2}/c", when)]))
    builder.add_sqlite(f"AppDomain-{CHROME_BUNDLE}", f"{CHROME_DIR}/Favicons", lambda c: fill_chrome_favicons(
        c, [Favicon(f"https://{PEGASUS_DOMAIN}/f", "https://cdn.example.com/i.ico", when)]))
    builder.add_sqlite(f"AppDomainGroup-{FIREFOX_GROUP}", "profile.profile/places.db",
                       lambda c: fill_firefox_places(c, [Visit(f"https://{PEGASUS_DOMAIN_2}/ff", when)]))
    builder.add_sqlite(f"AppDomainGroup-{FIREFOX_GROUP}", "profile.profile/browser.db",
                       lambda c: fill_firefox_browser_db(c, [], [
                           Favicon(f"https://{PEGASUS_DOMAIN}/", f"https://{PEGASUS_DOMAIN}/favicon.ico", when)]))
    builder.add_sqlite("HomeDomain", "Library/Safari/BrowserState.db",
                       lambda c: fill_browser_state(c, [Tab(f"https://{PEGASUS_DOMAIN_2}/tab", "Tab")]))
    safari, rls = "com.apple.mobilesafari", "Library/WebKit/WebsiteData/ResourceLoadStatistics"
    builder.add_sqlite(f"AppDomain-{safari}", f"{rls}/observations.db", lambda c: fill_observations(
        c, [Observed("news.example.com", when), Observed(PEGASUS_DOMAIN, when)], [("news.example.com", PEGASUS_DOMAIN)]))
    builder.add_plist(f"AppDomain-{safari}", f"{rls}/full_browsing_session_resourceLog.plist", session_resource_log([
        SessionEntry(PEGASUS_DOMAIN, when, redirected_from=["news.example.com"], redirected_to=["landing.example.net"])]))
    builder.add_file("HomeDomain", f"Library/WebKit/WebsiteData/LocalStorage/https_{PEGASUS_DOMAIN}_0.localstorage",
                     b"SQLite format 3\x00")
    return builder.finish()


def _ios_dump(root: Path, backups: Sequence[Path]) -> Path:
    """A file-system dump with the files of the backups and the files only a dump has."""
    from tests.builders.ios_browsers import Favicon, fill_cache_db, fill_safari_favicons
    from tests.builders.ios_dump import backup_files, write_dump
    from tests.builders.ios_sysdiagnose import Shutdown, shutdown_log

    from preuve.builders.ios_dbs import Process, fill_datausage

    when = datetime(2023, 5, 2, 10, 0, tzinfo=UTC)
    files: dict[str, bytes] = {}
    for backup in backups:
        files.update(backup_files(backup))
    files["private/var/db/diagnostics/shutdown.log"] = shutdown_log([
        Shutdown(1683000000, [[(101, f"/private/var/db/{PEGASUS_PROCESS}/{PEGASUS_PROCESS}"),
                              (102, "/usr/libexec/backboardd")]]),
    ]).encode()
    files["private/var/networkd/netusage.sqlite"] = _sqlite_bytes(lambda c: fill_datausage(c, [
        Process(pk=1, name="com.apple.WebKit", bundle="com.apple.WebKit", first=when, last=when),
        Process(pk=2, name="bh", first=when, last=when),
    ]))
    files["private/var/mobile/Library/Caches/com.apple.mobilesafari/Cache.db"] = _sqlite_bytes(
        lambda c: fill_cache_db(c, [(f"https://{PEGASUS_DOMAIN}/cache", when)]))
    files["private/var/mobile/Library/Image Cache/Favicons/Favicons.db"] = _sqlite_bytes(
        lambda c: fill_safari_favicons(c, [Favicon(f"https://{PEGASUS_DOMAIN_2}/", "https://cdn.example.org/i.ico", when)]))
    idb = "private/var/mobile/Containers/Data/Application/0A0B/Library/WebKit/WebsiteData/IndexedDB"
    files[f"{idb}/https_{PEGASUS_DOMAIN_2}_0/IndexedDB.sqlite3"] = b"SQLite format 3\x00"
    files[KINGSPAWN_PATH.lstrip("/")] = b"\xcf\xfa\xed\xfe"
    files[f"private/var/tmp/{PEGASUS_PROCESS}/state"] = b"x"
    return write_dump(sorted(files.items()), root)


def build_all(root: Path) -> Iterator[Path]:
    """Acquisitions with traces for MVT's modules, each written with preuve's own builders."""
    if str(REPO / "src") not in sys.path:
        sys.path.insert(0, str(REPO / "src"))
    if str(REPO) not in sys.path:  # the fixture builders in tests/builders
        sys.path.insert(0, str(REPO))
    from tests.builders.android import (
        AndroidQFBuilder,
        DumpsysSpec,
        PackageSpec,
        android_backup_bytes,
        bugreport_members,
        sms_backup_members,
        tombstone_text,
        write_zip,
    )
    from tests.builders.ios_sysdiagnose import Shutdown, ps_txt, shutdown_log, write_sysdiagnose

    from preuve.builders.demo import build_demo_backup

    root.mkdir(parents=True, exist_ok=True)
    demo = build_demo_backup(root / "ios-backup-demo")
    yield demo
    traces = _ios_traces_backup(root / "ios-backup-traces")
    yield traces
    yield _ios_dump(root / "ios-fs-traces", [demo, traces])
    yield write_sysdiagnose({
        "system_logs.logarchive/Extra/shutdown.log": shutdown_log([
            Shutdown(1683000000, [[(101, f"/private/var/db/{PEGASUS_PROCESS}/{PEGASUS_PROCESS}")]])]).encode(),
        "ps.txt": ps_txt([(1, 0, "root", "/sbin/launchd"), (77, 1, "root", f"/private/var/tmp/{PEGASUS_PROCESS}")]).encode(),
    }, root)

    sms = [{"address": "+41790000009", "body": f"Update: https://{PEGASUS_DOMAIN}/x", "date": "1699999999000",
            "date_sent": "0", "type": "1", "read": "1"}]
    backup_ab = android_backup_bytes(sms_backup_members(sms))
    props = {"ro.product.model": "Pixel 4a", "ro.build.version.release": "13",
             "ro.build.version.security_patch": "2022-01-05", CAMPAIGN_PROPERTY: "1",
             "persist.sys.timezone": "Europe/Zurich"}
    dumpsys = DumpsysSpec(
        accessibility=[f"{RCS_APP}/.Access", "com.example.reader/.ReaderService"],
        install_allowed=["com.example.browser"],
        sms_receivers=[f"{RCS_APP}/.SmsIn"],
        adb_keys=["attacker@laptop"],
        invalid_adb_keys=["old@desk"],
        installed_accessibility=[f"{RCS_APP}/.Access", "com.example.reader/.ReaderService",
                                 "com.example.magnifier/.Zoom"],
        packages=[(RCS_APP, None, False, False), ("com.topjohnwu.magisk", "com.android.vending", False, False)],
    )
    bugreport = bugreport_members(props, dumpsys.text(), {
        "tombstone_00": tombstone_text("/system/bin/mediaserver", 0),
        "tombstone_01": tombstone_text(PEGASUS_PROCESS, 10100),
    })
    yield write_zip(root / "bugreport-traces.zip", bugreport)
    android_backup = root / "android-backup-sms.ab"
    android_backup.write_bytes(backup_ab)
    yield android_backup
    aqf = AndroidQFBuilder(
        props=props,
        settings={"global": {"adb_enabled": "1", "package_verifier_enable": "0"},
                  "secure": {"install_non_market_apps": "1", "accessibility_enabled": "1"},
                  "system": {"screen_brightness": "102"}},
        packages=[
            PackageSpec("com.android.settings", installer=None, system=True, uid=1000),
            PackageSpec("org.example.notes"),
            PackageSpec("com.topjohnwu.magisk", installer=None),
            PackageSpec(RCS_APP, installer="com.google.android.packageinstaller"),
            PackageSpec("org.example.sideload", installer=None),
            PackageSpec("org.example.fdroid", installer="org.fdroid.fdroid"),
            PackageSpec("com.samsung.android.securitylogagent", installer=None, system=True, disabled=True),
            PackageSpec("com.android.updater", installer=None, system=True, disabled=True),
            PackageSpec("org.example.certified", cert_sha256="18afc5c6bfaee504a26291f6bf3e6f823dbedd54bba0c4acac2e7c2414b3e24d"),
            PackageSpec("org.example.hashed", apk_sha256="d55e492d5fce87898e065572a5553d1ac1389cd12bf3d28cabc1218cb29780af"),
        ],
        processes=[("root", 1, 0, "init"), ("system", 900, 1, "system_server"), ("u0_a150", 4100, 700, RCS_APP),
                   ("root", 4200, 1, PEGASUS_PROCESS)],
        files=[_aqf_file(PREDATOR_ANDROID_PATH), _aqf_file("/data/local/tmp/helper")],
        root_binaries=["/system/xbin/su"],
        # `mount | grep /system`, then the /proc/mounts lines that differ: AndroidQF lists each mount twice.
        mounts=["/dev/block/dm-1 on /system type ext4 (rw,seclabel,relatime)",
                f"{PREDATOR_ANDROID_DIR}pred.img on /system/app/Stk type ext4 (ro,seclabel,relatime)",
                "/dev/block/dm-1 /system ext4 rw,seclabel,relatime 0 0",
                f"{PREDATOR_ANDROID_DIR}pred.img /system/app/Stk ext4 ro,seclabel,relatime 0 0"],
        dumpsys=dumpsys,
        extra={"bugreport.zip": _zip_bytes(bugreport), "backup.ab": backup_ab},
    )
    yield aqf.folder(root / "androidqf-traces")
    yield _intrusion_logs(root / "intrusion-logs")


def _intrusion_logs(root: Path) -> Path:
    """Android intrusion logs, one JSON event a line, as MVT 2026.10.26 reads them (preuve has no builder or
    artifact for them yet: every MVT alert here is expected MISSING until it has)."""
    millis, nanos = 1_699_999_999_000, 1_699_999_999_000_000_000
    events = [
        {"dns_event": {"hostname": PEGASUS_DOMAIN, "ip_addresses": [f"/{NOVISPY_IP}"], "package_name": RCS_APP,
                       "event_time": millis}},
        {"connect_event": {"ip_address": f"/{NOVISPY_IP}", "port": 443, "package_name": "org.example.notes",
                           "event_time": millis}},
        {"security_event": {"cert_authority_installed": {"success": True, "subject": "CN=Intercept CA"},
                            "event_time": nanos}},
        {"security_event": {"package_installed": {"package_name": RCS_APP, "version_code": 1},
                            "event_time": nanos + 1}},
    ]
    root.mkdir(parents=True, exist_ok=True)
    (root / "intrusion_log_2023-11-14.txt").write_text("".join(json.dumps(e) + "\n" for e in events))
    return root


def _aqf_file(path: str) -> dict[str, object]:
    """An entry of AndroidQF's files.json, with every field AndroidQF writes."""
    return {"path": path, "local_name": "", "size": 10, "mode": "-rwxr-xr-x", "user_id": 2000, "user_name": "shell",
            "group_id": 2000, "group_name": "shell", "changed_time": 1699990000, "modified_time": 1699990000,
            "access_time": 1699990000, "error": "", "context": "u:object_r:shell_data_file:s0", "sha1": "",
            "sha256": "", "sha512": "", "md5": ""}


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                archive.writestr(zipfile.ZipInfo(name, (2023, 11, 14, 22, 13, 20)), data)
        return path.read_bytes()


if __name__ == "__main__":
    sys.exit(main())
