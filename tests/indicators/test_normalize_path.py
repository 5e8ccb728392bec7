"""normalize_path's shortcut for paths that are already normal gives what strip and normpath give."""

from __future__ import annotations

import posixpath

from hypothesis import given, settings
from hypothesis import strategies as st

from preuve.indicators.normalize import normalize_path


def _reference(path: str) -> str:
    text = posixpath.normpath(path.strip()) if path.strip() else ""
    return text[len("/private") :] if text.startswith("/private/") else text


@settings(max_examples=3000)
@given(st.lists(st.sampled_from(["/", ".", "a", "b", " ", "\t", "\n", "\u3000", "\x85", "private", "var"]), max_size=16)
       .map("".join))
def test_normalize_path_is_strip_then_normpath(path: str) -> None:
    assert normalize_path(path) == _reference(path)


def test_normalize_path_examples() -> None:
    cases = {
        "/private/var/mobile/Library/SMS/sms.db": "/var/mobile/Library/SMS/sms.db",
        "/private/var/db/com.apple.xpc.roleaccountd.staging/x": "/var/db/com.apple.xpc.roleaccountd.staging/x",
        "/private": "/private",
        "/private/": "/private",
        "/private/x": "/x",
        "/var/tmp/.hidden": "/var/tmp/.hidden",
        "/var/tmp/../tmp/x": "/var/tmp/x",
        "/var//tmp/": "/var/tmp",
        " /var/tmp/x\u3000": "/var/tmp/x",
        "var/tmp": "var/tmp",
        "": "",
        "   ": "",
        "/": "/",
        "//x": "//x",
    }
    for path, normal in cases.items():
        assert normalize_path(path) == normal == _reference(path), path
