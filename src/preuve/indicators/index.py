"""The compiled indicator index: one generic lookup for every observable.

What matches what is defined once, by the lookup keys of :mod:`preuve.indicators.keys` (the case
store's retro-hunt uses the same keys): every indicator is filed under its keys, and an observable
is looked up under its keys, exact keys with one dictionary probe each and prefix keys by walking the
observable key's separators from the top (a domain's labels, a path's folders), only while some
prefix key lies below. So domains match at label boundaries (the indicator ``a.example.net`` matches
``a.example.net`` and ``x.y.a.example.net`` but not ``bada.example.net``), paths inside the folder a
path indicator names (``/a/b`` matches ``/a/b/c``, not ``/a/bc``), links by their normalised form and
by their host, process names cut by the kernel or by Android by what they begin or end.

What is here besides the keys is speed: hosts repeat across thousands of links and messages, so the
indicators a host (and a link's netloc) matches are cached; a link's host is read by one pattern when
the link is plainly ``scheme://host/…`` (the same host as :func:`split_url`, tested).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from preuve.indicators.keys import (
    KEYS_BY_KIND,
    Key,
    host_keys,
    indicator_queries,
    lookup_key_kinds,
    path_keys,
)
from preuve.indicators.normalize import normalize_path, plain_host, refang, split_url, url_netloc
from preuve.indicators.stix import Feed, FeedError, Indicator, feed_files, load_feed
from preuve.model import Kind, Observable

# scheme://netloc where the netloc (up to the first /, ? or #, or the end) is only letters, digits,
# dots and hyphens: see IndicatorIndex._url_host.
_PLAIN_LINK = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://([A-Za-z0-9.\-]+)(?=[/?#]|\Z)")
_HOST_CACHE = 50_000
_FOLDER_CACHE = 50_000
_FOLDER_CHARS = 4_000_000  # ...and the characters of their names (a hostile listing's folders may be long)
_URL, _DOMAIN, _IP, _FILE_PATH = Kind.URL, Kind.DOMAIN, Kind.IP, Kind.FILE_PATH


# What the paths of one folder match by the folder (see IndicatorIndex._folder): the path indicators
# above it, and those filed under a path in it, by name (None: none); _NOT_PLAIN: the general walk.
_Folder = tuple[list[Indicator], dict[str, list[Indicator]] | None]
_NOT_PLAIN: _Folder = ([], None)


@dataclass(slots=True)
class _Prefixes:
    """The prefix keys of one key kind. Each ends with the kind's separator (see preuve.indicators.keys).
    `stems` maps every separator-ended beginning of a prefix key to the indicators filed under it (none
    for a beginning that is not itself a key): a walk down an observable's key goes on only while it may
    still reach a prefix key, with one probe a level."""

    separator: str
    stems: dict[str, list[Indicator]] = field(default_factory=dict)

    def add(self, key: str, indicator: Indicator) -> None:
        if not key.endswith(self.separator):
            raise ValueError(f"prefix key {key!r} does not end with {self.separator!r}")
        end = key.find(self.separator)
        while end >= 0:
            self.stems.setdefault(key[: end + 1], [])
            end = key.find(self.separator, end + 1)
        self.stems[key].append(indicator)

    def below(self, key: str, hits: list[Indicator]) -> None:
        """Add to `hits` the indicators filed under the prefix keys `key` lies below, the longest
        first: down the key's separators from the top, while a prefix key may lie below (one probe
        a level; this runs for every path and every new host)."""
        sep, stems = self.separator, self.stems
        found: list[list[Indicator]] | None = None  # most walks find nothing: no list for them
        end = key.find(sep)
        while end >= 0:
            hit = stems.get(key[: end + 1])
            if hit is None:
                break
            if hit:
                if found is None:
                    found = [hit]
                else:
                    found.append(hit)
            end = key.find(sep, end + 1)
        if found is not None:
            for hit in reversed(found):
                hits.extend(hit)


def _look_up(table: tuple[dict[str, list[Indicator]], _Prefixes | None], key: str, hits: list[Indicator]) -> None:
    """Add to `hits` the indicators of one key kind's table filed under `key`: exactly, then as prefix
    keys it lies below, the longest first."""
    exact, prefixes = table
    hit = exact.get(key)
    if hit:
        hits.extend(hit)
    if prefixes is not None:
        prefixes.below(key, hits)


@dataclass(slots=True)
class IndicatorIndex:
    feeds: list[Feed] = field(default_factory=list)
    # Indicators by their exact keys and by their prefix keys, per key kind (see preuve.indicators.keys).
    _exact: dict[str, dict[str, list[Indicator]]] = field(default_factory=dict)
    _prefix: dict[str, _Prefixes] = field(default_factory=dict)
    _tables: dict[str, tuple[dict[str, list[Indicator]], _Prefixes | None]] = field(default_factory=dict)
    _indicators: dict[Kind, dict[str, list[Indicator]]] = field(default_factory=dict)
    # Hosts repeat across thousands of links and messages: the indicators a host matches are kept
    # (per index, bounded, emptied whenever an indicator is added) so each host is normalised once.
    _hosts: dict[str, list[Indicator]] = field(default_factory=dict)
    _netlocs: dict[str, list[Indicator]] = field(default_factory=dict)
    # What a path matches by its folder, per folder as written (see _path, _folder): bounded, emptied
    # whenever an indicator is added, as is the exact path indicators' table by folder and name.
    _folders: dict[str, _Folder] = field(default_factory=dict)
    _folder_chars: int = 0  # the characters of the folders kept
    _exact_by_folder: dict[str, dict[str, list[Indicator]]] | None = None
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
        self._folders.clear()
        self._folder_chars = 0
        self._exact_by_folder = None
        bucket = self._indicators.setdefault(indicator.kind, {}).setdefault(indicator.value, [])
        if any(i.stix_id == indicator.stix_id and i.feed_sha256 == indicator.feed_sha256 for i in bucket):
            return
        bucket.append(indicator)
        self.count += 1
        for key_kind, key, prefix in indicator_queries(indicator):
            if prefix:
                self._prefix.setdefault(key_kind, _Prefixes(key[-1])).add(key, indicator)
            else:
                self._exact.setdefault(key_kind, {}).setdefault(key, []).append(indicator)
            self._tables[key_kind] = (self._exact.get(key_kind, {}), self._prefix.get(key_kind))

    def indicators(self) -> Iterator[Indicator]:
        """Every indicator once, in the order they were added (grouped by kind and value)."""
        for table in self._indicators.values():
            for bucket in table.values():
                yield from bucket

    def kinds(self) -> set[Kind]:
        return set(self._indicators)

    def can_match(self, kind: Kind) -> bool:
        """Whether some loaded indicator may match an observable of `kind` (it shares a key kind)."""
        return any(k in self._exact or k in self._prefix for k in lookup_key_kinds(kind))

    def __len__(self) -> int:
        return self.count

    def lookup(self, keys: Sequence[Key]) -> list[Indicator]:
        """The indicators filed under any of `keys` (exact, then prefixes from the longest), in key order."""
        tables = self._tables
        hits: list[Indicator] = []
        for key_kind, key in keys:
            found = tables.get(key_kind)
            if found is not None:
                _look_up(found, key, hits)
        return hits

    def _path(self, value: str) -> list[Indicator]:
        """What a file path matches: the same as ``lookup(path_keys(value))`` (tested), written out for
        the one observable every listed file has (hundreds of thousands a run): no key list, and the
        name cut at the last "/" as posixpath.basename cuts it."""
        tables = self._tables
        names = tables.get("file_name")
        if names is not None and names[1] is not None:  # (no indicator files a name as a prefix)
            return self.lookup(path_keys(value))
        cut = value.rfind("/") + 1
        name = value[cut:]
        # The usual path: an absolute folder with nothing for normpath to change, and a name neither
        # empty, nor beginning with a dot, nor ending in a space. Then normalize_path keeps the name
        # and changes at most the folder's beginning, and what the path matches is known from its
        # folder as written (looked up once per folder: the files of one folder, a camera roll or an
        # app's cache, cost one probe each) and from its name.
        if cut and name and name[0] != "." and not name[-1].isspace():
            folder = self._folders.get(value[:cut])
            if folder is None:
                folder = self._folder(value[:cut])
            if folder is not _NOT_PLAIN:
                above, here = folder
                hits: list[Indicator] = []
                if here is not None:
                    hit = here.get(name)
                    if hit:
                        hits.extend(hit)
                if above:
                    hits.extend(above)
                if names is not None:
                    hit = names[0].get(name)
                    if hit:
                        hits.extend(hit)
                return hits
        normal = normalize_path(value)
        hits = []
        found = tables.get("file_path")
        if found is not None:
            exact, prefixes = found
            hit = exact.get(normal)
            if hit:
                hits.extend(hit)
            if prefixes is not None:
                prefixes.below(normal[: normal.rfind(prefixes.separator) + 1], hits)
        if names is not None:
            hit = names[0].get(normal[normal.rfind("/") + 1 :])
            if hit:
                hits.extend(hit)
        return hits

    def _folder(self, written: str) -> _Folder:
        """What the files of a folder as written (ending with "/") match by their folder: the path
        indicators above it, and those filed under a path in it by the name there; _NOT_PLAIN when
        normalize_path may change the folder's part of a path in it (the path takes the general walk)."""
        if written[:1] != "/" or "//" in written or "/." in written:
            folder: _Folder = _NOT_PLAIN
        else:
            normal = written[len("/private") :] if written.startswith("/private/") else written
            above: list[Indicator] = []
            here: dict[str, list[Indicator]] | None = None
            found = self._tables.get("file_path")
            if found is not None:
                exact, prefixes = found
                if prefixes is not None:
                    prefixes.below(normal, above)
                if exact:
                    if self._exact_by_folder is None:
                        self._exact_by_folder = {}
                        for key, hit in exact.items():
                            cut = key.rfind("/") + 1
                            self._exact_by_folder.setdefault(key[:cut], {})[key[cut:]] = hit
                    here = self._exact_by_folder.get(normal)
            folder = (above, here)
        if len(self._folders) >= _FOLDER_CACHE or self._folder_chars + len(written) > _FOLDER_CHARS:
            self._folders.clear()
            self._folder_chars = 0
        self._folders[written] = folder
        self._folder_chars += len(written)
        return folder

    def _host(self, host: str) -> list[Indicator]:
        known = self._hosts.get(host)
        if known is not None:
            return known
        hits = self.lookup(host_keys(host))
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
        kind = observable.kind
        # Module constants, not `Kind.X`: this runs for every observable, and each `Kind.X` costs an enum
        # attribute lookup.
        if kind is _URL:
            if "url" in self._exact:
                parts = split_url(value)
                if parts is None:
                    return []
                hits = self.lookup([("url", parts[1])]) + self._host(parts[0])
            else:  # only the host can match: looked up once per distinct netloc
                hits = self._url_host(value)
        elif kind is _DOMAIN or kind is _IP:
            hits = self._host(value.strip())
        elif kind is _FILE_PATH:
            hits = self._path(value)
        else:
            keys = KEYS_BY_KIND[kind](value)
            if len(keys) == 1:  # most observables have one key, and most key kinds no prefix: one probe
                key_kind, key = keys[0]
                found = self._tables.get(key_kind)
                if found is None:
                    return []
                if found[1] is None:
                    return found[0].get(key) or []
            hits = self.lookup(keys)
        if len(hits) > 1:
            seen: set[tuple[str, str]] = set()
            unique = []
            for hit in hits:
                ident = (hit.stix_id, hit.feed_sha256)
                if ident not in seen:
                    seen.add(ident)
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
