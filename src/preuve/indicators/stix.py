"""Loading STIX 2.1 bundles into indicators that keep their provenance."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import orjson

from preuve.evidence.errors import PreuveError
from preuve.indicators.normalize import (
    normalize_domain,
    normalize_hash,
    normalize_ip,
    normalize_path,
    split_url,
    strip_www,
)
from preuve.indicators.patterns import PatternError, parse_pattern
from preuve.model import IndicatorRef, Kind

MAX_FEED_BYTES = 512 * 1024**2
FEED_SUFFIXES = (".stix2", ".stix", ".json")


class FeedError(PreuveError):
    """An indicator file that cannot be used at all (the message names it)."""


@dataclass(frozen=True, slots=True)
class Feed:
    """One indicator file as loaded: where it came from, its hash, what it gave."""

    name: str
    path: str
    sha256: str
    indicators: int
    skipped: int
    malware: tuple[str, ...]
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Indicator:
    kind: Kind
    value: str  # normalised for matching
    raw_value: str  # as published
    malware: str
    feed: str
    feed_sha256: str
    stix_id: str
    pattern: str
    published: str | None = None
    valid_until: str | None = None

    def ref(self) -> IndicatorRef:
        return IndicatorRef(
            kind=self.kind,
            value=self.raw_value,
            malware=self.malware,
            feed=self.feed,
            feed_sha256=self.feed_sha256,
            stix_id=self.stix_id,
            published=self.published,
            valid_until=self.valid_until,
        )


# Values no real indicator reaches, refused before they are filed (a domain's or a path's prefix key
# is filed under each of its labels or folders: a hostile feed's 100 KB domain would take gigabytes):
MAX_VALUE_CHARS = 8192  # any value (a URL with a long query stays well within it)
MAX_DOMAIN_CHARS = 253  # a domain name, as DNS bounds it
MAX_PATH_PARTS = 64  # a path's folders: deeper than any evidence path preuve lists (Limits.max_path_depth)


def value_refusal(kind: Kind, value: str) -> str | None:
    """Why a normalised indicator value is refused, or None (see MAX_VALUE_CHARS)."""
    if len(value) > MAX_VALUE_CHARS:
        return f"a value of {len(value)} characters, more than {MAX_VALUE_CHARS}"
    if kind == Kind.DOMAIN and len(value) > MAX_DOMAIN_CHARS:
        return f"a domain of {len(value)} characters, more than a domain name can have ({MAX_DOMAIN_CHARS})"
    if kind == Kind.FILE_PATH and value.count("/") > MAX_PATH_PARTS:
        return f"a path of {value.count('/')} folders, deeper than any path read ({MAX_PATH_PARTS})"
    return None


def _shown(value: str, most: int = 80) -> str:
    """A value as a warning quotes it: its repr, cut to `most` characters."""
    return repr(value) if len(value) <= most else repr(value[:most]) + f"… ({len(value)} characters)"


def normalize_indicator_value(kind: Kind, value: str) -> tuple[Kind, str] | None:
    """The matching form of a published value; a domain that is an IP becomes an IP indicator."""
    text = value.strip()
    if not text:
        return None
    if kind in (Kind.DOMAIN, Kind.IP):
        ip = normalize_ip(text)
        if ip is not None:
            return Kind.IP, ip
        if kind == Kind.IP:
            return None
        domain = strip_www(normalize_domain(text))
        return (Kind.DOMAIN, domain) if domain else None
    if kind == Kind.URL:
        parts = split_url(text)
        return (Kind.URL, parts[1]) if parts else None
    if kind in (Kind.SHA256, Kind.SHA1, Kind.MD5, Kind.CERT_SHA256, Kind.CERT_SHA1, Kind.CERT_MD5):
        return kind, normalize_hash(text)
    if kind == Kind.FILE_PATH:
        return kind, normalize_path(text)
    if kind in (Kind.EMAIL, Kind.APP_ID):
        return kind, text.lower()
    if kind == Kind.PROFILE_ID:
        return kind, text.upper()
    return kind, text


def feed_name_for(path: Path) -> str:
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


class _Skips:
    """The indicators of one feed that are skipped: the first few each said with its reason, the rest
    counted by kind of reason in one warning (a feed of thousands of unusable indicators must not bury
    the run's other warnings)."""

    SAID = 10

    def __init__(self, path: Path, warn: Callable[[str], None]) -> None:
        self.path, self.warn = path, warn
        self.count = 0  # revoked ones included (not warned of)
        self.said = 0
        self.rest: dict[str, int] = {}

    def add(self, sid: str, reason: str) -> None:
        self.count += 1
        if self.said < self.SAID:
            self.said += 1
            self.warn(f"{self.path}: indicator {sid or '?'} skipped: {reason}")
            return
        # the kind of reason: up to its first quoted value, parenthesis or clause
        kind = re.split(r" ['(\"]|; |: ", reason, maxsplit=1)[0]
        self.rest[kind] = self.rest.get(kind, 0) + 1

    def close(self) -> None:
        if not self.rest:
            return
        total = sum(self.rest.values())
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.rest.items(), key=lambda item: (-item[1], item[0])))
        self.warn(f"{self.path}: {total} more indicator(s) skipped ({kinds})")


