from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from preuve.indicators.patterns import (
    Comparison,
    PatternError,
    comparison_kind,
    parse_pattern,
    single_comparison,
    tokenized_comparisons,
)
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


# -- the single-comparison fast path gives exactly what the tokenizer gives -------------------------


def _feed_patterns(root: Path) -> list[str]:
    patterns = []
    for path in sorted(root.rglob("*.stix2")):
        for obj in orjson.loads(path.read_bytes())["objects"]:
            if obj.get("type") == "indicator":
                patterns.append(obj["pattern"])
    return patterns


def test_fast_path_reads_every_public_indicator_as_the_tokenizer_does(shared_iocs: Path) -> None:
    patterns = _feed_patterns(shared_iocs)
    assert len(patterns) == 5713
    differ = [p for p in patterns if single_comparison(p) != tokenized_comparisons(p)]
    assert differ == []
    # Every public indicator takes the fast path (none was left to the tokenizer).
    assert [p for p in patterns if single_comparison(p) is None] == []
    assert [p for p in patterns if parse_pattern(p) != _by_tokenizer(p)] == []


def _by_tokenizer(pattern: str) -> list[tuple[Kind, str]]:
    return [(comparison_kind(c), c.value) for c in tokenized_comparisons(pattern)]


def _one(object_type: str, path: tuple[str, ...], value: str) -> list[Comparison]:
    return [Comparison(object_type, path, value)]


@pytest.mark.parametrize(
    ("pattern", "fast"),
    [
        ("[domain-name:value='x.com']", _one("domain-name", ("value",), "x.com")),
        ("[domain-name:value = 'x.com']", _one("domain-name", ("value",), "x.com")),
        ("[ domain-name:value  =  'x.com' ]", _one("domain-name", ("value",), "x.com")),
        ("[Domain-Name:value='X.com']", _one("domain-name", ("value",), "X.com")),
        ("[file:hashes.'SHA-256' = 'AB']", _one("file", ("hashes", "SHA-256"), "AB")),
        ("[file:hashes.SHA-256='ab']", _one("file", ("hashes", "SHA-256"), "ab")),
        ("[file:hashes.sha256='ab']", _one("file", ("hashes", "sha256"), "ab")),
        ("[process:image_ref.name='bh']", _one("process", ("image_ref", "name"), "bh")),
        ("[file:parent_directory_ref.'path'='/x']", _one("file", ("parent_directory_ref", "path"), "/x")),
        ("[x-y:a.'b.c'.d='v']", _one("x-y", ("a", "b.c", "d"), "v")),
        ("[x:a.''='v']", _one("x", ("a", ""), "v")),
        ("[url:value='https://x.example/?a=b=c']", _one("url", ("value",), "https://x.example/?a=b=c")),
        ("[file:name='a] OR [b']", _one("file", ("name",), "a] OR [b")),
        ("[domain-name:value='']", _one("domain-name", ("value",), "")),
        ("[file:name='x\ny']", _one("file", ("name",), "x\ny")),
        ("[domain-name:value='пример.рф']", _one("domain-name", ("value",), "пример.рф")),
        # Anything else is left to the tokenizer:
        ("[file:name='it\\'s']", None),  # an escaped quote
        ("[file:path='C:\\\\x']", None),  # an escaped backslash
        ("[file:name='a\\b']", None),  # a backslash escaping nothing special
        ("[domain-name:value\t=\t'x']", None),  # whitespace other than spaces
        ("[domain-name:value='x'] ", None),  # outside the brackets
        (" [domain-name:value='x']", None),
        ("[file:hashes . sha256='ab']", None),
        ("[file:hashes.a:b='x']", None),
        ("[domain-name:value='a' OR domain-name:value='b']", None),
        ("[domain-name:value='a'] OR [domain-name:value='b']", None),
        ("([domain-name:value='a'])", None),
        ("[domain-name:value IN ('a', 'b')]", None),
        ("[process:name='x' AND file:name='y']", None),
        ("[file:name MATCHES 'x.*']", None),
        ("[file:name != 'x']", None),
        ("[file:name == 'x']", None),
        ("[domain-name:value=\"x\"]", None),
        ("[domain-name :value='x']", None),
        ("[a:b:c='x']", None),
        ("[domain-name:value='x'", None),
        ("[domain-name:value='x']]", None),
        ("[file:hashes.'SHA-256'='ab'] WITHIN 5 SECONDS", None),
    ],
)
def test_fast_path_on_odd_forms(pattern: str, fast: list[Comparison] | None) -> None:
    assert single_comparison(pattern) == fast
    if fast is not None:
        assert tokenized_comparisons(pattern) == fast


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[domain-name:value\t=\t'x']", _one("domain-name", ("value",), "x")),
        ("[domain-name:value='x'] ", _one("domain-name", ("value",), "x")),
        ("[file:hashes . sha256='ab']", _one("file", ("hashes", "sha256"), "ab")),
        ("[file:hashes.a:b='x']", _one("file", ("hashes", "a:b"), "x")),
        ("[file:name='it\\'s']", _one("file", ("name",), "it's")),
        ("[file:path='C:\\\\x']", _one("file", ("path",), "C:\\x")),
    ],
)
def test_forms_left_to_the_tokenizer_still_parse(pattern: str, expected: list[Comparison]) -> None:
    assert single_comparison(pattern) is None
    assert tokenized_comparisons(pattern) == expected


def test_nesting_past_the_bound_is_refused_without_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    """500 nested parentheses exhausted the stack of the descent (a crash of the run); the bound refuses
    them as the tokenizer meets them, and the library, which would recurse as deep, is not asked."""
    import preuve.indicators.patterns as patterns

    monkeypatch.setattr(patterns, "_library_verdict", lambda pattern: pytest.fail("the library was asked"))
    deep = "(" * 500 + "[domain-name:value = 'e.example']" + ")" * 500
    with pytest.raises(PatternError) as caught:
        parse_pattern(deep)
    assert str(caught.value) == "parentheses nested deeper than 32"
    within = "(" * 31 + "[domain-name:value = 'e.example'] OR ([domain-name:value = 'f.example'])" + ")" * 31
    assert parse_pattern(within) == [(Kind.DOMAIN, "e.example"), (Kind.DOMAIN, "f.example")]
    inner = "[" + "(" * 40 + "domain-name:value = 'g.example'" + ")" * 40 + "]"
    with pytest.raises(PatternError, match=r"^parentheses nested deeper than 32$"):
        parse_pattern(inner)


def test_a_long_pattern_is_not_handed_to_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    """stix2-patterns is linear but slow (about 5 µs a character): past 4096 characters it is not asked."""
    import preuve.indicators.patterns as patterns

    long = "[domain-name:value = 'a.example'] OR " * 200 + "[garbage"
    with pytest.raises(PatternError) as caught:
        parse_pattern(long)
    assert str(caught.value) == "object path 'garbage' lacks a type; not checked further: longer than 4096 characters"
    monkeypatch.setattr(patterns, "MAX_LIBRARY_PATTERN", 100_000)
    with pytest.raises(PatternError, match=r"^object path 'garbage' lacks a type; invalid STIX pattern"):
        parse_pattern(long)
