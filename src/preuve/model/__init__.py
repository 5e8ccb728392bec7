"""The typed vocabulary of preuve: records, observables, locators, indicators, findings.

Every value that leaves an artifact is one of these types; nothing is passed
around as an untyped dictionary. Serialisation to JSON is done by
:func:`preuve.model.jsonio.dumps`, which understands these dataclasses.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import ClassVar

import orjson


class Severity(enum.IntEnum):
    """How much a finding should worry the reader, from a plain fact to proof of compromise."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError as exc:
            raise ValueError(f"unknown severity {text!r}") from exc


class Kind(enum.StrEnum):
    """The kinds of observable a record can carry and an indicator can name."""

    URL = "url"
    DOMAIN = "domain"
    IP = "ip"
    PROCESS = "process"
    APP_ID = "app_id"
    EMAIL = "email"
    FILE_PATH = "file_path"
    FILE_NAME = "file_name"
    SHA256 = "sha256"
    SHA1 = "sha1"
    MD5 = "md5"
    PROFILE_ID = "profile_id"
    CERT_SHA256 = "cert_sha256"
    CERT_SHA1 = "cert_sha1"
    CERT_MD5 = "cert_md5"
    ANDROID_PROPERTY = "android_property"


@dataclass(slots=True, unsafe_hash=True)
class Observable:
    """A value seen in the evidence that indicators can be matched against."""

    kind: Kind
    value: str


LocatorKey = tuple[str, str | None, int | None, str | None, int | None, int | None]


@dataclass(unsafe_hash=True)
class Locator:
    """Where exactly a record lives: which evidence file (and its hash) and where inside it."""

    device_path: str
    sha256: str
    table: str | None = None
    rowid: int | None = None
    key_path: str | None = None
    line: int | None = None
    offset: int | None = None

    def as_dict(self) -> dict[str, str | int]:
        out: dict[str, str | int] = {"device_path": self.device_path, "sha256": self.sha256}
        out.update(self.inside())
        return out

    @classmethod
    def from_dict(cls, value: object) -> Locator:
        """The inverse of :meth:`as_dict`, for documents read back (findings.json, a bundle, a case
        store): every field is type-checked, a wrong one is dropped; ValueError when there is no
        device path."""
        if not isinstance(value, dict) or not isinstance(value.get("device_path"), str):
            raise ValueError("a locator needs a device_path")

        def number(name: str) -> int | None:
            item = value.get(name)
            return item if isinstance(item, int) and not isinstance(item, bool) else None

        def text(name: str) -> str | None:
            item = value.get(name)
            return item if isinstance(item, str) else None

        return cls(value["device_path"], text("sha256") or "", text("table"), number("rowid"), text("key_path"),
                   number("line"), number("offset"))

    def key(self) -> LocatorKey:
        """Where the record lives, without the file's hash (which is compared on its own)."""
        return (self.device_path, self.table, self.rowid, self.key_path, self.line, self.offset)

    def inside(self) -> list[tuple[str, str | int]]:
        """Where in the file, as (field, value) pairs in a fixed order (table, rowid, key_path, line, offset):
        the one definition every output formats a locator from."""
        return [(name, value) for name in ("table", "rowid", "key_path", "line", "offset")
                if (value := getattr(self, name)) is not None]

    def words(self) -> str:
        """Where in the file, for people: "table message, row 2", "key a/b", "line 7"."""
        spoken = {"table": "table", "rowid": "row", "key_path": "key", "line": "line", "offset": "offset"}
        out: list[str] = []
        for name, value in self.inside():
            text = f"{spoken[name]} {value}"
            if name == "rowid" and out and out[-1].startswith("table "):
                out[-1] += f", {text}"
            else:
                out.append(text)
        return "; ".join(out)


@dataclass(slots=True, unsafe_hash=True)
class Timestamp:
    """One moment of a record for the timeline, with what the moment means."""

    when: datetime
    description: str


class Direction(enum.StrEnum):
    """Which way a message or call went, seen from the phone."""

    RECEIVED = "received"
    SENT = "sent"


