"""Hostile containers through the real sources and acquisition kinds: the one hostile-input policy
(preuve.evidence.policy) applied the same way to a folder, a zip, a tar, a .tar.gz, an AndroidQF zip
and an Android backup (.ab). Every case opens real bytes written here and asserts the exact listing,
warnings and errors; the evidence is never changed."""

from __future__ import annotations

import io
import struct
import tarfile
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preuve.evidence.acquisition import OpenContext, open_acquisition
from preuve.evidence.errors import AcquisitionError, EvidenceError
from preuve.evidence.fs import DeviceFS
from preuve.evidence.ledger import HashLedger
from preuve.evidence.limits import Limits
from preuve.evidence.policy import archive_member_name, is_absolute_name, member_name
from preuve.evidence.sources.zip import ZipSource
from tests.builders import snapshot
from tests.builders.android import android_backup_bytes
from tests.hostile.harness import Outcome, check_hostile

OK = "private/var/mobile/ok.txt"
UNSAFE = ["../../evil.sh", "/../etc/cron.d/x", "a/../../b", "C:/win.ini", "..\\..\\dos"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("private/var/x", "private/var/x"),
        ("./private//var/./x/", "private/var/x"),
        ("FS\\data\\x", "FS/data/x"),
        ("../../etc/passwd", None),
        ("a/../../b", None),
        ("a/../b", None),
        ("/etc/passwd", None),
        ("C:\\Windows\\x", None),
        ("c:x", None),
        ("..\\..\\evil", None),
        ("a\x00b", None),
        ("./", None),
        ("", None),
    ],
)
def test_one_sanitizer_for_every_member_name(raw: str, expected: str | None) -> None:
    assert member_name(raw) == expected


def _by_parts(raw: str) -> str | None:
    """The sanitiser's rules written out part by part (the reference of its one-search fast path)."""
    if not raw or "\x00" in raw:
        return None
    name = raw.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[0].isascii() and name[0].isalpha() and name[1] == ":"):
        return None
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", ".", "..", "/", "\\", "\x00", ":", "C", "é", "\n", " ", "...", "a.b",
                                 "\udcff", "Z:", "//"]), max_size=10).map("".join))
def test_a_plain_name_is_kept_as_it_is_and_any_other_goes_through_every_rule(raw: str) -> None:
    assert member_name(raw) == _by_parts(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("private/var/x", "private/var/x"),
        ("/private/var/x", "private/var/x"),
        ("///private//var/./x/", "private/var/x"),
        ("\\private\\var\\x", "private/var/x"),
        ("/", None),
        ("/../etc/passwd", None),
        ("/a/../../b", None),
        ("/C:/x", None),
        ("C:\\Windows\\x", None),
        ("/a\x00b", None),
        ("", None),
    ],
)
def test_an_archive_member_with_leading_slashes_is_read_from_the_root(raw: str, expected: str | None) -> None:
    """As GNU tar, bsdtar, unzip and zipfile extract it; what follows the slashes is sanitised whole."""
    assert archive_member_name(raw) == expected
    assert is_absolute_name(raw) == raw.startswith(("/", "\\"))


