"""The compiled indicator index: one generic lookup for every observable.

Exact kinds are hash lookups. Domains match at label boundaries: the
indicator ``a.example.net`` matches ``a.example.net`` and ``x.y.a.example.net``
but not ``bada.example.net``; a lookup walks the observed domain's parents,
one dictionary probe each. URLs match their normalised form exactly and their
host as a domain (or an IP). File paths match exactly (``/private/var`` and
``/var`` alike), inside a folder a path indicator names (at component
boundaries: ``/a/b`` matches ``/a/b/c``, not ``/a/bc``), and by their last
component against file-name indicators.
Process names cut to 15 or 16 characters by the kernel match the indicators
they are a prefix of; a 15-character name with a dot also matches the app ids
and process names it ends: Android names an app's main thread after the last 15
characters of a longer package name (``androidSetThreadName``), and ``ps`` shows
that name.
"""

from __future__ import annotations

import posixpath
import re
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
_ANDROID_NAME_LENGTH = 15


def _android_thread_name(name: str) -> str | None:
    """The name Android gives the thread of a longer dotted name (its last 15 characters); None when kept whole."""
    if len(name) <= _ANDROID_NAME_LENGTH or "." not in name or "@" in name:
        return None
    return name[-_ANDROID_NAME_LENGTH:]
# scheme://netloc where the netloc (up to the first /, ? or #, or the end) is only letters, digits,
# dots and hyphens: see IndicatorIndex._url_host.
_PLAIN_LINK = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://([A-Za-z0-9.\-]+)(?=[/?#]|\Z)")
_HOST_CACHE = 50_000
_HASH_KINDS = {Kind.SHA256, Kind.SHA1, Kind.MD5, Kind.CERT_SHA256, Kind.CERT_SHA1, Kind.CERT_MD5}


@dataclass(slots=True)
class IndicatorIndex:
    feeds: list[Feed] = field(default_factory=list)
    _exact: dict[Kind, dict[str, list[Indicator]]] = field(default_factory=dict)
    _process_prefix: dict[str, list[Indicator]] = field(default_factory=dict)
    # The last 15 characters of dotted app ids and process names longer than that (Android's thread name).
    _process_suffix: dict[str, list[Indicator]] = field(default_factory=dict)
    # Every folder above a path indicator ("/var", "/var/db" for "/var/db/x"): a path's folders are walked
    # from the top only while they lead to an indicator, so most paths stop after a probe or two.
    _path_folders: set[str] = field(default_factory=set)
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
        if indicator.kind == Kind.FILE_PATH:
            end = indicator.value.rfind("/")
            while end > 0:
                self._path_folders.add(indicator.value[:end])
                end = indicator.value.rfind("/", 0, end)
        if indicator.kind == Kind.PROCESS:
            for length in _TRUNCATED_PROCESS_LENGTHS:
                if len(indicator.value) > length:
                    self._process_prefix.setdefault(indicator.value[:length], []).append(indicator)
        if indicator.kind in (Kind.PROCESS, Kind.APP_ID) and _android_thread_name(indicator.value) is not None:
            self._process_suffix.setdefault(indicator.value[-_ANDROID_NAME_LENGTH:], []).append(indicator)

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
        # The usual link, scheme://host/… with a host of letters, digits, dots and hyphens: its host
        # is read by one pattern and looked up directly (the same host as url_netloc + plain_host).
        plain = _PLAIN_LINK.match(text)
        if plain is not None and "\t" not in text and "\n" not in text and "\r" not in text:
            host = plain.group(1).lower()
            if "hxxp" not in host:
                return self._host(host.strip("."))
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
        value = observable.value
        if not value:
            return []
        # One table lookup by kind, not a chain of comparisons: this runs for every observable,
        # and each `Kind.X` costs an enum attribute lookup.
        hits = _MATCH_BY_KIND.get(observable.kind, IndicatorIndex._match_stripped)(self, observable.kind, value)
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

    def _match_url(self, kind: Kind, value: str) -> list[Indicator]:
        if kind not in self._exact:  # only the host can match: looked up once per distinct netloc
            return self._url_host(value)
        parts = split_url(value)
        if parts is None:
            return []
        host, normal = parts
        return self._get(kind, normal) + self._host(host)

    def _match_host(self, kind: Kind, value: str) -> list[Indicator]:
        return self._host(value.strip())

    def _match_process(self, kind: Kind, value: str) -> list[Indicator]:
        hits = list(self._get(kind, value))
        if len(value) in _TRUNCATED_PROCESS_LENGTHS:
            hits += self._process_prefix.get(value, [])
            if len(value) == _ANDROID_NAME_LENGTH and "." in value and self._process_suffix:
                hits += self._process_suffix.get(value, [])
                if value.lower() != value:  # app ids are kept in lower case
                    hits += self._process_suffix.get(value.lower(), [])
        return hits

    def _match_path(self, kind: Kind, value: str) -> list[Indicator]:
        path = normalize_path(value)
        hits: list[Indicator] = []
        paths = self._exact.get(Kind.FILE_PATH)
        if paths:
            hit = paths.get(path)
            if hit:
                hits.extend(hit)
            # The folders above it: a path indicator names a file or a folder, and a folder's indicator
            # matches what lies inside it (an implant's staging folder; the client "/usr/sbin/x/<UUID>"
            # that shutdown.log writes for the program /usr/sbin/x). From the top, while a folder is
            # one above some indicator (or one itself).
            folders = self._path_folders
            end = path.find("/", 1)
            while end > 0:
                folder = path[:end]
                hit = paths.get(folder)
                if hit:
                    hits.extend(hit)
                if folder not in folders:
                    break
                end = path.find("/", end + 1)
        names = self._exact.get(Kind.FILE_NAME)
        if names:
            hit = names.get(posixpath.basename(path))
            if hit:
                hits.extend(hit)
        return hits

    def _match_hash(self, kind: Kind, value: str) -> list[Indicator]:
        return self._get(kind, normalize_hash(value))

    def _match_lower(self, kind: Kind, value: str) -> list[Indicator]:
        return self._get(kind, value.strip().lower())

    def _match_upper(self, kind: Kind, value: str) -> list[Indicator]:
        return self._get(kind, value.strip().upper())

    def _match_stripped(self, kind: Kind, value: str) -> list[Indicator]:
        return self._get(kind, value.strip())


_MATCH_BY_KIND = {
    Kind.URL: IndicatorIndex._match_url,
    Kind.DOMAIN: IndicatorIndex._match_host,
    Kind.IP: IndicatorIndex._match_host,
    Kind.PROCESS: IndicatorIndex._match_process,
    Kind.FILE_PATH: IndicatorIndex._match_path,
    **{kind: IndicatorIndex._match_hash for kind in _HASH_KINDS},
    Kind.EMAIL: IndicatorIndex._match_lower,
    Kind.APP_ID: IndicatorIndex._match_lower,
    Kind.PROFILE_ID: IndicatorIndex._match_upper,
}


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
