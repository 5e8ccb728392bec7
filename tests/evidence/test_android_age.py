"""AndroidQF's age-encrypted acquisitions (<UUID>.zip.age), opened with the analyst's identity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from preuve.evidence.acquisition import Secrets, detect_kind
from preuve.evidence.errors import AcquisitionError
from preuve.evidence.kinds.android_qf import AndroidQF
from preuve.run.engine import run_check
from preuve.run.results import CheckOptions
from tests.builders import snapshot
from tests.builders.android import AndroidQFBuilder, PackageSpec

pyrage = pytest.importorskip("pyrage")


def test_age_encrypted_zip(tmp_path: Path) -> None:
    identity = pyrage.x25519.Identity.generate()
    b = AndroidQFBuilder()
    b.packages.append(PackageSpec("com.spy.app", installer="com.android.chrome"))
    plain = b.zip(tmp_path / "plain.zip")
    age = tmp_path / "evidence" / "6b1e4d2c.zip.age"
    age.parent.mkdir()
    age.write_bytes(pyrage.encrypt(plain.read_bytes(), [identity.to_public()]))
    key = f"# created: 2024-01-01\n# public key: {identity.to_public()}\n{identity}\n"
    before = snapshot(age.parent)
    assert detect_kind(age) is AndroidQF
    result = run_check(age, CheckOptions(secrets=Secrets(age_identity=key)))
    assert snapshot(age.parent) == before
    assert result.acquisition_kind == "androidqf"
    assert {a.name: a.records for a in result.artifacts}["android_packages"] == 3
    assert [(f.rule, f.locator.key_path) for f in result.findings if f.rule == "android_package_installer"] == [
        ("android_package_installer", "[2]")
    ]
    with pytest.raises(AcquisitionError, match="give the private key file"):
        run_check(age, CheckOptions())
    other = pyrage.x25519.Identity.generate()
    with pytest.raises(AcquisitionError, match="cannot be decrypted with this key"):
        run_check(age, CheckOptions(secrets=Secrets(age_identity=str(other))))
    with pytest.raises(AcquisitionError, match="no AGE-SECRET-KEY"):
        run_check(age, CheckOptions(secrets=Secrets(age_identity="not a key")))


def test_cli_age_key(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from preuve.cli import build_cli

    identity = pyrage.x25519.Identity.generate()
    plain = AndroidQFBuilder().zip(tmp_path / "plain.zip")
    age = tmp_path / "a.zip.age"
    age.write_bytes(pyrage.encrypt(plain.read_bytes(), [identity.to_public()]))
    key = tmp_path / "key.txt"
    key.write_text(f"{identity}\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(build_cli(), ["check", str(age), "-o", str(out), "-q", "--age-key", str(key)])
    assert result.exit_code == 3, result.output  # read whole; no indicator given: heuristics only
    run = (out / "run.json").read_text()
    assert json.loads(run)["options"]["age_identity_given"] is True
    assert str(identity) not in run
