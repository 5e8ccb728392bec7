from __future__ import annotations

import pytest

from preuve.indicators.patterns import PatternError, parse_pattern
from preuve.model import Kind


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[domain-name:value='evil.example.net']", [(Kind.DOMAIN, "evil.example.net")]),
        ("[domain-name:value = 'evil.example.net']", [(Kind.DOMAIN, "evil.example.net")]),
        ("[ipv4-addr:value='203.0.113.7']", [(Kind.IP, "203.0.113.7")]),
        ("[url:value='https://a.example/x?q=1&r=2']", [(Kind.URL, "https://a.example/x?q=1&r=2")]),
        ("[process:name='bh']", [(Kind.PROCESS, "bh")]),
        ("[email-addr:value='x@example.org']", [(Kind.EMAIL, "x@example.org")]),
        ("[file:name='roleaccountd.plist']", [(Kind.FILE_NAME, "roleaccountd.plist")]),
        ("[file:path='/private/var/db/x']", [(Kind.FILE_PATH, "/private/var/db/x")]),
        ("[file:hashes.sha256='AB']", [(Kind.SHA256, "AB")]),
        ("[file:hashes.'SHA-256'='ab']", [(Kind.SHA256, "ab")]),
        ("[file:hashes.MD5='ab']", [(Kind.MD5, "ab")]),
        ("[file:hashes.'SHA-1'='ab']", [(Kind.SHA1, "ab")]),
        ("[app:id='com.spy.app']", [(Kind.APP_ID, "com.spy.app")]),
        ("[app:cert.sha256='aa']", [(Kind.CERT_SHA256, "aa")]),
        ("[app:cert.md5='aa']", [(Kind.CERT_MD5, "aa")]),
        ("[configuration-profile:id='76DAB334-7E17']", [(Kind.PROFILE_ID, "76DAB334-7E17")]),
        ("[android-property:name='sys.brand.note']", [(Kind.ANDROID_PROPERTY, "sys.brand.note")]),
        # a value holding '=' and an escaped quote (MVT aborted whole files on '=')
        ("[url:value='https://x.example/?a=b=c']", [(Kind.URL, "https://x.example/?a=b=c")]),
        ("[file:name='it\\'s']", [(Kind.FILE_NAME, "it's")]),
        (
            "[domain-name:value='a.example' OR domain-name:value='b.example']",
            [(Kind.DOMAIN, "a.example"), (Kind.DOMAIN, "b.example")],
        ),
        (
            "[process:name='x'] OR [file:name='y']",
            [(Kind.PROCESS, "x"), (Kind.FILE_NAME, "y")],
        ),
        ("[domain-name:value IN ('a.example', 'b.example')]", [(Kind.DOMAIN, "a.example"), (Kind.DOMAIN, "b.example")]),
    ],
)
def test_supported_patterns(pattern: str, expected: list[tuple[Kind, str]]) -> None:
    assert parse_pattern(pattern) == expected


def test_and_is_refused_with_reason() -> None:
    with pytest.raises(PatternError, match="AND"):
        parse_pattern("[process:name='x' AND file:name='y']")


def test_invalid_pattern_reports_library_verdict() -> None:
    with pytest.raises(PatternError, match="invalid STIX pattern"):
        parse_pattern("[domain-name:value='unterminated]")


def test_valid_but_unmatchable_pattern_is_explained() -> None:
    with pytest.raises(PatternError, match="valid STIX pattern that uses constructs"):
        parse_pattern("[file:name LIKE 'x%']")


def test_unknown_object_path() -> None:
    with pytest.raises(PatternError, match="no matching rule for x-custom:foo"):
        parse_pattern("[x-custom:foo='1']")
