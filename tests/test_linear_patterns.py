"""Regular expressions over evidence text take time in proportion to the text.

Evidence text is written by whoever controls the phone, or sends it a message: one line or one word
can be a megabyte long. A pattern that tries every position of such a word and scans to its end from
each takes hours for one word (a message of 1 MB of "a.a.a." took three hours to search for links).

These are hang guards, not speed measures: each input is 100,000 characters, which a pattern taking
time in proportion reads in well under a second and a pattern that rescans from every position
reads in minutes. The bound (20 s) lies between the two with a wide margin either side.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import pkgutil
import re
import signal
import time
from collections.abc import Callable, Iterator
from types import FrameType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import preuve

BOUND_SECONDS = 20.0
LENGTH = 100_000
# Characters that evidence text is made of and patterns take apart: word characters, the separators of
# hosts, paths, components and key=value text, quotes and brackets.
ALPHABET = ("a", "A", "0", "_", " ", ".", ":", "/", "-", "=", "\\", '"', "'", "(", "{", ",", "@", "%", "$", "\n")


class _TooLong(Exception):
    pass


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise _TooLong


def _bounded(run: Callable[[], object]) -> float:
    """Seconds `run` took; _TooLong past BOUND_SECONDS (a pattern that rescans would take minutes)."""
    previous = signal.signal(signal.SIGALRM, _stop)
    signal.setitimer(signal.ITIMER_REAL, BOUND_SECONDS)
    started = time.perf_counter()
    try:
        run()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return time.perf_counter() - started


def _adversarial(pattern: re.Pattern[str]) -> Iterator[str]:
    """Long words of one or two characters repeated (the pattern's own literals among them), then a
    character that ends no match: what makes a rescanning pattern try every position."""
    literals = sorted({c for c in pattern.pattern if c.isprintable() and c not in "()[]{}?*+|^$\\"})[:8]
    alphabet = sorted(set(ALPHABET) | set(literals))
    for one in alphabet:
        yield one * LENGTH + "!"
    for one, two in itertools.combinations(alphabet, 2):
        yield (one + two) * (LENGTH // 2) + "!"


def _patterns() -> Iterator[tuple[str, str, re.Pattern[str], tuple[str, ...]]]:
    """Every compiled pattern of preuve's modules (module or class level), with how the module uses it:
    the methods named after it in the module's source (match, search, finditer…)."""
    for info in pkgutil.walk_packages(preuve.__path__, "preuve."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        try:
            source = inspect.getsource(module)
        except (OSError, TypeError):
            continue
        holders: list[tuple[str, object]] = [("", module)]
        holders += [(f"{name}.", value) for name, value in vars(module).items()
                    if inspect.isclass(value) and value.__module__ == module.__name__]
        for prefix, holder in holders:
            for name, value in vars(holder).items():
                if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                    uses = tuple(sorted(set(re.findall(
                        rf"\b{re.escape(name)}\.(match|fullmatch|search|finditer|findall|sub|subn|split)\(", source
                    ))))
                    if uses:
                        yield info.name, prefix + name, value, uses


def _use(pattern: re.Pattern[str], use: str, text: str) -> object:
    if use in ("finditer",):
        return sum(1 for _ in pattern.finditer(text))
    if use in ("sub", "subn"):
        return pattern.subn("", text)
    return getattr(pattern, use)(text)


def test_every_pattern_takes_time_in_proportion_to_the_text() -> None:
    found = list(_patterns())
    assert len(found) > 50  # (the discovery found the patterns)
    slow: list[str] = []
    for module, name, pattern, uses in found:
        for text in _adversarial(pattern):
            for use in uses:
                try:
                    _bounded(lambda: _use(pattern, use, text))  # noqa: B023 - run at once
                except _TooLong:
                    slow.append(f"{module}.{name}.{use} on {text[:8]!r}…")
                    break
            else:
                continue
            break
    assert slow == []


def test_links_in_a_long_word() -> None:
    from preuve.indicators.normalize import extract_urls

    for text in ("a." * (LENGTH // 2) + "/", "/" + "a.a" * (LENGTH // 3), "a-" * (LENGTH // 2) + "/"):
        assert _bounded(lambda: extract_urls(text)) < BOUND_SECONDS  # noqa: B023 - run at once


# The patterns as they were before their lookaheads bounded the host and the package: the same
# results on every text whose hosts and packages are of a real length.
_URL_BEFORE = re.compile(
    r"""(?ix)
    (?:\b[a-z][a-z0-9+.\-]{1,20}://[^\s<>"'`\\]+)
    | (?:\bwww\.[^\s<>"'`\\]+)
    | (?:\b(?:[a-z0-9](?:[a-z0-9\-]{0,62}[a-z0-9])?\.)+[a-z]{2,24}/[^\s<>"'`\\]*)
    """
)
_COMPONENT_BEFORE = re.compile(r"(?P<pkg>[A-Za-z][\w]*(?:\.[\w]+)+)/(?P<cls>[\w.$]+)")
_TEXT = st.text(alphabet=st.sampled_from(["a", "B", "w", "1", "_", "-", ".", "/", ":", "$", " ", '"', "é"]), max_size=80)


@settings(max_examples=3000, deadline=None)
@given(_TEXT)
def test_bounded_link_pattern_finds_what_it_found(text: str) -> None:
    from preuve.indicators.normalize import _URL_RE

    assert [m.span() for m in _URL_RE.finditer(text)] == [m.span() for m in _URL_BEFORE.finditer(text)]


@settings(max_examples=3000, deadline=None)
@given(_TEXT)
def test_bounded_component_pattern_finds_what_it_found(text: str) -> None:
    from preuve.artifacts.android._dumpsys import _COMPONENT

    assert [m.groups() for m in _COMPONENT.finditer(text)] == [m.groups() for m in _COMPONENT_BEFORE.finditer(text)]
    after, before = _COMPONENT.match(text), _COMPONENT_BEFORE.match(text)
    assert (after and after.groups()) == (before and before.groups())


@pytest.mark.parametrize("length", [300, 4000])
def test_a_long_package_is_bounded_as_android_bounds_it(length: int) -> None:
    """Past 255 characters (Android's bound on a package, a folder name) no component is read from a
    word; within it, every one is, as before."""
    from preuve.artifacts.android._dumpsys import _COMPONENT

    package = "com." + "a" * (length - 4)
    text = f"{{com.ok/.Service}}:{{{package}/.Spy}}"
    assert [m["pkg"] for m in _COMPONENT.finditer(text)] == ["com.ok"]
    assert [m["pkg"] for m in _COMPONENT.finditer("{com." + "a" * 250 + "/.Spy}")] == ["com." + "a" * 250]
