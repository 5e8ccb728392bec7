"""Normalisation shared by indicators and observables, so both sides compare alike."""

from __future__ import annotations

import ipaddress
import posixpath
import re
import urllib.parse

_DEFANG = (("[.]", "."), ("(.)", "."), ("[:]", ":"), ("hxxp", "http"), ("[at]", "@"), ("[@]", "@"))


def refang(value: str) -> str:
    # Every defanged form holds "[", "(" or "hxxp"; most values hold none (one check per link).
    if "[" not in value and "(" not in value and "hxxp" not in value:
        return value
    for old, new in _DEFANG:
        value = value.replace(old, new)
    return value


def normalize_ip(value: str) -> str | None:
    text = value.strip().strip("[]")
    # Every host of every link comes here: an IPv4 address starts with a digit and an IPv6 one
    # holds a colon, so most names are told apart without the (raising, slow) ipaddress parser.
    if not text or (not text[0].isdigit() and ":" not in text):
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def normalize_domain(value: str) -> str:
    """Lower case, no trailing dot, IDNA (punycode) form when it can be encoded."""
    text = refang(value).strip().strip(".").lower()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    if text.startswith("[") and text.endswith("]"):
        return text[1:-1]
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    return text


def strip_www(host: str) -> str:
    """Remove a leading ``www.`` label (a prefix, not a set of characters as lstrip would)."""
    return host[4:] if host.startswith("www.") and host.count(".") >= 2 else host


def split_url(value: str) -> tuple[str, str] | None:
    """(host, normalised URL) of a URL, or None when it has no host.

    The normalised form: scheme and host in lower case, IDNA host, ``www.``
    removed as a prefix, default port and fragment removed, an empty path as
    ``/``. Path and query keep their case.
    """
    text = refang(value.strip())
    if "://" not in text[:32]:
        text = "http://" + text
    try:
        parts = urllib.parse.urlsplit(text)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return None
    if not host:
        return None
    host = normalize_domain(host)
    scheme = parts.scheme.lower()
    netloc = strip_www(host)
    if port is not None and not (scheme == "http" and port == 80) and not (scheme == "https" and port == 443):
        netloc = f"{netloc}:{port}"
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    scheme_out = "http" if scheme in ("http", "https") else scheme
    return host, f"{scheme_out}://{netloc}{path}{query}"


_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")


def url_netloc(text: str) -> str | None:
    """The ``netloc`` part of ``scheme://netloc/...`` exactly as :func:`urllib.parse.urlsplit` finds it,
    or None when the text is not plainly of that shape (the caller then uses urlsplit itself).

    Why by hand: this only locates the netloc, so links to a host already seen can skip the whole
    urlsplit + IDNA + IP normalisation; everything about the netloc itself (userinfo, port,
    brackets, case) is still decided by urllib on the first link to each netloc.
    """
    i = text.find("://")
    if i <= 0 or not text[0].isalpha() or not _SCHEME_CHARS.issuperset(text[:i]):
        return None
    if "\t" in text or "\n" in text or "\r" in text:  # urlsplit removes these anywhere
        return None
    start = i + 3
    end = len(text)
    for delim in "/?#":
        found = text.find(delim, start)
        if 0 <= found < end:
            end = found
    return text[start:end]


_PLAIN_NETLOC = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")


def plain_host(netloc: str) -> str | None:
    """The host :func:`split_url` gives for ``http://<netloc>``, worked out directly when the netloc is
    only letters, digits, dots and hyphens (no user, port, brackets, percent or defanged form);
    None for any other netloc (the caller then uses split_url).

    Why by hand: a link to a host not seen before would otherwise pay for urlsplit, its hostname and
    port properties and the IDNA check (~6 µs), and a phone holds tens of thousands of such links.
    A test checks this against split_url on generated netlocs.
    """
    if not netloc or not _PLAIN_NETLOC.issuperset(netloc):
        return None
    host = netloc.lower()
    if "hxxp" in host:  # normalize_domain would refang it
        return None
    return host.strip(".")


def domain_suffixes(domain: str) -> list[str]:
    """The domain and each parent at label boundaries: a.b.example.net, b.example.net, example.net, net."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


# The third form's lookahead bounds the host before its "/" (a DNS name has at most 253 characters):
# without it, a word of host characters with no "/" after them (1 MB of "a.a.a.") had every label tried
# as a start, each scanning to the word's end (hours for one message); with it, each costs at most 256.
_URL_RE = re.compile(
    r"""(?ix)
    (?:\b[a-z][a-z0-9+.\-]{1,20}://[^\s<>"'`\\]+)           # scheme://...
    | (?:\bwww\.[^\s<>"'`\\]+)                             # www.host...
    | (?:\b(?=[a-z0-9.\-]{1,255}/)(?:[a-z0-9](?:[a-z0-9\-]{0,62}[a-z0-9])?\.)+[a-z]{2,24}/[^\s<>"'`\\]*)  # host.tld/path
    """
)
_TRAILING = ".,;:!?)]}'\"»›”’"


def extract_urls(text: str, limit: int = 1000) -> list[str]:
    """Links in free text, however they are written (with or without scheme)."""
    out: list[str] = []
    # Every form the pattern finds holds "/" or "www." (any case): most messages hold neither,
    # and two substring checks are much cheaper than running the pattern over them.
    if not text or ("/" not in text and "www." not in text.lower()):
        return out
    # No match can hold whitespace (every part of the pattern excludes it) and whitespace is not a
    # word character, so the pattern finds in each whitespace-separated word exactly what it finds
    # there in the whole text (str.split and the pattern's \s are the same set: tested). Running
    # it only over the words holding "/" or "www." halves the cost of a message with a link.
    for word in text.split():
        if "/" not in word and "www." not in word.lower():
            continue
        for match in _URL_RE.finditer(word):
            url = match.group(0).rstrip(_TRAILING)
            if url and url not in out:
                out.append(url)
                if len(out) >= limit:
                    return out
    return out


def normalize_path(path: str) -> str:
    """iOS paths without the /private prefix (/private/var and /var are the same place)."""
    # Nearly every path offered (a listing's, a manifest's: hundreds of thousands a run) is already
    # absolute and normal: nothing for strip and normpath to change (tested against them).
    if (path[:1] == "/" and path[-1:] != "/" and "//" not in path and "/." not in path
            and not path[-1].isspace()):
        return path[len("/private") :] if path.startswith("/private/") else path
    text = posixpath.normpath(path.strip()) if path.strip() else ""
    if text.startswith("/private/"):
        text = text[len("/private") :]
    return text


def normalize_hash(value: str) -> str:
    return value.strip().replace(":", "").replace(" ", "").lower()
