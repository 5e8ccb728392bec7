"""Installed indicator feeds: fetched from the public index, or imported for offline use.

The public index is ``indicators.yaml`` of mvt-project/mvt-indicators: a
list of feeds, each a GitHub ``owner/repo/branch/path`` that becomes a raw
file URL. ``update`` fetches every feed into the user data folder
(platformdirs, or ``PREUVE_DATA_DIR``), checks it parses as STIX, and
records its source, ETag, SHA-256, indicator count and fetch time in
``feeds.json``. A feed that fails to download or to parse keeps its previous
good copy. ``check`` uses the installed feeds when no ``--iocs`` is given.

HTTP is done with the standard library's urllib: a handful of GET requests
with a timeout, a size bound and If-None-Match do not justify a dependency.
Nothing here runs unless the user asks for an update.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import orjson

from preuve.evidence.errors import PreuveError
from preuve.indicators.index import IndicatorIndex
from preuve.indicators.stix import MAX_FEED_BYTES, Feed, FeedError, Indicator, feed_files, load_feed

DEFAULT_INDEX_URL = "https://raw.githubusercontent.com/mvt-project/mvt-indicators/main/indicators.yaml"
DEFAULT_RAW_BASE = "https://raw.githubusercontent.com"
MAX_INDEX_BYTES = 1024 * 1024
MAX_INDEX_ENTRIES = 1000
TIMEOUT_SECONDS = 60.0
METADATA = "feeds.json"
_SAFE_PART = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


def feeds_dir(root: Path) -> Path:
    """The installed feeds of the data folder `root` (the command line resolves it)."""
    return root / "iocs"


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One feed listed by the public index."""

    name: str
    owner: str
    repo: str
    branch: str
    path: str

    def url(self, base: str) -> str:
        parts = [self.owner, self.repo, self.branch, *self.path.split("/")]
        return base.rstrip("/") + "/" + "/".join(urllib.parse.quote(p) for p in parts)

    @property
    def file_name(self) -> str:
        return "__".join([self.owner, self.repo, *self.path.split("/")])


@dataclass(frozen=True, slots=True)
class InstalledFeed:
    """A feed in the data folder, as feeds.json records it."""

    file: str  # name inside the feeds folder
    name: str
    source: str  # URL it was fetched from, or "import:<path>"
    sha256: str
    indicators: int
    fetched: str
    etag: str | None = None
    last_error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file, "name": self.name, "source": self.source, "sha256": self.sha256,
            "indicators": self.indicators, "fetched": self.fetched, "etag": self.etag,
            "last_error": self.last_error,
        }


@dataclass(slots=True)
class UpdateReport:
    updated: list[InstalledFeed] = field(default_factory=list)
    unchanged: list[InstalledFeed] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (name, why); previous copy kept


def _safe_part(value: object, what: str) -> str:
    text = str(value) if isinstance(value, (str, int)) else ""
    if not _SAFE_PART.match(text) or text in (".", ".."):
        raise FeedError(f"index entry has an unusable {what}: {value!r}")
    return text