# Bounds of a finding's context: it is for reading beside the finding, the full record stays in artifacts/.
CONTEXT_TEXT_CHARS = 280
CONTEXT_VALUE_CHARS = 200
CONTEXT_TIMES = 4

# The fields a record's context is read from, by the names records use for them (see Record.context).
_COUNTERPART_FIELDS = ("handle", "address", "from_jid", "to_jid", "sender", "organizer")
_TEXT_FIELDS = ("text", "body", "abort_message")
_TITLE_FIELDS = ("title", "display_name", "shortcut_name", "name")
_FROM_ME_FIELDS = ("is_from_me", "outgoing")
_DATA_FIELDS = ("wifi_in", "wifi_out", "wwan_in", "wwan_out")


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class DataUse:
    """Bytes a process sent and received, by Wi-Fi and by the mobile network, as the phone counted them."""

    wifi_in: float | None = None
    wifi_out: float | None = None
    wwan_in: float | None = None
    wwan_out: float | None = None

    def total(self) -> float:
        return sum(v for v in (self.wifi_in, self.wifi_out, self.wwan_in, self.wwan_out) if v is not None)


@dataclass(frozen=True, slots=True)
class Context:
    """What a reader needs beside a finding to judge it without opening the record: who, which way,
    when, what it said or showed, how much it used. Bounded (an excerpt, a few moments); the full
    record stays in the output's artifacts/ folder."""

    times: tuple[Timestamp, ...] = ()  # the record's moments, with what each means (sent, visited, first seen…)
    counterpart: str | None = None  # the other side of a message or call (sender or recipient)
    direction: Direction | None = None
    text: str | None = None  # an excerpt of a message's text
    title: str | None = None  # a page's title, a profile's or contact's name
    data: DataUse | None = None

    def is_empty(self) -> bool:
        return not (self.times or self.counterpart or self.direction or self.text or self.title or self.data)

    def lines(self) -> list[tuple[str, str]]:
        """(label, text) pairs for reports, in a fixed order."""
        from preuve.model.jsonio import to_iso

        out: list[tuple[str, str]] = []
        if self.counterpart is not None:
            label = {Direction.SENT: "to", Direction.RECEIVED: "from"}.get(self.direction, "with") \
                if self.direction is not None else "with"
            out.append((label, self.counterpart))
        elif self.direction is not None:
            out.append(("direction", str(self.direction)))
        for stamp in self.times:
            out.append((stamp.description, to_iso(stamp.when) or ""))
        if self.title is not None:
            out.append(("title", self.title))
        if self.text is not None:
            out.append(("text", self.text))
        if self.data is not None:
            parts = [f"{name.replace('_', ' ')} {int(value)} bytes" for name, value in
                     (("wifi_in", self.data.wifi_in), ("wifi_out", self.data.wifi_out),
                      ("wwan_in", self.data.wwan_in), ("wwan_out", self.data.wwan_out)) if value is not None]
            out.append(("data used", ", ".join(parts)))
        return out

    @classmethod
    def of(cls, record: Record) -> Context:
        """The context of a record, read from its moments and from the fields records name by convention
        (a message's ``handle``/``address``, ``is_from_me``/``outgoing``, ``text``/``body``; a visit's
        ``title``; a process's ``wifi_in``… byte counts). A record class may override Record.finding_context."""
        values = record.fields()
        times = tuple(record.timestamps())[:CONTEXT_TIMES]

        def first_text(names: tuple[str, ...], limit: int) -> str | None:
            for name in names:
                value = values.get(name)
                if isinstance(value, str) and value.strip():
                    return _clip(value, limit)
            return None

        direction: Direction | None = None
        for name in _FROM_ME_FIELDS:
            value = values.get(name)
            if isinstance(value, bool):
                direction = Direction.SENT if value else Direction.RECEIVED
                break
        data: DataUse | None = None
        counts = [values.get(name) for name in _DATA_FIELDS]
        if any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in counts):
            floats = [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None for v in counts]
            data = DataUse(*floats)
        counterpart = first_text(_COUNTERPART_FIELDS, CONTEXT_VALUE_CHARS)
        return cls(
            times=times,
            counterpart=counterpart,
            direction=direction if counterpart is not None or "text" in values or "body" in values else None,
            text=first_text(_TEXT_FIELDS, CONTEXT_TEXT_CHARS),
            title=first_text(_TITLE_FIELDS, CONTEXT_VALUE_CHARS),
            data=data,
        )


