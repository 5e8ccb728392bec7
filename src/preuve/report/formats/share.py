"""Sharing findings with other tools: STIX 2.1 sightings and a MISP event, from an output folder.

Both are built from OUT/findings.json and OUT/run.json, so findings can be
shared later without touching the evidence again. Objects are plain JSON
written here rather than through the ``stix2`` or ``pymisp`` libraries: the
shapes are small and fixed, ids must be deterministic (the same output
folder gives byte-identical exports) and those libraries would pull large
dependency trees onto analysts' offline machines.

STIX: each indicator finding becomes a ``sighting`` whose
``sighting_of_ref`` is the published indicator's STIX id, with an
``observed-data`` object for what was seen (and the observable itself as an
SCO) and ``where_sighted_refs`` pointing at an ``identity`` for the device.
Findings of heuristic rules have no indicator to cite: they become
observed-data with a ``note`` that explains them.

MISP: one event, distribution "your organisation only" and tlp:red by
default, because a victim's phone is sensitive; one attribute per
observable, with the finding's explanation and locator in the comment.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path

import orjson

from preuve.evidence.errors import PreuveError
from preuve.model import Finding, IndicatorRef, Kind, Locator, Observable, Severity

PREUVE_NAMESPACE = uuid.UUID("1b671a64-40d5-491e-99b0-da01ff1f3341")
STIX_SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")  # from the STIX 2.1 specification
MAX_EXPORT_INPUT = 1024**3


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What an export needs to know about the run."""

    evidence: str
    acquisition: str
    platform: str
    finished: str
    tool_version: str


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


_LOCATOR_FIELDS = frozenset(f.name for f in fields(Locator))


def finding_from_dict(item: dict[str, object]) -> Finding:
    """A Finding back from its findings.json form (the inverse of report.findings.finding_to_dict)."""
    loc = item["locator"]
    if not isinstance(loc, dict):
        raise ValueError("locator is not an object")
    locator = Locator(**{k: v for k, v in loc.items() if k in _LOCATOR_FIELDS})
    ind = item.get("indicator")
    indicator = None
    if isinstance(ind, dict):
        indicator = IndicatorRef(
            kind=Kind(ind["kind"]), value=str(ind["value"]), malware=str(ind["malware"]), feed=str(ind["feed"]),
            feed_sha256=str(ind["feed_sha256"]), stix_id=str(ind["stix_id"]), published=ind.get("published"),
            valid_until=ind.get("valid_until"),
        )
    obs = item.get("observable")
    observable = Observable(Kind(obs["kind"]), str(obs["value"])) if isinstance(obs, dict) else None
    return Finding(
        severity=Severity.parse(str(item["severity"])),
        artifact=str(item["artifact"]),
        explanation=str(item["explanation"]),
        locator=locator,
        rule=item.get("rule") if isinstance(item.get("rule"), str) else None,  # type: ignore[arg-type]
        indicator=indicator,
        observable=observable,
        timestamp=_parse_time(item.get("timestamp")),
        record_sha256=item.get("record_sha256") if isinstance(item.get("record_sha256"), str) else None,  # type: ignore[arg-type]
        id=str(item.get("id") or ""),
    )


def _read_json(path: Path) -> dict[str, object]:
    try:
        if path.stat().st_size > MAX_EXPORT_INPUT:
            raise PreuveError(f"{path}: too large to export")
        doc = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise PreuveError(f"{path}: cannot be read ({exc.strerror or exc}); is this a `preuve check` output folder?") from exc
    except orjson.JSONDecodeError as exc:
        raise PreuveError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise PreuveError(f"{path}: not a preuve output document")
    return doc


def load_output(out: Path) -> tuple[RunFacts, list[Finding]]:
    """The findings and run facts of a `preuve check` output folder."""
    findings_doc = _read_json(out / "findings.json")
    run = _read_json(out / "run.json")
    items = findings_doc.get("findings")
    if not isinstance(items, list):
        raise PreuveError(f"{out / 'findings.json'}: no findings list")
    try:
        findings = [finding_from_dict(i) for i in items if isinstance(i, dict)]
    except (KeyError, ValueError, TypeError) as exc:
        raise PreuveError(f"{out / 'findings.json'}: a finding cannot be read ({exc})") from exc
    acquisition = run.get("acquisition") if isinstance(run.get("acquisition"), dict) else {}
    tool = run.get("tool") if isinstance(run.get("tool"), dict) else {}
    assert isinstance(acquisition, dict) and isinstance(tool, dict)
    facts = RunFacts(
        evidence=str(run.get("evidence", "")),
        acquisition=str(acquisition.get("kind", "")),
        platform=str(acquisition.get("platform", "")),
        finished=str(run.get("finished", "")),
        tool_version=str(tool.get("preuve", "")),
    )
    return facts, findings


