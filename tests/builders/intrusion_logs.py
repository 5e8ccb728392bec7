"""Android intrusion logs written the way the phone's exporter writes them, for the tests.

Each line is one compact JSON object naming its event type, keys in the
exporter's order (the layout of MVT's test data, taken from a Pixel export:
``{"security_event":{"event_id":2,"event_time":…,"adb_shell_cmd":{…}}}``).
DNS and connection times are milliseconds, security-event times nanoseconds.
"Download and Decrypt" writes a zip (``Pixel 8_20231115.zip``) holding one
date-named ``.txt`` per day; AndroidQF copies the phone's folder into
``intrusion_logs/`` of its acquisition.

This module does not import preuve's intrusion-log code.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

Event = dict[str, object]


def ns(when: str) -> int:
    """Nanoseconds since 1970 of an ISO time (UTC)."""
    moment = datetime.fromisoformat(when).replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def ms(when: str) -> int:
    return ns(when) // 1_000_000


def dns(event_id: int, when: str, package: str, hostname: str, addresses: Sequence[str]) -> Event:
    return {"dns_event": {
        "event_id": event_id, "event_time": ms(when), "package_name": package, "hostname": hostname,
        "ip_addresses": [f"/{a}" for a in addresses], "ip_addresses_count": len(addresses),
    }}


def connect(event_id: int, when: str, package: str, address: str, port: int) -> Event:
    return {"connect_event": {
        "event_id": event_id, "event_time": ms(when), "package_name": package, "port": port,
        "ip_address": f"/{address}",
    }}


def security(event_id: int, when: str, tag: str, payload: object) -> Event:
    return {"security_event": {"event_id": event_id, "event_time": ns(when), tag: payload}}


def ndjson(events: Sequence[Event]) -> bytes:
    return "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events).encode()


def write_zip(path: Path, members: Mapping[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, (2023, 11, 15, 9, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


def zip_bytes(members: Mapping[str, bytes]) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, (2023, 11, 15, 9, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


# Two overlapping daily files, as two downloads give them: day 1 and day 2, where day 2 repeats the
# last two events of day 1 (with the exporter's own numbering, from 0 in each file).
DAY1 = [
    dns(0, "2023-11-14T22:10:00", "com.example.app", "example.com", ["192.0.2.1"]),
    connect(1, "2023-11-14T22:10:01", "com.example.app", "192.0.2.1", 443),
    security(2, "2023-11-14T22:11:00", "os_startup", {"boot_state": "green", "verity_mode": "enforcing"}),
    security(3, "2023-11-14T22:12:00", "media_mounted", {"path": "/mnt/media_rw/1234-ABCD", "label": "USB"}),
    security(4, "2023-11-14T22:20:00", "keyguard_dismissed", {}),
    security(5, "2023-11-14T23:59:00", "cert_authority_installed",
             {"success": True, "subject": "CN=Example CA", "target_user": 0}),
]
DAY2 = [
    security(0, "2023-11-14T22:20:00", "keyguard_dismissed", {}),
    security(1, "2023-11-14T23:59:00", "cert_authority_installed",
             {"success": True, "subject": "CN=Example CA", "target_user": 0}),
    security(2, "2023-11-15T08:00:00", "adb_shell_cmd", {"command": "pm list packages"}),
    security(3, "2023-11-15T08:00:30", "adb_sync_send_file", {"path": "/data/local/tmp/spy.apk"}),
    security(4, "2023-11-15T08:01:00", "adb_shell_cmd", {"command": "pm install /data/local/tmp/spy.apk"}),
    security(5, "2023-11-15T08:01:10", "package_installed",
             {"package_name": "com.spy.app", "version_code": 3, "user_id": 0}),
    security(6, "2023-11-15T09:00:00", "logging_stopped", {}),
    security(7, "2023-11-15T11:00:00", "logging_started", {}),
    {"future_event": {"event_id": 8, "event_time": ms("2023-11-15T11:30:00"), "field": "value"}},
]
