"""The streaming JSON reader behind packages.json and files.json: chunk edges, JSON lines, damage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from preuve.artifacts.android import _common
from preuve.artifacts.base import ArtifactContext
from preuve.evidence.errors import EvidenceError
from preuve.evidence.fs import MountFS
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import DEFAULT_LIMITS, Limits
from preuve.evidence.sources.base import at
from preuve.evidence.sources.folder import FolderSource


def _items(tmp_path: Path, content: str, limits: Limits = DEFAULT_LIMITS) -> list[tuple[int, object]]:
    root = tmp_path / "src"
    root.mkdir(exist_ok=True)
    (root / "f.json").write_text(content, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    fs = MountFS(root, HashLedger(), limits, work)
    fs.mount(FolderSource(root, limits), at("/x"))
    return list(_common.iter_json_items(ArtifactContext(fs=fs, limits=limits), "/x/f.json"))


VALUES = [{"path": "/a", "size": 123456789}, {"path": "/b é", "n": [1, 2, {"x": None}]}, 42, "s", True, 1.5e3]


@pytest.mark.parametrize("chunk", [1, 3, 7, 1024])
def test_array_across_chunk_edges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(_common, "_CHUNK", chunk)
    assert _items(tmp_path, json.dumps(VALUES, indent=1)) == list(enumerate(VALUES))
    assert _items(tmp_path, "\n".join(json.dumps(v) for v in VALUES) + "\n") == list(enumerate(VALUES))
    assert _items(tmp_path, " [ ] ") == []


def test_damage_after_good_items(tmp_path: Path) -> None:
    seen: list[tuple[int, object]] = []
    with pytest.raises(EvidenceError, match=r"malformed JSON at item \[2\]"):
        root = tmp_path
        for item in _stream(root, '[{"a": 1}, {"b": 2}, {"c": ]'):
            seen.append(item)
    assert seen == [(0, {"a": 1}), (1, {"b": 2})]
    with pytest.raises(EvidenceError, match="ends without"):
        _items(tmp_path, '[{"a": 1}, ')
    with pytest.raises(EvidenceError, match="nested too deeply|malformed"):
        _items(tmp_path, "[" + "[" * 100_000 + "]" * 100_000 + "]")


def test_item_bigger_than_the_read_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common, "_CHUNK", 16)
    with pytest.raises(EvidenceError, match=r"item \[1\]"):
        _items(tmp_path, '[1, "' + "x" * 200 + '"]', Limits(max_read_bytes=64))


def _stream(tmp_path: Path, content: str):  # noqa: ANN202 - generator of (index, item)
    root = tmp_path / "s"
    root.mkdir(exist_ok=True)
    (root / "f.json").write_text(content)
    work = tmp_path / "w"
    work.mkdir(exist_ok=True)
    fs = MountFS(root, HashLedger(), DEFAULT_LIMITS, work)
    fs.mount(FolderSource(root, DEFAULT_LIMITS), at("/x"))
    yield from _common.iter_json_items(ArtifactContext(fs=fs, limits=DEFAULT_LIMITS), "/x/f.json")