def load_feed(
    path: Path, warn: Callable[[str], None], name: str | None = None, source: str | None = None
) -> tuple[Feed, list[Indicator]]:
    """Read one STIX 2.1 bundle. A bad indicator is skipped with a warning, never the file."""
    try:
        size = path.stat().st_size
        if size > MAX_FEED_BYTES:
            raise FeedError(f"{path}: indicator file of {size} bytes is larger than {MAX_FEED_BYTES}")
        data = path.read_bytes()
    except OSError as exc:
        raise FeedError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    digest = hashlib.sha256(data).hexdigest()
    try:
        bundle = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FeedError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(bundle, dict) or not isinstance(bundle.get("objects"), list):
        raise FeedError(f"{path}: not a STIX bundle (no 'objects' list)")
    feed = name or feed_name_for(path)
    objects = [o for o in bundle["objects"] if isinstance(o, dict)]

    malware_names: dict[str, str] = {}
    for obj in objects:
        if obj.get("type") in ("malware", "tool", "intrusion-set", "threat-actor", "campaign"):
            sid = obj.get("id")
            if isinstance(sid, str):
                malware_names[sid] = str(obj.get("name") or sid)
    targets: dict[str, list[str]] = {}
    for obj in objects:
        if obj.get("type") == "relationship" and obj.get("relationship_type") == "indicates":
            src, dst = obj.get("source_ref"), obj.get("target_ref")
            if isinstance(src, str) and isinstance(dst, str) and dst in malware_names:
                targets.setdefault(src, []).append(malware_names[dst])
    sole = next(iter(malware_names.values())) if len(set(malware_names.values())) == 1 else None
    fallback = sole or path.stem

    indicators: list[Indicator] = []
    skips = _Skips(path, warn)
    for obj in objects:
        if obj.get("type") != "indicator":
            continue
        sid = str(obj.get("id") or "")
        if obj.get("revoked") is True:
            skips.count += 1
            continue
        pattern_type = obj.get("pattern_type", "stix")
        pattern = obj.get("pattern")
        if pattern_type != "stix" or not isinstance(pattern, str):
            why = (f"pattern type {pattern_type!r} is not STIX" if pattern_type != "stix"
                   else f"its pattern is {type(pattern).__name__}, not text")
            skips.add(sid, why)
            continue
        try:
            # (the STIX library, slow, says why for the feed's first refusals only: the others are
            # counted by their reason anyway)
            pairs = parse_pattern(pattern, ask_library=skips.count < _Skips.SAID)
        except PatternError as exc:
            skips.add(sid, str(exc))
            continue
        malware = ", ".join(sorted(set(targets.get(sid, [])))) or fallback
        published = obj.get("valid_from") or obj.get("created")
        valid_until = obj.get("valid_until")
        for kind, raw in pairs:
            normal = normalize_indicator_value(kind, raw)
            if normal is None:
                skips.add(sid, f"empty or unusable value {_shown(raw)}")
                continue
            refused = value_refusal(*normal)
            if refused is not None:
                skips.add(sid, refused)
                continue
            indicators.append(
                Indicator(
                    kind=normal[0],
                    value=normal[1],
                    raw_value=raw,
                    malware=malware,
                    feed=feed,
                    feed_sha256=digest,
                    stix_id=sid,
                    pattern=pattern,
                    published=published if isinstance(published, str) else None,
                    valid_until=valid_until if isinstance(valid_until, str) else None,
                )
            )
    skips.close()
    info = Feed(
        name=feed,
        path=str(path),
        sha256=digest,
        indicators=len(indicators),
        skipped=skips.count,
        malware=tuple(sorted(set(malware_names.values()))),
        source=source,
    )
    return info, indicators


def feed_files(paths: Iterable[Path]) -> list[Path]:
    """STIX files named directly, or found (recursively, sorted) in folders."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FEED_SUFFIXES)
            )
        elif path.is_file():
            out.append(path)
        elif path.exists() or path.is_symlink():
            raise FeedError(f"{path}: not an indicator file or folder (neither a regular file nor a folder)")
        else:
            raise FeedError(f"{path}: no such indicator file or folder")
    return out