def _zip(path: Path, members: list[tuple[str, bytes]], link_mode: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names written on purpose
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members:
                info = zipfile.ZipInfo(name, (2023, 6, 1, 12, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                if link_mode is not None and name.endswith(".lnk"):
                    info.external_attr = link_mode << 16
                archive.writestr(info, data)
    return path


def _tar(path: Path, members: list[tuple[str, bytes]], mode: str = "w") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode) as archive:  # type: ignore[call-overload]
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1685620800
            archive.addfile(info, io.BytesIO(data))
    return path


def _write(path: Path, fmt: str, members: list[tuple[str, bytes]]) -> Path:
    if fmt == "zip":
        return _zip(path.with_suffix(".zip"), members)
    return _tar(path.with_suffix("." + fmt), members, "w:gz" if fmt == "tar.gz" else "w")


def _open(path: Path, limits: Limits | None = None) -> tuple[DeviceFS, list[str]]:
    said: list[str] = []
    work = path.parent.parent / "work"
    work.mkdir(exist_ok=True)
    opened = open_acquisition(path, OpenContext(HashLedger(), limits or Limits(), work, warn=said.append))
    return opened.fs, said


@pytest.mark.parametrize("fmt", ["zip", "tar", "tar.gz"])
def test_unsafe_names_refused_by_every_archive_source(tmp_path: Path, fmt: str) -> None:
    members = [(OK, b"fine"), *[(name, b"x") for name in UNSAFE]]
    dump = _write(tmp_path / "ev" / "dump", fmt, members)
    before = snapshot(tmp_path / "ev")
    fs, said = _open(dump)
    try:
        assert fs.paths() == ["/private", "/private/var", "/private/var/mobile", "/" + OK]
        assert fs.read_bytes("/" + OK) == b"fine"
        assert said == [f"{dump}: member refused: {raw}: unsafe member name" for raw, _ in members[1:]]
    finally:
        fs.close()
    assert snapshot(tmp_path / "ev") == before
    assert not (tmp_path / "evil.sh").exists()


def _android(tmp_path: Path, kind: str) -> tuple[Path, str, bytes]:
    """An .ab (its tar) or an AndroidQF zip holding one unsafe name: the file, a member's path, its bytes."""
    if kind == "ab":
        path = tmp_path / "ev" / "backup.ab"
        path.parent.mkdir()
        path.write_bytes(android_backup_bytes({"apps/org.example/f/a.txt": b"a", "../../escape": b"x"}))
        return path, "/data/data/org.example/files/a.txt", b"a"
    path = _zip(tmp_path / "ev" / "aqf.zip", [("getprop.txt", b"[ro.x]: [1]\n"), ("../../escape", b"x")])
    return path, "/.acquisition/androidqf/getprop.txt", b"[ro.x]: [1]\n"


@pytest.mark.parametrize("kind", ["ab", "androidqf"])
def test_unsafe_names_refused_in_android_acquisitions(tmp_path: Path, kind: str) -> None:
    """The Android sources say it in the same words: the .ab's tar, and an AndroidQF zip."""
    path, device, data = _android(tmp_path, kind)
    fs, said = _open(path)
    try:
        assert fs.read_bytes(device) == data
        assert said == [f"{path}: member refused: ../../escape: unsafe member name"]
    finally:
        fs.close()


@pytest.mark.parametrize("fmt", ["zip", "tar", "tar.gz"])
def test_duplicate_names_first_copy_read_and_reported(tmp_path: Path, fmt: str) -> None:
    members = [(OK, b"first"), (OK, b"second"), ("./" + OK, b"third")]
    dump = _write(tmp_path / "ev" / "dump", fmt, members)
    fs, said = _open(dump)
    try:
        assert fs.read_bytes("/" + OK) == b"first"
        assert said == [f"{dump}: member {OK}: appears twice; the first copy is read"] * 2
    finally:
        fs.close()


def test_zip_symbolic_link_listed_never_followed(tmp_path: Path) -> None:
    dump = _zip(tmp_path / "ev" / "dump.zip", [(OK, b"fine"), ("private/var/mobile/x.lnk", b"/etc/passwd")],
                link_mode=0o120777)
    fs, said = _open(dump)
    try:
        assert fs.stat("/private/var/mobile/x.lnk").is_link and not fs.is_file("/private/var/mobile/x.lnk")
        with pytest.raises(EvidenceError, match="not a regular file"):
            fs.read_bytes("/private/var/mobile/x.lnk")
        assert said == []
    finally:
        fs.close()


def test_zip_declaring_more_entries_than_the_bound_is_refused_before_listing(tmp_path: Path) -> None:
    # An end-of-central-directory record (zip64) that claims 500,000 entries in a few bytes.
    eocd = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 0xFFFF, 0xFFFF, 0, 0, 0)
    record = b"PK\x06\x06" + struct.pack("<QHHIIQQQQ", 44, 45, 45, 0, 0, 500_000, 500_000, 0, 0)
    locator = b"PK\x06\x07" + struct.pack("<IQI", 0, 0, 1)
    path = tmp_path / "many.zip"
    path.write_bytes(record + locator + eocd)
    with pytest.raises(AcquisitionError) as refused:
        ZipSource(path, Limits(max_archive_entries=200_000), "many.zip")
    assert str(refused.value) == (f"many.zip: not a readable zip ({path}: the zip declares 500000 entries, more "
                                  "than 200000)")


def test_nesting_deeper_than_the_bound_is_refused(tmp_path: Path) -> None:
    deep = "private/var/mobile/" + "/".join(["d"] * 10) + "/deep.txt"
    dump = _tar(tmp_path / "ev" / "dump.tar", [(OK, b"fine"), (deep, b"deep")])
    fs, said = _open(dump, Limits(max_path_depth=8))
    try:
        assert [p for p in fs.paths() if p.endswith(".txt")] == ["/" + OK]
        assert said == [f"{dump}: member refused: {deep}: nested deeper than 8"]
    finally:
        fs.close()


def _ab_check(tmp_path: Path, name: str, data: bytes) -> Outcome:
    folder = tmp_path / "ev"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    return check_hostile(folder / name, tmp_path / f"out-{name}", "-q")


def test_ab_header_absurd_pbkdf2_rounds(tmp_path: Path) -> None:
    """A hostile .ab asks for two billion PBKDF2 rounds: refused before any derivation, through the real
    acquisition path (`preuve check`), with a clear message and no traceback."""
    head = b"ANDROID BACKUP\n5\n1\nAES-256\n" + b"AA" * 64 + b"\n" + b"BB" * 64 + b"\n" + b"2000000000\n"
    head += b"CC" * 16 + b"\n" + b"DD" * 96 + b"\n"
    outcome = _ab_check(tmp_path, "x.ab", head)
    assert outcome.code == 1, outcome.text
    assert "implausible PBKDF2 round count 2000000000" in outcome.text


def test_ab_header_truncated_and_overlong(tmp_path: Path) -> None:
    for name, data in (
        ("cut.ab", b"ANDROID BACKUP\n5\n"),
        ("long.ab", b"ANDROID BACKUP\n" + b"9" * 100_000 + b"\n1\nnone\n"),
    ):
        outcome = _ab_check(tmp_path, name, data)
        assert outcome.code == 1, outcome.text
        assert "malformed Android backup header" in outcome.text, outcome.text


@pytest.mark.parametrize("fmt", ["zip", "tar", "tar.gz"])
def test_an_entry_naming_the_root_is_no_unsafe_name(tmp_path: Path, fmt: str) -> None:
    """``tar -C folder .`` writes the folder itself first, as ``./``, then ``./private/...``: the root is
    left out without a note; an unsafe name beside it is still refused and said."""
    members = [("./", b""), (".", b""), ("./" + OK, b"fine"), ("../../escape", b"x")]
    dump = _write(tmp_path / "ev" / "dump", fmt, members)
    fs, said = _open(dump)
    try:
        assert fs.paths() == ["/private", "/private/var", "/private/var/mobile", "/" + OK]
        assert fs.read_bytes("/" + OK) == b"fine"
        assert said == [f"{dump}: member refused: ../../escape: unsafe member name"]
    finally:
        fs.close()


@pytest.mark.parametrize("fmt", ["zip", "tar", "tar.gz"])
def test_absolute_member_names_are_read_from_the_archive_root(tmp_path: Path, fmt: str) -> None:
    """``tar -P`` (and some acquisition tools) write ``/private/var/...``: every tool extracts such a
    member under the root it extracts to, and so does preuve: the acquisition is recognised, each file is
    at its device path, and the run says once how many names were absolute. A ``..`` after the slashes
    is still refused; the root itself (``/``) is left out without a note; evidence is unchanged."""
    members = [
        ("/", b""),
        ("/" + OK, b"fine"),
        ("//private/var/mobile/two.txt", b"two"),
        ("private/var/mobile/three.txt", b"three"),
        ("/../escape", b"x"),
    ]
    dump = _write(tmp_path / "ev" / "dump", fmt, members)
    before = snapshot(tmp_path / "ev")
    fs, said = _open(dump)
    try:
        assert fs.paths() == ["/private", "/private/var", "/private/var/mobile", "/" + OK,
                              "/private/var/mobile/three.txt", "/private/var/mobile/two.txt"]
        assert [fs.read_bytes(p) for p in fs.paths()[3:]] == [b"fine", b"three", b"two"]
        assert said == [
            f"{dump}: member refused: /../escape: unsafe member name",
            f"{dump}: 2 member name(s) are absolute (the first: /{OK}): each is read relative to the "
            "archive's root, as tar and unzip extract them",
        ]
    finally:
        fs.close()
    assert snapshot(tmp_path / "ev") == before
    assert not (tmp_path / "escape").exists()


@pytest.mark.parametrize("fmt", ["zip", "tar"])
def test_an_absolute_name_beside_the_same_relative_name_is_one_member(tmp_path: Path, fmt: str) -> None:
    """``/a`` and ``a`` are the same member once the slashes are read as the root: the first is read and
    the second told, as for any name written twice."""
    dump = _write(tmp_path / "ev" / "dump", fmt, [("/" + OK, b"first"), (OK, b"second")])
    fs, said = _open(dump)
    try:
        assert fs.read_bytes("/" + OK) == b"first"
        assert said == [
            f"{dump}: member {OK}: appears twice; the first copy is read",
            f"{dump}: 1 member name(s) are absolute (the first: /{OK}): each is read relative to the "
            "archive's root, as tar and unzip extract them",
        ]
    finally:
        fs.close()


def test_a_tar_whose_last_member_is_a_zip_is_read_as_the_tar(tmp_path: Path) -> None:
    """``zipfile.is_zipfile`` finds a zip's end record in the last 64 KiB of a file: a tar whose last
    member is a zip (an app's document, a nested bugreport) has one there. The tar is read as the tar,
    never as that member."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("inside.txt", b"not the acquisition")
    dump = _tar(tmp_path / "ev" / "dump.tar", [(OK, b"fine"), ("private/var/mobile/Documents/a.zip", inner.getvalue())])
    assert zipfile.is_zipfile(dump)  # (what made it look like a zip)
    fs, said = _open(dump)
    try:
        assert [p for p in fs.paths() if fs.is_file(p)] == ["/private/var/mobile/Documents/a.zip", "/" + OK]
        assert fs.read_bytes("/private/var/mobile/Documents/a.zip") == inner.getvalue()
        assert said == []
    finally:
        fs.close()
