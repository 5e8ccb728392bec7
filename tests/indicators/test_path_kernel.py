"""The index's file-path kernel (IndicatorIndex._path) finds exactly what the general lookup finds
under a path's keys (keys.path_keys), on paths of every shape and indexes of every mix."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preuve.indicators.index import IndicatorIndex, load_index
from preuve.indicators.keys import path_keys
from preuve.indicators.stix import Indicator
from preuve.model import Kind, Observable
from tests.builders import feed

PATHS = (
    "/private/var/tmp/l",
    "/var/db/com.apple.xpc.roleaccountd.staging",
    "/private/var/mobile/Library/Caches/.com.apple.mobileassetd.cache",
    "/data/local/tmp/wd",
    "/data/local",
    "Library/Preferences/com.apple.photolibraryd.plist",
    "/",
)
NAMES = ("keychain_dump.txt", "fs.db", "l")


def _index(folder: Path, paths: tuple[str, ...], names: tuple[str, ...]) -> IndicatorIndex:
    specs = [(f"[file:path = '{p}']", "Spy") for p in paths]
    specs += [(f"[file:name = '{n}']", "Spy") for n in names]
    return load_index([feed(folder / "f.stix2", *specs)] if specs else [], lambda m: None)


def _ids(found: list[Indicator]) -> list[tuple[str, str]]:
    return [(i.stix_id, i.feed_sha256) for i in found]


_SEGMENT = st.sampled_from(["", ".", "..", "var", "private", "tmp", "l", "mobile", "Library", "Caches", "fs.db",
                            "keychain_dump.txt", "wd", "data", "local", "local", "data", " ", "L", "a b",
                            ".x", "x ", "x\t", "l.", "...", "private"])
_PATH = st.one_of(
    st.builds(lambda lead, parts, tail: lead + "/".join(parts) + tail,
              st.sampled_from(["/", "", "//", "/private/", " /", "/private", "/./", "/private//"]), st.lists(_SEGMENT, max_size=7),
              st.sampled_from(["", "/", " ", "//"])),
    # an indicator's path, and what lies inside it or beside it
    st.builds(lambda known, parts: known + "".join(parts), st.sampled_from(PATHS + ("/private" + PATHS[0],)),
              st.lists(st.sampled_from(["/", "x", "/fs.db", "/tmp", "/wd", "/.", "/..", "l"]), max_size=4)),
)


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> list[IndicatorIndex]:
    folder = tmp_path_factory.mktemp("feeds")
    out = []
    for number, (paths, names) in enumerate(((PATHS, NAMES), (PATHS, ()), ((), NAMES), (PATHS[:1], ()))):
        (folder / str(number)).mkdir()
        out.append(_index(folder / str(number), paths, names))
    return out


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=_PATH)
def test_the_kernel_finds_what_the_keys_find(indexes: list[IndicatorIndex], path: str) -> None:
    for index in indexes:
        assert _ids(index._path(path)) == _ids(index.lookup(path_keys(path)))  # noqa: SLF001


def test_paths_and_names_match_as_before(indexes: list[IndicatorIndex]) -> None:
    index = indexes[0]

    def hits(value: str) -> list[str]:
        return sorted(i.value for i in index.match(Observable(Kind.FILE_PATH, value)))

    assert hits("/private/var/tmp/l") == ["/var/tmp/l", "l"]
    assert hits("/var/db/com.apple.xpc.roleaccountd.staging/PlugIns/x") == ["/var/db/com.apple.xpc.roleaccountd.staging"]
    assert hits("/data/local/tmp/wd/fs.db") == ["/data/local", "/data/local/tmp/wd", "fs.db"]
    assert hits("/var/mobile/Library/Caches/.com.apple.mobileassetd.cachex") == []
    assert hits("/x/keychain_dump.txt") == ["keychain_dump.txt"]
    assert hits("") == []


def test_names_filed_as_prefixes_take_the_general_walk(indexes: list[IndicatorIndex], tmp_path: Path) -> None:
    """No indicator files a file name as a prefix today; an index that did is still read exactly."""
    index = _index(tmp_path, PATHS, NAMES)
    some = next(index.indicators())
    index._prefix.setdefault("file_name", type(index._prefix["file_path"])("."))  # noqa: SLF001
    index._prefix["file_name"].add("fs.", some)  # noqa: SLF001
    index._tables["file_name"] = (index._exact["file_name"], index._prefix["file_name"])  # noqa: SLF001
    for path in ("/data/local/tmp/wd/fs.db", "/a/fs.", "/var/tmp/l"):
        assert _ids(index._path(path)) == _ids(index.lookup(path_keys(path)))  # noqa: SLF001
    assert some in index._path("/a/fs.db")  # noqa: SLF001


@pytest.mark.parametrize("added", ["/var/mobile/Media/DCIM", "/var/mobile/Media/DCIM/100APPLE/IMG_0001.HEIC"])
def test_a_path_indicator_added_later_is_found_in_a_folder_seen_before(tmp_path: Path, added: str) -> None:
    """The kernel keeps what each folder it has seen matches (the indicators above it, the exact
    ones in it by name): an indicator added later, above the folder or in it, is found there."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    index = _index(tmp_path / "a", PATHS, ())
    later = _index(tmp_path / "b", (added,), ())
    path = "/private/var/mobile/Media/DCIM/100APPLE/IMG_0001.HEIC"
    assert index._path(path) == []  # noqa: SLF001
    assert index._path("/private/var/tmp/l") != []  # noqa: SLF001 (the exact table by folder is made)
    for indicator in later.indicators():
        index.add(indicator)
    assert [i.value for i in index._path(path)] == [added]  # noqa: SLF001
    assert _ids(index._path(path)) == _ids(index.lookup(path_keys(path)))  # noqa: SLF001
    beside = "/private/var/mobile/Media/DCIM/100APPLE/IMG_0002.HEIC"
    assert _ids(index._path(beside)) == _ids(index.lookup(path_keys(beside)))  # noqa: SLF001


def test_the_folders_kept_are_bounded(indexes: list[IndicatorIndex], monkeypatch: pytest.MonkeyPatch) -> None:
    """However many folders a listing has, the kernel keeps a bounded number, and finds the same."""
    monkeypatch.setattr("preuve.indicators.index._FOLDER_CACHE", 3)
    index = indexes[0]
    index._folders.clear()  # noqa: SLF001
    paths = [f"{known}/{sub}/f{n}" for n in range(3) for known in PATHS for sub in ("x", "y", "tmp/wd")]
    for path in paths + paths[::-1]:
        assert _ids(index._path(path)) == _ids(index.lookup(path_keys(path)))  # noqa: SLF001
        assert len(index._folders) <= 3  # noqa: SLF001


def test_the_folders_kept_are_bounded_by_their_characters_too(
    indexes: list[IndicatorIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hostile listing's folders may be long: the kernel keeps a bounded number of characters."""
    monkeypatch.setattr("preuve.indicators.index._FOLDER_CHARS", 300)
    index = indexes[0]
    index._folders.clear()  # noqa: SLF001
    index._folder_chars = 0  # noqa: SLF001
    paths = [f"/var/{'x' * 90}{n}/tmp/wd/f" for n in range(8)] + ["/private/var/tmp/l", "/data/local/tmp/wd/fs.db"]
    for path in paths + paths[::-1]:
        assert _ids(index._path(path)) == _ids(index.lookup(path_keys(path)))  # noqa: SLF001
        assert sum(len(folder) for folder in index._folders) == index._folder_chars <= 300  # noqa: SLF001
