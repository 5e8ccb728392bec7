"""STIX 2.1 patterns: from pattern text to the comparisons preuve can match.

Every public feed writes single comparisons or ORs of them
(``[domain-name:value = 'x.com']``, ``[file:hashes.'SHA-256' = '…']``). The
plainest single comparisons are read by one regular expression
(:func:`single_comparison`); every other pattern by the small tokenizer
below, which understands the full lexical grammar (quoted path components,
escaped quotes, ``=`` inside values, ``IN`` lists, parentheses, several
observation expressions joined by OR). Both are written by hand because the maintained parser, ``stix2-patterns`` (ANTLR),
costs about 0.2 ms per pattern: over a second for the public feeds, whose
load must stay well under half a second. Any pattern the tokenizer does not
accept is handed to ``stix2-patterns``: when that library says the pattern
is invalid its message is reported; when it is valid but uses what preuve
cannot match on stored evidence (AND, FOLLOWEDBY, LIKE, MATCHES, qualifiers),
the indicator is skipped with that reason. Either way only that indicator is
lost, never the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from preuve.model import Kind


class PatternError(ValueError):
    """A pattern preuve cannot use, with the reason."""


class PatternLimit(PatternError):
    """A pattern past one of preuve's bounds: refused without asking the library, which has none."""


@dataclass(frozen=True, slots=True)
class Comparison:
    object_type: str
    path: tuple[str, ...]
    value: str


# (object type, property path) -> observable kind
_PATHS: dict[tuple[str, tuple[str, ...]], Kind] = {
    ("domain-name", ("value",)): Kind.DOMAIN,
    ("ipv4-addr", ("value",)): Kind.IP,
    ("ipv6-addr", ("value",)): Kind.IP,
    ("url", ("value",)): Kind.URL,
    ("process", ("name",)): Kind.PROCESS,
    ("process", ("image_ref", "name")): Kind.PROCESS,
    ("email-addr", ("value",)): Kind.EMAIL,
    ("email-message", ("from_ref", "value")): Kind.EMAIL,
    ("file", ("name",)): Kind.FILE_NAME,
    ("file", ("path",)): Kind.FILE_PATH,
    ("file", ("parent_directory_ref", "path")): Kind.FILE_PATH,
    ("directory", ("path",)): Kind.FILE_PATH,
    ("app", ("id",)): Kind.APP_ID,
    ("configuration-profile", ("id",)): Kind.PROFILE_ID,
    ("android-property", ("name",)): Kind.ANDROID_PROPERTY,
}
_HASHES = {"sha256": "sha256", "sha-256": "sha256", "sha1": "sha1", "sha-1": "sha1", "md5": "md5"}


def comparison_kind(comparison: Comparison) -> Kind:
    key = (comparison.object_type, comparison.path)
    if key in _PATHS:
        return _PATHS[key]
    path = comparison.path
    if comparison.object_type == "file" and len(path) == 2 and path[0] == "hashes":
        algo = _HASHES.get(path[1].lower())
        if algo:
            return Kind(algo)
    if comparison.object_type == "app" and len(path) == 2 and path[0] == "cert":
        algo = _HASHES.get(path[1].lower())
        if algo:
            return Kind("cert_" + algo)
    raise PatternError(f"no matching rule for {comparison.object_type}:{'.'.join(path)}")


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<lbracket>\[) | (?P<rbracket>\]) | (?P<lparen>\() | (?P<rparen>\)) | (?P<comma>,)
  | (?P<op>!=|<=|>=|=|<|>)
  | (?P<word>[A-Za-z0-9_\-]+(?::[A-Za-z0-9_\-]+)?)
  | (?P<dot>\.)
    """,
    re.VERBOSE | re.DOTALL,
)


def _tokens(pattern: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(pattern):
        match = _TOKEN.match(pattern, pos)
        if match is None:
            raise PatternError(f"unexpected character {pattern[pos]!r} at {pos}")
        kind = match.lastgroup or ""
        if kind != "ws":
            out.append((kind, match.group(0)))
        pos = match.end()
    return out


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


# Parentheses nested deeper than this are refused: the descent below recurses once per level, and a
# hostile feed could otherwise exhaust the interpreter's stack (no published pattern nests at all).
MAX_NESTING = 32


class _Parser:
    """Recursive descent over: obs (OR obs)*; obs = '[' cmp (OR cmp)* ']'; cmp = path '=' str | path IN (…)."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def enter(self) -> None:
        """Past an opening parenthesis."""
        self.pos += 1
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise PatternLimit(f"parentheses nested deeper than {MAX_NESTING}")

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, kind: str) -> str:
        tok = self.peek()
        if tok[0] != kind:
            raise PatternError(f"expected {kind}, found {tok[1] or 'end of pattern'!r}")
        self.pos += 1
        return tok[1]

    def keyword(self) -> str:
        tok = self.peek()
        return tok[1].upper() if tok[0] == "word" else ""

    def parse(self) -> list[Comparison]:
        out = self.observation_or()
        if self.peek()[0] != "end":
            raise PatternError(f"unsupported construct near {self.peek()[1]!r}")
        return out

    def observation_or(self) -> list[Comparison]:
        out = self.observation()
        while self.keyword() == "OR":
            self.pos += 1
            out.extend(self.observation())
        return out

    def observation(self) -> list[Comparison]:
        if self.peek()[0] == "lparen":
            self.enter()
            out = self.observation_or()
            self.take("rparen")
            self.depth -= 1
            return out
        self.take("lbracket")
        out = self.comparison_or()
        self.take("rbracket")
        return out

    def comparison_or(self) -> list[Comparison]:
        out = self.comparison()
        while self.keyword() == "OR":
            self.pos += 1
            out.extend(self.comparison())
        if self.keyword() == "AND":
            raise PatternError("AND of comparisons is not matched on stored evidence")
        return out

    def comparison(self) -> list[Comparison]:
        if self.peek()[0] == "lparen":
            self.enter()
            out = self.comparison_or()
            self.take("rparen")
            self.depth -= 1
            return out
        head = self.take("word")
        if ":" not in head:
            raise PatternError(f"object path {head!r} lacks a type")
        object_type, first = head.split(":", 1)
        path = [first]
        while self.peek()[0] == "dot":
            self.pos += 1
            kind, text = self.peek()
            if kind == "word":
                path.append(text)
            elif kind == "string":
                path.append(_unquote(text))
            else:
                raise PatternError(f"bad object path after {head!r}")
            self.pos += 1
        tok = self.peek()
        if tok[0] == "op":
            if tok[1] != "=":
                raise PatternError(f"operator {tok[1]!r} is not supported")
            self.pos += 1
            value = _unquote(self.take("string"))
            return [Comparison(object_type.lower(), tuple(path), value)]
        if self.keyword() == "IN":
            self.pos += 1
            self.take("lparen")
            values = [_unquote(self.take("string"))]
            while self.peek()[0] == "comma":
                self.pos += 1
                values.append(_unquote(self.take("string")))
            self.take("rparen")
            return [Comparison(object_type.lower(), tuple(path), v) for v in values]
        raise PatternError(f"operator {tok[1]!r} is not supported")


