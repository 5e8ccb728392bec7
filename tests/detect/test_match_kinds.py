from __future__ import annotations

from pathlib import Path

from preuve.artifacts.ios.sms import SmsMessage
from preuve.detect.match import Matcher
from preuve.indicators.index import load_index
from preuve.model import Locator, Severity
from tests.builders import feed


def _message(links: tuple[str, ...], handle: str) -> SmsMessage:
    return SmsMessage(
        locator=Locator("/sms.db", "ab", table="message", rowid=1), guid="g", service="iMessage", handle=handle,
        is_from_me=False, date=None, date_read=None, text=None, text_source=None, links=links, account=None,
        balloon_bundle_id=None,
    )


def test_observables_no_indicator_kind_can_match_are_skipped(tmp_path: Path) -> None:
    index = load_index([feed(tmp_path / "p.stix2", ("[process:name='bh']", "Spy"))], lambda m: None)
    matcher = Matcher(index)
    assert matcher.match(_message(("https://bh/",), "bh@example.org"), "sms", "Messages") == []


def test_links_still_match_domain_and_ip_indicators(tmp_path: Path) -> None:
    index = load_index(
        [feed(tmp_path / "d.stix2", ("[domain-name:value='evil.example']", "Spy"),
              ("[email-addr:value='bad@example.org']", "Spy"))],
        lambda m: None,
    )
    found = Matcher(index).match(_message(("https://a.evil.example/x",), "bad@example.org"), "sms", "Messages")
    assert [(f.observable.kind, f.observable.value) for f in found if f.observable] == [
        ("url", "https://a.evil.example/x"), ("email", "bad@example.org"),
    ]
    assert [f.severity for f in found] == [Severity.HIGH, Severity.HIGH]
    assert found[0].record_sha256 == found[1].record_sha256 is not None


def test_a_batch_matches_as_each_record_does(tmp_path: Path) -> None:
    """match_many gives each record what match gives it: no finding, or the same findings in order."""
    index = load_index(
        [feed(tmp_path / "d.stix2", ("[domain-name:value='evil.example']", "Spy"),
              ("[email-addr:value='bad@example.org']", "Spy"))],
        lambda m: None,
    )
    matcher = Matcher(index)
    records = [
        _message(("https://a.evil.example/x",), "bad@example.org"),
        _message(("https://good.example/",), "+41"),
        _message((), "bad@example.org"),
        _message(("https://evil.example",), "+41"),
        _message((), "+41"),
    ]
    many = matcher.match_many(records, "sms", "Messages")
    assert many == [matcher.match(record, "sms", "Messages") for record in records]
    assert [len(found) for found in many] == [2, 0, 1, 1, 0]
    assert Matcher(load_index([], lambda m: None)).match_many(records, "sms", "Messages") == [[]] * 5
