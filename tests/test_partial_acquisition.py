"""An acquisition that holds only part of a phone, or nothing preuve reads, is never a full check.

Before, an iOS dump holding only a phone's camera roll, an AndroidQF zip holding only its properties,
or a zip holding nothing any artifact reads said "Nothing found in what could be checked" and exited
0. Now: when none of its kind's essentials (databases every whole phone's acquisition of that kind
holds at least one of) is found, each is told absent as such (Absence.PARTIAL) and the verdict says
"Partial acquisition"; when no artifact found any file, "Nothing was checked".

Acquisitions are written with plain zipfile and files; the feed with the STIX builder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from preuve.artifacts.base import discover_artifacts
from preuve.cli import build_cli
from preuve.evidence.acquisition import acquisition_kinds
from preuve.model import (
    HEADLINE_INCOMPLETE,
    HEADLINE_NOTHING,
    HEADLINE_PARTIAL_ACQUISITION,
    HEADLINE_SELECTED,
    Absence,
    Coverage,
    ExitCode,
    VerdictKey,
    verdict,
)
from preuve.store.case import stored_coverage
from tests.builders import feed
from tests.builders.android import write_zip

IOS_ESSENTIALS = (
    "calls", "contacts", "datausage", "idstatuscache", "interactionc", "locationd_clients", "netusage",
    "osanalytics_addaily", "safari_history", "shutdown_log", "sms", "tcc",
)
PARTIAL_GAP = (
    "The acquisition holds only part of a phone: it holds none of {} (a whole phone's acquisition of its kind "
    "holds at least one of them)."
)


def _check(evidence: Path, tmp_path: Path, *extra: str) -> tuple[int, dict, dict]:  # type: ignore[type-arg]
    iocs = feed(tmp_path / "spy.stix2", ("[domain-name:value='never-seen.example']", "Nobody"))
    out = tmp_path / "out"
    result = CliRunner().invoke(build_cli(), ["check", str(evidence), "--iocs", str(iocs), "-o", str(out), "-q", *extra])
    return (result.exit_code, json.loads((out / "findings.json").read_text()),
            json.loads((out / "run.json").read_text()))


def _absences(run: dict) -> dict[str, str | None]:  # type: ignore[type-arg]
    return {a["name"]: a["absence"] for a in run["artifacts"] if a["status"] == "missing"}


def _camera_roll(root: Path) -> Path:
    for n in range(3):
        path = root / "private/var/mobile/Media/DCIM/100APPLE" / f"IMG_{n:04d}.HEIC"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"heic")
    return root


def test_coverage_of_a_partial_acquisition() -> None:
    partial = Coverage(checked=("filesystem",), lost=("sms", "calls"), partial=("sms", "calls"), indicators=10)
    assert partial.only_partial and partial.complete and not partial.full  # (all it holds was read)
    assert partial.gaps() == [PARTIAL_GAP.format("sms, calls")]
    decided = verdict([], partial)
    assert (decided.key, decided.headline, decided.exit_code, decided.full_check) == (
        VerdictKey.PARTIAL, HEADLINE_PARTIAL_ACQUISITION, ExitCode.INCOMPLETE, False,
    )
    # Anything else missing or damaged as well: the check is incomplete for that, and says it.
    for also in ({"acquisition_problems": ("cut short",)}, {"failed": ("tcc",)}, {"lost": ("sms", "calls", "tcc")}):
        coverage = Coverage(**{"checked": ("filesystem",), "lost": ("sms", "calls"), "partial": ("sms", "calls"),
                               "indicators": 10, **also})  # type: ignore[arg-type]
        assert not coverage.only_partial and verdict([], coverage).headline == HEADLINE_INCOMPLETE
    mixed = Coverage(checked=("filesystem",), lost=("sms", "calls", "tcc"), partial=("sms", "calls"), indicators=10)
    assert mixed.gaps() == [PARTIAL_GAP.format("sms, calls"),
                            "1 artifact(s) are missing from what the acquisition should hold: tcc."]


@pytest.mark.parametrize("fmt", ["folder", "tar"])
def test_a_dump_of_a_camera_roll_is_a_partial_acquisition(tmp_path: Path, fmt: str) -> None:
    root = _camera_roll(tmp_path / "dump")
    evidence = root
    if fmt == "tar":
        import tarfile

        evidence = tmp_path / "dump.tar"
        with tarfile.open(evidence, "w") as archive:
            archive.add(root, arcname=".")
    code, findings, run = _check(evidence, tmp_path)
    assert code == 3
    assert run["verdict"]["headline"] == findings["summary"]["verdict"]["headline"] == HEADLINE_PARTIAL_ACQUISITION
    absences = _absences(run)
    assert {name for name, why in absences.items() if why == "partial"} == set(IOS_ESSENTIALS)
    assert {why for name, why in absences.items() if name not in IOS_ESSENTIALS} == {"not_listed"}
    assert run["coverage"]["gaps"] == [PARTIAL_GAP.format(", ".join(IOS_ESSENTIALS))]
    assert run["warnings"] == []  # (the tar's "./" entry names its root: no note)
    # A stored check's coverage is rebuilt the same (case store, rehunt).
    rebuilt = stored_coverage(findings["summary"], run)
    assert rebuilt.partial == IOS_ESSENTIALS and verdict([], rebuilt).headline == HEADLINE_PARTIAL_ACQUISITION


def test_one_essential_found_makes_a_whole_check(tmp_path: Path) -> None:
    root = _camera_roll(tmp_path / "dump")
    book = root / "private/var/mobile/Library/AddressBook/AddressBook.sqlitedb"
    book.parent.mkdir(parents=True)
    import sqlite3

    conn = sqlite3.connect(book)
    conn.execute("CREATE TABLE ABPerson (ROWID INTEGER PRIMARY KEY, First TEXT, Last TEXT)")
    conn.commit()
    conn.close()
    code, _, run = _check(root, tmp_path)
    assert (code, run["verdict"]["headline"]) == (0, HEADLINE_NOTHING)
    assert set(_absences(run).values()) == {"not_listed"}


def test_essentials_left_out_by_the_user_are_not_judged(tmp_path: Path) -> None:
    root = _camera_roll(tmp_path / "dump")
    code, _, run = _check(root, tmp_path, "--artifact", "filesystem", "--artifact", "sms")
    assert (code, run["verdict"]["headline"]) == (3, HEADLINE_SELECTED)
    assert _absences(run) == {"sms": "not_listed"}


def _zip(path: Path, members: dict[str, str]) -> Path:
    return write_zip(path, {name: text.encode() for name, text in members.items()})


def test_an_androidqf_with_only_its_properties_is_partial(tmp_path: Path) -> None:
    aqf = _zip(tmp_path / "aqf.zip", {"acquisition.json": "{}", "getprop.txt": "[ro.build.version.release]: [14]\n"})
    code, _, run = _check(aqf, tmp_path)
    assert (code, run["verdict"]["headline"]) == (3, HEADLINE_PARTIAL_ACQUISITION)
    assert {name for name, why in _absences(run).items() if why == "partial"} == {
        "android_dumpstate", "android_dumpsys", "android_files", "android_packages", "android_processes",
        "android_settings",
    }
    packages = json.dumps([{"name": "com.example.app", "files": [], "installer": "com.android.vending"}])
    whole = _zip(tmp_path / "aqf2.zip", {"acquisition.json": "{}", "getprop.txt": "[ro.x]: [1]\n",
                                          "packages.json": packages})
    code, _, run = _check(whole, tmp_path)
    assert "partial" not in _absences(run).values()


def test_every_kinds_essentials_are_artifacts_of_its_platform() -> None:
    for kind in acquisition_kinds():
        names = {a.name for a in discover_artifacts(kind.platform)}
        assert set(kind.essentials) <= names, kind.name
    assert Absence.PARTIAL.loses_evidence
