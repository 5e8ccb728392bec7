"""Settings the command line resolves from the environment and passes to the library.

Nothing below the command line reads the environment: the library takes these as arguments.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_DATA_DIR = "PREUVE_DATA_DIR"
ENV_INDEX_URL = "PREUVE_IOCS_INDEX_URL"
ENV_BASE_URL = "PREUVE_IOCS_BASE_URL"


def data_dir() -> Path:
    """Where preuve keeps its data: PREUVE_DATA_DIR, else the platform's user data folder."""
    override = os.environ.get(ENV_DATA_DIR)
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("preuve", appauthor=False))
