"""Property-based fuzzing of each parser family, brief enough for CI (derandomised, small budgets).

Each target states what any input may produce: a value of the documented type, or preuve's own
named error. Any other exception (or a hang, caught by the SQLite deadline) is a bug.
"""

from __future__ import annotations

import plistlib
import sqlite3
import tempfile
from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preuve.artifacts.typedstream import printable_runs, typedstream_text
from preuve.builders.typedstream import attributed_body
from preuve.evidence.errors import EvidenceError
from preuve.evidence.formats.plists import load_plist
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits
from preuve.evidence.sources.folder import folder_fs
from preuve.evidence.sqlite import iter_rows, table_columns, tables
from preuve.indicators.normalize import _TRAILING, _URL_RE, extract_urls, split_url
from preuve.indicators.patterns import PatternError, parse_pattern
from preuve.model import Kind

BRIEF = settings(max_examples=60, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
LIMITS = Limits(sqlite_seconds=5.0)

_plist_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20)  # what XML plists can hold
_plist_values = st.recursive(
    st.one_of(_plist_text, st.integers(-(2**63), 2**63 - 1), st.booleans(), st.binary(max_size=20),
              st.floats(allow_nan=False), st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1))),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(_plist_text, inner, max_size=5)),
    max_leaves=20,
)


def _mutate(data: bytes, flips: list[tuple[int, int]], cut: int | None) -> bytes:
    buf = bytearray(data)
    for position, value in flips:
        if buf:
            buf[position % len(buf)] = value
    return bytes(buf[:cut] if cut is not None else buf)


def _load_or_evidence_error(data: bytes) -> None:
    try:
        load_plist(data, "fuzz.plist", Limits())
    except EvidenceError:
        pass


@BRIEF
@given(st.binary(max_size=400))
def test_plist_loader_arbitrary_bytes(data: bytes) -> None:
    _load_or_evidence_error(data)
    _load_or_evidence_error(b"bplist00" + data)
    _load_or_evidence_error(b'<?xml version="1.0"?><plist version="1.0">' + data)


@BRIEF
@given(_plist_values, st.sampled_from([plistlib.FMT_BINARY, plistlib.FMT_XML]),
       st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6), st.none() | st.integers(0, 400))
def test_plist_loader_mutated(value: object, fmt: plistlib.PlistFormat, flips: list[tuple[int, int]],
                              cut: int | None) -> None:
    data = plistlib.dumps({"root": value}, fmt=fmt)
    assert load_plist(data, "sound.plist", Limits()) is not None
    _load_or_evidence_error(_mutate(data, flips, cut))


_pattern_pieces = st.sampled_from([
    "[", "]", "(", ")", " AND ", " OR ", " = ", " IN ", "'", "\\'", "domain-name:value", "url:value",
    "file:hashes.'SHA-256'", "process:name", "email-addr:value", "x", "evil.example", "FOLLOWEDBY", " ", ",",
])


@BRIEF
@given(st.one_of(st.text(max_size=80), st.lists(_pattern_pieces, max_size=14).map("".join)))
def test_stix_pattern_parser(pattern: str) -> None:
    try:
        pairs = parse_pattern(pattern)
    except PatternError:
        return
    assert pairs
    for kind, value in pairs:
        assert isinstance(kind, Kind) and isinstance(value, str)


@BRIEF
@given(st.text(max_size=200), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
       st.none() | st.integers(0, 300))
def test_typedstream(text: str, flips: list[tuple[int, int]], cut: int | None) -> None:
    blob = attributed_body(text)
    assert typedstream_text(blob) == text
    damaged = _mutate(blob, flips, cut)
    result = typedstream_text(damaged)
    assert result is None or isinstance(result, str)
    assert all(isinstance(run, str) for run in printable_runs(damaged))


def _small_database() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "db"
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE message (ROWID INTEGER PRIMARY KEY, text TEXT, date REAL, body BLOB)")
        conn.execute("CREATE INDEX m_date ON message(date)")
        conn.execute("CREATE VIEW v AS SELECT text FROM message WHERE date > 0")
        conn.executemany("INSERT INTO message (text, date, body) VALUES (?, ?, ?)",
                         [(f"row {i} https://x{i}.example/", i * 1.5, bytes([i]) * 50) for i in range(60)])
        conn.commit()
        conn.close()
        return path.read_bytes()


_DATABASE = _small_database()


@BRIEF
@given(st.lists(st.tuples(st.integers(0, len(_DATABASE) - 1), st.integers(0, 255)), min_size=1, max_size=12),
       st.none() | st.integers(0, len(_DATABASE)))