def _stix_time(value: datetime | str | None, fallback: str) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    parsed = _parse_time(value)
    if parsed is not None:
        return _stix_time(parsed, fallback)
    return fallback


def _sid(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(PREUVE_NAMESPACE, '|'.join(parts))}"


def _sco(observable: Observable) -> dict[str, object]:
    """The STIX Cyber-observable for what was seen (deterministic id from its contributing properties)."""
    kind, value = observable.kind, observable.value
    body: dict[str, object]
    if kind == Kind.URL:
        # STIX wants a URI; a link seen without a scheme (as messages show them) gets http:// and keeps
        # its text as seen.
        body = {"type": "url", "value": value} if "://" in value else {
            "type": "url", "value": "http://" + value, "x_preuve_as_seen": value,
        }
    elif kind == Kind.DOMAIN:
        body = {"type": "domain-name", "value": value}
    elif kind == Kind.IP:
        body = {"type": "ipv6-addr" if ":" in value else "ipv4-addr", "value": value}
    elif kind == Kind.EMAIL:
        body = {"type": "email-addr", "value": value}
    elif kind in (Kind.FILE_NAME, Kind.FILE_PATH):
        body = {"type": "file", "name": value.rsplit("/", 1)[-1] or value}
        if kind == Kind.FILE_PATH:
            body["x_preuve_path"] = value
    elif kind in (Kind.SHA256, Kind.SHA1, Kind.MD5):
        body = {"type": "file", "hashes": {{"sha256": "SHA-256", "sha1": "SHA-1", "md5": "MD5"}[kind.value]: value}}
    # A process name has no place in STIX 2.1's process object (no name property): custom SCO below.
    elif kind == Kind.APP_ID:
        body = {"type": "software", "name": value, "x_preuve_app_id": value}
    else:
        body = {"type": "x-preuve-observable", "kind": kind.value, "value": value}
    blob = orjson.dumps({k: v for k, v in body.items() if k != "type"}, option=orjson.OPT_SORT_KEYS).decode()
    body["id"] = f"{body['type']}--{uuid.uuid5(STIX_SCO_NAMESPACE, blob)}"
    body["spec_version"] = "2.1"
    return body


def _device_identity(facts: RunFacts) -> dict[str, object]:
    return {
        "type": "identity", "spec_version": "2.1", "id": _sid("identity", "device", facts.evidence),
        "created": _stix_time(facts.finished, facts.finished), "modified": _stix_time(facts.finished, facts.finished),
        "name": f"{facts.platform} device ({facts.acquisition}) checked by preuve",
        "identity_class": "system",
        "description": f"The {facts.acquisition} at {facts.evidence}",
    }


def stix_bundle(facts: RunFacts, findings: list[Finding]) -> dict[str, object]:
    """Findings as a STIX 2.1 bundle of sightings (indicator findings) and notes (rule findings)."""
    stamp = _stix_time(facts.finished, "1970-01-01T00:00:00.000Z")
    device = _device_identity(facts)
    objects: list[dict[str, object]] = [device]
    seen_sco: set[str] = set()
    for finding in findings:
        when = _stix_time(finding.timestamp, stamp)
        refs: list[str] = []
        if finding.observable is not None:
            sco = _sco(finding.observable)
            if sco["id"] not in seen_sco:
                seen_sco.add(str(sco["id"]))
                objects.append(sco)
            refs.append(str(sco["id"]))
        else:
            sco = {"type": "x-preuve-record", "spec_version": "2.1",
                   "id": _sid("x-preuve-record", finding.locator.sha256, str(finding.locator.as_dict())),
                   **finding.locator.as_dict()}
            if sco["id"] not in seen_sco:
                seen_sco.add(str(sco["id"]))
                objects.append(sco)
            refs.append(str(sco["id"]))
        observed = {
            "type": "observed-data", "spec_version": "2.1", "id": _sid("observed-data", finding.id),
            "created": stamp, "modified": stamp, "first_observed": when, "last_observed": when,
            "number_observed": 1, "object_refs": refs,
            "x_preuve_finding_id": finding.id, "x_preuve_artifact": finding.artifact,
            "x_preuve_locator": finding.locator.as_dict(), "x_preuve_record_sha256": finding.record_sha256,
        }
        objects.append(observed)
        if finding.indicator is not None:
            objects.append({
                "type": "sighting", "spec_version": "2.1", "id": _sid("sighting", finding.id),
                "created": stamp, "modified": stamp, "first_seen": when, "last_seen": when, "count": 1,
                "sighting_of_ref": finding.indicator.stix_id,
                "observed_data_refs": [observed["id"]],
                "where_sighted_refs": [device["id"]],
                "description": finding.explanation,
                "x_preuve_severity": finding.severity.label,
                "x_preuve_malware": finding.indicator.malware,
                "x_preuve_feed": finding.indicator.feed,
                "x_preuve_feed_sha256": finding.indicator.feed_sha256,
            })
        else:
            objects.append({
                "type": "note", "spec_version": "2.1", "id": _sid("note", finding.id),
                "created": stamp, "modified": stamp,
                "abstract": f"{finding.severity.label}: {finding.rule}",
                "content": finding.explanation,
                "object_refs": [observed["id"]],
                "x_preuve_severity": finding.severity.label,
                "x_preuve_rule": finding.rule,
            })
    return {"type": "bundle", "id": _sid("bundle", facts.evidence, facts.finished), "objects": objects}


