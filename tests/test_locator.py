"""A locator read back from a document (findings.json, a bundle, a case store): one definition."""

from __future__ import annotations

import pytest

from preuve.model import Locator


def test_a_locator_comes_back_as_it_was_written() -> None:
    loc = Locator("/private/var/mobile/Library/SMS/sms.db", "ab" * 32, "message", 7)
    assert Locator.from_dict(loc.as_dict()) == loc
    assert loc.key() == ("/private/var/mobile/Library/SMS/sms.db", "message", 7, None, None, None)


def test_fields_of_the_wrong_type_are_dropped_not_trusted() -> None:
    hostile = {"device_path": "/a", "sha256": 5, "table": ["x"], "rowid": "7", "key_path": "k", "line": True,
               "offset": 12, "extra": "ignored"}
    assert Locator.from_dict(hostile) == Locator("/a", "", None, None, "k", None, 12)


@pytest.mark.parametrize("value", [None, [], "/a", {}, {"device_path": 3}, {"sha256": "x"}])
def test_no_device_path_is_no_locator(value: object) -> None:
    with pytest.raises(ValueError, match="a locator needs a device_path"):
        Locator.from_dict(value)
