"""The file listing of a filesystem dump, as the output folder holds it: each entry once, its path once."""

from __future__ import annotations

import json
import os
from pathlib import Path

from preuve.evidence.ios_listing import FileEntry
from preuve.model import Kind
from preuve.report.outdir import check_into_folder
from preuve.run.results import CheckOptions
from tests.builders import snapshot
from tests.helpers import records


def _dump(tmp_path: Path) -> Path:
    root = tmp_path / "dump"
    target = root / "private" / "var" / "tmp" / "implant.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"12345")
    os.utime(target, (1_700_000_000.25, 1_700_000_000.25))
    return root


def test_an_entry_names_its_path_once_in_its_locator(tmp_path: Path) -> None:
    root = _dump(tmp_path)
    before = snapshot(root)
    out = tmp_path / "out"
    check_into_folder(root, CheckOptions(only_artifacts=("filesystem",)), out)
    lines = [json.loads(line) for line in (out / "artifacts" / "filesystem.jsonl").read_text().splitlines()]
    entry = next(line for line in lines if line["locator"]["device_path"] == "/private/var/tmp/implant.bin")
    assert entry == {
        "record_type": "ios:filesystem:entry",
        "locator": {"device_path": "/private/var/tmp/implant.bin", "sha256": "", "table": None, "rowid": None,
                    "key_path": "listing", "line": None, "offset": None},
        "entry_type": "file",
        "size": 5,
        "modified": "2023-11-14T22:13:20.250000Z",
    }
    assert snapshot(root) == before


def test_the_path_is_still_the_entry_s_path_and_observable(tmp_path: Path) -> None:
    found = [r for r in records(_dump(tmp_path), "filesystem") if r.path.endswith("implant.bin")]
    assert len(found) == 1 and isinstance(found[0], FileEntry)
    assert found[0].path == "/private/var/tmp/implant.bin"
    assert [(o.kind, o.value) for o in found[0].observables()] == [
        (Kind.FILE_PATH, "/private/var/tmp/implant.bin"), (Kind.PROCESS, "implant.bin")
    ]
    assert found[0].summary() == "file /private/var/tmp/implant.bin (5 bytes)"
    assert "path" not in found[0].fields()
