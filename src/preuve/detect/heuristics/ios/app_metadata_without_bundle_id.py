"""An app whose store metadata does not say which app it is."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from preuve.artifacts.ios.applications import InstalledApp
from preuve.detect.rules import Rule
from preuve.model import Finding, Kind, Observable, Record, Severity


class AppMetadataWithoutBundleId(Rule):
    name = "app_metadata_without_bundle_id"
    severity = Severity.MEDIUM
    record_types: ClassVar[tuple[type[Record], ...]] = (InstalledApp,)
    reason = (
        "The App Store writes every app's metadata with the bundle id it delivered "
        "(softwareVersionBundleId). Metadata without it was not written by the store: the app came some other "
        "way, or its metadata was altered."
    )
    reference = "Amnesty International, Mobile Verification Toolkit (iOS applications check: softwareVersionBundleId)"

    def check(self, record: Record, artifact: str) -> Iterator[Finding]:
        assert isinstance(record, InstalledApp)
        if not record.has_store_metadata or record.store_bundle_id is not None:
            return
        which = f"{record.name or record.bundle_id} ({record.bundle_id})" if record.bundle_id else (
            f"{record.name or 'without a name'} (bundle id unknown)")
        yield self.finding(
            record,
            artifact,
            f"The store metadata of the app {which} does not name its bundle id, which the App Store always writes; "
            "find out where the app came from.",
            observable=Observable(Kind.APP_ID, record.bundle_id) if record.bundle_id else None,
        )
