from __future__ import annotations

from pathlib import Path

import pytest

from preuve.indicators.index import IndicatorIndex, load_index
from preuve.model import Kind, Observable
from tests.builders import feed


def build_index(tmp_path: Path) -> IndicatorIndex:
    path = feed(
        tmp_path / "f.stix2",
        ("[domain-name:value='a.example.net']", "Spy"),
        ("[domain-name:value='www.wwwsite.org']", "Spy"),
        ("[domain-name:value='198.51.100.4']", "Spy"),
        ("[ipv4-addr:value='203.0.113.9']", "Spy"),
        ("[url:value='HTTPS://WWW.Links.example/Path?x=1']", "Spy"),
        ("[process:name='supercalifragilisticd']", "Spy"),
        ("[process:name='bh']", "Spy"),
        ("[file:path='/private/var/db/com.apple.xpc.roleaccountd.staging/x']", "Spy"),
        ("[file:name='roleaccountd.plist']", "Spy"),
        ("[file:path='/usr/sbin/filecoordinationd']", "Spy"),
        ("[file:path='/private/var/db/staging/']", "Spy"),
        ("[file:hashes.'SHA-256'='AB:CD']", "Spy"),
        ("[email-addr:value='Bad@Example.org']", "Spy"),
        ("[configuration-profile:id='76dab334-7e17']", "Spy"),
        ("[domain-name:value='bücher.example']", "Spy"),
    )
    return load_index([path], lambda m: None)


@pytest.fixture
def index(tmp_path: Path) -> IndicatorIndex:
    return build_index(tmp_path)


MATCH_CASES = [
        (Kind.DOMAIN, "a.example.net", 1),
        (Kind.DOMAIN, "x.y.a.example.net", 1),
        (Kind.DOMAIN, "bada.example.net", 0),
        (Kind.DOMAIN, "example.net", 0),
        (Kind.DOMAIN, "A.EXAMPLE.NET.", 1),
        (Kind.DOMAIN, "wwwsite.org", 1),  # 'www.' removed as a prefix of the indicator
        (Kind.DOMAIN, "ite.org", 0),  # not as a set of characters (lstrip("www.") would)
        (Kind.URL, "https://x.a.example.net/p", 1),
        (Kind.URL, "a.example.net/p", 1),
        (Kind.URL, "http://bada.example.net/", 0),
        (Kind.URL, "https://links.example/Path?x=1", 1),
        (Kind.URL, "http://www.links.example:80/Path?x=1#frag", 1),
        (Kind.URL, "https://links.example/path?x=1", 0),  # paths keep their case
        (Kind.URL, "http://198.51.100.4/x", 1),  # an IP published as a domain-name
        (Kind.IP, "203.0.113.9", 1),
        (Kind.DOMAIN, "203.0.113.9", 1),
        (Kind.URL, "https://xn--bcher-kva.example/", 1),
        (Kind.URL, "https://bücher.example/", 1),
        (Kind.PROCESS, "bh", 1),
        (Kind.PROCESS, "bhx", 0),
        (Kind.PROCESS, "supercalifragil", 1),  # cut to 15 characters by the kernel
        (Kind.PROCESS, "supercali", 0),
        (Kind.FILE_PATH, "/var/db/com.apple.xpc.roleaccountd.staging/x", 1),
        (Kind.FILE_PATH, "/private/var/mobile/Library/roleaccountd.plist", 1),
        # inside a folder a path indicator names, at component boundaries
        (Kind.FILE_PATH, "/usr/sbin/filecoordinationd/123E4567-E89B-12D3-A456-426614174000", 1),
        (Kind.FILE_PATH, "/usr/sbin/filecoordinationd", 1),
        (Kind.FILE_PATH, "/usr/sbin/filecoordinationdx", 0),
        (Kind.FILE_PATH, "/usr/sbin", 0),
        (Kind.FILE_PATH, "/var/db/staging/a/b", 1),
        (Kind.FILE_PATH, "/private/var/db/staging", 1),
        (Kind.FILE_PATH, "/private/var/db/stagingx/a", 0),
        (Kind.SHA256, "abcd", 1),
        (Kind.EMAIL, "bad@example.org", 1),
        (Kind.PROFILE_ID, "76DAB334-7E17", 1),
]


@pytest.mark.parametrize(("kind", "value", "hits"), MATCH_CASES)
def test_matching(index: IndicatorIndex, kind: Kind, value: str, hits: int) -> None:
    assert len(index.match(Observable(kind, value))) == hits


def test_provenance(index: IndicatorIndex, tmp_path: Path) -> None:
    [hit] = index.match(Observable(Kind.DOMAIN, "x.a.example.net"))
    assert hit.malware == "Spy"
    assert hit.feed == f"{tmp_path.name}/f.stix2"
    assert hit.stix_id.startswith("indicator--")
    assert len(hit.feed_sha256) == 64
    assert hit.ref().value == "a.example.net"
