"""`preuve verify` and `preuve export`: re-derive every finding of a bundle, from evidence or a proof package.

How a located record is read again: the artifact that produced it is run
again over just the located file, and the record with the same locator (and
record type) is picked. This is generic — every artifact, present and future,
supports it without writing a per-artifact fetch — and it is correct by
construction: the record is produced by exactly the code path that produced
it during `check`, including derived records (a process-id gap) that no
single row holds. The cost is one parse of the located files, not of the
whole acquisition.

Then the record's hash is recomputed, and the indicator (matched by STIX id
and value, in the feeds given or, without feeds, in the bundle's own copy of
the indicator) or the rule is applied to it again. A finding is *confirmed*
only when the file hash, the record hash and the match all agree.

A proof package (`export`) holds the bundle and only the located records'
values; verifying from it rebuilds each typed record from those values,
recomputes its hash and re-applies the indicator or rule. File hashes then
come from the bundle: the package cannot prove them, and the result says so.
"""

from __future__ import annotations

import enum
import io
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from preuve.artifacts.base import Artifact, ArtifactContext, discover_artifacts
from preuve.artifacts.records import rebuild_record, record_classes
from preuve.detect.match import Matcher
from preuve.detect.rules import Rule, discover_rules
from preuve.evidence.errors import EvidenceError, PreuveError
from preuve.evidence.limits import DEFAULT_LIMITS, Limits
from preuve.evidence.policy import (
    MEMBER_DAMAGE,
    ZIP_OPEN_ERRORS,
    load_json,
    zip_entry_count,
    zip_member_refusal,
)
from preuve.indicators.index import IndicatorIndex, load_index
from preuve.indicators.stix import Indicator, normalize_indicator_value
from preuve.messages import error_text
from preuve.model import Finding, IndicatorRef, Kind, Locator, LocatorKey, Observable, Record, Severity
from preuve.model.jsonio import canonical_bytes, dumps
from preuve.report.formats.bundle import BUNDLE_FORMAT, BUNDLE_NAME
from preuve.run.collector import few_collections
from preuve.run.results import CheckOptions
from preuve.run.session import open_evidence

PACKAGE_FORMAT = "preuve-proof/1"
_RECORDS_NAME = "records.jsonl"
_MANIFEST_NAME = "proof.json"
_MAX_BUNDLE_BYTES = 256 * 1024**2
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class VerifyError(PreuveError):
    """The bundle or proof package cannot be used (the message says why)."""


class Status(enum.StrEnum):
    CONFIRMED = "confirmed"
    DIFFERS = "differs"


@dataclass(frozen=True, slots=True)
class BundleFinding:
    id: str
    severity: Severity
    artifact: str
    explanation: str
    locator: Locator
    record_type: str | None
    record_sha256: str | None
    rule: str | None
    indicator: IndicatorRef | None
    observable: Observable | None


@dataclass(frozen=True, slots=True)
class Bundle:
    raw: bytes
    tool_version: str
    platform: str
    heuristics: bool
    findings: tuple[BundleFinding, ...]
    file_hashes: dict[str, str] = field(hash=False)
    kind: str = ""
    file_sizes: dict[str, int] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class FindingCheck:
    finding: BundleFinding
    status: Status
    problems: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(slots=True)
class VerifyResult:
    source: str  # "evidence" or "proof package"
    checks: list[FindingCheck]
    notes: list[str]
    sameness: Sameness | None = None  # None for a proof package

    @property
    def different_device(self) -> bool:
        return self.sameness is not None and self.sameness.different_device

    @property
    def confirmed(self) -> bool:
        return not self.different_device and all(c.status == Status.CONFIRMED for c in self.checks)


# -- reading the bundle --------------------------------------------------------------------------

def _locator(value: object) -> Locator:
    try:
        return Locator.from_dict(value)
    except ValueError as exc:
        raise VerifyError("a finding's locator is malformed") from exc


