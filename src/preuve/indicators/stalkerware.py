"""Echap's stalkerware indicators (``ioc.yaml``, CC-BY 4.0) converted to a STIX 2.1 bundle.

AssoEchap/stalkerware-indicators lists, per stalkerware family: its names,
Android package names, signing-certificate hashes (SHA-1, upper-case hex),
websites, distribution hosts and C2 domains and IPs. Each family becomes a
``malware`` object named as Echap names it (so a finding says "TheTruthSpy"),
each value an ``indicator`` linked to it by an ``indicates`` relationship.
Ids are UUIDv5 of the content, so converting the same file twice gives the
same bundle, byte for byte.

The file is read with PyYAML's safe loader; entries or values of an
unexpected shape are skipped and counted, never fatal.
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from preuve.evidence.errors import PreuveError

_NAMESPACE = uuid.UUID("1d5f0c6e-2b7a-4f0e-9c1d-7374616c6b72")
SOURCE_URL = "https://github.com/AssoEchap/stalkerware-indicators"
LICENSE = "CC-BY-4.0"
MAX_YAML_BYTES = 64 * 1024**2
_CERT_KINDS = {32: "MD5", 40: "SHA-1", 64: "SHA-256"}


class StalkerwareFeedError(PreuveError):
    """The ioc.yaml cannot be converted at all."""


@dataclass(frozen=True, slots=True)
class ConversionStats:
    families: int
    indicators: int
    skipped: int


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _strings(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [v.strip() for v in value if isinstance(v, str) and v.strip()]


def _host_pattern(host: str) -> str:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return f"[domain-name:value = {_literal(host.lower())}]"
    kind = "ipv4-addr" if ip.version == 4 else "ipv6-addr"
    return f"[{kind}:value = {_literal(str(ip))}]"


def _patterns(entry: dict[str, object]) -> tuple[list[tuple[str, str]], int]:
    """(pattern, what it is) pairs of one family, and how many values were unusable."""
    out: list[tuple[str, str]] = []
    skipped = 0
    for package in _strings(entry.get("packages")):
        out.append((f"[app:id = {_literal(package)}]", "package"))
    for cert in _strings(entry.get("certificates")):
        algo = _CERT_KINDS.get(len(cert))
        if algo is None or any(c not in "0123456789abcdefABCDEF" for c in cert):
            skipped += 1
            continue
        out.append((f"[app:cert.'{algo}' = {_literal(cert.upper())}]", "certificate"))
    hosts = _strings(entry.get("websites")) + _strings(entry.get("distribution"))
    c2 = entry.get("c2")
    if isinstance(c2, dict):
        hosts += _strings(c2.get("domains")) + _strings(c2.get("ips"))
    seen: set[str] = set()
    for host in hosts:
        pattern = _host_pattern(host)
        if pattern not in seen:
            seen.add(pattern)
            out.append((pattern, "host"))
    return out, skipped


def _id(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(_NAMESPACE, '|'.join(parts))}"


def convert(data: object, created: datetime) -> tuple[dict[str, object], ConversionStats]:
    """The STIX bundle for a parsed ioc.yaml."""
    if not isinstance(data, list):
        raise StalkerwareFeedError("ioc.yaml should be a list of stalkerware families")
    stamp = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    objects: list[dict[str, object]] = []
    families = indicators = skipped = 0
    for entry in data:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
            skipped += 1
            continue
        name = entry["name"].strip()
        families += 1
        malware_id = _id("malware", name)
        malware: dict[str, object] = {
            "type": "malware", "spec_version": "2.1", "id": malware_id, "created": stamp, "modified": stamp,
            "name": name, "is_family": True, "malware_types": ["spyware"],
            "external_references": [{"source_name": "stalkerware-indicators", "url": SOURCE_URL}],
        }
        aliases = [n for n in _strings(entry.get("names")) if n != name]
        if aliases:
            malware["aliases"] = aliases
        kind = entry.get("type")
        if isinstance(kind, str):
            malware["description"] = f"{kind} (Echap stalkerware-indicators, {LICENSE})"
        objects.append(malware)
        patterns, bad = _patterns(entry)
        skipped += bad
        for pattern, what in patterns:
            indicator_id = _id("indicator", name, pattern)
            objects.append({
                "type": "indicator", "spec_version": "2.1", "id": indicator_id, "created": stamp,
                "modified": stamp, "name": f"{name} {what}", "indicator_types": ["malicious-activity"],
                "pattern": pattern, "pattern_type": "stix", "pattern_version": "2.1", "valid_from": stamp,
            })
            objects.append({
                "type": "relationship", "spec_version": "2.1", "id": _id("relationship", indicator_id, malware_id),
                "created": stamp, "modified": stamp, "relationship_type": "indicates",
                "source_ref": indicator_id, "target_ref": malware_id,
            })
            indicators += 1
    bundle: dict[str, object] = {"type": "bundle", "id": _id("bundle", "stalkerware", stamp), "objects": objects}
    return bundle, ConversionStats(families, indicators, skipped)


def load_yaml(path: Path) -> object:
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise StalkerwareFeedError(f"{path}: {size} bytes is more than an ioc.yaml should hold")
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StalkerwareFeedError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise StalkerwareFeedError(f"{path}: not valid YAML ({exc})") from exc


def convert_file(source: Path, target: Path, created: datetime | None = None) -> ConversionStats:
    """Convert an ioc.yaml into a STIX 2.1 file. `created` defaults to the yaml's modification time."""
    data = load_yaml(source)
    when = created or datetime.fromtimestamp(source.stat().st_mtime, UTC)
    bundle, stats = convert(data, when)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(bundle, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return stats


def iter_patterns(data: object) -> Iterator[tuple[str, str]]:
    """(family, pattern) pairs, for callers that want the indicators without a bundle."""
    if not isinstance(data, list):
        return
    for entry in data:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            for pattern, _ in _patterns(entry)[0]:
                yield entry["name"].strip(), pattern
