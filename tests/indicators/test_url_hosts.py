"""The fast path for links (netloc found by hand, hosts cached) matches exactly what urllib gives."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preuve.indicators.index import IndicatorIndex, load_index
from preuve.indicators.normalize import normalize_ip, refang, split_url, url_netloc
from preuve.model import Kind, Observable
from tests.builders import feed


def _domain_index(tmp_path: Path) -> IndicatorIndex:
    path = feed(
        tmp_path / "d.stix2",
        ("[domain-name:value='evil.example.net']", "Spy"),
        ("[domain-name:value='198.51.100.4']", "Spy"),
        ("[domain-name:value='bücher.example']", "Spy"),
        ("[ipv6-addr:value='2001:db8::1']", "Spy"),
    )
    return load_index([path], lambda m: None)


def _by_urllib(index: IndicatorIndex, value: str) -> list[str]:
    """The reference: the host as split_url (urllib) finds it, looked up as a domain or IP."""
    parts = split_url(value)
    if parts is None:
        return []
    return sorted(i.stix_id for i in index._host(parts[0]))  # noqa: SLF001


def test_url_netloc_agrees_with_urlsplit_on_plain_links() -> None:
    for text in (
        "https://evil.example.net/a?b#c",
        "http://user:pw@EVIL.example.net:8443/x",
        "http://[2001:db8::1]:80/",
        "ftp://host?q",
        "http://host#frag/with/slash",
        "http://",
    ):
        assert url_netloc(text) == urllib.parse.urlsplit(text).netloc, text


def test_url_netloc_declines_what_it_cannot_decide() -> None:
    assert url_netloc("a:b://host/") is None
    assert url_netloc("1http://host/") is None
    assert url_netloc("ht\ttp://host/") is None
    assert url_netloc("http://ho\nst/") is None
    assert url_netloc("héllo://host/") is None
    assert url_netloc("no scheme here") is None


def test_normalize_ip_fast_rejection_keeps_every_address() -> None:
    assert normalize_ip("198.51.100.4") == "198.51.100.4"
    assert normalize_ip(" [2001:DB8::1] ") == "2001:db8::1"
    assert normalize_ip("::1") == "::1"
    assert normalize_ip("example.com") is None
    assert normalize_ip("163.com") is None
    assert normalize_ip("") is None
    assert normalize_ip("[]") is None


def test_links_match_their_host_once_cached(tmp_path: Path) -> None:
    index = _domain_index(tmp_path)
    links = [
        "https://x.evil.example.net/a",
        "HTTPS://X.EVIL.EXAMPLE.NET/b?c",
        "evil.example.net/path",
        "hxxps://evil[.]example[.]net/p",
        "https://notevil.example.net/",
        "http://198.51.100.4:8080/x",
        "http://[2001:db8::1]/",
        "https://www.bücher.example/",
        "https://user@evil.example.net:99999/",  # invalid port: urllib refuses it, so no match
        "http://[broken/",
    ]
    expected = [1, 1, 1, 1, 0, 1, 1, 1, 0, 0]
    for _ in range(2):  # the second pass is served from the caches
        got = [len(index.match(Observable(Kind.URL, link))) for link in links]
        assert got == expected
        for link in links:
            assert sorted(i.stix_id for i in index.match(Observable(Kind.URL, link))) == _by_urllib(index, link)
    # Links with a plain host (scheme://letters.digits-and.dots/) go straight to the host cache; the
    # others are cached by netloc (case kept; links urllib refuses are remembered as matching nothing).
    assert sorted(index._netlocs) == [  # noqa: SLF001
        "198.51.100.4:8080", "[2001:db8::1]", "[broken", "evil.example.net", "user@evil.example.net:99999",
        "www.bücher.example",
    ]
    assert {"x.evil.example.net", "evil.example.net", "notevil.example.net"} <= set(index._hosts)  # noqa: SLF001


_URLISH = st.lists(
    st.sampled_from(list("aeh.x-:/?#@[]1928 \tEVILNT") + ["evil", "example", "net", "://", "[.]", "é", "hxxp", "HXXP"]),
    max_size=25,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(value=_URLISH)
def test_fast_path_equals_urllib_on_any_text(tmp_path_factory: pytest.TempPathFactory, value: str) -> None:
    index = _domain_index(tmp_path_factory.mktemp("i"))
    fast = sorted(i.stix_id for i in index.match(Observable(Kind.URL, value)))
    assert fast == _by_urllib(index, value)
    text = refang(value.strip())
    if "://" not in text[:32]:
        text = "http://" + text
    netloc = url_netloc(text)
    if netloc is not None:
        try:
            reference = urllib.parse.urlsplit(text).netloc
        except ValueError:  # urllib refuses it; the fast path then matches nothing, as checked above
            return
        assert netloc == reference


def test_extract_urls_quick_rejection_keeps_links_without_a_slash() -> None:
    from preuve.indicators.normalize import extract_urls

    assert extract_urls("see you at 9, ok?") == []
    assert extract_urls("visit WWW.Example.com now") == ["WWW.Example.com"]
    assert extract_urls("go to evil.example/x and https://a.example") == ["evil.example/x", "https://a.example"]


def test_refang_quick_return_keeps_every_defanged_form() -> None:
    assert refang("https://evil.example/") == "https://evil.example/"
    assert refang("hxxps://evil[.]example(.)net[:]80/a[at]b[@]c") == "https://evil.example.net:80/a@b@c"


def test_an_upper_case_hxxp_host_is_refanged_as_urllib_path_does(tmp_path: Path) -> None:
    """split_url lower-cases the host, then refangs it: HXXP.example.net is looked up as
    http.example.net, by the plain-host path as by urllib's."""
    path = feed(tmp_path / "h.stix2", ("[domain-name:value='http.example.net']", "Spy"))
    index = load_index([path], lambda m: None)
    for link in ("https://HXXP.example.net/x", "https://HXXP.example.net/x"):  # the second from the caches
        assert len(index.match(Observable(Kind.URL, link))) == 1
        assert sorted(i.stix_id for i in index.match(Observable(Kind.URL, link))) == _by_urllib(index, link)
