"""The keystore ``dumpsys adb`` prints (Android 11 and later) says when each trusted computer last
connected: the key listed first as user_keys takes that time, and a key the keystore alone lists is
read from it, its name without the XML's quote."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path

from preuve.artifacts.android._dumpsys import AdbKey
from preuve.model import Locator
from tests.builders.bugreport import write_folder
from tests.helpers import check, records

DUMP = "/.acquisition/bugreport/dumpstate.txt"


def _key(seed: str) -> str:
    """An RSA public key's length of base64 (adb writes 720 characters), from a seed."""
    raw = b"".join(hashlib.sha256(f"{seed}{i}".encode()).digest() for i in range(17))[:524]
    return base64.b64encode(raw).decode()


def _fingerprint(key: str) -> str:
    digest = hashlib.md5(base64.b64decode(key)).hexdigest().upper()  # noqa: S324 - adb's fingerprint
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


LAPTOP, OTHER = _key("laptop"), _key("other")
ADB = [
    "DUMP OF SERVICE adb:",  # line 1
    "ADB MANAGER STATE (dumpsys adb):",
    "{",
    "  debugging_manager={",
    "    connected_to_adb=true",
    f"    user_keys={LAPTOP} user@laptop",  # line 6
    "",
    "    keystore=<?xml version='1.0' encoding='utf-8' standalone='yes' ?>",
    '    <keyStore version="1">',
    f'    <adbKey key="{LAPTOP} user@laptop" lastConnection="1628501829898" />',  # line 10
    f'    <adbKey key="{OTHER} someone@desk" lastConnection="0" />',
    "    </keyStore>",
    "",
    "  }",
    "}",
    "--------- 0.012s was the duration of dumpsys adb, ending at: 2025-02-04 20:25:58",
]


def test_the_keystore_says_when_each_computer_last_connected(tmp_path: Path) -> None:
    path = write_folder(tmp_path / "bugreport", {"main_entry.txt": b"dumpstate.txt\n",
                                                 "dumpstate.txt": ("\n".join(ADB) + "\n").encode()})
    found = records(path, "android_dumpstate")
    sha = found[0].locator.sha256
    assert found == [
        AdbKey(locator=Locator(DUMP, sha, line=6), fingerprint=_fingerprint(LAPTOP), comment="user@laptop",
               last_connection=datetime(2021, 8, 9, 9, 37, 9, 898000, tzinfo=UTC)),
        AdbKey(locator=Locator(DUMP, sha, line=11), fingerprint=_fingerprint(OTHER), comment="someone@desk",
               last_connection=None),  # (0: never)
    ]
    said = sorted(f.explanation for f in check(path).findings if f.rule == "android_adb_key")
    assert said == [
        f"The computer 'someone@desk' (key {_fingerprint(OTHER)}) is trusted for USB debugging. Check it is the "
        "acquisition computer or one the owner knows.",
        f"The computer 'user@laptop' (key {_fingerprint(LAPTOP)}) is trusted for USB debugging, and last connected "
        "on 2021-08-09 09:37:09 UTC. Check it is the acquisition computer or one the owner knows.",
    ]
