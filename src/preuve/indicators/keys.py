"""Lookup keys: the indicator index's matching semantics, expressed as keys a database can index.

The case store keeps, for every stored observable, the keys under which an
indicator can find it; a retro-hunt then asks, for each indicator, an index
seek (exact key) or an index range (a reversed-domain prefix), instead of
scanning stored observables per indicator. These functions must agree with
:meth:`preuve.indicators.index.IndicatorIndex.match`; a test checks that they do.
"""

from __future__ import annotations

import posixpath

from preuve.indicators.normalize import (
    normalize_domain,
    normalize_hash,
    normalize_ip,
    normalize_path,
    split_url,
)
from preuve.indicators.stix import Indicator
from preuve.model import Kind, Observable

_TRUNCATED = (15, 16)
_HASHES = {Kind.SHA256, Kind.SHA1, Kind.MD5, Kind.CERT_SHA256, Kind.CERT_SHA1, Kind.CERT_MD5}


def reversed_domain(domain: str) -> str:
    return ".".join(reversed(domain.split(".")))


def _host_keys(host: str) -> list[tuple[str, str]]:
    ip = normalize_ip(host)
    if ip is not None:
        return [("ip", ip)]
    domain = normalize_domain(host)
    return [("rdomain", reversed_domain(domain))] if domain else []


def observable_keys(observable: Observable) -> list[tuple[str, str]]:
    """The (key kind, key) pairs an indicator may find this observable under."""
    kind, value = observable.kind, observable.value
    if not value:
        return []
    if kind == Kind.URL:
        parts = split_url(value)
        if parts is None:
            return []
        return [("url", parts[1]), *_host_keys(parts[0])]
    if kind in (Kind.DOMAIN, Kind.IP):
        return _host_keys(value.strip())
    if kind == Kind.PROCESS:
        keys = [("process", value)]
        if len(value) in _TRUNCATED:
            keys.append(("process_prefix", value))
        return keys
    if kind == Kind.FILE_PATH:
        path = normalize_path(value)
        return [("file_path", path), ("file_name", posixpath.basename(path))]
    if kind in _HASHES:
        return [(kind.value, normalize_hash(value))]
    if kind in (Kind.EMAIL, Kind.APP_ID):
        return [(kind.value, value.strip().lower())]
    if kind == Kind.PROFILE_ID:
        return [(kind.value, value.strip().upper())]
    return [(kind.value, value.strip())]


def indicator_queries(indicator: Indicator) -> list[tuple[str, str, bool]]:
    """(key kind, key, is_prefix) lookups that find every observable the indicator matches."""
    kind, value = indicator.kind, indicator.value
    if kind == Kind.DOMAIN:
        rev = reversed_domain(value)
        return [("rdomain", rev, False), ("rdomain", rev + ".", True)]
    if kind == Kind.IP:
        return [("ip", value, False)]
    if kind == Kind.URL:
        return [("url", value, False)]
    if kind == Kind.FILE_PATH:  # the path itself and anything inside it (a folder's indicator)
        return [("file_path", value, False), ("file_path", value + "/", True)]
    if kind == Kind.PROCESS:
        out = [("process", value, False)]
        out.extend(("process_prefix", value[:n], False) for n in _TRUNCATED if len(value) > n)
        return out
    return [(kind.value, value, False)]
