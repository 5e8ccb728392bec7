"""The one acquisition lifecycle (`preuve.run.session.open_evidence`) that check, verify and export share."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from preuve.builders.demo import build_demo_backup
from preuve.evidence.acquisition import Secrets
from preuve.evidence.errors import AcquisitionError, EvidenceError
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.run.session import open_evidence


def test_the_work_folder_lives_for_the_block_and_the_acquisition_is_closed(tmp_path: Path, private_tmp: Path) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    with open_evidence(backup, DEFAULT_LIMITS, Secrets()) as session:
        assert session.opened.kind == "ios_backup"
        assert session.workdir.parent == private_tmp and session.workdir.is_dir()
        assert session.opened.fs.is_file("/private/var/mobile/Library/SMS/sms.db")
        session.opened.fs.sha256("/private/var/mobile/Library/SMS/sms.db")
        assert [f.device_path for f in session.ledger.files()][-1] == "/private/var/mobile/Library/SMS/sms.db"
    assert list(private_tmp.iterdir()) == []


def test_the_work_folder_goes_when_the_block_fails(tmp_path: Path, private_tmp: Path) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    with pytest.raises(RuntimeError, match="inside"), open_evidence(backup, DEFAULT_LIMITS, Secrets()):
        raise RuntimeError("inside")
    assert list(private_tmp.iterdir()) == []


def test_what_is_no_acquisition_leaves_nothing_behind(tmp_path: Path, private_tmp: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("hello")
    with pytest.raises(AcquisitionError, match="not an acquisition preuve recognises"), open_evidence(
        tmp_path / "notes", DEFAULT_LIMITS, Secrets()
    ):
        pass
    assert list(private_tmp.iterdir()) == []


def test_a_work_folder_inside_the_evidence_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    inside = backup / "tmp-here"
    inside.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(inside))
    with pytest.raises(EvidenceError, match="lies inside the evidence"), open_evidence(
        backup, DEFAULT_LIMITS, Secrets()
    ):
        pass
    assert list(inside.iterdir()) == []