def parse_index(data: bytes) -> tuple[list[IndexEntry], list[str]]:
    """The GitHub feeds of an indicators.yaml (other entry types are reported, not fetched)."""
    import yaml  # only an update reads the index (slow to import, as is urllib.request below)

    if len(data) > MAX_INDEX_BYTES:
        raise FeedError(f"feed index larger than {MAX_INDEX_BYTES} bytes")
    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise FeedError(f"feed index is not valid YAML ({exc})") from exc
    items = doc.get("indicators") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise FeedError("feed index has no 'indicators' list")
    entries: list[IndexEntry] = []
    problems: list[str] = []
    for number, item in enumerate(items[:MAX_INDEX_ENTRIES]):
        if not isinstance(item, dict):
            problems.append(f"entry {number}: not a mapping")
            continue
        name = str(item.get("name") or f"entry {number}")[:200]
        if item.get("type") != "github" or not isinstance(item.get("github"), dict):
            problems.append(f"{name}: type {item.get('type')!r} is not supported")
            continue
        gh = item["github"]
        try:
            path = str(gh.get("path") or "")
            segments = [_safe_part(s, "path") for s in path.split("/")]
            entries.append(
                IndexEntry(name, _safe_part(gh.get("owner"), "owner"), _safe_part(gh.get("repo"), "repo"),
                           _safe_part(gh.get("branch"), "branch"), "/".join(segments))
            )
        except FeedError as exc:
            problems.append(f"{name}: {exc}")
    if len(items) > MAX_INDEX_ENTRIES:
        problems.append(f"only the first {MAX_INDEX_ENTRIES} entries of the index were read")
    return entries, problems


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_metadata(folder: Path) -> dict[str, InstalledFeed]:
    path = folder / METADATA
    if not path.is_file():
        return {}
    try:
        doc = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise PreuveError(f"{path}: damaged feed metadata ({exc}); run `preuve iocs update` again") from exc
    out: dict[str, InstalledFeed] = {}
    for item in doc.get("feeds", []) if isinstance(doc, dict) else []:
        if isinstance(item, dict) and isinstance(item.get("file"), str):
            out[item["file"]] = InstalledFeed(
                file=item["file"], name=str(item.get("name", "")), source=str(item.get("source", "")),
                sha256=str(item.get("sha256", "")), indicators=int(item.get("indicators", 0)),
                fetched=str(item.get("fetched", "")), etag=item.get("etag"), last_error=item.get("last_error"),
            )
    return out


