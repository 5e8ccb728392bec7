"""Records a worker hands over as columns (engine._Columns) reach the sinks exactly as the same records
handed over row by row: the same values, in the same order, the same findings, the same count."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from preuve.run import engine


class _Rows:
    """A sink that keeps each value write_records gives it."""

    def __init__(self) -> None:
        self.got: list[Any] = []

    def write_records(self, artifact: object, values: list[Any]) -> None:
        self.got.extend(values)


class _Joined(_Rows):
    """A sink that also takes bytes joined; it keeps bytes as one stream, as the output folder does."""

    def __init__(self) -> None:
        super().__init__()
        self.stream = b""

    def write_records(self, artifact: object, values: list[Any]) -> None:
        for value in values:
            if type(value) is bytes:
                self.stream += value
            else:
                self.stream += value[0]
                self.got.append(value[1:])

    def write_joined(self, artifact: object, data: bytes) -> None:
        self.stream += data


_VALUE = st.one_of(st.binary(max_size=6), st.tuples(st.binary(max_size=3), st.integers(0, 3)))
_ROW = st.tuples(st.lists(st.integers(0, 9), max_size=2), _VALUE, st.one_of(st.none(), st.integers(0, 5)))


def _deliver(batches: list[Any]) -> tuple[list[Any], bytes, list[Any], list[Any], int, list[int]]:
    joined, rows = _Joined(), _Rows()
    findings: list[Any] = []
    progress: list[int] = []
    count = engine._deliver(None, batches, [joined, rows], findings, progress.append)  # type: ignore[arg-type]  # noqa: SLF001
    return joined.got, joined.stream, rows.got, findings, count, [sum(progress)]


@given(st.lists(st.lists(_ROW, min_size=1, max_size=7), max_size=4))  # (_batches yields no empty batch)
def test_columns_deliver_what_rows_deliver(batches: list[list[tuple[Any, ...]]]) -> None:
    joins = engine._joins([_Joined(), _Rows()])  # type: ignore[list-item]  # noqa: SLF001
    assert joins == [True, False]
    columns = [engine._columns(batch, joins) for batch in batches]  # noqa: SLF001
    assert _deliver(columns) == _deliver(batches)


def test_bytes_are_joined_only_when_every_value_is_bytes() -> None:
    plain = engine._columns([([], b"a", 1), ([7], b"b", None)], [True, False])  # noqa: SLF001
    assert (plain.count, plain.findings, plain.values) == (2, [(1, [7])], [b"ab", [1, None]])
    mixed = engine._columns([([], b"a", 1), ([], (b"b", "row", None), 2)], [True, False])  # noqa: SLF001
    assert mixed.values == [[b"a", (b"b", "row", None)], [1, 2]]
    assert engine._columns([], [True]).values == [[]]  # noqa: SLF001
