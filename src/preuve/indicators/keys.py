"""The matching rules, written once: lookup keys.

Every observable is looked up under a few keys (:func:`observable_keys`), and every indicator is
filed under a few keys (:func:`indicator_queries`), each either exact or a prefix. An indicator
matches an observable when one of its keys equals one of the observable's keys, or, for a prefix
key, begins it. Every prefix key ends with a separator (``.`` between reversed domain labels,
``/`` between path components), so a prefix only ever matches at a label or component boundary.

Both sides of preuve match through these functions: the in-memory index
(:class:`preuve.indicators.index.IndicatorIndex`) files indicators under their keys and looks an
observable's keys up (a prefix key by walking the observable key's separators), and the case store
keeps every stored observable's keys in an indexed table, so a retro-hunt is an index seek (exact
key) or an index range (prefix key) per indicator key.

The rules, key by key:

* ``rdomain``: a domain (or a link's host) reversed by labels (``net.example.a``). A domain
  indicator matches the domain itself and, by the prefix ``net.example.a.``, every subdomain, never
  ``bada.example.net``.
* ``ip``: an IP address in its canonical form (a host that is an address never matches a domain).
* ``url``: a link in its normalised form (:func:`preuve.indicators.normalize.split_url`); a link is
  also looked up under its host's key.
* ``file_path``: a path without ``/private``; a path indicator matches the path and, by the prefix
  ``<path>/``, whatever lies inside the folder it names. ``file_name``: a path's last component.
* ``process``: the name as given. ``process_prefix``: a name cut to 15 or 16 characters by the kernel
  matches the longer process indicators it begins. ``process_suffix``: Android names an app's main
  thread after the last 15 characters of a longer dotted package name (``androidSetThreadName``), and
  ``ps`` shows that name, so a 15-character dotted name matches the app ids and process names it ends
  (app ids are kept in lower case, so the name is also looked up in lower case).
* every other kind: its value in the kind's normal form (hashes without separators in lower case,
  e-mail addresses and app ids in lower case, profile ids in upper case, the rest stripped).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from preuve.indicators.normalize import (
    normalize_domain,
    normalize_hash,
    normalize_ip,
    normalize_path,
    split_url,
)
from preuve.indicators.stix import Indicator
from preuve.model import Kind, Observable

Key = tuple[str, str]  # (key kind, key)
Query = tuple[str, str, bool]  # (key kind, key, the key is a prefix)

TRUNCATED_PROCESS_LENGTHS = (15, 16)
ANDROID_THREAD_NAME_LENGTH = 15
HASH_KINDS = frozenset({Kind.SHA256, Kind.SHA1, Kind.MD5, Kind.CERT_SHA256, Kind.CERT_SHA1, Kind.CERT_MD5})

# The key kinds an observable of each kind may be looked up under (every other kind: its own name).
# A run skips, before any normalisation, the observables no loaded indicator can have a key for.
LOOKUP_KEY_KINDS: dict[Kind, frozenset[str]] = {
    Kind.URL: frozenset({"url", "rdomain", "ip"}),
    Kind.DOMAIN: frozenset({"rdomain", "ip"}),
    Kind.IP: frozenset({"rdomain", "ip"}),
    Kind.PROCESS: frozenset({"process", "process_prefix", "process_suffix"}),
    Kind.FILE_PATH: frozenset({"file_path", "file_name"}),
}


def lookup_key_kinds(kind: Kind) -> frozenset[str]:
    """The key kinds :func:`observable_keys` may give an observable of `kind`."""
    return LOOKUP_KEY_KINDS.get(kind) or frozenset({kind.value})


def reversed_domain(domain: str) -> str:
    return ".".join(domain.split(".")[::-1])


def android_thread_name(name: str) -> str | None:
    """The name Android gives the thread of a longer dotted name (its last 15 characters); None when kept whole."""
    if len(name) <= ANDROID_THREAD_NAME_LENGTH or "." not in name or "@" in name:
        return None
    return name[-ANDROID_THREAD_NAME_LENGTH:]


def host_keys(host: str) -> list[Key]:
    """The keys of a host (a domain or an IP address, as observed)."""
    ip = normalize_ip(host)
    if ip is not None:
        return [("ip", ip)]
    domain = normalize_domain(host)
    return [("rdomain", reversed_domain(domain))] if domain else []


def process_keys(name: str) -> list[Key]:
    """The keys of a process name as observed."""
    keys = [("process", name)]
    if len(name) in TRUNCATED_PROCESS_LENGTHS:
        keys.append(("process_prefix", name))
        if len(name) == ANDROID_THREAD_NAME_LENGTH and "." in name:
            keys.append(("process_suffix", name))
            if name.lower() != name:
                keys.append(("process_suffix", name.lower()))
    return keys


def path_keys(path: str) -> list[Key]:
    """The keys of a file path as observed."""
    normal = normalize_path(path)
    return [("file_path", normal), ("file_name", posixpath.basename(normal))]


def url_keys(link: str) -> list[Key]:
    """The keys of a link as observed: its normalised form and its host's keys."""
    parts = split_url(link)
    if parts is None:
        return []
    return [("url", parts[1]), *host_keys(parts[0])]


def _stripped_host_keys(host: str) -> list[Key]:
    return host_keys(host.strip())


def _hash_keys(kind: Kind) -> Callable[[str], list[Key]]:
    name = kind.value
    return lambda value: [(name, normalize_hash(value))]


def _lower_keys(kind: Kind) -> Callable[[str], list[Key]]:
    name = kind.value
    return lambda value: [(name, value.strip().lower())]


def _upper_keys(kind: Kind) -> Callable[[str], list[Key]]:
    name = kind.value
    return lambda value: [(name, value.strip().upper())]


def _stripped_keys(kind: Kind) -> Callable[[str], list[Key]]:
    name = kind.value
    return lambda value: [(name, value.strip())]


# The keys of an observable's (non-empty) value, by its kind.
KEYS_BY_KIND: dict[Kind, Callable[[str], list[Key]]] = {
    **{kind: _stripped_keys(kind) for kind in Kind},
    Kind.URL: url_keys,
    Kind.DOMAIN: _stripped_host_keys,
    Kind.IP: _stripped_host_keys,
    Kind.PROCESS: process_keys,
    Kind.FILE_PATH: path_keys,
    **{kind: _hash_keys(kind) for kind in HASH_KINDS},
    Kind.EMAIL: _lower_keys(Kind.EMAIL),
    Kind.APP_ID: _lower_keys(Kind.APP_ID),
    Kind.PROFILE_ID: _upper_keys(Kind.PROFILE_ID),
}


def observable_keys(observable: Observable) -> list[Key]:
    """The (key kind, key) pairs an indicator may find this observable under."""
    value = observable.value
    return KEYS_BY_KIND[observable.kind](value) if value else []


def indicator_queries(indicator: Indicator) -> list[Query]:
    """(key kind, key, is_prefix): the keys an indicator is filed under (its value is already in normal form,
    see :func:`preuve.indicators.stix.normalize_indicator_value`)."""
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
    out: list[Query] = [(kind.value, value, False)]
    if kind == Kind.PROCESS:
        out.extend(("process_prefix", value[:n], False) for n in TRUNCATED_PROCESS_LENGTHS if len(value) > n)
    if kind in (Kind.PROCESS, Kind.APP_ID):
        thread = android_thread_name(value)
        if thread is not None:
            out.append(("process_suffix", thread, False))
    return out
