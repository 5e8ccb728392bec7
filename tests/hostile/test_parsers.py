"""Hostile plists, JSON, typedstream blobs and folders, decoded in a guarded child process.

Each case writes its input with code, decodes it with preuve's own loader under the time and memory
bounds, and checks that the loader answers with a named error (never a crash or a hang) and that the
input is unchanged.
"""

from __future__ import annotations

import os
import plistlib
from pathlib import Path

import pytest

from tests.builders import snapshot
from tests.hostile.bplist import array, ascii_string, bplist
from tests.hostile.harness import run_python

_LOADERS = {
    "plist": "from preuve.evidence.formats.plists import load_plist as load",
    "json": "from preuve.evidence.policy import load_json as load",
}


def _decode(tmp_path: Path, name: str, data: bytes, loader: str = "plist") -> str:
    """Decode `data` as a plist or JSON file in a guarded child; returns 'OK' or the error's class and reason."""
    folder = tmp_path / "evidence"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    before = snapshot(folder)
    outcome = run_python(
        f"""
        from preuve.evidence.errors import EvidenceError
        from preuve.evidence.limits import Limits
        {_LOADERS[loader]}
        data = open({str(path)!r}, "rb").read()
        try:
            load(data, {name!r}, Limits())
            print("OK")
        except EvidenceError as exc:
            print(type(exc).__name__, exc.reason)
        """
    )
    assert outcome.code == 0, outcome.text
    assert snapshot(folder) == before
    return outcome.stdout.strip()


def test_plist_entity_declarations(tmp_path: Path) -> None:
    laughs = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 12))
    data = (f'<?xml version="1.0"?><!DOCTYPE plist [{laughs}]><plist version="1.0"><string>&a11;</string></plist>')
    assert _decode(tmp_path, "laughs.plist", data.encode()).startswith("EvidenceError not a valid plist")


def test_plist_external_entity(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = (f'<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY x SYSTEM "file://{secret}">]>'
            '<plist version="1.0"><string>&x;</string></plist>')
    result = _decode(tmp_path, "xxe.plist", data.encode())
    assert result.startswith("EvidenceError") and "TOP-SECRET" not in result


def test_xml_plist_nesting_50000_deep(tmp_path: Path) -> None:
    depth = 50_000
    data = '<?xml version="1.0"?><plist version="1.0">' + "<array>" * depth + "</array>" * depth + "</plist>"
    assert _decode(tmp_path, "deep.plist", data.encode()) == "LimitExceeded plist nests deeper than 200 levels"


def test_binary_plist_nesting_50000_deep(tmp_path: Path) -> None:
    depth = 50_000
    data = bplist([array([i + 1]) for i in range(depth)] + [array([])])
    assert _decode(tmp_path, "deep.bplist", data) == "LimitExceeded plist nests too deeply to decode"


def test_binary_plist_cycle(tmp_path: Path) -> None:
    data = bplist([array([1]), array([0])])  # two arrays holding each other
    assert _decode(tmp_path, "cycle.bplist", data) == "EvidenceError plist contains a reference cycle"


def test_binary_plist_shared_reference_amplification(tmp_path: Path) -> None:
    # 4 levels of 60 references each to the next level: 12,960,000 objects once expanded, 245 stored.
    objects = [array([1] * 60), array([2] * 60), array([3] * 60), array([4] * 60), ascii_string("boom")]
    result = _decode(tmp_path, "amplify.bplist", bplist(objects))
    assert result == "LimitExceeded plist expands to more than 5000000 objects"


def test_keyed_archive_amplification(tmp_path: Path) -> None:
    uid = plistlib.UID
    objects: list[object] = ["$null", {"NS.objects": [uid(2)] * 400}, {"NS.objects": [uid(3)] * 400},
                             {"NS.objects": [uid(4)] * 400}, "leaf"]
    data = plistlib.dumps({"$archiver": "NSKeyedArchiver", "$top": {"root": uid(1)}, "$objects": objects},
                          fmt=plistlib.FMT_BINARY)
    path = tmp_path / "archive.bplist"
    path.write_bytes(data)
    outcome = run_python(
        f"""
        from preuve.evidence.errors import EvidenceError
        from preuve.evidence.limits import Limits
        from preuve.evidence.formats.plists import load_plist, resolve_keyed_archive
        limits = Limits(max_plist_objects=1_000_000)
        value = load_plist(open({str(path)!r}, "rb").read(), "a", limits)
        try:
            resolve_keyed_archive(value, "a", limits)
            print("OK")
        except EvidenceError as exc:
            print(type(exc).__name__, exc.reason)
        """
    )
    assert outcome.stdout.strip() == "LimitExceeded NSKeyedArchiver graph expands too far"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("count", bplist([ascii_string("a")], count=2**40)),
        ("offset", bplist([ascii_string("a")], table_offset=2**40)),
        ("string", b"bplist00" + bytes([0x5F, 0x13]) + (2**62).to_bytes(8, "big") + b"ab"),
        ("top", bplist([ascii_string("a")], top=7)),
    ],
)
def test_binary_plist_lying_lengths(tmp_path: Path, name: str, data: bytes) -> None:
    assert _decode(tmp_path, f"{name}.bplist", data).startswith("EvidenceError not a valid plist")


