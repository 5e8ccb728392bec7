from __future__ import annotations

import pytest

from preuve.detect.ios_paths import on_writable_volume


@pytest.mark.parametrize(("path", "expected"), [
    ("/private/var/db/com.apple.xpc.roleaccountd.staging/roleaboutd", True),
    ("/var/tmp/x", True),
    ("/private/var/containers/Bundle/Application/ABC/App.app/App", False),
    ("/var/containers/Bundle/Application/ABC/App.app/App", False),
    ("/private/var/containers/Bundle/../../tmp/x", True),
    ("/private/var/containers/Bundle/Application/../x", False),
    ("//private/var/db/x", True),
    ("/usr/libexec/locationd", False),
    ("/System/Library/PrivateFrameworks/x", False),
    ("relative/var/x", False),
])
def test_on_writable_volume(path: str, expected: bool) -> None:
    assert on_writable_volume(path) is expected