def write_metadata(folder: Path, feeds: dict[str, InstalledFeed]) -> None:
    doc = {"feeds": [feeds[k].as_dict() for k in sorted(feeds)]}
    _atomic_write(folder / METADATA, orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


def _atomic_write(target: Path, data: bytes) -> None:
    handle, tmp = tempfile.mkstemp(prefix=".part-", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _get(url: str, etag: str | None = None) -> tuple[int, bytes, str | None]:
    """GET with a size bound; returns (status, body, ETag). 304 when the ETag still matches."""
    import urllib.error
    import urllib.request

    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise FeedError(f"{url}: only http and https are fetched")
    request = urllib.request.Request(url, headers={"User-Agent": "preuve-iocs-update"})
    if etag:
        request.add_header("If-None-Match", etag)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - scheme checked
            body = response.read(MAX_FEED_BYTES + 1)
            if len(body) > MAX_FEED_BYTES:
                raise FeedError(f"{url}: larger than {MAX_FEED_BYTES} bytes")
            return response.status, body, response.headers.get("ETag")
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return 304, b"", etag
        raise FeedError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise FeedError(f"{url}: cannot be fetched ({getattr(exc, 'reason', exc)})") from exc


def _validate(data: bytes, name: str, workdir: Path) -> tuple[str, int]:
    """(sha256, indicator count) when `data` is a usable STIX bundle, else FeedError."""
    probe = workdir / "probe.stix2"
    probe.write_bytes(data)
    try:
        feed, _ = load_feed(probe, lambda message: None, name=name)
    except FeedError as exc:  # named as the person knows it, not by the private copy checked
        raise FeedError(str(exc).replace(str(probe), name)) from exc
    if feed.indicators == 0:
        raise FeedError(f"{name}: no usable indicator in the file")
    return feed.sha256, feed.indicators


def _install(folder: Path, file_name: str, data: bytes, name: str, source: str, etag: str | None,
             workdir: Path) -> InstalledFeed:
    digest, count = _validate(data, name, workdir)
    _atomic_write(folder / file_name, data)
    return InstalledFeed(file_name, name, source, digest, count, _now(), etag)


def update_feeds(
    root: Path,
    index_url: str = DEFAULT_INDEX_URL,
    base_url: str = DEFAULT_RAW_BASE,
    progress: Callable[[str], None] = lambda message: None,
) -> UpdateReport:
    """Fetch every feed of the index; a feed that fails keeps its previous good copy."""
    folder = feeds_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    _, index_data, _ = _get(index_url)
    entries, problems = parse_index(index_data)
    report = UpdateReport(failed=[("index", p) for p in problems])
    installed = read_metadata(folder)
    with tempfile.TemporaryDirectory(prefix="preuve-iocs-") as tmp:
        for entry in entries:
            url = entry.url(base_url)
            previous = installed.get(entry.file_name)
            have_copy = previous is not None and (folder / entry.file_name).is_file()
            progress(entry.name)
            try:
                status, body, etag = _get(url, previous.etag if have_copy and previous else None)
                if status == 304 and previous is not None:
                    installed[entry.file_name] = replace(previous, fetched=_now(), last_error=None)
                    report.unchanged.append(installed[entry.file_name])
                    continue
                feed = _install(folder, entry.file_name, body, entry.name, url, etag, Path(tmp))
            except FeedError as exc:
                report.failed.append((entry.name, str(exc)))
                if previous is not None:
                    installed[entry.file_name] = replace(previous, last_error=str(exc))
                continue
            if previous is not None and previous.sha256 == feed.sha256:
                report.unchanged.append(feed)
            else:
                report.updated.append(feed)
            installed[entry.file_name] = feed
    write_metadata(folder, installed)
    return report


def import_feeds(paths: Iterable[Path], root: Path) -> UpdateReport:
    """Copy STIX files (or the STIX files of folders) into the installed feeds, for offline use."""
    folder = feeds_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    installed = read_metadata(folder)
    report = UpdateReport()
    with tempfile.TemporaryDirectory(prefix="preuve-iocs-") as tmp:
        for given in paths:
            for path in feed_files([given]):
                source = f"import:{path.resolve()}"
                file_name = "import__" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12] + "__" + (
                    re.sub(r"[^A-Za-z0-9._-]", "_", path.name)[:100]
                )
                name = f"{path.parent.name}/{path.name}" if path.parent.name else path.name
                previous = installed.get(file_name)
                try:
                    if path.stat().st_size > MAX_FEED_BYTES:
                        raise FeedError(f"{path}: larger than {MAX_FEED_BYTES} bytes")
                    feed = _install(folder, file_name, path.read_bytes(), name, source, None, Path(tmp))
                except (FeedError, OSError) as exc:
                    from preuve.messages import error_text

                    report.failed.append((str(path), error_text(exc)))
                    if previous is not None:
                        installed[file_name] = replace(previous, last_error=error_text(exc))
                    continue
                (report.unchanged if previous and previous.sha256 == feed.sha256 else report.updated).append(feed)
                installed[file_name] = feed
    write_metadata(folder, installed)
    return report


def list_feeds(root: Path) -> list[InstalledFeed]:
    folder = feeds_dir(root)
    return [f for _, f in sorted(read_metadata(folder).items())]


def installed_index(warn: Callable[[str], None], root: Path) -> IndicatorIndex | None:
    """The index of every installed feed (each Feed.source says where it came from), or None when
    nothing is installed. A feed whose file is gone or no longer parses is skipped with a warning."""
    folder = feeds_dir(root)
    feeds: list[Feed] = []
    indicators: list[Indicator] = []
    for item in list_feeds(root):
        path = folder / item.file
        try:
            feed, found = load_feed(path, warn, name=item.name, source=item.source)
        except FeedError as exc:
            warn(f"installed feed {item.name}: {exc} (skipped)")
            continue
        if feed.sha256 != item.sha256:
            warn(f"installed feed {item.name}: its file changed since it was installed (sha256 {feed.sha256})")
        feeds.append(feed)
        indicators.extend(found)
    if not feeds:
        return None
    return IndicatorIndex.build(feeds, indicators)
