"""The device a backup came from, as its Info.plist describes it.

Which iPhone, which iOS version and build (the version decides which exploits
could have worked and which artifacts exist), its identifiers, and when the
backup was made. Every key is optional: tools other than iTunes and Finder
write fewer of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, PlistArtifact
from preuve.evidence.formats.plists import plist_datetime
from preuve.evidence.fs import ACQUISITION_PREFIX
from preuve.model import DeviceFacts, Locator, Record, Timestamp

INFO_PATH = ACQUISITION_PREFIX + "/backup/Info.plist"


@dataclass(kw_only=True)
class BackupInfo(Record):
    """Facts about the device and the backup."""

    record_type: ClassVar[str] = "ios:backup_info:device"
    device_name: str | None
    display_name: str | None
    product_type: str | None
    product_name: str | None
    ios_version: str | None
    build_version: str | None
    serial_number: str | None
    imei: str | None
    imei2: str | None
    meid: str | None
    iccid: str | None
    phone_number: str | None
    udid: str | None
    guid: str | None
    itunes_version: str | None
    last_backup_date: datetime | None

    def timestamps(self) -> Iterator[Timestamp]:
        if self.last_backup_date is not None:
            yield Timestamp(self.last_backup_date, "Backup made")

    def summary(self) -> str:
        return (
            f"Backup of {self.device_name or 'an iPhone'} ({self.product_type or '?'}, "
            f"iOS {self.ios_version or '?'} {self.build_version or ''})".replace(" )", ")")
        )


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


class BackupInfoArtifact(PlistArtifact):
    name = "backup_info"
    platform = "ios"
    title = "Device and backup facts (Info.plist)"
    paths: ClassVar[tuple[str, ...]] = (INFO_PATH,)

    def parse_plist(self, ctx: ArtifactContext, value: object, path: str, sha256: str) -> Iterator[Record]:
        if not isinstance(value, dict):
            ctx.error(path, "Info.plist is not a dictionary")
            return
        get = value.get
        yield BackupInfo(
            locator=Locator(path, sha256),
            device_name=_text(get("Device Name")),
            display_name=_text(get("Display Name")),
            product_type=_text(get("Product Type")),
            product_name=_text(get("Product Name")),
            ios_version=_text(get("Product Version")),
            build_version=_text(get("Build Version")),
            serial_number=_text(get("Serial Number")),
            imei=_text(get("IMEI")),
            imei2=_text(get("IMEI 2")),
            meid=_text(get("MEID")),
            iccid=_text(get("ICCID")),
            phone_number=_text(get("Phone Number")),
            udid=_text(get("Unique Identifier")) or _text(get("Target Identifier")),
            guid=_text(get("GUID")),
            itunes_version=_text(get("iTunes Version")),
            last_backup_date=plist_datetime(get("Last Backup Date")),
        )
        yield DeviceFacts(
            locator=Locator(path, sha256, key_path="device"),
            platform="ios",
            name=_text(get("Device Name")) or _text(get("Display Name")),
            manufacturer="Apple",
            model=_text(get("Product Type")),
            os_version=_text(get("Product Version")),
            build=_text(get("Build Version")),
            serial=_text(get("Serial Number")),
            phone_number=_text(get("Phone Number")),
        )
