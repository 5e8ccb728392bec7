"""DeviceFS.glob on ``prefix*/literal…`` patterns walks one folder at a time (bisection): the same
answer as testing every path under the prefix against the pattern."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from hypothesis import given, settings
from hypothesis import strategies as st

from preuve.evidence.fs import MountFS
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits
from preuve.evidence.sources.base import Member, Source, at


class _Names(Source):
    """Files named by their device paths, listed and never read."""

    def __init__(self, paths: Iterable[str]) -> None:
        super().__init__(Path("/nonexistent"), Limits())
        self._paths = list(paths)

    def members(self) -> Iterator[Member]:
        for path in self._paths:
            yield Member(path[1:], "file", 1, None, None)

    def open(self, name: str, label: str) -> BinaryIO:
        raise NotImplementedError


def ListedFS(paths: Iterable[str]) -> MountFS:  # noqa: N802 - stands for the DeviceFS it makes
    """A MountFS listing these paths as files (and the folders above them as folders)."""
    fs = MountFS(Path("/nonexistent"), HashLedger(), Limits(), Path("/nonexistent"), kind="listed")
    fs.mount(_Names(paths), at("/"))
    return fs


def brute(paths: Iterable[str], pattern: str) -> list[str]:
    """Every path against the pattern, with fnmatch-like rules written out here (``*`` within a
    folder, ``**`` across folders)."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    regex = re.compile("".join(out) + r"\Z")
    return sorted(p for p in set(paths) if regex.match(p))


segment = st.sampled_from(["a", "ab", "a.b", "a-b", "b", "Library", "Lib", "x0", "", "Caches", "L"])
paths = st.lists(st.lists(segment, min_size=1, max_size=5).map(lambda parts: "/r/" + "/".join(parts)), max_size=60)
patterns = st.tuples(st.sampled_from(["/r/", "/r/a", "/r/L"]), st.sampled_from(["Library", "Lib", "a", "b/", "Library/Caches"]),
                     st.sampled_from(["", "/*", "/**", "/*.b", "*", "/Caches"]))


@settings(max_examples=300, deadline=None)
@given(paths, patterns)
def test_folder_by_folder_glob_finds_what_every_path_test_finds(listed: list[str], parts: tuple[str, str, str]) -> None:
    prefix, after, tail = parts
    pattern = f"{prefix}*/{after}{tail}"
    fs = ListedFS(listed)
    assert fs.glob(pattern) == brute(fs.paths(), pattern)


def test_many_containers() -> None:
    listed = [f"/private/var/mobile/Containers/Data/Application/{app:04d}/{kind}/f{n}"
              for app in range(300) for kind in ("Library/Caches", "Documents", "Library/Preferences") for n in range(5)]
    listed += ["/private/var/mobile/Containers/Data/Application/0001", "/private/var/mobile/Containers/Data/Application/0001.x/Library/Preferences/p"]
    fs = ListedFS(listed)
    pattern = "/private/var/mobile/Containers/Data/Application/*/Library/Preferences/*"
    assert fs.glob(pattern) == brute(fs.paths(), pattern) == brute(listed, pattern)
    assert len(fs.glob(pattern)) == 300 * 5 + 1
