from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from preuve.builders.demo import build_demo_backup
from preuve.cli import build_cli
from tests.builders import snapshot
from tests.builders.demo_expected import DEMO_FINDINGS
from tests.builders.ios_encrypted import encrypt_backup

PASSWORD = "s3cret-Pa55 phrase"


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(build_cli(), list(args), env=env)
    return result.exit_code, " ".join(result.output.split())


def _all_output_text(folder: Path) -> str:
    return "".join(p.read_text("utf-8", "replace") for p in sorted(folder.rglob("*")) if p.is_file())


def test_password_file_env_and_key_file_give_the_same_findings(tmp_path: Path, pegasus_feed: Path) -> None:
    enc = encrypt_backup(build_demo_backup(tmp_path / "plain"), tmp_path / "enc", PASSWORD)
    before = snapshot(enc)
    secret = tmp_path / "pw.txt"
    secret.write_text(PASSWORD + "\n")
    code, output = _run("check", str(enc), "--iocs", str(pegasus_feed), "-o", str(tmp_path / "a"), "-q",
                        "--password-file", str(secret))
    assert code == 2, output
    code, output = _run("check", str(enc), "--iocs", str(pegasus_feed), "-o", str(tmp_path / "b"), "-q",
                        env={"PREUVE_BACKUP_PASSWORD": PASSWORD})
    assert code == 2, output
    key = tmp_path / "backup.key"
    code, output = _run("backup-key", str(enc), "-o", str(key), "--password-file", str(secret))
    assert code == 0, output
    assert len(key.read_text().strip()) == 64
    assert key.stat().st_mode & 0o777 == 0o600
    code, output = _run("check", str(enc), "--iocs", str(pegasus_feed), "-o", str(tmp_path / "c"), "-q",
                        "--key-file", str(key))
    assert code == 2, output
    docs = [json.loads((tmp_path / name / "findings.json").read_text())["findings"] for name in "abc"]
    assert len(docs[0]) == DEMO_FINDINGS
    assert docs[0] == docs[1] == docs[2]
    key_hex = key.read_text().strip()
    for name in "abc":
        text = _all_output_text(tmp_path / name)
        assert PASSWORD not in text and key_hex not in text
    run = json.loads((tmp_path / "c" / "run.json").read_text())
    assert run["options"]["key_given"] is True
    assert snapshot(enc) == before


def test_wrong_password_exits_1_with_a_clear_message(tmp_path: Path) -> None:
    enc = encrypt_backup(build_demo_backup(tmp_path / "plain"), tmp_path / "enc", PASSWORD)
    code, output = _run("check", str(enc), "-o", str(tmp_path / "out"), "-q",
                        env={"PREUVE_BACKUP_PASSWORD": "guess"})
    assert code == 1
    assert "wrong password for this encrypted backup" in output
    assert "guess" not in output
    code, output = _run("check", str(enc), "-o", str(tmp_path / "out2"), "-q")
    assert code == 1
    assert "this backup is encrypted" in output
    bad_key = tmp_path / "k"
    bad_key.write_text("zz\n")
    code, output = _run("check", str(enc), "-q", "-o", str(tmp_path / "o3"), "--key-file", str(bad_key))
    assert code == 1
    assert "not a backup key" in output
    code, output = _run("backup-key", str(enc), "-o", str(tmp_path / "k2"), env={"PREUVE_BACKUP_PASSWORD": "x"})
    assert code == 1
    assert "wrong password" in output
    assert not (tmp_path / "k2").exists()


def test_secrets_precedence_and_tty_prompt(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import click

    from preuve.commands import backup as backup_cmd

    enc = encrypt_backup(build_demo_backup(tmp_path / "plain"), tmp_path / "enc", PASSWORD)
    monkeypatch.delenv("PREUVE_BACKUP_PASSWORD", raising=False)
    asked: list[str] = []

    def prompt(text: str, **kwargs: object) -> str:
        asked.append(text)
        assert kwargs["hide_input"] is True
        return PASSWORD

    monkeypatch.setattr(click, "prompt", prompt)
    monkeypatch.setattr(backup_cmd.sys.stdin, "isatty", lambda: True, raising=False)
    assert backup_cmd.gather_secrets(enc, None, None).password == PASSWORD
    assert asked == ["Backup password"]
    assert backup_cmd.gather_secrets(tmp_path / "plain", None, None).password is None  # plain: no prompt
    assert asked == ["Backup password"]
    monkeypatch.setenv("PREUVE_BACKUP_PASSWORD", "from-env")
    assert backup_cmd.gather_secrets(enc, None, None).password == "from-env"
    pw = tmp_path / "pw"
    pw.write_text("from file\r\nsecond line\n")
    assert backup_cmd.gather_secrets(enc, pw, None).password == "from file"
    key = tmp_path / "key"
    key.write_text("ab" * 32 + "\n")
    got = backup_cmd.gather_secrets(enc, pw, key)
    assert (got.key, got.password) == (bytes([0xAB]) * 32, None)
    assert "ab" * 32 not in repr(got)
