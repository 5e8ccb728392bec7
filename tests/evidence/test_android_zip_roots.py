"""Where an AndroidQF acquisition or a bugreport lies in an archive's names (android_layout.aqf_zip_root,
bugreport_zip_root): the same answers as the rules written out name by name (the reference below), on
generated lists of names, and on the names of a phone's file system as a zip (every kind's detection
looks at them), where neither is found."""

from __future__ import annotations

import fnmatch

from hypothesis import given, settings
from hypothesis import strategies as st

from preuve.evidence.kinds.android_layout import (
    AQF_FILE_PATTERNS,
    AQF_FILES,
    aqf_zip_root,
    bugreport_zip_root,
)


def _tops(names: list[str]) -> set[str]:
    return {n.split("/", 1)[0] for n in names}


def _bugreport(names: list[str]) -> bool:
    tops = {n for n in names if "/" not in n}
    if "main_entry.txt" in tops or any(n.startswith("dumpState_") and n.endswith(".log") for n in tops):
        return True
    return any(n.startswith(("bugreport-", "bugreport_", "dumpstate")) and n.endswith(".txt") for n in tops) and (
        "version.txt" in tops or any(n.startswith("FS/") or n == "FS" for n in names)
    )


def _aqf(top: set[str]) -> bool:
    if _bugreport(list(top)):
        return False
    return any(n in AQF_FILES or any(fnmatch.fnmatchcase(n, p) for p in AQF_FILE_PATTERNS) for n in top)


def _single(names: list[str]) -> str | None:
    tops = {n.split("/", 1)[0] for n in names if n}
    if len(tops) != 1 or not all("/" in n or n.rstrip("/") in tops for n in names if n):
        return None
    return next(iter(tops))


def _inner(names: list[str], folder: str) -> list[str]:
    return [n[len(folder) + 1 :] for n in names if n.startswith(folder + "/") and len(n) > len(folder) + 1]


def _aqf_root(names: list[str]) -> str | None:
    if _aqf(_tops(names)):
        return ""
    folder = _single(names)
    return folder if folder is not None and _aqf(_tops(_inner(names, folder))) else None


def _bugreport_root(names: list[str]) -> str | None:
    if _bugreport(names):
        return ""
    folder = _single(names)
    return folder if folder is not None and _bugreport(_inner(names, folder)) else None


_PARTS = ["aqf", "FS", "packages.json", "getprop.txt", "main_entry.txt", "version.txt", "bugreport-x.txt",
          "dumpstate.txt", "logs", "a", "", "x.log", "dumpState_1.log"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_PARTS), min_size=1, max_size=4).map("/".join), max_size=12))
def test_the_roots_are_those_of_the_rules_name_by_name(names: list[str]) -> None:
    assert aqf_zip_root(names) == _aqf_root(names)
    assert bugreport_zip_root(names) == _bugreport_root(names)


def test_known_layouts() -> None:
    aqf = ["packages.json", "getprop.txt", "logs/", "logs/a.txt"]
    assert aqf_zip_root(aqf) == "" and aqf_zip_root([f"AQF/{n}" for n in aqf] + ["AQF/"]) == "AQF"
    assert aqf_zip_root(["AQF", *(f"AQF/{n}" for n in aqf)]) == "AQF"  # (its folder's own entry, made safe)
    report = ["main_entry.txt", "bugreport-x.txt", "FS/data/x"]
    assert bugreport_zip_root(report) == "" and bugreport_zip_root([f"br/{n}" for n in report]) == "br"
    assert bugreport_zip_root(["br/bugreport-x.txt", "br/FS/data/x"]) == "br"
    assert bugreport_zip_root(["br/bugreport-x.txt", "br/FSX/data"]) is None
    dump = ["private/", "private/var/", *(f"private/var/mobile/f{n}" for n in range(1000))]
    assert aqf_zip_root(dump) is None and bugreport_zip_root(dump) is None
    assert aqf_zip_root(dump + ["other/x"]) is None
