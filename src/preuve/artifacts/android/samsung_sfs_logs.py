"""Samsung's system framework logs (``/data/log/sfslog.N.gz``, in AndroidQF's ``logs/``): when a
computer was allowed to debug the phone over ADB, and which USB devices were attached.

Each line is ``YY-MM-DD (GMT±HH:MM) HH:MM:SS.mmm PID LEVEL TAG: message``; three tags are read:

- ``AdbDebuggingManager: Logging key <key> <name>, state = N, alwaysAllow = …, lastConnectionTime = …,
  authWindow = …``: a computer's key and what the phone decided (allowed by the user, denied…);
- ``UsbHostManager: USB device attached: vidpid VVVV:PPPP mfg/product/ver/serial M/P/V/S
  hasAudio/HID/Storage: a/h/s``;
- ``UsbDeviceManager: USB UEVENT: {…, USB_STATE=CONFIGURED, …}``.

The logs are gzip files, inflated as they are read within the decompression bounds. The formats
are those MVT's main branch reads (``samsung_sfs_logs``, not yet in its 2026.10.26 release).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO, ClassVar

from preuve.artifacts.android._common import AQF
from preuve.artifacts.android._dumpsys import _acquisition_host_key
from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.evidence.errors import EvidenceError, LimitExceeded
from preuve.evidence.formats.textlines import text_lines
from preuve.model import Record, Timestamp

# The states AdbDebuggingManager logs (Samsung's names, as MVT reads them).
ADB_STATES = {
    0: "unknown", 1: "awaiting_user_approval", 2: "user_allowed", 3: "user_denied", 4: "automatically_allowed",
    5: "denied_invalid_key", 6: "denied_vold_decrypt", 7: "disconnected",
}
_LINE = re.compile(
    r"(?P<date>\d{2})-(?P<month>\d{2})-(?P<day>\d{2}) \(GMT(?P<sign>[+-])(?P<tzh>\d{2}):(?P<tzm>\d{2})\) "
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})\.(?P<milli>\d{3}) \d+ [VDIWEAF] (?P<tag>[^:]+): "
    r"(?P<message>.*)"
)
_ADB = re.compile(
    r"Logging key (?P<key>.*), state = (?P<state>\d{1,9}), alwaysAllow = (?P<always>true|false), "
    r"lastConnectionTime = (?P<last>\d{1,19}), authWindow = (?P<window>\d{1,19})"
)
_USB_DEVICE = re.compile(
    r"USB device attached: vidpid (?P<vendor>[^:\s]+):(?P<product_id>\S+) mfg/product/ver(?:/serial)? "
    r"(?P<manufacturer>.*?)/(?P<product>.*?)/(?P<version>.*?)/(?P<serial>.*?) hasAudio/HID/Storage: "
    r"(?P<audio>true|false)/(?P<hid>true|false)/(?P<storage>true|false)"
)
_UEVENT = re.compile(r"USB UEVENT: \{(?P<properties>.*)\}")


@dataclass(kw_only=True)
class SamsungAdbAuthorization(Record):
    """A computer's key as the phone decided on it (allowed, denied…), and when."""

    record_type: ClassVar[str] = "android:sfslog:adb_authorization"
    when: datetime | None
    fingerprint: str | None  # MD5 of the key, as adb shows it; None when the key is not base64
    comment: str | None  # the name after the key (user@host)
    state: int
    state_name: str
    always_allow: bool
    acquisition_host: bool  # the key of the computer that made this AndroidQF acquisition

    def timestamps(self) -> Iterator[Timestamp]:
        if self.when is not None:
            yield Timestamp(self.when, f"ADB key {self.state_name.replace('_', ' ')}")

    def summary(self) -> str:
        return f"ADB key {self.fingerprint or '?'} ({self.comment or 'no name'}): {self.state_name}"


@dataclass(kw_only=True)
class SamsungUsbDevice(Record):
    """A USB device attached to the phone (the phone as the host)."""

    record_type: ClassVar[str] = "android:sfslog:usb_device"
    when: datetime | None
    vendor_id: str
    product_id: str
    manufacturer: str
    product: str
    version: str
    serial: str
    has_audio: bool
    has_hid: bool
    has_storage: bool

    def timestamps(self) -> Iterator[Timestamp]:
        if self.when is not None:
            yield Timestamp(self.when, "USB device attached")

    def summary(self) -> str:
        return f"USB device {self.vendor_id}:{self.product_id} attached ({self.manufacturer} {self.product})"


