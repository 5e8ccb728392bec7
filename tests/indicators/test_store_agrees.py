"""One definition of matching: a retro-hunt over a case store finds exactly what `check` finds in memory.

A backup carries links, processes and accounts shaped to sit on every edge of the matching rules (label
boundaries, IDN and punycode, trailing dots, case, URL normalisation, truncated and Android thread
names). It is checked once against the hostile feed (the in-memory index), and once with no indicator
into a case that is then retro-hunted with the same feed (the store's lookup keys): both must give
the same matches, and these are the matches the rules promise.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.ios_dbs import Message, Process, fill_datausage, fill_sms
from preuve.indicators.index import load_index
from preuve.indicators.keys import lookup_key_kinds, observable_keys
from preuve.model import Finding, Kind, Observable
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from preuve.store.case import CaseSink, CaseStore, rehunt_case
from tests.builders import feed

WHEN = datetime(2023, 5, 1, 9, 30, tzinfo=UTC)

INDICATORS = (
    ("[domain-name:value='a.example.net']", "Spy"),
    ("[domain-name:value='www.wwwsite.org']", "Spy"),
    ("[domain-name:value='bücher.example']", "Spy"),
    ("[domain-name:value='198.51.100.4']", "Spy"),  # an IP published as a domain name
    ("[ipv4-addr:value='203.0.113.9']", "Spy"),
    ("[url:value='HTTPS://WWW.Links.example/Path?x=1']", "Spy"),
    ("[process:name='supercalifragilisticd']", "Spy"),
    ("[process:name='bh']", "Spy"),
    ("[app:id='com.Example.SpyAgent.service']", "Spy"),
    ("[email-addr:value='Bad@Example.org']", "Spy"),
)

LINKS = (
    "https://x.y.a.example.net/p",  # a subdomain, at a label boundary
    "http://bada.example.net/",  # not at a label boundary
    "https://A.EXAMPLE.NET./x",  # case and a trailing dot
    "http://example.net/",  # the parent of an indicator
    "http://wwwsite.org/",  # www. removed from the indicator as a prefix
    "http://ite.org/",  # ... not as a set of characters
    "https://xn--bcher-kva.example/",  # punycode of an IDN indicator
    "https://BÜCHER.example/a",  # the IDN itself, in upper case
    "http://198.51.100.4/x",
    "http://203.0.113.9:8080/x",
    "http://www.links.example:80/Path?x=1#frag",  # default port, www., fragment: the same URL
    "https://links.example/path?x=1",  # a path keeps its case
    "hxxps://x.a.example[.]net/defanged",
)

PROCESSES = (
    "supercalifragil",  # cut to 15 characters by the kernel
    "supercalifragili",  # ... or 16
    "supercali",
    "bh",
    "bhx",
    "SpyAgent.service",  # 16 characters: not an Android thread name
    "pyAgent.service",  # the last 15 characters of the app id (Android's thread name)
    "pyagent.service",  # ... as the app id is kept (lower case)
    "xyAgent.service",
)


def _device(root: Path) -> Path:
    builder = BackupBuilder(root)
    messages = [Message(text=f"see {link}", date=WHEN) for link in LINKS]
    messages += [Message(text="hello", handle="BAD@example.org", date=WHEN),
                 Message(text="hello", handle="notbad@example.org", date=WHEN)]
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, messages))
    processes = [Process(n, name, None, WHEN, WHEN) for n, name in enumerate(PROCESSES, start=1)]
    builder.add_sqlite("WirelessDomain", "Library/Databases/DataUsage.sqlite", lambda c: fill_datausage(c, processes))
    return builder.finish()


def _matches(findings: list[Finding]) -> set[tuple[str, int | None, str, str]]:
    return {
        (f.locator.device_path, f.locator.rowid, f.observable.value, f.indicator.value)
        for f in findings
        if f.indicator is not None and f.observable is not None and f.rule is None
    }


def test_rehunt_and_check_find_the_same(tmp_path: Path) -> None:
    device = _device(tmp_path / "device")
    hostile = feed(tmp_path / "iocs" / "hostile.stix2", *INDICATORS)

    checked = _matches(run_check(device, CheckOptions(iocs=(hostile,), heuristics=False)).findings)

    case = tmp_path / "case.db"
    with CaseStore(case, write=True) as store:
        run_check(device, CheckOptions(heuristics=False), sinks=[CaseSink(store, device)])
    hunted = _matches([hit.finding for hit in rehunt_case(case, load_index([hostile], lambda m: None))])

    assert hunted == checked
    # What the rules promise, value by value (the observable as the record carries it, the indicator as published).
    assert sorted((value, indicator) for _, _, value, indicator in checked) == sorted([
        ("https://x.y.a.example.net/p", "a.example.net"),
        ("https://A.EXAMPLE.NET./x", "a.example.net"),
        ("hxxps://x.a.example[.]net/defanged", "a.example.net"),
        ("http://wwwsite.org/", "www.wwwsite.org"),
        ("https://xn--bcher-kva.example/", "bücher.example"),
        ("https://BÜCHER.example/a", "bücher.example"),
        ("http://198.51.100.4/x", "198.51.100.4"),
        ("http://203.0.113.9:8080/x", "203.0.113.9"),
        ("http://www.links.example:80/Path?x=1#frag", "HTTPS://WWW.Links.example/Path?x=1"),
        ("supercalifragil", "supercalifragilisticd"),
        ("supercalifragili", "supercalifragilisticd"),
        ("bh", "bh"),
        ("pyAgent.service", "com.Example.SpyAgent.service"),
        ("pyagent.service", "com.Example.SpyAgent.service"),
        ("BAD@example.org", "Bad@Example.org"),
    ])


HOSTILE_VALUES = ("", " ", ".", "a..b", "A.EXAMPLE.NET.", "bücher.example", "[2001:db8::1]", "http://[broken/",
                  "pyAgent.service", "supercalifragil", "/private/var/db/x/", "//a/b", "AB:CD", "x" * 300, "\x00\n\t")


def test_every_key_is_of_a_kind_its_observable_may_have() -> None:
    """A run skips an observable when no loaded indicator has a key of a kind it may have: so no key
    kind may be missing from lookup_key_kinds."""
    for kind in Kind:
        for value in [*LINKS, *PROCESSES, *HOSTILE_VALUES]:
            made = {key_kind for key_kind, _ in observable_keys(Observable(kind, value))}
            assert made <= lookup_key_kinds(kind), (kind, value)


def test_what_a_feed_can_match(tmp_path: Path) -> None:
    apps = load_index([feed(tmp_path / "apps.stix2", ("[app:id='com.example.spyagent.service']", "Spy"))],
                      lambda m: None)
    assert {kind for kind in Kind if apps.can_match(kind)} == {Kind.APP_ID, Kind.PROCESS}  # Android thread names
    domains = load_index([feed(tmp_path / "d.stix2", ("[domain-name:value='a.example.net']", "Spy"))], lambda m: None)
    assert {kind for kind in Kind if domains.can_match(kind)} == {Kind.DOMAIN, Kind.IP, Kind.URL}
