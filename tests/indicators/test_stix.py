from __future__ import annotations

import json
from pathlib import Path

import pytest

from preuve.indicators.index import load_index
from preuve.indicators.stix import FeedError, load_feed


def test_bad_indicator_skipped_not_file(tmp_path: Path) -> None:
    path = tmp_path / "mixed.stix2"
    objects = [
        {"type": "malware", "id": "malware--1", "name": "Spy"},
        {"type": "indicator", "id": "indicator--1", "pattern": "[domain-name:value='ok.example']", "pattern_type": "stix"},
        {"type": "indicator", "id": "indicator--2", "pattern": "[domain-name:value='broken", "pattern_type": "stix"},
        {"type": "indicator", "id": "indicator--3", "pattern": "[url:value='https://x.example/?a=b']",
         "pattern_type": "stix"},
        {"type": "indicator", "id": "indicator--4", "pattern": "rule x {}", "pattern_type": "yara"},
        {"type": "indicator", "id": "indicator--5", "pattern": "[process:name='gone']", "pattern_type": "stix",
         "revoked": True},
        {"type": "relationship", "relationship_type": "indicates", "source_ref": "indicator--1",
         "target_ref": "malware--1"},
    ]
    path.write_text(json.dumps({"type": "bundle", "objects": objects}))
    warnings: list[str] = []
    info, indicators = load_feed(path, warnings.append)
    assert [(i.kind.value, i.value, i.malware) for i in indicators] == [
        ("domain", "ok.example", "Spy"),
        ("url", "http://x.example/?a=b", "Spy"),
    ]
    assert info.indicators == 2
    assert info.skipped == 3
    assert len(warnings) == 2
    assert "indicator--2" in warnings[0] and str(path) in warnings[0]
    assert "yara" in warnings[1]


def test_not_a_bundle(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("[1, 2]")
    with pytest.raises(FeedError, match="not a STIX bundle"):
        load_feed(path, lambda m: None)
    path.write_text("{nope")
    with pytest.raises(FeedError, match="not valid JSON"):
        load_feed(path, lambda m: None)


def test_all_public_feeds_load(shared_iocs: Path) -> None:
    warnings: list[str] = []
    index = load_index([shared_iocs], warnings.append)
    assert warnings == []
    assert len(index.feeds) == 16
    assert len(index) == 5713
    names = {f.name: f.malware for f in index.feeds}
    assert names["2021-07-18_nso/pegasus.stix2"] == ("Pegasus",)
    assert names["2023-04-11_quadream/kingspawn.stix2"] == ("KingSpawn",)


def test_many_skipped_indicators_are_counted_not_each_warned(tmp_path: Path) -> None:
    """The first ten skipped indicators are each said; the rest of the file's are counted by kind of reason
    in one warning. A pattern that is not text is said as such."""
    path = tmp_path / "odd.stix2"
    bad = [f"[x-custom:thing = 'v{n}']" for n in range(12)] + ["[domain-name:value = '']"] * 3 + [42]
    objects = [{"type": "indicator", "id": f"indicator--{n}", "pattern": pattern, "pattern_type": "stix"}
               for n, pattern in enumerate(bad)]
    objects.append({"type": "indicator", "id": "indicator--ok", "pattern": "[domain-name:value = 'ok.example']",
                    "pattern_type": "stix"})
    path.write_text(json.dumps({"type": "bundle", "objects": objects}))
    warnings: list[str] = []
    info, indicators = load_feed(path, warnings.append)
    assert [(i.value, info.indicators, info.skipped) for i in indicators] == [("ok.example", 1, 16)]
    assert warnings == [
        *(f"{path}: indicator indicator--{n} skipped: no matching rule for x-custom:thing" for n in range(10)),
        f"{path}: 6 more indicator(s) skipped (3 empty or unusable value, 2 no matching rule for x-custom:thing, "
        "1 its pattern is int, not text)",
    ]


def test_values_no_indicator_reaches_are_refused_before_they_are_filed(tmp_path: Path) -> None:
    """A domain of 20,000 labels took 800 MB to file (a prefix key per label): values no indicator reaches are refused
    with their reason (any value past 8192 characters too), and a warning quotes a long value cut short."""
    path = tmp_path / "long.stix2"
    patterns = {
        "indicator--domain": "[domain-name:value = '" + "a." * 2_000 + "example']",
        "indicator--path": "[file:path = '" + "/d" * 70 + "/x']",
        "indicator--url": "[url:value = 'https://x.example/?q=" + "q" * 9000 + "']",
        "indicator--ok-domain": "[domain-name:value = '" + "b." * 100 + "example']",
        "indicator--ok-path": "[file:path = '" + "/d" * 60 + "/x']",
        "indicator--empty": "[domain-name:value = '" + " " * 200 + "']",
    }
    objects = [{"type": "indicator", "id": sid, "pattern": pattern, "pattern_type": "stix"}
               for sid, pattern in patterns.items()]
    path.write_text(json.dumps({"type": "bundle", "objects": objects}))
    warnings: list[str] = []
    info, indicators = load_feed(path, warnings.append)
    assert [i.stix_id for i in indicators] == ["indicator--ok-domain", "indicator--ok-path"]
    assert warnings == [
        f"{path}: indicator indicator--domain skipped: a domain of 4007 characters, more than a domain name can "
        "have (253)",
        f"{path}: indicator indicator--path skipped: a path of 71 folders, deeper than any path read (64)",
        f"{path}: indicator indicator--url skipped: a value of 9020 characters, more than 8192",
        f"{path}: indicator indicator--empty skipped: empty or unusable value '" + " " * 80 + "'… (200 characters)",
    ]


def test_a_feed_that_is_neither_file_nor_folder_is_said_so(tmp_path: Path) -> None:
    import os

    from preuve.indicators.stix import feed_files

    fifo = tmp_path / "feed.stix2"
    os.mkfifo(fifo)
    with pytest.raises(FeedError) as caught:
        feed_files([fifo])
    assert str(caught.value) == f"{fifo}: not an indicator file or folder (neither a regular file nor a folder)"
    with pytest.raises(FeedError) as caught:
        feed_files([tmp_path / "absent.stix2"])
    assert str(caught.value) == f"{tmp_path / 'absent.stix2'}: no such indicator file or folder"
