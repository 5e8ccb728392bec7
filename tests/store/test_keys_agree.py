"""The retro-hunt's lookup keys must find exactly what the in-memory index matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from preuve.indicators.index import load_index
from preuve.indicators.keys import indicator_queries, observable_keys
from preuve.model import Kind, Observable
from tests.builders import feed
from tests.indicators.test_index import MATCH_CASES, build_index


@pytest.mark.parametrize(("kind", "value", "hits"), MATCH_CASES)
def test_keys_agree_with_index(tmp_path: Path, kind: Kind, value: str, hits: int) -> None:
    index = build_index(tmp_path)
    observable = Observable(kind, value)
    keys = set(observable_keys(observable))
    found = set()
    for indicator in index.indicators():
        for key_kind, key, prefix in indicator_queries(indicator):
            for k_kind, k in keys:
                if k_kind == key_kind and (k.startswith(key) if prefix else k == key):
                    found.add((indicator.stix_id, indicator.value))
    expected = {(i.stix_id, i.value) for i in index.match(observable)}
    assert found == expected
    assert len(found) == hits


def test_public_feed_indicators_have_queries(tmp_path: Path) -> None:
    path = feed(tmp_path / "f.stix2", ("[process:name='averyveryverylongprocessname']", "X"))
    index = load_index([path], lambda m: None)
    [indicator] = list(index.indicators())
    assert indicator_queries(indicator) == [
        ("process", "averyveryverylongprocessname", False),
        ("process_prefix", "averyveryverylon"[:15], False),
        ("process_prefix", "averyveryverylon", False),
    ]
