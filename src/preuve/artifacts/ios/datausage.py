"""DataUsage.sqlite: which processes used the network, including ones since deleted.

Amnesty's Pegasus methodology found implant processes (``bh``, ``roleaboutd``,
``msgacntd``…) in this database, and traces of their removal: usage rows in
``ZLIVEUSAGE`` that point to a ``ZPROCESS`` row no longer there, and gaps in
the process ids. The artifact yields the processes, those orphaned usage rows
and the gaps as records of their own, so rules can judge each one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from preuve.artifacts.base import ArtifactContext, SqliteArtifact
from preuve.artifacts.tables import Absent, Aggregate, Database, Grouped, Query, Table
from preuve.artifacts.timeconv import from_cocoa
from preuve.artifacts.values import as_float
from preuve.model import Kind, Observable, Record, Timestamp

_MAX_GAP_RECORDS = 10_000
_TRUNCATED = (15, 16)  # process names the kernel cut
_SYSTEM_PROGRAM_FOLDERS = ("/usr/libexec", "/usr/sbin", "/sbin", "/System/Library")
_SUMS = ("ZWIFIIN", "ZWIFIOUT", "ZWWANIN", "ZWWANOUT")


_PROCESS, _APP_ID = Kind.PROCESS, Kind.APP_ID  # bound once: Kind.X is an attribute lookup per call


def process_observables(name: str | None, bundle: str | None) -> Iterator[Observable]:
    """A process name as seen, each part of a ``proc/bundle`` name, and the bundle id."""
    if name:
        yield Observable(_PROCESS, name)
        if "/" in name:
            for part in name.split("/"):
                if part and part != name:
                    yield Observable(_PROCESS, part)
    if bundle:
        yield Observable(_APP_ID, bundle)


@dataclass(kw_only=True)
class NetworkProcess(Record):
    """A process (or app) that used the network, as the usage database recorded it."""

    record_type: ClassVar[str] = "ios:datausage:process"
    process_id: int
    process_name: str | None
    bundle_id: str | None
    first_seen: datetime | None
    last_seen: datetime | None
    wifi_in: float | None
    wifi_out: float | None
    wwan_in: float | None
    wwan_out: float | None
    # For a process without a bundle, in an acquisition holding the whole file system: whether a file
    # named like it (the part before any "/") exists anywhere. None when not asked or not answerable.
    binary_found: bool | None = None

    def observables(self) -> Iterator[Observable]:
        return process_observables(self.process_name, self.bundle_id)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.first_seen is not None:
            yield Timestamp(self.first_seen, "First network use")
        if self.last_seen is not None:
            yield Timestamp(self.last_seen, "Last network use")

    def first_moment(self) -> datetime | None:
        return self.first_seen if self.first_seen is not None else self.last_seen

    def summary(self) -> str:
        return f"Network use by {self.process_name or '?'} ({self.bundle_id or 'no bundle'})"


@dataclass(kw_only=True)
class OrphanedUsage(Record):
    """A usage row whose process row was deleted."""

    record_type: ClassVar[str] = "ios:datausage:orphaned_usage"
    missing_process_id: int | None  # None: the row names no process at all
    when: datetime | None
    wifi_in: float | None
    wwan_in: float | None

    def timestamps(self) -> Iterator[Timestamp]:
        if self.when is not None:
            yield Timestamp(self.when, "Network use by a deleted process")

    def summary(self) -> str:
        if self.missing_process_id is None:
            return "Network use linked to no process"
        return f"Network use by deleted process #{self.missing_process_id}"


@dataclass(kw_only=True)
class ProcessIdGap(Record):
    """Process ids missing between two rows: rows were deleted there."""

    record_type: ClassVar[str] = "ios:datausage:process_gap"
    first_missing: int
    last_missing: int
    before: str | None
    after: str | None

    def summary(self) -> str:
        return f"Process ids {self.first_missing}-{self.last_missing} missing (after {self.before}, before {self.after})"


def program_name(process_name: str | None) -> str:
    """The program part of a process name ("proc/bundle" rows name a process and the app it served)."""
    return (process_name or "").split("/", 1)[0]


def _binaries_present(ctx: ArtifactContext, names: set[str]) -> set[str]:
    """Which of the names some file of the acquisition bears (kernel-cut names: as a prefix), one pass."""
    cut = [n for n in names if len(n) in _TRUNCATED]
    found: set[str] = set()
    for info in ctx.fs.iter_files():
        if info.is_dir:
            continue
        base = info.device_path.rsplit("/", 1)[-1]
        if base in names:
            found.add(base)
        for name in cut:
            if base.startswith(name):
                found.add(name)
        if len(found) == len(names):
            break
    return found


class DataUsage(SqliteArtifact):
    name = "datausage"
    platform = "ios"
    title = "Network data usage (DataUsage.sqlite)"
    paths: ClassVar[tuple[str, ...]] = ("/private/var/wireless/Library/Databases/DataUsage.sqlite",)

    tables = (
        Table("ZPROCESS", required=("Z_PK",), optional=("ZPROCNAME", "ZBUNDLENAME", "ZFIRSTTIMESTAMP", "ZTIMESTAMP"),
              key=("Z_PK",)),
        Table("ZLIVEUSAGE", required=("Z_PK", "ZHASPROCESS"), optional=("ZTIMESTAMP", *_SUMS), key=("Z_PK",)),
    )

    def read(self, db: Database) -> Iterator[Record]:
        processes, live = self.tables
        ctx, path = db.ctx, db.path
        if db.report_missing(processes):
            return
        present: set[str] | None = None
        if (ctx.fs.whole_filesystem and any(ctx.fs.exists(d) for d in _SYSTEM_PROGRAM_FOLDERS)
                and "zbundlename" in db.columns("ZPROCESS") and "zprocname" in db.columns("ZPROCESS")):
            # MVT, on a file-system dump: an unbundled process whose binary is nowhere in the dump. Asked
            # only of a dump holding the system's programs: one of the data volume alone holds no daemon.
            names = Table("ZPROCESS", required=("ZPROCNAME", "ZBUNDLENAME"))
            unbundled = {
                program_name(row["ZPROCNAME"]) for row in db.rows(Query(names))
                if isinstance(row["ZPROCNAME"], str) and row["ZBUNDLENAME"] in (None, "")
                and program_name(row["ZPROCNAME"])
            }
            present = _binaries_present(ctx, unbundled) if unbundled else set()
        # One grouped pass over ZLIVEUSAGE joined once, not a subquery per process.
        usage = Grouped(Table("ZLIVEUSAGE", required=("ZHASPROCESS", *_SUMS)), "u", by="ZHASPROCESS", to="p.Z_PK",
                        aggregates=tuple(Aggregate(c, "sum", (f"u.{c}",)) for c in _SUMS))
        previous_pk: int | None = None
        previous_name: str | None = None
        gaps = 0
        # Read from the salvage of a damaged database: process ids whose rows may be lost to the damage are
        # no sign of a deletion (every id, when Z_PK is not the rowid the losses are told in).
        lost = ctx.lost_rows.get("zprocess")
        whole = bool(lost) and not db.is_rowid("ZPROCESS", "Z_PK")

        def maybe_lost(low: int, high: int) -> bool:
            return whole or (lost is not None and ctx.maybe_lost("ZPROCESS", low, high))

        for row in db.rows(Query(processes, "p", joins=(usage,))):
            pk, name, bundle = row["_key"], row["ZPROCNAME"], row["ZBUNDLENAME"]
            if not isinstance(pk, int):
                ctx.warn(f"{path}: ZPROCESS row with non-integer Z_PK {pk!r} skipped")
                continue
            name_text = name if isinstance(name, str) else None
            if (previous_pk is not None and pk > previous_pk + 1 and gaps < _MAX_GAP_RECORDS
                    and not maybe_lost(previous_pk + 1, pk - 1)):
                gaps += 1
                yield ProcessIdGap(
                    locator=db.locator("ZPROCESS", pk, key_path=f"Z_PK {previous_pk + 1}-{pk - 1}"),
                    first_missing=previous_pk + 1,
                    last_missing=pk - 1,
                    before=previous_name,
                    after=name_text,
                )
            previous_pk, previous_name = pk, name_text
            bundled = isinstance(bundle, str) and bool(bundle)
            yield NetworkProcess(
                locator=db.locator("ZPROCESS", pk),
                process_id=pk,
                process_name=name_text,
                bundle_id=bundle if isinstance(bundle, str) and bundle else None,
                first_seen=from_cocoa(row["ZFIRSTTIMESTAMP"]),
                last_seen=from_cocoa(row["ZTIMESTAMP"]),
                wifi_in=as_float(row["u.ZWIFIIN"]),
                wifi_out=as_float(row["u.ZWIFIOUT"]),
                wwan_in=as_float(row["u.ZWWANIN"]),
                wwan_out=as_float(row["u.ZWWANOUT"]),
                binary_found=None if present is None or bundled else program_name(name_text) in present,
            )
        if not db.has(live):
            return
        # MVT counts a row naming no process (NULL) as manipulated too.
        orphans = Query(Table("ZLIVEUSAGE", required=("Z_PK", "ZHASPROCESS"), optional=("ZTIMESTAMP", "ZWIFIIN",
                                                                                       "ZWWANIN"), key=("Z_PK",)),
                        "u", where=(Absent("u.ZHASPROCESS", "ZPROCESS", "Z_PK", or_null=True),))
        for row in db.rows(orphans):
            process_pk = row["ZHASPROCESS"]
            if isinstance(process_pk, int) and maybe_lost(process_pk, process_pk):
                continue
            yield OrphanedUsage(
                locator=db.locator("ZLIVEUSAGE", row["_key"]),
                missing_process_id=process_pk if isinstance(process_pk, int) else None,
                when=from_cocoa(row["ZTIMESTAMP"]),
                wifi_in=as_float(row["ZWIFIIN"]),
                wwan_in=as_float(row["ZWWANIN"]),
            )
