"""Shared fixtures: paths to the real public feeds in ../shared/iocs."""

from __future__ import annotations

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
