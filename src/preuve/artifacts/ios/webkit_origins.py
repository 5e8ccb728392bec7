"""Web origins named by WebKit's storage folders (IndexedDB, LocalStorage, SafariViewService).

WebKit names per-site storage after the origin: ``https_example.com_0``
(scheme, host, port; 0 for the default). A site that stored anything in a
web view (an exploit page often does) leaves its name here, in Safari, in
SafariViewService (links opened inside apps) and in any app's WKWebView.
The name is the evidence: folders are listed, never read, and a record
points at the folder (which has no content hash) or at the ``.localstorage``
file (hashed). Only in filesystem dumps.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from preuve.artifacts.base import Artifact, ArtifactContext
from preuve.artifacts.ios.webkit_resource_load_statistics import WEBSITE_DATA_DIRS
from preuve.artifacts.rows import container_of
from preuve.evidence.fs import DeviceFS
from preuve.model import Kind, Locator, Observable, Record, Timestamp

_ORIGIN = re.compile(r"^(https?|file)_(.+?)_(\d{1,5})(?:\.localstorage)?$")
_STORES = ("IndexedDB", "IndexedDB/v1", "LocalStorage")


@dataclass(frozen=True, slots=True, kw_only=True)
class WebOrigin(Record):
    record_type: ClassVar[str] = "ios:webkit:origin"
    app: str | None
    store: str
    scheme: str
    host: str
    port: int
    modified: datetime | None

    def observables(self) -> Iterator[Observable]:
        if self.scheme in ("http", "https") and self.host:
            yield Observable(Kind.DOMAIN, self.host)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.modified is not None:
            yield Timestamp(self.modified, f"WebKit {self.store} for the site last changed")

    def summary(self) -> str:
        return f"WebKit {self.store} of {self.scheme}://{self.host} in {self.app or 'the system'}"


def parse_origin(name: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a WebKit origin folder or file name, or None."""
    match = _ORIGIN.match(name)
    if not match:
        return None
    scheme, host, port = match.group(1), match.group(2), int(match.group(3))
    return scheme, host.lower(), port


class WebkitOrigins(Artifact):
    name = "webkit_origins"
    platform = "ios"
    title = "Sites that stored data in web views (WebKit IndexedDB, LocalStorage)"
    paths = tuple(f"{d}/{s}/*" for d in WEBSITE_DATA_DIRS for s in _STORES) + (
        f"{WEBSITE_DATA_DIRS[1]}/*",  # SafariViewService keeps origin folders at its top level too
    )

    def locate(self, fs: DeviceFS) -> list[str]:
        """Origin-named entries (folders or files): the name is what this artifact reads."""
        found: set[str] = set()
        for pattern in self.paths:
            for path in fs.glob(pattern):
                if parse_origin(posixpath.basename(path)) and not fs.stat(path).is_link:
                    found.add(path)
        return sorted(found)

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        parsed = parse_origin(posixpath.basename(path))
        if parsed is None:
            return
        info = ctx.fs.stat(path)
        sha = "" if info.is_dir else ctx.fs.sha256(path)
        parent = posixpath.dirname(path)
        store = next((s for s in ("LocalStorage", "IndexedDB") if f"/{s}" in parent), "SafariViewService")
        modified = None
        if info.mtime is not None and info.mtime > 0:
            try:
                modified = datetime.fromtimestamp(info.mtime, UTC)
            except (OverflowError, OSError, ValueError):
                modified = None
        scheme, host, port = parsed
        yield WebOrigin(
            locator=Locator(path, sha, key_path=posixpath.basename(path)),
            app=container_of(path),
            store=store,
            scheme=scheme,
            host=host,
            port=port,
            modified=modified,
        )
