"""Samsung's sfslog.N.gz in AndroidQF's logs/: ADB authorizations, USB devices and USB states, each at
its time in UTC; the acquisition computer's own key told apart; a damaged or bombed gzip fails alone."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.android.samsung_sfs_logs import (
    SamsungAdbAuthorization,
    SamsungUsbDevice,
    SamsungUsbState,
)
from preuve.model import Locator
from tests.builders import snapshot
from tests.builders.android import AndroidQFBuilder
from tests.helpers import check, records

LOG = "/.acquisition/androidqf/logs/data/log/sfslog.0.gz"
KEY = base64.b64encode(b"".join(hashlib.sha256(f"k{i}".encode()).digest() for i in range(17))[:524]).decode()
HOST = base64.b64encode(b"".join(hashlib.sha256(f"h{i}".encode()).digest() for i in range(17))[:524]).decode()


def _fingerprint(key: str) -> str:
    digest = hashlib.md5(base64.b64decode(key)).hexdigest().upper()  # noqa: S324 - adb's fingerprint
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


# As Samsung's framework writes it (the lines of MVT's own test, with keys of real length).
SFS = "\n".join([
    f"25-06-18 (GMT-03:00) 18:09:15.139 1498 D AdbDebuggingManager: Logging key {KEY} someone@desk, state = 2, "
    "alwaysAllow = true, lastConnectionTime = 0, authWindow = 604800000",
    "25-06-18 (GMT-03:00) 18:10:00.000 1498 D UsbHostManager: USB device attached: vidpid 18d1:4ee7 "
    "mfg/product/ver/serial Google/Pixel/1.00/ABC123 hasAudio/HID/Storage: true/false/true",
    "25-06-18 (GMT-03:00) 18:10:01.000 1498 V UsbDeviceManager: USB UEVENT: {SUBSYSTEM=android_usb, SEQNUM=42, "
    "ACTION=change, USB_STATE=CONFIGURED, DEVPATH=/devices/test}",
    "malformed line",
    f"25-07-01 (GMT+02:00) 09:00:00.500 1498 D AdbDebuggingManager: Logging key {HOST} analyst@helpline, "
    "state = 2, alwaysAllow = false, lastConnectionTime = 0, authWindow = 604800000",
    "",
])


def _acquisition(tmp_path: Path, logs: dict[str, bytes]) -> Path:
    builder = AndroidQFBuilder()
    builder.extra.update(logs)
    builder.extra["acquisition.json"] = json.dumps({"adb_host_public_key": f"{HOST} analyst@helpline"}).encode()
    return builder.folder(tmp_path / "aqf")


def test_adb_authorizations_usb_devices_and_states(tmp_path: Path) -> None:
    root = _acquisition(tmp_path, {"logs/data/log/sfslog.0.gz": gzip.compress(SFS.encode())})
    before = snapshot(root)
    found = records(root, "android_samsung_sfs_logs")
    sha = found[0].locator.sha256
    assert found == [
        SamsungAdbAuthorization(locator=Locator(LOG, sha, line=1), when=datetime(2025, 6, 18, 21, 9, 15, 139000, tzinfo=UTC),
                                fingerprint=_fingerprint(KEY), comment="someone@desk", state=2, state_name="user_allowed",
                                always_allow=True, acquisition_host=False),
        SamsungUsbDevice(locator=Locator(LOG, sha, line=2), when=datetime(2025, 6, 18, 21, 10, tzinfo=UTC),
                         vendor_id="18d1", product_id="4ee7", manufacturer="Google", product="Pixel", version="1.00",
                         serial="ABC123", has_audio=True, has_hid=False, has_storage=True),
        SamsungUsbState(locator=Locator(LOG, sha, line=3), when=datetime(2025, 6, 18, 21, 10, 1, tzinfo=UTC),
                        state="CONFIGURED", action="change", device_path="/devices/test"),
        SamsungAdbAuthorization(locator=Locator(LOG, sha, line=5), when=datetime(2025, 7, 1, 7, 0, 0, 500000, tzinfo=UTC),
                                fingerprint=_fingerprint(HOST), comment="analyst@helpline", state=2,
                                state_name="user_allowed", always_allow=False, acquisition_host=True),
    ]
    said = [(f.locator.line, f.severity.label, f.explanation) for f in check(root).findings
            if f.rule == "android_adb_authorized"]
    assert said == [(1, "low",
                     f"The phone allowed the computer 'someone@desk' (key {_fingerprint(KEY)}) to debug it over USB on "
                     "2025-06-18 21:09:15 UTC, and to always do so: check it is a computer the owner knows.")]
    assert snapshot(root) == before


def test_a_damaged_or_bombed_log_fails_alone(tmp_path: Path) -> None:
    whole = gzip.compress(SFS.encode())
    bomb = gzip.compress(bytes(50 * 1024 * 1024))  # 50 MiB of zeros in about 50 KB
    root = _acquisition(tmp_path, {"logs/data/log/sfslog.0.gz": whole[:40],
                                   "logs/data/log/sfslog.1.gz": bomb,
                                   "logs/data/log/sfslog.2.gz": whole})
    result = check(root)
    [report] = [a for a in result.artifacts if a.name == "android_samsung_sfs_logs"]
    assert report.errors == [
        "/.acquisition/androidqf/logs/data/log/sfslog.0.gz: the gzip stream is cut short",
        "/.acquisition/androidqf/logs/data/log/sfslog.1.gz: decompressed content exceeds the bounds (a gzip bomb?)",
    ]
    assert [r.locator.device_path for r in records(root, "android_samsung_sfs_logs")] == [
        "/.acquisition/androidqf/logs/data/log/sfslog.2.gz"] * 4