# stix2-patterns takes about 5 µs a character: a pattern longer than this is not handed to it (a
# hostile feed of long patterns would otherwise take minutes to load; published ones are far shorter).
MAX_LIBRARY_PATTERN = 4096


def _library_verdict(pattern: str) -> str:
    """Ask stix2-patterns, the maintained parser, why a pattern was not accepted."""
    if len(pattern) > MAX_LIBRARY_PATTERN:
        return f"not checked further: longer than {MAX_LIBRARY_PATTERN} characters"
    try:
        from stix2patterns.validator import run_validator
    except ImportError:  # pragma: no cover - it is a dependency
        return "not understood"
    try:
        errors = run_validator(pattern, stix_version="2.1")
    except Exception as exc:  # noqa: BLE001 - the library raises various types on garbage
        return f"invalid STIX pattern ({exc})"
    if errors:
        return "invalid STIX pattern: " + "; ".join(str(e) for e in errors)
    return "a valid STIX pattern that uses constructs preuve cannot match on stored evidence"


def tokenized_comparisons(pattern: str) -> list[Comparison]:
    """The comparisons of a pattern, through the tokenizer (the whole grammar above)."""
    return _Parser(_tokens(pattern)).parse()


# The form nearly every published indicator takes: one comparison with `=`, no escapes, spaces (if
# any) only around the brackets and the operator. Read with one regular expression instead of the
# tokenizer, it is read about five times faster; anything else (escapes, other whitespace, IN, OR, AND,
# other operators…) does not match and goes through the tokenizer. tests/indicators/test_patterns.py
# checks both give the same comparisons for every indicator of the public feeds and for odd forms.
_SINGLE = re.compile(
    r"\[ *([A-Za-z0-9_\-]+):([A-Za-z0-9_\-]+)((?:\.(?:[A-Za-z0-9_\-]+|'[^'\\]*'))*) *= *'([^'\\]*)' *\]"
)
_COMPONENT = re.compile(r"\.(?:([A-Za-z0-9_\-]+)|'([^'\\]*)')")


def single_comparison(pattern: str) -> list[Comparison] | None:
    """The one comparison of ``[object-type:path = 'value']`` exactly as the tokenizer reads it, or None
    when the pattern has any other form (the tokenizer then reads it)."""
    match = _SINGLE.fullmatch(pattern)
    if match is None:
        return None
    object_type, first, rest, value = match.groups()
    path = (first, *(word or quoted for word, quoted in _COMPONENT.findall(rest))) if rest else (first,)
    return [Comparison(object_type.lower(), path, value)]


def parse_pattern(pattern: str, ask_library: bool = True) -> list[tuple[Kind, str]]:
    """The (observable kind, value) pairs a pattern matches, any of which suffices. Without
    `ask_library`, a pattern the tokenizer refuses is refused with its reason alone."""
    comparisons = single_comparison(pattern)
    if comparisons is None:
        try:
            comparisons = tokenized_comparisons(pattern)
        except PatternLimit:
            raise
        except PatternError as exc:
            if not ask_library:
                raise
            raise PatternError(f"{exc}; {_library_verdict(pattern)}") from None
    if not comparisons:
        raise PatternError("no comparison in pattern")
    return [(comparison_kind(comparison), comparison.value) for comparison in comparisons]
