from __future__ import annotations

import orjson

from preuve.artifacts.ios.sms import SmsMessage
from preuve.model import Locator
from preuve.report.outdir import locator_text, record_line


def _message(locator: Locator) -> SmsMessage:
    return SmsMessage(
        locator=locator, guid="g", service="SMS", handle="+41", is_from_me=False, date=None, date_read=None,
        text="hi", text_source="text", links=("https://a.example/",), account=None, balloon_bundle_id=None,
    )


def test_locator_text_names_every_set_field_in_order() -> None:
    full = Locator("/p", "ab", table="message", rowid=7, key_path="k", line=3, offset=9)
    assert locator_text(_message(full)) == "table=message;rowid=7;key_path=k;line=3;offset=9"
    assert locator_text(_message(Locator("/p", "ab", line=0))) == "line=0"
    assert locator_text(_message(Locator("/p", "ab"))) == ""


def test_record_line_with_a_cached_prefix_is_the_same_line() -> None:
    record = _message(Locator("/p", "ab", table="message", rowid=1))
    line = record_line(record)
    assert line == record_line(record, b'{"record_type":"ios:sms:message",')
    assert line.endswith(b"\n")
    decoded = orjson.loads(line)
    assert decoded["record_type"] == "ios:sms:message"
    assert decoded["links"] == ["https://a.example/"]
    assert decoded["locator"] == {
        "device_path": "/p", "sha256": "ab", "table": "message", "rowid": 1, "key_path": None, "line": None,
        "offset": None,
    }