_MISP_TYPES: dict[Kind, tuple[str, str]] = {
    Kind.URL: ("url", "Network activity"),
    Kind.DOMAIN: ("domain", "Network activity"),
    Kind.IP: ("ip-dst", "Network activity"),
    Kind.EMAIL: ("email-src", "Payload delivery"),
    Kind.FILE_PATH: ("filename", "Artifacts dropped"),
    Kind.FILE_NAME: ("filename", "Artifacts dropped"),
    Kind.SHA256: ("sha256", "Artifacts dropped"),
    Kind.SHA1: ("sha1", "Artifacts dropped"),
    Kind.MD5: ("md5", "Artifacts dropped"),
}
_THREAT_LEVEL = {Severity.CRITICAL: "1", Severity.HIGH: "1", Severity.MEDIUM: "2", Severity.LOW: "3", Severity.INFO: "4"}


def misp_event(facts: RunFacts, findings: list[Finding]) -> dict[str, object]:
    """Findings as one MISP event (JSON as MISP imports it): one attribute per finding with an observable."""
    finished = _parse_time(facts.finished)
    day = finished.date().isoformat() if finished else "1970-01-01"
    epoch = str(int(finished.timestamp())) if finished else "0"
    malware = sorted({f.indicator.malware for f in findings if f.indicator is not None})
    worst = max((f.severity for f in findings), default=Severity.INFO)
    attributes: list[dict[str, object]] = []
    for finding in findings:
        if finding.observable is None:
            continue
        kind = finding.observable.kind
        attr_type, category = _MISP_TYPES.get(kind, ("text", "Other"))
        loc = finding.locator
        where = f"{finding.artifact} {loc.device_path} " + ";".join(
            f"{k}={v}" for k, v in loc.as_dict().items() if k not in ("device_path", "sha256")
        )
        cited = (
            f" Indicator {finding.indicator.stix_id} of {finding.indicator.malware} ({finding.indicator.feed})."
            if finding.indicator
            else f" Rule {finding.rule}."
        )
        attribute: dict[str, object] = {
            "uuid": str(uuid.uuid5(PREUVE_NAMESPACE, "misp-attribute|" + finding.id)),
            "type": attr_type,
            "category": category,
            "value": finding.observable.value,
            "to_ids": False,  # a sighting on a victim's phone, not a detection rule to push
            "distribution": "5",
            "comment": (f"[{kind.value}] " if attr_type == "text" else "")
            + f"{finding.severity.label}: {finding.explanation}{cited} At {where.strip()} "
            f"(file SHA-256 {loc.sha256}).",
            "timestamp": epoch,
        }
        if finding.timestamp is not None:
            attribute["first_seen"] = _stix_time(finding.timestamp, "")
        attributes.append(attribute)
    what = ", ".join(malware) if malware else "no known spyware"
    return {
        "Event": {
            "uuid": str(uuid.uuid5(PREUVE_NAMESPACE, f"misp-event|{facts.evidence}|{facts.finished}")),
            "info": f"preuve {facts.tool_version}: {what} found on a device ({facts.platform}, {facts.acquisition})",
            "date": day,
            "timestamp": epoch,
            "threat_level_id": _THREAT_LEVEL[worst],
            "analysis": "1",  # ongoing: a check is a first analysis, an expert confirms
            "distribution": "0",  # your organisation only: a victim's data
            "published": False,
            "Tag": [{"name": "tlp:red"}] + [{"name": f'misp-galaxy:tool="{m}"'} for m in malware],
            "Attribute": attributes,
        }
    }


def export(out: Path, target: Path, misp: bool = False) -> int:
    """Write the export of output folder `out` to `target`; returns how many findings it carries."""
    facts, findings = load_output(out)
    doc = misp_event(facts, findings) if misp else stix_bundle(facts, findings)
    target.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    return len(findings)
