"""Web origins named by WebKit's storage folders (IndexedDB, LocalStorage, SafariViewService).

WebKit names per-site storage after the origin: ``https_example.com_0``
(scheme, host, port; 0 for the default). A site that stored anything in a
web view (an exploit page often does) leaves its name here, in Safari, in
SafariViewService (links opened inside apps) and in any app's WKWebView.
The name is the evidence: folders are listed, never read, and a record
points at the folder (which has no content hash) or at the ``.localstorage``
file (hashed).

Newer WebKit (the NetworkStorageManager layout, iOS 16 on) names the folders
``Default/<salted hash>/<salted hash>`` instead and writes the top-frame and
frame origins into a small ``origin`` file beside the data (a WTF
persistence encoding: each string as a 32-bit length, an 8-bit flag and its
characters). That file is read, bounded, and the host names in it become
records of their own. Only in filesystem dumps.
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

_MAX_ORIGIN_FILE = 64 * 1024
_HOST = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_ORIGIN = re.compile(r"^(https?|file)_(.+?)_(\d{1,5})(?:\.localstorage)?$")
_STORES = ("IndexedDB", "IndexedDB/v1", "LocalStorage")


@dataclass(kw_only=True)
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
    ) + tuple(f"{d}/Default/*/*/origin" for d in WEBSITE_DATA_DIRS)

    def locate(self, fs: DeviceFS) -> list[str]:
        """Origin-named entries (folders or files): the name is what this artifact reads."""
        found: set[str] = set()
        for pattern in self.paths:
            for path in fs.glob(pattern):
                if fs.stat(path).is_link:
                    continue
                if parse_origin(posixpath.basename(path)) or (path.endswith("/origin") and fs.is_file(path)):
                    found.add(path)
        return sorted(found)

    def parse(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        if path.endswith("/origin"):
            yield from self._origin_file(ctx, path)
            return
        parsed = parse_origin(posixpath.basename(path))
        if parsed is None:
            return
        info = ctx.fs.stat(path)
        sha = "" if info.is_dir else ctx.fs.sha256(path)
        parent = posixpath.dirname(path)
        store = next((s for s in ("LocalStorage", "IndexedDB") if f"/{s}" in parent), "SafariViewService")
        modified = _mtime(info.mtime)
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

    def _origin_file(self, ctx: ArtifactContext, path: str) -> Iterator[Record]:
        data = ctx.fs.read_bytes(path, _MAX_ORIGIN_FILE)
        sha = ctx.fs.sha256(path)
        info = ctx.fs.stat(path)
        modified = _mtime(info.mtime)
        scheme = "https"
        seen: set[str] = set()
        for index, value in enumerate(persistence_strings(data)):
            if value in ("http", "https", "file"):
                scheme = value
                continue
            host = value.lower()
            if host in seen or not _HOST.match(host) or "." not in host and host != "localhost":
                continue
            seen.add(host)
            yield WebOrigin(
                locator=Locator(path, sha, key_path=f"string[{index}]"),
                app=container_of(path),
                store="Default",
                scheme=scheme,
                host=host,
                port=0,  # the port follows in an encoding this reader does not rely on
                modified=modified,
            )


def _mtime(mtime: float | None) -> datetime | None:
    if mtime is None or mtime <= 0:
        return None
    try:
        return datetime.fromtimestamp(mtime, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def persistence_strings(data: bytes, limit: int = 64) -> list[str]:
    """Strings of a WTF persistence encoding (u32 length, u8 is-8-bit flag, characters), in order.

    Written here because no library reads WebKit's private encoding; it is scanned rather than parsed
    field by field, so a changed layout loses fields but never misreads a length as text.
    """
    out: list[str] = []
    offset = 0
    size = len(data)
    while offset + 5 <= size and len(out) < limit:
        length = int.from_bytes(data[offset : offset + 4], "little")
        flag = data[offset + 4]
        if 0 < length <= 253 and flag in (0, 1):
            width = 1 if flag == 1 else 2
            end = offset + 5 + length * width
            if end <= size:
                raw = data[offset + 5 : end]
                try:
                    text = raw.decode("latin-1") if width == 1 else raw.decode("utf-16-le")
                except UnicodeDecodeError:
                    text = ""
                if text and text.isprintable():
                    out.append(text)
                    offset = end
                    continue
        offset += 1
    return out
