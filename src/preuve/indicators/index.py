"""The compiled indicator index: one generic lookup for every observable.

Exact kinds are hash lookups. Domains match at label boundaries: the
indicator ``a.example.net`` matches ``a.example.net`` and ``x.y.a.example.net``
but not ``bada.example.net``; a lookup walks the observed domain's parents,
one dictionary probe each. URLs match their normalised form exactly and their
host as a domain (or an IP). File paths match exactly (``/private/var`` and
``/var`` alike) and by their last component against file-name indicators.
Process names cut to 15 or 16 characters by the kernel match the indicators
they are a prefix of.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from preuve.indicators.normalize import (
    normalize_domain,
    normalize_hash,
    normalize_ip,
    normalize_path,
    plain_host,
    refang,
    split_url,
    url_netloc,
)
from preuve.indicators.stix import Feed, FeedError, Indicator, feed_files, load_feed
from preuve.model import Kind, Observable

_TRUNCATED_PROCESS_LENGTHS = (15, 16)
_HOST_CACHE = 50_000
_HASH_KINDS = {Kind.SHA256, Kind.SHA1, Kind.MD5, Kind.CERT_SHA256, Kind.CERT_SHA1, Kind.CERT_MD5}


@dataclass(slots=True)
class IndicatorIndex:
    feeds: list[Feed] = field(default_factory=list)
    _exact: dict[Kind, dict[str, list[Indicator]]] = field(default_factory=dict)
    _process_prefix: dict[str, list[Indicator]] = field(default_factory=dict)
    # Hosts repeat across thousands of links and messages: the indicators a host matches are kept
    # (per index, bounded, emptied whenever an indicator is added) so each host is normalised once.
    _hosts: dict[str, list[Indicator]] = field(default_factory=dict)
    _netlocs: dict[str, list[Indicator]] = field(default_factory=dict)
    count: int = 0

    @classmethod
    def build(cls, feeds: list[Feed], indicators: Iterable[Indicator]) -> IndicatorIndex:
        index = cls(feeds=list(feeds))
        for indicator in indicators:
            index.add(indicator)
        return index

    def add(self, indicator: Indicator) -> None:
        self._hosts.clear()
        self._netlocs.clear()
        bucket = self._exact.setdefault(indicator.kind, {}).setdefault(indicator.value, [])
        if any(i.stix_id == indicator.stix_id and i.feed_sha256 == indicator.feed_sha256 for i in bucket):
            return
        bucket.append(indicator)
        self.count += 1
        if indicator.kind == Kind.PROCESS:
            for length in _TRUNCATED_PROCESS_LENGTHS:
                if len(indicator.value) > length:
                    self._process_prefix.setdefault(indicator.value[:length], []).append(indicator)

    def indicators(self) -> Iterator[Indicator]:
        """Every indicator once, in the order they were added."""
        for table in self._exact.values():
            for bucket in table.values():
                yield from bucket

    def kinds(self) -> set[Kind]:
        return set(self._exact)

    def __len__(self) -> int:
        return self.count

    def _get(self, kind: Kind, value: str) -> list[Indicator]:
        table = self._exact.get(kind)
        if not table:
            return []
        return table.get(value, [])

    def _domain(self, domain: str) -> list[Indicator]:
        table = self._exact.get(Kind.DOMAIN)
        if not table or not domain:
            return []
        # The suffixes of domain_suffixes (the domain, then after each dot), looked up as they are cut.
        out: list[Indicator] = []
        start = 0
        while start >= 0:
            hit = table.get(domain[start:] if start else domain)
            if hit:
                out.extend(hit)
            start = domain.find(".", start) + 1 or -1
        return out

    def _host(self, host: str) -> list[Indicator]:
        known = self._hosts.get(host)
        if known is not None:
            return known
        ip = normalize_ip(host)
        hits = self._get(Kind.IP, ip) if ip is not None else self._domain(normalize_domain(host))
        if len(self._hosts) >= _HOST_CACHE:
            self._hosts.clear()
        self._hosts[host] = hits
        return hits

    def _url_host(self, value: str) -> list[Indicator]:
        """What the host of a link matches, the same as through split_url, cached by netloc."""
        text = refang(value.strip())
        if "://" not in text[:32]:
            text = "http://" + text
        netloc = url_netloc(text)
        if netloc is None:
            parts = split_url(value)
            return self._host(parts[0]) if parts is not None else []
        known = self._netlocs.get(netloc)
        if known is None:
            host = plain_host(netloc)
            if host is not None:
                known = self._host(host)
            else:
                # split_url of the netloc alone gives the host split_url gives for the whole link.
                parts = split_url("http://" + netloc)
                known = self._host(parts[0]) if parts is not None else []
            if len(self._netlocs) >= _HOST_CACHE:
                self._netlocs.clear()
            self._netlocs[netloc] = known
        return known

    def match(self, observable: Observable) -> list[Indicator]:
        """Every indicator the observable matches (deduplicated, in a stable order)."""
        kind, value = observable.kind, observable.value
        if not value:
            return []
        hits: list[Indicator]
        if kind == Kind.URL:
            if Kind.URL in self._exact:
                parts = split_url(value)
                if parts is None:
                    return []
                host, normal = parts
                hits = self._get(Kind.URL, normal) + self._host(host)
            else:  # only the host can match: looked up once per distinct netloc
                hits = self._url_host(value)
        elif kind in (Kind.DOMAIN, Kind.IP):
            hits = self._host(value.strip())
        elif kind == Kind.PROCESS:
            hits = list(self._get(Kind.PROCESS, value))
            if len(value) in _TRUNCATED_PROCESS_LENGTHS:
                hits += self._process_prefix.get(value, [])
        elif kind == Kind.FILE_PATH:
            path = normalize_path(value)
            hits = self._get(Kind.FILE_PATH, path) + self._get(Kind.FILE_NAME, posixpath.basename(path))
        elif kind in _HASH_KINDS:
            hits = self._get(kind, normalize_hash(value))
        elif kind in (Kind.EMAIL, Kind.APP_ID):
            hits = self._get(kind, value.strip().lower())
        elif kind == Kind.PROFILE_ID:
            hits = self._get(kind, value.strip().upper())
        else:
            hits = self._get(kind, value.strip())
        if len(hits) > 1:
            seen: set[tuple[str, str]] = set()
            unique = []
            for hit in hits:
                key = (hit.stix_id, hit.feed_sha256)
                if key not in seen:
                    seen.add(key)
                    unique.append(hit)
            return unique
        return hits


def load_index(paths: Iterable[Path], warn: Callable[[str], None]) -> IndicatorIndex:
    """Load STIX files and folders into one index. Files named directly must load; in folders,
    files that are not STIX bundles are skipped with a warning."""
    feeds: list[Feed] = []
    indicators: list[Indicator] = []
    for given in paths:
        for path in feed_files([given]):
            try:
                feed, found = load_feed(path, warn)
            except FeedError as exc:
                if path == given:
                    raise
                warn(f"{exc} (skipped)")
                continue
            feeds.append(feed)
            indicators.extend(found)
    return IndicatorIndex.build(feeds, indicators)
