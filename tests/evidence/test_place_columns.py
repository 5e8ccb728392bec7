"""A batch of members handed over as columns (MemberColumns) is placed whole by MountFS when that gives
what placing its members one by one gives (_Placing.columns), and one by one otherwise: the listing,
every entry, the notes and the compact arrays are the same either way, on batches of every shape
(a walk's, a backup's, and hostile ones: members before their folder, paths twice, names too deep,
sizes and times no array holds, codes out of range), alone or after single members."""

from __future__ import annotations

import tempfile
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import preuve.evidence.fs as fs_module
from preuve.evidence.fs import MEMBER_TYPES, MountFS
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits
from preuve.evidence.policy import DIR, FILE
from preuve.evidence.sources.base import Member, MemberColumns, Source, at, members_of


class _Listed(Source):
    """A source handing over the batches given (whole, or flattened one member at a time)."""

    def __init__(self, batches: list[Member | MemberColumns], flatten: bool, indexed: bool) -> None:
        super().__init__(Path("/nonexistent"), Limits(max_path_depth=6))
        self.batches, self.flatten = batches, flatten
        self.index_is_listing = indexed  # type: ignore[misc]

    def members(self) -> Iterator[Member]:
        return members_of(self.batches)

    def member_batches(self) -> Iterator[Member | MemberColumns]:
        if self.flatten:
            yield from self.members()
        else:
            yield from self.batches

    def open(self, name: str, label: str) -> BinaryIO:
        raise OSError(name)


def _state(batches: list[Member | MemberColumns], flatten: bool, indexed: bool) -> tuple[object, ...]:
    with tempfile.TemporaryDirectory() as work:
        fs = MountFS(Path(work), HashLedger(), Limits(max_path_depth=6), Path(work))
        fs.mount(_Listed(batches, flatten, indexed), at("/"))
        paths = fs.paths()
        listing = fs._listings[0]  # noqa: SLF001 - the compact arrays compared as they are
        arrays = (listing.paths, bytes(listing.flags), list(listing.sizes), list(listing.refs),
                  None if listing.mtimes is None else list(listing.mtimes),
                  None if listing.modes is None else list(listing.modes), listing.names, dict(listing.exact))
        return paths, list(fs.iter_files()), list(fs.notes), arrays


def _columns(entries: list[tuple[str, int, int, float, int]], timed: bool) -> MemberColumns:
    return MemberColumns(
        [e[0] for e in entries], bytearray(e[1] for e in entries), array("q", [e[2] for e in entries]),
        array("d", [e[3] for e in entries]) if timed else None, array("q", [e[4] for e in entries]) if timed else None,
    )


def _walk(prefix: str, folders: int, files: int) -> list[tuple[str, int, int, float, int]]:
    """A walk's entries: each folder before what it holds."""
    out: list[tuple[str, int, int, float, int]] = []
    for f in range(folders):
        folder = f"{prefix}d{f}"
        out.append((folder, MEMBER_TYPES.index(DIR), 0, 1.5e9 + f, 0o40755))
        out += [(f"{folder}/f{n}", MEMBER_TYPES.index(FILE), n * 7, 1.6e9 + n, 0o100644) for n in range(files)]
    return out


def _same(batches: list[Member | MemberColumns], indexed: bool) -> None:
    assert _state(batches, False, indexed) == _state(batches, True, indexed)


def _whole(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What each batch's placement as a whole answered."""
    answers: list[bool] = []
    original = fs_module._Placing.columns

    def spy(self: fs_module._Placing, *args: object) -> bool:
        answers.append(result := original(self, *args))  # type: ignore[arg-type]
        return result

    monkeypatch.setattr(fs_module._Placing, "columns", spy)
    return answers


def test_a_walk_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = _whole(monkeypatch)
    walk = _walk("private/var/", 30, 5)
    top = [("private", MEMBER_TYPES.index(DIR), 0, 1.0, 0o40755), ("private/var", MEMBER_TYPES.index(DIR), 0, 2.0, 0o40755)]
    entries = top + walk
    for size in (1, 7, 64, len(entries)):
        batches: list[Member | MemberColumns] = [_columns(entries[at : at + size], True)
                                                  for at in range(0, len(entries), size)]
        _same(batches, indexed=False)
    assert True in answers  # (most batches of a walk are placed whole)


def test_a_backup_s_rows_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = _whole(monkeypatch)
    rows = [(f"private/var/mobile/Library/x{n}", MEMBER_TYPES.index(FILE if n % 3 else DIR), -1 if n % 3 else 0, 0.0, 0)
            for n in range(200)]
    meta = [Member(".acquisition/backup/Info.plist", FILE, 10, 1.7e9, 0o100644)]
    for size in (5, 200):
        batches: list[Member | MemberColumns] = [*meta, *(_columns(rows[at : at + size], False)
                                                          for at in range(0, len(rows), size))]
        _same(batches, indexed=True)
    assert answers and all(answers)


_TYPES = st.integers(min_value=0, max_value=4)  # (4: no member type)
_NAMES = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=8).map("/".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batches=st.lists(
        st.one_of(
            st.lists(st.tuples(_NAMES, _TYPES, st.sampled_from([0, -1, 5, 2**62]), st.sampled_from([0.0, 1.5, -3.0]),
                               st.sampled_from([0, 0o100644, 0o40755])), max_size=12)
            .map(lambda entries: ("columns", entries)),
            st.tuples(_NAMES, st.sampled_from([FILE, DIR]), st.sampled_from([0, 3, -1]),
                      st.sampled_from([None, 2.5]), st.sampled_from([None, 0o100644])).map(lambda m: ("member", m)),
        ),
        max_size=8,
    ),
    timed=st.booleans(),
    indexed=st.booleans(),
)
def test_any_batches_as_one_by_one(batches: list[tuple[str, object]], timed: bool, indexed: bool) -> None:
    given_batches: list[Member | MemberColumns] = []
    for kind, value in batches:
        if kind == "member":
            given_batches.append(Member(*value))  # type: ignore[misc]
        else:
            entries = [e for e in value if e[1] < len(MEMBER_TYPES)]  # type: ignore[attr-defined]
            given_batches.append(_columns(entries, timed))
    _same(given_batches, indexed)


def test_a_long_walk_goes_dense_then_whole() -> None:
    """Times kept aside while few entries have one, in arrays after: a batch is placed whole only once
    the arrays are there, and what the listing holds is the same."""
    entries = [("private", MEMBER_TYPES.index(DIR), 0, 1.0, 0o40755), *_walk("private/", 40, 4)]
    batches: list[Member | MemberColumns] = [_columns(entries[at : at + 20], True) for at in range(0, len(entries), 20)]
    _same(batches, indexed=False)
