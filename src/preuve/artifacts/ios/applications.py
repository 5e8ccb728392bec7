"""Apps the user installed, from the backup's Info.plist and Manifest.plist.

Info.plist lists them twice: ``Applications`` (bundle id -> the app's
``iTunesMetadata``, which says who published it, which version, which Apple ID
bought it and which app installed it) and ``Installed Applications`` (bundle
ids only); Manifest.plist's ``Applications`` adds where the app bundle lies.
The three are merged into one record per bundle id, located at the richest
source, so an app indicator fires once. ``sourceApp`` names the installer:
the App Store, TestFlight, an MDM agent, or an alternative marketplace.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import Artifact, ArtifactContext, PlistArtifact
from preuve.evidence.errors import EvidenceError
from preuve.evidence.formats.plists import PlistValue, load_plist, plist_datetime
from preuve.evidence.fs import ACQUISITION_PREFIX, DeviceFS
from preuve.model import Kind, Locator, Observable, Record, Timestamp

INFO_PATH = ACQUISITION_PREFIX + "/backup/Info.plist"
MANIFEST_PLIST_PATH = ACQUISITION_PREFIX + "/backup/Manifest.plist"
_MAX_APPS = 100_000
BUNDLE_METADATA = "/private/var/containers/Bundle/Application/*/iTunesMetadata.plist"
_MAX_METADATA_BYTES = 1024 * 1024


@dataclass(kw_only=True)
class InstalledApp(Record):
    """An app installed on the device, with what its store metadata says."""

    record_type: ClassVar[str] = "ios:applications:app"
    bundle_id: str
    name: str | None
    version: str | None
    bundle_version: str | None
    artist: str | None
    item_id: int | None
    source_app: str | None  # the installer (com.apple.AppStore, com.apple.TestFlight, a marketplace…)
    store_bundle_id: str | None  # softwareVersionBundleId, the bundle id the store metadata names
    apple_id: str | None
    purchase_date: datetime | None
    install_path: str | None
    has_store_metadata: bool
    listed_in: tuple[str, ...]

    def observables(self) -> Iterator[Observable]:
        # MVT compares an app's bundle id with app and process indicators alike.
        yield Observable(Kind.APP_ID, self.bundle_id)
        yield Observable(Kind.PROCESS, self.bundle_id)
        if self.store_bundle_id and self.store_bundle_id != self.bundle_id:
            yield Observable(Kind.APP_ID, self.store_bundle_id)
            yield Observable(Kind.PROCESS, self.store_bundle_id)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.purchase_date is not None:
            yield Timestamp(self.purchase_date, "App purchased or downloaded")

    def summary(self) -> str:
        source = f" from {self.source_app}" if self.source_app else ""
        return f"App {self.name or self.bundle_id} ({self.bundle_id}) {self.version or ''}{source}".replace("  ", " ")


@dataclass(slots=True)
class _App:
    key_path: str
    path: str
    listed_in: list[str] = field(default_factory=list)
    metadata: dict[str, PlistValue] = field(default_factory=dict)
    has_metadata: bool = False
    install_path: str | None = None
    bundle_version: str | None = None


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _date(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return plist_datetime(value)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return plist_datetime(parsed) if parsed.tzinfo is None else parsed
    return None


def installed_app(
    locator: Locator, bundle_id: str, meta: dict[str, PlistValue], *, has_metadata: bool,
    install_path: str | None = None, bundle_version: str | None = None, listed_in: tuple[str, ...] = (),
) -> InstalledApp:
    """The record of an app from its iTunesMetadata (empty when it has none) and what else is known of it."""
    download = meta.get("com.apple.iTunesStore.downloadInfo")
    download = download if isinstance(download, dict) else {}
    account = download.get("accountInfo")
    account = account if isinstance(account, dict) else {}
    item_id = meta.get("itemId")
    return InstalledApp(
        locator=locator,
        bundle_id=bundle_id,
        name=_text(meta.get("itemName")) or _text(meta.get("bundleDisplayName")),
        version=_text(meta.get("bundleShortVersionString")),
        bundle_version=_text(meta.get("bundleVersion")) or bundle_version,
        artist=_text(meta.get("artistName")),
        item_id=item_id if isinstance(item_id, int) and not isinstance(item_id, bool) else None,
        source_app=_text(meta.get("sourceApp")),
        store_bundle_id=_text(meta.get("softwareVersionBundleId")),
        apple_id=_text(account.get("AppleID")),
        purchase_date=_date(download.get("purchaseDate")) or _date(meta.get("purchaseDate")),
        install_path=install_path,
        has_store_metadata=has_metadata,
        listed_in=listed_in,
    )


class Applications(Artifact):
    name = "applications"
    platform = "ios"
    title = "Installed apps"
    paths: ClassVar[tuple[str, ...]] = (INFO_PATH, MANIFEST_PLIST_PATH)

    def locate(self, fs: DeviceFS) -> list[str]:
        # Both plists are read by one parse, so that each app gives one record.
        found = super().locate(fs)
        return found[:1] if INFO_PATH not in found else [INFO_PATH]

    def _load(self, ctx: ArtifactContext, path: str) -> dict[str, PlistValue] | None:
        if not ctx.fs.is_file(path):
            return None
        try:
            value = ctx.fs.plist(path)
        except EvidenceError as exc:
            ctx.error(exc.path, exc.reason)
            return None
        if not isinstance(value, dict):
            ctx.error(path, "not a dictionary")
            return None
        return value

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        apps: dict[str, _App] = {}

        def app(bundle_id: object, key_path: str, where: str) -> _App | None:
            if not isinstance(bundle_id, str) or not bundle_id or len(bundle_id) > 1024:
                return None
            entry = apps.get(bundle_id)
            if entry is None:
                if len(apps) >= _MAX_APPS:
                    return None
                entry = apps[bundle_id] = _App(key_path, where)
            return entry

        info = self._load(ctx, INFO_PATH)
        if info is not None:
            listed = info.get("Applications")
            if isinstance(listed, dict):
                for bundle_id, details in listed.items():
                    entry = app(bundle_id, f"Applications/{bundle_id}", INFO_PATH)
                    if entry is None:
                        continue
                    entry.listed_in.append("Info.plist:Applications")
                    blob = details.get("iTunesMetadata") if isinstance(details, dict) else None
                    if isinstance(blob, bytes) and blob:
                        self._metadata(ctx, entry, blob, bundle_id)
            installed = info.get("Installed Applications")
            if isinstance(installed, list):
                for index, bundle_id in enumerate(installed):
                    entry = app(bundle_id, f"Installed Applications/{index}", INFO_PATH)
                    if entry is not None:
                        entry.listed_in.append("Info.plist:Installed Applications")
        manifest = self._load(ctx, MANIFEST_PLIST_PATH)
        if manifest is not None and isinstance(manifest.get("Applications"), dict):
            for bundle_id, details in manifest["Applications"].items():
                entry = app(bundle_id, f"Applications/{bundle_id}", MANIFEST_PLIST_PATH)
                if entry is None:
                    continue
                entry.listed_in.append("Manifest.plist:Applications")
                if isinstance(details, dict):
                    entry.install_path = _text(details.get("Path"))
                    entry.bundle_version = _text(details.get("CFBundleVersion"))
        for bundle_id in sorted(apps):
            entry = apps[bundle_id]
            yield installed_app(
                Locator(entry.path, ctx.fs.sha256(entry.path), key_path=entry.key_path), bundle_id, entry.metadata,
                has_metadata=entry.has_metadata, install_path=entry.install_path,
                bundle_version=entry.bundle_version, listed_in=tuple(entry.listed_in),
            )

    def _metadata(self, ctx: ArtifactContext, entry: _App, blob: bytes, bundle_id: str) -> None:
        where = f"{INFO_PATH} (Applications/{bundle_id}/iTunesMetadata)"
        try:
            if len(blob) > _MAX_METADATA_BYTES:
                raise EvidenceError(where, f"{len(blob)} bytes is too large")
            value = load_plist(blob, where, ctx.limits)
        except EvidenceError as exc:
            ctx.warn(f"{INFO_PATH}: iTunesMetadata of {bundle_id} not decoded ({exc.reason})")
            return
        if isinstance(value, dict):
            entry.metadata = value
            entry.has_metadata = True



class AppBundleMetadata(PlistArtifact):
    """The apps of a file-system dump: each app bundle's container keeps its iTunesMetadata.plist.

    A backup lists the apps in Info.plist (the ``applications`` artifact); a dump of the device has
    no such list, but each installed app's container holds the store metadata, as MVT reads it.
    """

    name = "app_bundle_metadata"
    platform = "ios"
    title = "Installed apps (app bundles' store metadata)"
    paths: ClassVar[tuple[str, ...]] = (BUNDLE_METADATA,)

    def parse_plist(self, ctx: ArtifactContext, value: object, path: str, sha256: str) -> Iterator[Record]:
        if not isinstance(value, dict):
            ctx.error(path, f"top level is a {type(value).__name__}, not a dictionary")
            return
        meta = {key: item for key, item in value.items() if isinstance(key, str)}
        bundle_id = _text(meta.get("softwareVersionBundleId"))
        if bundle_id is not None and len(bundle_id) > 1024:
            bundle_id = None
        yield installed_app(
            Locator(path, sha256, key_path="/softwareVersionBundleId"), bundle_id or "", meta, has_metadata=True,
            install_path=posixpath.dirname(path), listed_in=("iTunesMetadata.plist",),
        )