def parse_bundle(raw: bytes, name: str = BUNDLE_NAME) -> Bundle:
    try:
        doc = load_json(raw, name, Limits(max_read_bytes=_MAX_BUNDLE_BYTES))
    except EvidenceError as exc:
        raise VerifyError(str(exc)) from exc
    if not isinstance(doc, dict) or doc.get("format") != BUNDLE_FORMAT:
        raise VerifyError(f"{name}: not a preuve verification bundle ({BUNDLE_FORMAT})")
    findings = []
    try:
        for item in doc["findings"]:
            ind = item.get("indicator")
            obs = item.get("observable")
            findings.append(
                BundleFinding(
                    id=str(item["id"]),
                    severity=Severity.parse(str(item["severity"])),
                    artifact=str(item["artifact"]),
                    explanation=str(item.get("explanation", "")),
                    locator=_locator(item["locator"]),
                    record_type=item.get("record_type"),
                    record_sha256=item.get("record_sha256"),
                    rule=item.get("rule"),
                    indicator=None
                    if not ind
                    else IndicatorRef(
                        Kind(ind["kind"]), str(ind["value"]), str(ind["malware"]), str(ind["feed"]),
                        str(ind["feed_sha256"]), str(ind["stix_id"]), ind.get("published"),
                    ),
                    observable=None if not obs else Observable(Kind(obs["kind"]), str(obs["value"])),
                )
            )
            # A grouped finding stands for every occurrence it lists: each is re-derived as a finding of
            # its own (the first is the finding itself).
            group = item.get("group")
            members = group.get("members", []) if isinstance(group, dict) else []
            first = findings[-1]
            for number, member in enumerate(members[1:], start=2):
                mobs = member.get("observable")
                findings.append(replace(
                    first, id=f"{first.id}#{number}", explanation=str(member.get("explanation", "")),
                    locator=_locator(member["locator"]), record_sha256=member.get("record_sha256"),
                    observable=None if not mobs else Observable(Kind(mobs["kind"]), str(mobs["value"])),
                ))
        hashes = {str(e["device_path"]): str(e["sha256"]) for e in doc.get("evidence_files", [])}
        sizes = {
            str(e["device_path"]): e["size"] for e in doc.get("evidence_files", [])
            if isinstance(e.get("size"), int) and not isinstance(e.get("size"), bool)
        }
        options = doc.get("options", {})
        return Bundle(
            raw=raw,
            tool_version=str(doc["tool"]["version"]),
            platform=str(doc["acquisition"]["platform"]),
            heuristics=bool(options.get("heuristics", True)),
            findings=tuple(findings),
            file_hashes=hashes,
            kind=str(doc["acquisition"].get("kind", "")),
            file_sizes=sizes,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise VerifyError(f"{name}: malformed bundle ({type(exc).__name__}: {exc})") from exc


def read_bundle(path: Path) -> Bundle:
    """The bundle in a file, or in an output folder of `preuve check` (its bundle.json)."""
    if path.is_dir():
        inside = path / BUNDLE_NAME
        if not inside.is_file():
            raise VerifyError(f"{path}: no {BUNDLE_NAME} in this folder (give a preuve output folder or its {BUNDLE_NAME})")
        path = inside
    try:
        with open(path, "rb") as handle:
            raw = handle.read(_MAX_BUNDLE_BYTES + 1)
    except OSError as exc:
        raise VerifyError(f"cannot be read: {error_text(exc)}") from exc
    return parse_bundle(raw, str(path))


# -- records again: from the evidence, or from a proof package ----------------------------------

@dataclass(frozen=True, slots=True)
class Sameness:
    """Whether the evidence given is the acquisition the bundle was made from, judged on its kind and
    on the files the check read (their presence, size and, for the smaller ones, SHA-256)."""

    compared: int
    differing: tuple[str, ...]
    kind_now: str
    kind_then: str

    @property
    def different_device(self) -> bool:
        if self.kind_then and self.kind_now != self.kind_then:
            return True
        return len(self.differing) >= 2 and len(self.differing) * 2 > self.compared

    def headline(self) -> str:
        if self.kind_then and self.kind_now != self.kind_then:
            return (f"different acquisition: the bundle was made from {self.kind_then.replace('_', ' ')}, this evidence "
                    f"is {self.kind_now.replace('_', ' ')}")
        return (f"different device: {len(self.differing)} of the {self.compared} evidence files the bundle lists are "
                "missing or differ; this is not the acquisition the bundle was made from")


# Files hashed to compare acquisitions: each at most this size, all together at most the budget.
_SAME_FILE_BYTES = 16 * 1024**2
_SAME_BUDGET_BYTES = 256 * 1024**2


def compare_acquisition(bundle: Bundle, fs: Any, kind_now: str) -> Sameness:
    """Every file the bundle lists, looked up in the evidence now: missing, resized, or (when small)
    rehashed. A changed file or two is tampering or damage; most of them changed is another device."""
    differing: list[str] = []
    compared = 0
    budget = _SAME_BUDGET_BYTES
    for device_path, sha in sorted(bundle.file_hashes.items()):
        compared += 1
        try:
            info = fs.read_stat(device_path) if fs.exists(device_path) else None
        except (EvidenceError, OSError):
            info = None
        if info is None or info.is_dir:
            differing.append(f"{device_path}: missing")
            continue
        size = bundle.file_sizes.get(device_path)
        if size is not None and info.size != size:
            differing.append(f"{device_path}: {size} bytes in the bundle, {info.size} now")
            continue
        if info.size <= _SAME_FILE_BYTES and info.size <= budget:
            budget -= info.size
            try:
                now = fs.sha256(device_path)
            except (EvidenceError, OSError):
                continue
            if now != sha:
                differing.append(f"{device_path}: content changed")
    return Sameness(compared, tuple(differing), kind_now, bundle.kind)


@dataclass(slots=True)
class Located:
    """What was found again at one locator."""

    records: list[Record] = field(default_factory=list)
    error: str | None = None
    file_sha256: str | None = None  # as hashed now; None when taken from the bundle
    file_missing: bool = False


def _artifacts_by_name(platform: str | None) -> dict[str, Artifact]:
    return {a.name: a for a in discover_artifacts(platform or None)}


@contextmanager
def records_from_evidence(
    bundle: Bundle, evidence: Path, options: CheckOptions, sameness: list[Sameness] | None = None
) -> Iterator[tuple[dict[LocatorKey, Located], str]]:
    """Open the evidence and read again, per located file, the records the findings name
    (with the acquisition's kind); the acquisition is closed when the block ends."""
    artifacts = _artifacts_by_name(bundle.platform)
    wanted: dict[tuple[str, str], set[LocatorKey]] = {}
    # Where every finding is of an entry of the acquisition's file listing (no file hash in its locator):
    # the entry is read again, whatever it is (a folder, a link), and the file is neither read nor hashed.
    entries_only: dict[tuple[str, str], bool] = {}
    for finding in bundle.findings:
        where = (finding.artifact, finding.locator.device_path)
        wanted.setdefault(where, set()).add(finding.locator.key())
        entries_only[where] = entries_only.get(where, True) and not finding.locator.sha256
    found: dict[LocatorKey, Located] = {}
    paths = tuple(sorted({path for _, path in wanted}))  # (looked for by name in a damaged acquisition, as a run does)
    with open_evidence(
        evidence, options.limits, options.secrets, jobs=options.job_count(), artifacts={name for name, _ in wanted},
        wants=lambda platform: paths,
    ) as session:
        opened = session.opened
        fs = opened.fs
        if sameness is not None:
            sameness.append(compare_acquisition(bundle, fs, opened.kind))
        for (artifact_name, device_path), keys in sorted(wanted.items()):
            slots = {key: found.setdefault(key, Located()) for key in keys}
            artifact = artifacts.get(artifact_name)
            if artifact is None:
                for slot in slots.values():
                    slot.error = f"this version of preuve has no artifact {artifact_name!r}"
                continue
            entry = entries_only[(artifact_name, device_path)]
            # (a listing entry is its own, a link as a link; a file read is what reading reads: see read_stat)
            info = (fs.stat(device_path) if entry else fs.read_stat(device_path)) if fs.exists(device_path) else None
            if info is None or (not entry and (info.is_dir or info.is_link)):
                for slot in slots.values():
                    slot.file_missing = True
                continue
            try:
                if not entry:
                    sha = fs.sha256(device_path)
                    for slot in slots.values():
                        slot.file_sha256 = sha
                ctx = ArtifactContext(fs=fs, limits=options.limits)
                for record in artifact.parse(ctx, device_path):
                    target = slots.get(record.locator.key())
                    if target is not None:
                        target.records.append(record)
                problem = "; ".join(ctx.errors) or None
            except EvidenceError as exc:
                problem = exc.reason
            except OSError as exc:
                problem = error_text(exc)
            except (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError, MemoryError,
                    UnicodeError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # noqa: BLE001 - sqlite3 and parser errors: the finding cannot be confirmed
                problem = f"{type(exc).__name__}: {exc}"
            if problem:
                for slot in slots.values():
                    # A record read again stands whatever else of its file could not be read (a damaged
                    # page elsewhere, read around): only a finding whose record was not found fails for it.
                    if not slot.records:
                        slot.error = f"{device_path} could not be read again: {problem}"
        yield found, opened.kind


def _package_zip(path: Path) -> zipfile.ZipFile | None:
    if not path.is_file() or not zipfile.is_zipfile(path):
        return None
    with open(path, "rb") as handle:
        if zip_entry_count(handle, str(path)) > 16:
            return None
    try:
        archive = zipfile.ZipFile(path)
    except ZIP_OPEN_ERRORS:
        return None  # no proof package: read as evidence, whose open says what is wrong with it
    if _MANIFEST_NAME not in archive.namelist():
        archive.close()
        return None
    return archive


def _read_member(archive: zipfile.ZipFile, name: str, limit: int = _MAX_BUNDLE_BYTES) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise VerifyError(f"the proof package has no {name}") from None
    if info.file_size > limit:
        raise VerifyError(f"{name} in the proof package is larger than {limit} bytes")
    refusal = zip_member_refusal(info)
    if refusal is not None:
        raise VerifyError(f"{name} in the proof package cannot be read ({refusal})")
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except (*ZIP_OPEN_ERRORS, *MEMBER_DAMAGE) as exc:
        raise VerifyError(f"{name} in the proof package cannot be read ({error_text(exc)})") from exc
    if len(data) > limit:
        raise VerifyError(f"{name} in the proof package is larger than {limit} bytes")
    return data


def records_from_package(archive: zipfile.ZipFile, bundle: Bundle) -> dict[LocatorKey, Located]:
    classes = record_classes()
    found: dict[LocatorKey, Located] = {}
    data = _read_member(archive, _RECORDS_NAME)
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = load_json(line, f"{_RECORDS_NAME} line {number}", DEFAULT_LIMITS)
            locator = _locator(item["locator"])
            slot = found.setdefault(locator.key(), Located())
            cls = classes.get(str(item["record_type"]))
            if cls is None:
                slot.error = f"unknown record type {item['record_type']!r}"
                continue
            slot.records.append(rebuild_record(cls, item["record"], locator))
        except (EvidenceError, VerifyError, KeyError, TypeError, ValueError) as exc:
            raise VerifyError(f"{_RECORDS_NAME} line {number} is malformed ({exc})") from exc
    return found


# -- re-applying the indicator or the rule --------------------------------------------------------

def embedded_index(bundle: Bundle) -> IndicatorIndex:
    """An index of the indicators the bundle's findings cite, as the bundle records them."""
    indicators = []
    for finding in bundle.findings:
        ref = finding.indicator
        if ref is None:
            continue
        normal = normalize_indicator_value(ref.kind, ref.value)
        if normal is None:
            continue
        kind, value = normal
        indicators.append(
            Indicator(kind, value, ref.value, ref.malware, ref.feed, ref.feed_sha256, ref.stix_id, "", ref.published)
        )
    return IndicatorIndex.build([], indicators)


def _published_in(index: IndicatorIndex, ref: IndicatorRef) -> bool:
    return any(i.stix_id == ref.stix_id and i.raw_value == ref.value for i in index.indicators())


def _check_one(
    finding: BundleFinding,
    located: Located | None,
    matcher: Matcher,
    rules: dict[str, Rule],
    feeds_given: bool,
    titles: dict[str, str],
) -> FindingCheck:
    problems: list[str] = []
    notes: list[str] = []
    expected_file = finding.locator.sha256
    if located is None or located.file_missing:
        return FindingCheck(
            finding, Status.DIFFERS, (f"file missing (or no longer a regular file): {finding.locator.device_path}",)
        )
    if not expected_file:
        # A record of the acquisition's file listing (name, size, time), not of a file's content: the
        # record hash below is what proves it.
        notes.append("a file-listing entry: its name, size and time are checked, not the file's content")
    elif located.file_sha256 is not None and located.file_sha256 != expected_file:
        problems.append(f"file hash changed: {expected_file} in the bundle, {located.file_sha256} now")
    if located.error:
        problems.append(located.error)
        return FindingCheck(finding, Status.DIFFERS, tuple(problems), tuple(notes))
    candidates = [r for r in located.records if finding.record_type in (None, r.record_type)]
    if not candidates:
        problems.append("record missing: nothing at this location any more (row deleted?)")
        return FindingCheck(finding, Status.DIFFERS, tuple(problems), tuple(notes))
    record = next((r for r in candidates if r.content_sha256() == finding.record_sha256), None)
    if record is None:
        record = candidates[0]
        problems.append(
            f"value changed: the record hashes to {record.content_sha256()}, the bundle says {finding.record_sha256}"
        )
    title = titles.get(finding.artifact, finding.artifact)
    if finding.indicator is not None:
        ref = finding.indicator
        if feeds_given and not _published_in(matcher.index, ref):
            problems.append(f"indicator absent from the given feeds: {ref.stix_id} ({ref.value})")
        else:
            fired = matcher.match(record, finding.artifact, title)
            if not any(_same_indicator(f, finding) for f in fired):
                problems.append(f"indicator {ref.stix_id} ({ref.value}) no longer matches the record")
    elif finding.rule is not None:
        rule = rules.get(finding.rule)
        if rule is None:
            problems.append(f"this version of preuve has no rule {finding.rule!r}")
        elif not any(
            f.rule == finding.rule and f.observable == finding.observable
            and f.locator.key() == finding.locator.key()
            for f in rule.check(record, finding.artifact)
        ):
            problems.append(f"rule {finding.rule} no longer fires on the record")
    status = Status.DIFFERS if problems else Status.CONFIRMED
    return FindingCheck(finding, status, tuple(problems), tuple(notes))


def _same_indicator(fired: Finding, finding: BundleFinding) -> bool:
    ref = fired.indicator
    want = finding.indicator
    return (
        ref is not None and want is not None and ref.stix_id == want.stix_id and ref.value == want.value
        and fired.observable == finding.observable
    )


def verify(
    bundle_path: Path, evidence: Path, iocs: Sequence[Path] = (), options: CheckOptions | None = None
) -> VerifyResult:
    """Re-derive every finding of a bundle from the evidence (or from a proof package made by `export`)."""
    with few_collections():
        return _verify(bundle_path, evidence, iocs, options or CheckOptions())


def _verify(bundle_path: Path, evidence: Path, iocs: Sequence[Path], options: CheckOptions) -> VerifyResult:
    bundle = read_bundle(bundle_path)
    notes: list[str] = []
    if iocs:
        index = load_index(list(iocs), notes.append)
    else:
        index = embedded_index(bundle)
        notes.append("no --iocs given: indicators were re-applied as the bundle records them")
    titles = {a.name: a.title for a in discover_artifacts()}
    archive = _package_zip(evidence)
    compared: list[Sameness] = []
    if archive is not None:
        with archive:
            inner = parse_bundle(_read_member(archive, BUNDLE_NAME), f"{evidence}:{BUNDLE_NAME}")
            if inner.raw != bundle.raw:
                raise VerifyError(f"{evidence}: this proof package was made from another bundle")
            found = records_from_package(archive, bundle)
        notes.append("file hashes are taken from the bundle: a proof package holds records, not whole files")
        source = "proof package"
    else:
        with records_from_evidence(bundle, evidence, options, compared) as (found, kind):
            source = f"evidence ({kind.replace('_', ' ')})"
    matcher = Matcher(index)
    rules = {r.name: r for r in discover_rules()}
    checks = [
        _check_one(f, found.get(f.locator.key()), matcher, rules, bool(iocs), titles) for f in bundle.findings
    ]
    return VerifyResult(source, checks, notes, compared[0] if compared else None)


# -- export ---------------------------------------------------------------------------------------

def export_proof(bundle_path: Path, evidence: Path, out: Path, options: CheckOptions | None = None) -> int:
    """Write a proof package holding the bundle and only the located records; returns the record count.

    Raises VerifyError when a located record cannot be found as the bundle describes it.
    """
    options = options or CheckOptions()
    bundle = read_bundle(bundle_path)
    try:
        out.resolve().relative_to(evidence.resolve())
    except ValueError:
        pass
    else:
        raise VerifyError(f"{out}: the proof package must not be written inside the evidence")
    lines: dict[tuple[LocatorKey, str], bytes] = {}
    missing: list[str] = []
    with records_from_evidence(bundle, evidence, options) as (found, _):
        for finding in bundle.findings:
            slot = found.get(finding.locator.key())
            record = None
            if slot is not None:
                record = next((r for r in slot.records if r.content_sha256() == finding.record_sha256), None)
            if record is None:
                missing.append(finding.id)
                continue
            key = (record.locator.key(), record.record_type)
            if key not in lines:
                entry = {
                    "record_type": record.record_type,
                    "locator": finding.locator.as_dict(),
                    "record_sha256": record.content_sha256(),
                    "record": orjson.loads(canonical_bytes(record.fields())),
                }
                lines[key] = dumps(entry) + b"\n"
    if missing:
        raise VerifyError(
            f"{len(missing)} finding(s) no longer match the evidence (first: {missing[0]}); run `preuve verify`"
        )
    manifest = {
        "format": PACKAGE_FORMAT,
        "records": len(lines),
        "findings": len(bundle.findings),
        "note": "Only the records that findings cite, with their hashes. File hashes are those of the bundle.",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in (
            (_MANIFEST_NAME, dumps(manifest, indent=True) + b"\n"),
            (BUNDLE_NAME, bundle.raw),
            (_RECORDS_NAME, b"".join(lines[k] for k in sorted(lines, key=repr))),
        ):
            archive.writestr(zipfile.ZipInfo(name, date_time=_ZIP_TIME), data, compress_type=zipfile.ZIP_DEFLATED)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buffer.getvalue())
    return len(lines)