def test_json_huge_integer(tmp_path: Path) -> None:
    result = _decode(tmp_path, "int.json", b'{"n": ' + b"9" * 100_000 + b"}", "json")
    assert result.startswith("EvidenceError not valid JSON (integer of 100000 digits")


def test_json_nan_and_infinity(tmp_path: Path) -> None:
    assert _decode(tmp_path, "nan.json", b'{"a": NaN}', "json").startswith("EvidenceError not valid JSON (NaN")
    assert _decode(tmp_path, "inf.json", b"[-Infinity]", "json").startswith("EvidenceError not valid JSON (-Inf")


def test_json_deep_nesting(tmp_path: Path) -> None:
    result = _decode(tmp_path, "deep.json", b"[" * 100_000 + b"]" * 100_000, "json")
    assert result == "LimitExceeded JSON nests deeper than 200 levels"


def test_json_brackets_inside_strings_are_not_depth(tmp_path: Path) -> None:
    assert _decode(tmp_path, "ok.json", b'{"s": "' + b"[" * 5000 + b'\\"", "n": 12}', "json") == "OK"


def test_typedstream_lying_length(tmp_path: Path) -> None:
    blob = tmp_path / "body.bin"
    blob.write_bytes(b"\x04\x0bstreamtyped\x81\xe8\x03\x84\x01@\x84\x84\x84\x08NSString\x01\x94\x84\x01+"
                     b"\x82\xff\xff\xff\x7fhttps://x.example/")
    outcome = run_python(
        f"""
        from preuve.artifacts.typedstream import typedstream_text
        print(repr(typedstream_text(open({str(blob)!r}, "rb").read())))
        """
    )
    assert outcome.stdout.strip() == "None"


def test_folder_links_and_fifos_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP-SECRET")
    root = tmp_path / "evidence"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "plain.txt").write_text("plain")
    (root / "sub" / "link.txt").symlink_to(outside / "secret.txt")
    (root / "linked-dir").symlink_to(outside)
    os.mkfifo(root / "sub" / "pipe")
    before = snapshot(root)
    outcome = run_python(
        f"""
        import tempfile
        from pathlib import Path
        from preuve.evidence.errors import EvidenceError
        from preuve.evidence.fs import MountFS
        from preuve.evidence.ledger import HashLedger
        from preuve.evidence.limits import Limits
        from preuve.evidence.sources.base import at
        from preuve.evidence.sources.folder import FolderSource
        fs = MountFS(Path({str(root)!r}), HashLedger(), Limits(), Path(tempfile.mkdtemp()))
        fs.mount(FolderSource(Path({str(root)!r}), Limits()), at("/"))
        print("LIST", fs.paths())
        for path in fs.paths():
            try:
                print("READ", path, fs.read_bytes(path))
            except EvidenceError as exc:
                print("REFUSED", path, exc.reason)
        """
    )
    assert snapshot(root) == before
    lines = outcome.stdout.splitlines()
    assert lines[0] == "LIST ['/linked-dir', '/sub', '/sub/link.txt', '/sub/pipe', '/sub/plain.txt']"
    assert lines[1:] == [
        "REFUSED /linked-dir not a regular file",
        "REFUSED /sub not a regular file",
        "REFUSED /sub/link.txt not a regular file",
        "REFUSED /sub/pipe not a regular file",
        "READ /sub/plain.txt b'plain'",
    ]
    assert "TOP-SECRET" not in outcome.text


def test_folder_with_more_entries_than_the_limit(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    root.mkdir()
    for index in range(1500):
        (root / f"f{index}").write_bytes(b"")
    outcome = run_python(
        f"""
        import tempfile
        from pathlib import Path
        from preuve.evidence.errors import EvidenceError
        from preuve.evidence.fs import MountFS
        from preuve.evidence.ledger import HashLedger
        from preuve.evidence.limits import Limits
        from preuve.evidence.sources.base import at
        from preuve.evidence.sources.folder import FolderSource
        limits = Limits(max_archive_entries=1000)
        fs = MountFS(Path({str(root)!r}), HashLedger(), limits, Path(tempfile.mkdtemp()))
        fs.mount(FolderSource(Path({str(root)!r}), limits), at("/"))
        try:
            fs.paths()
        except EvidenceError as exc:
            print(type(exc).__name__, exc.reason)
        """
    )
    assert outcome.stdout.strip() == "LimitExceeded more than 1000 entries"