def test_sqlite_opener(flips: list[tuple[int, int]], cut: int | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "evidence"
        root.mkdir()
        (root / "db").write_bytes(_mutate(_DATABASE, flips, cut))
        work = Path(tmp) / "work"
        work.mkdir()
        fs = folder_fs(root, HashLedger(), LIMITS, work)
        try:
            with fs.sqlite("/db") as conn:
                for name in sorted(tables(conn)):
                    table_columns(conn, name)
                    for row in iter_rows(conn, f'SELECT * FROM "{name}"'):  # noqa: S608 - names from the schema
                        assert len(row) >= 0
        except (EvidenceError, sqlite3.DatabaseError):
            pass
        assert (root / "db").read_bytes() == _mutate(_DATABASE, flips, cut)
        assert sorted(p.name for p in root.iterdir()) == ["db"]


@BRIEF
@given(st.text(max_size=300), st.lists(st.sampled_from(["https://", "hxxp://", "www.", "evil.example/", ".", "/",
                                                        "[.]", "?", "#", "\u200b", "@", ":", "%", " "]), max_size=10))
def test_url_extraction(text: str, pieces: list[str]) -> None:
    sample = text + "".join(pieces) + text[:10]
    found = extract_urls(sample)
    assert len(found) == len(set(found))
    for url in found:
        assert url and url in sample
        parts = split_url(url)
        assert parts is None or (isinstance(parts[0], str) and isinstance(parts[1], str))



def _whole_text_urls(text: str) -> list[str]:
    """The reference: the link pattern over the whole text (extract_urls runs it word by word)."""
    out: list[str] = []
    for match in _URL_RE.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        if url and url not in out:
            out.append(url)
    return out


_URL_PIECES = ["https://", "hxxp://", "www.", "WwW.", "evil.example/", "a.b.example.org/x", ".", "/", "[.]", "?",
               "#", "\u200b", "\u00a0", "\u2028", "\x1c", "\t", "\n", "@", ":", "%", " ", "(", ")", "<", ">", '"',
               "'", "`", "\\", "é", "İ", "ſ", "\u212a", "-", "_", "1"]


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(_URL_PIECES), st.text(max_size=6)), max_size=30))
def test_url_extraction_word_by_word_is_the_whole_text_pattern(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert extract_urls(text) == _whole_text_urls(text)


def test_str_split_whitespace_is_the_pattern_whitespace() -> None:
    """extract_urls relies on str.split() splitting exactly where the pattern's \\s matches."""
    import re
    import sys

    space = re.compile(r"\s")
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        assert bool(space.match(char)) == char.isspace() == (len(f"a{char}b".split()) == 2), hex(code)


_NETLOC_PIECES = ["www.", "WWW.", "news", "Example", ".org", ".", "..", "-", "1", "192.168.0.1", "hxxp", "HXXP", "xn--",
                  "é", "@", ":", "443", "[", "]", "::1", "%", "_", "a", "Z", "0", "\u212a", "ı"]


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(_NETLOC_PIECES), st.text(max_size=3)), max_size=12))
def test_plain_host_is_what_split_url_gives(pieces: list[str]) -> None:
    from preuve.indicators.normalize import plain_host

    netloc = "".join(pieces)
    host = plain_host(netloc)
    if host is not None:
        parts = split_url("http://" + netloc)
        assert parts is not None and parts[0] == host


_LABELS = st.lists(st.sampled_from(["a", "b", "example", "net", ".", "..", "x-y", "www.", "A", ""]), max_size=8).map("".join)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_LABELS, st.lists(_LABELS, max_size=4))
def test_index_domain_lookup_matches_at_label_boundaries(domain: str, published: list[str]) -> None:
    """A domain indicator matches the domain and its subdomains, whatever the labels (the index walks the
    reversed labels from the top, only while a prefix key lies below): the reference is plain strings."""
    from preuve.indicators.index import IndicatorIndex
    from preuve.indicators.stix import Indicator, normalize_indicator_value
    from preuve.model import Observable

    index = IndicatorIndex()
    values = []
    for n, text in enumerate(published):
        normal = normalize_indicator_value(Kind.DOMAIN, text)
        if normal is None:
            continue
        values.append(normal[1])
        index.add(Indicator(normal[0], normal[1], text, "Spy", "f", "0" * 64, f"indicator--{n}", ""))
    observed = domain.strip().strip(".").lower()
    expected = sorted({v for v in values if observed and (observed == v or observed.endswith("." + v))})
    assert sorted({i.value for i in index.match(Observable(Kind.DOMAIN, domain))}) == expected


_CELL_PIECES = [",", '"', "\n", "\r", "\r\n", " ", "'", "=", "+", "-", "@", "\t", "\x00", "é", "a", "b c", ";", '""', ""]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(st.lists(st.one_of(st.sampled_from(_CELL_PIECES), st.text(max_size=4)), max_size=6), min_size=2,
                max_size=8))
def test_csv_cell_rows_are_what_csv_writer_writes(cells: list[list[str]]) -> None:
    """The timeline is written without csv.writer (see outdir.csv_cell): the same bytes, always."""
    import csv
    import io

    from preuve.report.outdir import csv_cell

    row = ["".join(pieces) for pieces in cells]
    reference = io.StringIO(newline="")
    csv.writer(reference).writerow(row)
    assert ",".join(csv_cell(cell) for cell in row) + "\r\n" == reference.getvalue()


@BRIEF
@given(st.binary(max_size=300))
def test_protobuf_wire_reader_arbitrary_bytes(data: bytes) -> None:
    """Any bytes: fields with in-range values, or ProtoError; never another exception, never past the end."""
    from preuve.evidence.formats.protowire import ProtoError, fields

    try:
        for number, wire, value in fields(data):
            assert number >= 1 and wire in (0, 1, 2, 5)
            assert len(value) <= len(data) if isinstance(value, bytes) else 0 <= value < 1 << 64
    except ProtoError:
        pass