@dataclass(kw_only=True)
class Record:
    """Base of every parsed record.

    Subclasses are keyword-only dataclasses naming their fields; they set
    ``record_type`` (a namespaced name such as ``ios:sms:message``) and
    override :meth:`observables`, :meth:`timestamps` and :meth:`summary`.

    Records, locators, timestamps and observables are values: nothing assigns to them once made.
    They are not ``frozen`` because a frozen dataclass sets each field through
    ``object.__setattr__``, which was an eighth of the whole per-record cost of a check
    (measured in instructions on the messages of a backup: 2,023 M → 1,770 M for 8,000 messages).
    Records and locators keep their fields in a ``__dict__`` rather than ``__slots__``: orjson
    writes a dataclass from its ``__dict__`` three times faster (0.65 µs against 2.1 µs for a
    message with its locator), and every record is written once as a JSON line. A test checks that
    the line holds every field, in declaration order, for every record class.
    """

    record_type: ClassVar[str] = "record"
    locator: Locator

    def observables(self) -> Iterator[Observable]:
        return iter(())

    def timestamps(self) -> Iterator[Timestamp]:
        return iter(())

    def first_moment(self) -> datetime | None:
        """The moment of the record's first timestamp (None when it has none): what the report's count
        of records by day reads of every record. A record class whose records come by the hundred
        thousand gives it directly from its fields, without a generator and a Timestamp made per
        record (0.7 µs of a record's few); a test holds every such class to its `timestamps`."""
        first = next(self.timestamps(), None)
        return None if first is None else first.when

    def summary(self) -> str:
        """One line describing the record for the timeline and reports."""
        return self.record_type

    def finding_context(self) -> Context:
        """What a finding on this record shows beside it (see :class:`Context`)."""
        return Context.of(self)

    def fields(self) -> dict[str, object]:
        """The record's own values (not its locator), in declaration order."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "locator"}

    def content_sha256(self) -> str:
        """SHA-256 of the record's values as read, in a canonical JSON form.

        `preuve verify` recomputes this from the evidence to show the record is
        unchanged.
        """
        from preuve.model.jsonio import canonical_bytes

        return hashlib.sha256(canonical_bytes(self.fields())).hexdigest()


class Strength(enum.IntEnum):
    """How strong a finding's evidence is, in the terms of the published methodologies (Amnesty
    International's Forensic Methodology Report on Pegasus, 2021; MVT's documentation): a trace only
    the implant leaves (a process that ran or used the network, a file it writes) is stronger than a
    page the phone loaded, which is stronger than an address merely present in stored data (a link
    received need not have been opened); a published indicator is stronger than a heuristic sign."""

    REVIEW = 0  # a fact listed for an expert's review; not a sign of compromise by itself
    HEURISTIC = 1  # a rule's sign matching no published indicator
    PRESENCE = 2  # a published indicator present in stored data (a message, a contact, a lookup): targeting
    VISIT = 3  # the phone loaded a published address (browser history, web data)
    IMPLANT = 4  # a published process ran or used the network, or a file, app or profile of the spyware is there

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def meaning(self) -> str:
        return _STRENGTH_MEANING[self]

    @classmethod
    def of(cls, finding: Finding, record: Record | None = None) -> Strength:
        """The strength of a finding; the record it fired on, when known, tells a page the phone
        loaded from an address it only stored."""
        if finding.indicator is None:
            return cls.REVIEW if finding.severity == Severity.INFO else cls.HEURISTIC
        kind = finding.observable.kind if finding.observable is not None else finding.indicator.kind
        if kind in _IMPLANT_KINDS:
            return cls.IMPLANT
        if record is not None and record.record_type.startswith(_LOAD_RECORD_PREFIXES):
            return cls.VISIT
        return cls.PRESENCE


_STRENGTH_MEANING = {
    Strength.REVIEW: "listed for review, not a sign of compromise by itself",
    Strength.HEURISTIC: "a heuristic sign, matching no published indicator",
    Strength.PRESENCE: "a published indicator present in stored data (targeting; it need not have been opened)",
    Strength.VISIT: "the phone loaded an address published as spyware infrastructure",
    Strength.IMPLANT: "a trace only the spyware leaves: a published process ran, or its file, app or profile is there",
}

# Indicators of what only the implant leaves on the phone (as detect.match makes them critical).
_IMPLANT_KINDS = frozenset({
    Kind.PROCESS, Kind.FILE_PATH, Kind.FILE_NAME, Kind.SHA256, Kind.SHA1, Kind.MD5, Kind.PROFILE_ID,
    Kind.APP_ID, Kind.CERT_SHA256, Kind.CERT_SHA1, Kind.CERT_MD5, Kind.ANDROID_PROPERTY,
})
# Records of addresses the phone loaded (rather than received or stored): browser visits, open tabs,
# web data kept by sites, caches of fetched pages, icons fetched for pages.
_LOAD_RECORD_PREFIXES = (
    "ios:safari_history:", "ios:safari_browser_state:", "ios:chrome:", "ios:firefox:", "ios:webkit:",
    "ios:cache:", "ios:safari:favicon",
)


@dataclass(frozen=True, slots=True)
class GroupMember:
    """One occurrence inside a grouped finding: where it is and what was seen there."""

    locator: Locator
    explanation: str
    observable: Observable | None = None
    timestamp: datetime | None = None
    record_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class FindingGroup:
    """A problem seen many times, reported once: what the occurrences share, how many, and all of them
    (the finding itself stands for the first, which `preuve verify` re-derives like any finding)."""

    key: str
    count: int
    members: tuple[GroupMember, ...]


@dataclass(kw_only=True)
class DeviceFacts(Record):
    """What the acquisition says of the device itself: one record type that every platform's artifacts
    emit (an iOS backup's Info.plist, Android's properties), and that the report and the case store
    subscribe to by type."""

    record_type: ClassVar[str] = "device:facts"
    platform: str
    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    os_version: str | None = None
    build: str | None = None
    serial: str | None = None
    phone_number: str | None = None
    timezone: str | None = None
    security_patch: str | None = None

    def summary(self) -> str:
        system = {"ios": "iOS", "android": "Android"}.get(self.platform, self.platform)
        parts = (
            " ".join(x for x in (self.manufacturer, self.model) if x),
            " ".join(x for x in (system, self.os_version, self.build) if x),
        )
        what = ", ".join(part for part in parts if part)
        return f"{self.name} ({what})" if self.name else what

    def facts(self) -> list[tuple[str, str]]:
        """(label, value) pairs for reports, in a fixed order, without the empty ones."""
        pairs = (
            ("device name", self.name), ("manufacturer", self.manufacturer), ("model", self.model),
            ("OS version", self.os_version), ("build", self.build), ("serial number", self.serial),
            ("phone number", self.phone_number), ("time zone", self.timezone),
            ("security patch", self.security_patch),
        )
        return [(label, value) for label, value in pairs if value]


@dataclass(frozen=True, slots=True)
class IndicatorRef:
    """An indicator as a finding cites it, with where it was published."""

    kind: Kind
    value: str
    malware: str
    feed: str
    feed_sha256: str
    stix_id: str
    published: str | None = None
    valid_until: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """A trace worth reporting: what fired, on which record, where, and why."""

    severity: Severity
    artifact: str
    explanation: str
    locator: Locator
    rule: str | None = None
    indicator: IndicatorRef | None = None
    observable: Observable | None = None
    timestamp: datetime | None = None
    record_sha256: str | None = None
    id: str = field(default="")
    # Not part of the identity (the id): how strong the evidence is, what the record shows beside it,
    # and, for a problem seen many times, all its occurrences.
    strength: Strength | None = None
    context: Context | None = None
    group: FindingGroup | None = None
    # Set by a rule that groups its findings (see Rule.grouped): findings of one rule, artifact and key
    # become one finding at the end of a run.
    group_key: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", self.compute_id())
        if self.strength is None:
            object.__setattr__(self, "strength", Strength.of(self))

    @property
    def evidence_strength(self) -> Strength:
        return self.strength if self.strength is not None else Strength.of(self)

    @property
    def count(self) -> int:
        """How many occurrences the finding stands for (1 unless grouped)."""
        return self.group.count if self.group is not None else 1

    def with_record(self, record: Record) -> Finding:
        """The finding with what its record adds: the strength it shows and its context."""
        context = record.finding_context()
        return replace(
            self, strength=Strength.of(self, record), context=None if context.is_empty() else context
        )

    def identity(self) -> dict[str, object]:
        """The content that defines the finding; its id is a hash of this."""
        return {
            "severity": self.severity.label,
            "artifact": self.artifact,
            "rule": self.rule,
            "indicator": None
            if self.indicator is None
            else {
                "kind": str(self.indicator.kind),
                "value": self.indicator.value,
                "stix_id": self.indicator.stix_id,
                "feed_sha256": self.indicator.feed_sha256,
            },
            "observable": None
            if self.observable is None
            else {"kind": str(self.observable.kind), "value": self.observable.value},
            "locator": self.locator.as_dict(),
        }

    def compute_id(self) -> str:
        from preuve.model.jsonio import encode

        blob = encode(self.identity(), orjson.OPT_SORT_KEYS)
        return hashlib.sha256(blob).hexdigest()[:24]

    def sort_key(self) -> tuple[object, ...]:
        loc = self.locator
        return (
            -int(self.severity),
            self.artifact,
            loc.device_path,
            loc.table or "",
            loc.rowid if loc.rowid is not None else -1,
            loc.key_path or "",
            loc.line if loc.line is not None else -1,
            self.rule or "",
            self.observable.value if self.observable else "",
            self.indicator.stix_id if self.indicator else "",
            self.id,
        )


class ArtifactStatus(enum.StrEnum):
    """What a run did with one artifact."""

    OK = "ok"  # checked: its files were read and gave records
    EMPTY = "empty"  # checked: its files were read and held no record
    MISSING = "missing"  # this kind of acquisition can hold it, and it is absent (Absence says how)
    NOT_COLLECTED = "not_collected"  # this kind of acquisition never holds it: not a gap
    NOT_SELECTED = "not_selected"  # left out by the user (--artifact)
    FAILED = "failed"  # could not be read (its errors say why)

    @property
    def checked(self) -> bool:
        return self in (ArtifactStatus.OK, ArtifactStatus.EMPTY)


class Absence(enum.StrEnum):
    """Why an artifact that this kind of acquisition can hold is absent."""

    NOT_LISTED = "not_listed"  # the acquisition does not list its files (not in its manifest or file tree)
    LISTED_ABSENT = "listed_absent"  # the acquisition's manifest lists its file, but the file is absent
    LOST = "lost"  # absent from an archive that is damaged (cut short): it may have been lost with the rest
    # present only as a symbolic link that names no file of the acquisition (to nothing, to a folder, in a
    # loop): not read
    UNFOLLOWED = "link_not_followed"
    # absent, as is every file of what a whole phone's acquisition of this kind holds at least one of (see
    # AcquisitionKind.essentials): the acquisition holds only part of a phone
    PARTIAL = "partial"

    @property
    def loses_evidence(self) -> bool:
        """Whether the absence means evidence that existed could not be checked."""
        return self is not Absence.NOT_LISTED

    @property
    def meaning(self) -> str:
        return {
            Absence.NOT_LISTED: "not in this acquisition",
            Absence.LISTED_ABSENT: "listed in the acquisition's manifest, but the file is absent",
            Absence.LOST: "absent from a damaged archive: it may have been lost",
            Absence.UNFOLLOWED: "present only as a symbolic link to no file of the acquisition: not read",
            Absence.PARTIAL: (
                "absent, as is every artifact a whole phone's acquisition of this kind holds at least one of: "
                "the acquisition holds only part of a phone"
            ),
        }[self]


class ExitCode(enum.IntEnum):
    CLEAN = 0  # a full check, nothing high or critical
    FATAL = 1
    DETECTED = 2  # high or critical findings
    INCOMPLETE = 3  # nothing high or critical, but the check was not full (see Coverage.gaps)


@dataclass(frozen=True, slots=True)
class Coverage:
    """What a run could check, as the verdict needs it: the acquisition's own problems, the artifacts
    by what happened to them, the indicators actually loaded and whether heuristics ran."""

    acquisition_problems: tuple[str, ...] = ()  # the acquisition itself is damaged (an archive cut short…)
    checked: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()  # absent in a way that loses evidence (Absence.loses_evidence)
    partial: tuple[str, ...] = ()  # of which those absent as the acquisition holds only part of a phone (Absence.PARTIAL)
    not_selected: tuple[str, ...] = ()
    indicators: int = 0
    heuristics: bool = True

    @property
    def complete(self) -> bool:
        """Everything this acquisition holds was read (whatever the indicators and options). An acquisition
        that holds only part of a phone (see `partial`) may be read whole: it is then complete, but its
        check is not full."""
        return not (self.acquisition_problems or self.failed or set(self.lost) - set(self.partial))

    @property
    def only_partial(self) -> bool:
        """The acquisition holds only part of a phone (see `partial`), and nothing it holds went unread."""
        return bool(self.partial) and self.complete

    @property
    def nothing_checked(self) -> bool:
        """No artifact found a file of the acquisition to read: every one was absent, never collected by
        this kind of acquisition, or left out. An acquisition stopped at its start, or one that holds
        none of the files preuve reads, is then complete in the letter (nothing it holds went unread)
        but nothing of the phone was checked: that must never look like a full check."""
        return not self.checked and not self.failed

    @property
    def full(self) -> bool:
        """A full check: complete, something checked, every artifact, indicators loaded and heuristics on."""
        return (self.complete and not self.partial and not self.nothing_checked and not self.not_selected
                and self.indicators > 0 and self.heuristics)

    def gaps(self) -> list[str]:
        """Why the check is not full, in sentences (empty for a full check)."""
        out: list[str] = []
        if self.nothing_checked:
            out.append(NOTHING_CHECKED)
        if self.indicators == 0:
            out.append("No indicator was loaded: known spyware could not be recognised, only heuristics ran.")
        out.extend(f"The acquisition is damaged: {problem}." for problem in self.acquisition_problems)
        if self.failed:
            out.append(f"{len(self.failed)} artifact(s) could not be read in full: {', '.join(self.failed)}.")
        if self.partial and not self.nothing_checked:  # (nothing checked says more)
            out.append(
                f"The acquisition holds only part of a phone: it holds none of {', '.join(self.partial)} (a whole "
                "phone's acquisition of its kind holds at least one of them)."
            )
        others = [name for name in self.lost if name not in self.partial]
        if others:
            out.append(
                f"{len(others)} artifact(s) are missing from what the acquisition should hold: {', '.join(others)}."
            )
        if self.not_selected:
            out.append(
                f"Only {len(self.checked) + len(self.failed)} artifact(s) were asked for (--artifact); "
                f"{len(self.not_selected)} were left out."
            )
        if not self.heuristics:
            out.append("Heuristic rules were turned off.")
        return out


NOTHING_CHECKED = (
    "No artifact found a file to read in this acquisition (each one is absent from it, or this kind of acquisition "
    "never holds it): nothing of the phone was checked."
)


class VerdictKey(enum.StrEnum):
    SPYWARE = "spyware"  # a published indicator matched
    SUSPICIOUS = "suspicious"  # medium or worse signs, no indicator
    NOTHING = "nothing"  # a full check found nothing serious
    PARTIAL = "partial"  # nothing serious in what was checked, but the check was not full


@dataclass(frozen=True, slots=True)
class Verdict:
    """The first line people act on, and the exit code that goes with it."""

    key: VerdictKey
    headline: str
    detail: str
    full_check: bool
    strength: Strength | None  # the strongest evidence among the findings that decided it
    exit_code: ExitCode


HEADLINE_SPYWARE = "Traces of known spyware found"
HEADLINE_SUSPICIOUS = "Suspicious signs worth an expert's look"
HEADLINE_NOTHING = "Nothing found in what could be checked"
HEADLINE_HEURISTICS_ONLY = "Heuristics only: no spyware indicator was loaded, known spyware could not be recognised"
HEADLINE_INCOMPLETE = "Incomplete check: nothing found in what could be read, but part of the acquisition could not be read"
HEADLINE_SELECTED = "Partial check: nothing found in the artifacts asked for, the others were not checked"
HEADLINE_NO_HEURISTICS = "Indicators only: nothing matched, but heuristic rules were turned off"
HEADLINE_NOTHING_CHECKED = "Nothing was checked: no artifact found a file to read in this acquisition"
HEADLINE_PARTIAL_ACQUISITION = "Partial acquisition: nothing found in what it holds, but it holds only part of a phone"
_HEURISTICS_ONLY_MARK = " (heuristics only: no indicator loaded)"


def verdict(findings: Sequence[Finding], coverage: Coverage) -> Verdict:
    """The one definition of the verdict: indicator matches beat rule signs; "nothing found" only after
    a full check (complete, something checked, of a whole phone, every artifact, indicators loaded,
    heuristics on); otherwise words that
    cannot be taken for a full check. Every output (terminal, --json, findings.json, report.html, the
    case store) shows this."""
    full = coverage.full
    detected = any(f.severity >= Severity.HIGH for f in findings)
    code = ExitCode.DETECTED if detected else ExitCode.CLEAN if full else ExitCode.INCOMPLETE
    gaps = coverage.gaps()
    caveat = "" if full else " The check was not full: " + " ".join(gaps)
    matched = [f for f in findings if f.indicator is not None]
    if matched:
        malware = sorted({f.indicator.malware for f in matched if f.indicator is not None})
        strongest = max(f.evidence_strength for f in matched)
        traces = sum(f.count for f in matched)
        return Verdict(
            VerdictKey.SPYWARE, HEADLINE_SPYWARE,
            f"{traces} trace(s) match published indicators of {', '.join(malware)}; the strongest: "
            f"{strongest.meaning}. Handle the device as compromised and ask an expert to confirm.{caveat}",
            full, strongest, code,
        )
    serious = [f for f in findings if f.severity >= Severity.MEDIUM]
    if serious:
        headline = HEADLINE_SUSPICIOUS + (_HEURISTICS_ONLY_MARK if coverage.indicators == 0 else "")
        return Verdict(
            VerdictKey.SUSPICIOUS, headline,
            f"{len(serious)} sign(s) of high or medium severity match no published indicator, but are unusual "
            f"enough for an expert to review.{caveat}",
            full, max(f.evidence_strength for f in serious), code,
        )
    if full:
        return Verdict(
            VerdictKey.NOTHING, HEADLINE_NOTHING,
            f"{coverage.indicators} published indicator(s) were looked for and none matched, and no rule raised a "
            "serious sign. This does not prove the phone is clean: spyware can leave no trace in what was "
            "checked (see what was checked).",
            full, None, code,
        )
    if coverage.nothing_checked:
        headline = HEADLINE_NOTHING_CHECKED
    elif coverage.indicators == 0:
        headline = HEADLINE_HEURISTICS_ONLY
    elif coverage.only_partial:
        headline = HEADLINE_PARTIAL_ACQUISITION
    elif not coverage.complete:
        headline = HEADLINE_INCOMPLETE
    elif coverage.not_selected:
        headline = HEADLINE_SELECTED
    else:
        headline = HEADLINE_NO_HEURISTICS
    lead = "" if coverage.nothing_checked else "No rule raised a serious sign in what was checked, but this is not a full check: "
    return Verdict(VerdictKey.PARTIAL, headline, lead + " ".join(gaps), full, None, code)
