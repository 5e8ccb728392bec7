"""Write STIX 2.1 bundles: indicators linked to the malware they indicate."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_NAMESPACE = uuid.UUID("6f0f9b4e-6d2c-4d8e-9d63-70726575766f")
_STAMP = "2024-01-01T00:00:00.000Z"


@dataclass(frozen=True)
class IndicatorSpec:
    pattern: str
    malware: str
    valid_from: str = _STAMP
    revoked: bool = False
    valid_until: str | None = None


def _id(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(_NAMESPACE, '|'.join(parts))}"


def stix_literal(value: str) -> str:
    """A STIX 2.1 pattern string constant: in single quotes, with ' and \\ escaped by a backslash."""
    return "'" + "".join("\\" + c if c in "'\\" else c for c in value) + "'"


def bundle(indicators: Sequence[IndicatorSpec], name: str = "test") -> dict[str, object]:
    """A deterministic bundle (ids derived from content)."""
    objects: list[dict[str, object]] = []
    malware_ids: dict[str, str] = {}
    for spec in indicators:
        if spec.malware not in malware_ids:
            mid = _id("malware", name, spec.malware)
            malware_ids[spec.malware] = mid
            objects.append(
                {
                    "type": "malware", "spec_version": "2.1", "id": mid, "created": _STAMP, "modified": _STAMP,
                    "name": spec.malware, "is_family": False,
                }
            )
    for spec in indicators:
        iid = _id("indicator", name, spec.pattern, spec.malware)
        indicator: dict[str, object] = {
            "type": "indicator", "spec_version": "2.1", "id": iid, "created": _STAMP, "modified": _STAMP,
            "indicator_types": ["malicious-activity"], "pattern": spec.pattern, "pattern_type": "stix",
            "pattern_version": "2.1", "valid_from": spec.valid_from,
        }
        if spec.valid_until is not None:
            indicator["valid_until"] = spec.valid_until
        if spec.revoked:
            indicator["revoked"] = True
        objects.append(indicator)
        objects.append(
            {
                "type": "relationship", "spec_version": "2.1", "id": _id("relationship", iid),
                "created": _STAMP, "modified": _STAMP, "relationship_type": "indicates",
                "source_ref": iid, "target_ref": malware_ids[spec.malware],
            }
        )
    return {"type": "bundle", "id": _id("bundle", name), "objects": objects}


def write_bundle(path: Path, indicators: Sequence[IndicatorSpec], name: str = "test") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(bundle(indicators, name), indent=1), encoding="utf-8")
    return path
