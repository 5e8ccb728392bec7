"""Shared fixtures: paths to the real public feeds in ../shared/iocs, a private data folder, a private
temporary folder."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_IOCS = ROOT.parent / "shared" / "iocs"
PACKAGED_PEGASUS = ROOT / "src" / "preuve" / "data" / "2021-07-18_nso" / "pegasus.stix2"


@pytest.fixture
def pegasus_feed() -> Path:
    """The Pegasus feed (Amnesty International, CC-BY 2.0), as shipped with the package."""
    return PACKAGED_PEGASUS


@pytest.fixture
def shared_iocs() -> Path:
    if not SHARED_IOCS.is_dir():
        pytest.skip("../shared/iocs is not beside this checkout")
    return SHARED_IOCS


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test sees its own empty preuve data folder (no feeds installed by the user leak in)."""
    folder = tmp_path_factory.mktemp("preuve-data")
    monkeypatch.setenv("PREUVE_DATA_DIR", str(folder))
    for name in ("PREUVE_IOCS_INDEX_URL", "PREUVE_IOCS_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return folder


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folders of the run made here, to see that none is left."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder
