"""Small helpers over values read from evidence: links in texts, deduplication, app containers.

Queries are built from declared tables (:mod:`preuve.artifacts.tables`) and
cells narrowed by :mod:`preuve.artifacts.values`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from preuve.indicators.normalize import extract_urls

_CONTAINER = re.compile(r"^/private/var/mobile/Containers/(?:Data/Application|Shared/AppGroup|Data/PluginKitPlugin)/([^/]+)/")


def unique(values: Iterable[str]) -> tuple[str, ...]:
    """Values in first-seen order, without repeats or empties."""
    seen: dict[str, None] = {}
    for value in values:
        if value:
            seen.setdefault(value, None)
    return tuple(seen)


def links_in(*texts: str | None) -> tuple[str, ...]:
    """Every link written in any of the texts, deduplicated in order."""
    return unique(url for t in texts if t for url in extract_urls(t))


def container_of(device_path: str) -> str | None:
    """The app container (bundle id in a backup, UUID in a dump) a device path lies in."""
    match = _CONTAINER.match(device_path)
    return match.group(1) if match else None