@dataclass(kw_only=True)
class SamsungUsbState(Record):
    """The phone's USB connection changing state (CONNECTED, CONFIGURED, DISCONNECTED…)."""

    record_type: ClassVar[str] = "android:sfslog:usb_state"
    when: datetime | None
    state: str
    action: str | None
    device_path: str | None

    def timestamps(self) -> Iterator[Timestamp]:
        if self.when is not None:
            yield Timestamp(self.when, f"USB {self.state.lower()}")

    def summary(self) -> str:
        return f"USB state {self.state}"


class SamsungSfsLogs(Artifact):
    name = "android_samsung_sfs_logs"
    platform = "android"
    title = "Samsung framework logs (ADB authorizations, USB devices)"
    paths: ClassVar[tuple[str, ...]] = (f"{AQF}/logs/**/sfslog.*.gz",)

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        host = _acquisition_host_key(ctx)
        gunzip = _Gunzip(ctx.fs.open(path), path, ctx.limits.max_file_bytes, ctx.limits.max_decompression_ratio)
        with io.BufferedReader(gunzip, 1024 * 1024) as stream:
            for number, line in text_lines(stream, ctx.limits.max_text_line_bytes):
                found = _LINE.fullmatch(line.rstrip("\r"))
                if found is None:
                    continue
                tag, message = found["tag"], found["message"]
                if tag == "AdbDebuggingManager":
                    adb = _ADB.fullmatch(message)
                    if adb is not None:
                        key, _, comment = adb["key"].partition(" ")
                        fingerprint = _fingerprint(key)
                        state = int(adb["state"])
                        yield SamsungAdbAuthorization(
                            locator=ctx.locator(path, line=number), when=_time(found), fingerprint=fingerprint,
                            comment=comment.strip() or None, state=state, state_name=ADB_STATES.get(state, "unknown"),
                            always_allow=adb["always"] == "true",
                            acquisition_host=fingerprint is not None and fingerprint == host,
                        )
                elif tag == "UsbHostManager":
                    usb = _USB_DEVICE.fullmatch(message)
                    if usb is not None:
                        yield SamsungUsbDevice(
                            locator=ctx.locator(path, line=number), when=_time(found), vendor_id=usb["vendor"],
                            product_id=usb["product_id"], manufacturer=usb["manufacturer"], product=usb["product"],
                            version=usb["version"], serial=usb["serial"], has_audio=usb["audio"] == "true",
                            has_hid=usb["hid"] == "true", has_storage=usb["storage"] == "true",
                        )
                elif tag == "UsbDeviceManager":
                    event = _UEVENT.fullmatch(message)
                    if event is not None:
                        properties = dict(item.strip().partition("=")[::2] for item in event["properties"].split(","))
                        if properties.get("USB_STATE"):
                            yield SamsungUsbState(
                                locator=ctx.locator(path, line=number), when=_time(found),
                                state=properties["USB_STATE"], action=properties.get("ACTION") or None,
                                device_path=properties.get("DEVPATH") or None,
                            )


def _time(found: re.Match[str]) -> datetime | None:
    """The line's time in UTC (the log writes the phone's local time and its offset)."""
    try:
        offset = (int(found["tzh"]) * 60 + int(found["tzm"])) * (1 if found["sign"] == "+" else -1)
        local = datetime(2000 + int(found["date"]), int(found["month"]), int(found["day"]), int(found["hour"]),
                         int(found["minute"]), int(found["second"]), int(found["milli"]) * 1000, tzinfo=UTC)
        return datetime.fromtimestamp(local.timestamp() - offset * 60, UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _fingerprint(key: str) -> str | None:
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        return None
    digest = hashlib.md5(raw).hexdigest().upper()  # noqa: S324 - the fingerprint format Android shows
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


class _Gunzip(io.RawIOBase):
    """A gzip file's content as it is inflated, within a size bound and a ratio bound (a bomb is a
    LimitExceeded, a damaged stream an EvidenceError naming the file)."""

    def __init__(self, raw: BinaryIO, path: str, limit: int, ratio: int) -> None:
        self._raw, self._path, self._limit, self._ratio = raw, path, limit, ratio
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._pending = b""
        self._read_in = self._given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            if self._inflater.eof:
                return 0
            chunk = self._inflater.unconsumed_tail or self._raw.read(256 * 1024)
            if not chunk:
                raise EvidenceError(self._path, "the gzip stream is cut short")
            if not self._inflater.unconsumed_tail:
                self._read_in += len(chunk)
            try:
                self._pending = self._inflater.decompress(chunk, 1024 * 1024)
            except zlib.error as exc:
                raise EvidenceError(self._path, f"not a readable gzip stream ({exc})") from exc
            self._given += len(self._pending)
            if self._given > self._limit or (self._given > 1024**2 and self._given > self._ratio * self._read_in):
                raise LimitExceeded(self._path, "decompressed content exceeds the bounds (a gzip bomb?)")
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        self._raw.close()
        super().close()
