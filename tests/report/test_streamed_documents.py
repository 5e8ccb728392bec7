"""findings.json, bundle.json and bundle.md are written a finding at a time: the same bytes as the
whole documents dumped at once (jsonio.dumps with indent, bundle_markdown), so a run of many findings
never holds them all as values and as bytes. 40,000 findings from one indicator took 292 MB at the
end of a run, most of it the documents built whole."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.ios_dbs import Message, fill_sms
from preuve.model.jsonio import dumps, write_indented
from preuve.report.formats.bundle import BUNDLE_NAME, BundleSink, bundle_document, bundle_markdown
from preuve.report.formats.findings import findings_document
from preuve.report.outdir import TIMELINE_FORMATS, OutputFolder
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from tests.builders import feed

_KEYS = st.text(max_size=6)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=8) | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200)
@given(document=st.dictionaries(_KEYS, _VALUES, max_size=5), key=_KEYS, items=st.lists(_VALUES, max_size=6))
def test_a_document_written_item_by_item_is_the_document_dumped(
    document: dict[str, Any], key: str, items: list[Any]
) -> None:
    """Any document and items (nested, integers beyond 64 bits, line breaks in strings, a nested
    key of the same name): the same bytes as dumps of the whole, indented."""
    document.pop(key, None)
    stream = io.BytesIO()
    write_indented(stream, document, key, iter(items))
    assert stream.getvalue() == dumps({**document, key: items}, indent=True)


def test_a_key_given_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="given twice"):
        write_indented(io.BytesIO(), {"findings": 1}, "findings", [])


def test_findings_and_bundle_of_a_run_are_the_documents_dumped_whole(tmp_path: Path) -> None:
    """A run with findings: findings.json, bundle.json and bundle.md as the whole documents give them."""
    builder = BackupBuilder(tmp_path / "b")
    messages = [Message(text=f"see https://evil{n % 3}.example/x{n}") for n in range(40)]
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda conn: fill_sms(conn, messages))
    root = builder.finish()
    indicators = feed(tmp_path / "evil.stix2", ("[domain-name:value='evil1.example']", "Spy"))
    out = tmp_path / "o"
    folder = OutputFolder(out, root, TIMELINE_FORMATS)
    bundle = BundleSink(out)
    try:
        result = run_check(root, CheckOptions(iocs=(indicators,)), sinks=[folder, bundle])
    finally:
        folder.close()
    assert len(result.findings) >= 13
    assert (out / "findings.json").read_bytes() == dumps(findings_document(result), indent=True) + b"\n"
    whole = bundle_document(result, bundle._record_types)  # noqa: SLF001 - the sink's own record types
    assert (out / BUNDLE_NAME).read_bytes() == dumps(whole, indent=True) + b"\n"
    assert (out / "bundle.md").read_text(encoding="utf-8") == bundle_markdown(whole)
    assert f"## Findings ({len(result.findings)})" in bundle_markdown(whole)


def _md_cell_reference(value: object) -> str:
    """bundle.md's cell as first written: every character walked, then each markup character escaped."""
    text = "" if value is None else str(value)
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    for char in "\\`*_[]<>|#!":
        text = text.replace(char, "\\" + char)
    return text


_MARKUP_HEAVY = st.text(alphabet=st.sampled_from("\\`*_[]<>|#!ax \n\t\x00\x7f\u2028é\U0001f600"), max_size=30)


@settings(max_examples=400)
@given(value=st.none() | st.integers() | st.text(max_size=40) | _MARKUP_HEAVY)
def test_a_markdown_cell_is_the_character_walk(value: object) -> None:
    """The cell's checks at C speed give the text the character walk gave, for any value."""
    from preuve.report.formats.bundle import _md_cell

    assert _md_cell(value) == _md_cell_reference(value)


def test_a_markdown_cell_escapes_markup_and_what_is_not_printable() -> None:
    from preuve.report.formats.bundle import _md_cell

    assert _md_cell("HomeDomain/Library/SMS/sms.db") == "HomeDomain/Library/SMS/sms.db"
    assert _md_cell("a_b|c\n\\") == "a\\_b\\|c\\\\x0a\\\\"
    assert _md_cell(None) == ""
