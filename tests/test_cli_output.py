"""The output folder's lifecycle: never two runs mixed, nothing left by a failed run, an interrupted run
marked partial (exit 130), and every error in plain words naming the file and real options."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from preuve.builders.ios_backup import BackupBuilder, DeviceFacts
from preuve.builders.ios_dbs import Message, Process, fill_datausage, fill_sms
from preuve.cli import build_cli
from tests.builders import snapshot

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_cli(), list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, " ".join(result.output.split())


def _phone(root: Path, number: int) -> Path:
    builder = BackupBuilder(root, DeviceFacts(device_name=f"Phone {number}", udid=f"0000-{number:04d}"))
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db",
                       lambda c: fill_sms(c, [Message(text=f"hello {number}", handle="+4179")]))
    builder.add_sqlite("WirelessDomain", "Library/Databases/DataUsage.sqlite",
                       lambda c: fill_datausage(c, [Process(1, f"proc{number}", None)]))
    return builder.finish()


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(".preuve-"))


def test_second_phone_replaces_the_first_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _run("check", str(_phone(tmp_path / "a", 1)), "-o", str(out), "-q", "--timeline", "csv")
    assert first[0] == 3  # no indicator: not a full check
    assert (out / "artifacts" / "datausage.jsonl").stat().st_size > 0
    code, output = _run("check", str(_phone(tmp_path / "b", 2)), "-o", str(out), "-q", "--artifact", "sms",
                        "--timeline", "csv")
    assert code == 3, output  # one artifact, no indicator: a partial check
    # Only what the second run wrote: the first phone's datausage records are gone.
    assert sorted(p.name for p in (out / "artifacts").iterdir()) == ["sms.jsonl"]
    run = json.loads((out / "run.json").read_text())
    assert run["evidence"] == str(tmp_path / "b")
    assert "proc1" not in (out / "timeline.csv").read_text()
    assert _siblings(out) == []


def test_folder_of_other_files_is_refused_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    evidence = _phone(tmp_path / "a", 1)
    code, output = _run("check", str(evidence), "-o", str(out), "-q")
    assert code == 1
    assert f"error: {out}: this folder holds files that are not a preuve output; choose another folder with " \
           "-o/--output, or give --force to replace it whole" in output
    assert _listing(out) == {"notes.txt"}
    code, output = _run("check", str(evidence), "-o", str(out), "-q", "--force")
    assert code == 3, output  # no indicator: not a full check
    assert not (out / "notes.txt").exists() and (out / "bundle.json").is_file()


def test_output_holding_the_evidence_is_refused(tmp_path: Path) -> None:
    evidence = _phone(tmp_path / "case" / "phone", 1)
    before = snapshot(tmp_path / "case")
    code, output = _run("check", str(evidence), "-o", str(tmp_path / "case"), "-q", "--force")
    assert code == 1
    assert "the output folder holds the evidence" in output
    assert snapshot(tmp_path / "case") == before


def test_failed_run_leaves_no_folder_and_the_previous_output_as_it_was(tmp_path: Path) -> None:
    broken = BackupBuilder(tmp_path / "broken").finish()
    (broken / "Manifest.db").rename(broken / "Manifest.mbdb")  # (iOS 9's format: the backup cannot be opened)
    fresh = tmp_path / "deep" / "er" / "out"
    code, output = _run("check", str(broken), "-o", str(fresh), "-q")
    assert code == 1 and "Manifest.mbdb" in output
    assert not (tmp_path / "deep").exists()  # not even the parents it would have made
    out = tmp_path / "out"
    assert _run("check", str(_phone(tmp_path / "a", 1)), "-o", str(out), "-q")[0] == 3  # no indicator: not a full check
    before = snapshot(out)
    assert _run("check", str(broken), "-o", str(out), "-q")[0] == 1
    assert snapshot(out) == before
    assert _siblings(out) == []


def test_interrupted_run_exits_130_and_is_marked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import preuve.run.engine

    evidence = _phone(tmp_path / "a", 1)
    out = tmp_path / "out"
    assert _run("check", str(evidence), "-o", str(out), "-q")[0] == 3  # no indicator: not a full check
    real = preuve.run.engine._run_artifact
    calls: list[str] = []

    def stopped(artifact, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append(artifact.name)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(artifact, *args, **kwargs)

    monkeypatch.setattr(preuve.run.engine, "_run_artifact", stopped)
    code, output = _run("check", str(evidence), "-o", str(out), "-q")
    assert code == 130
    assert "interrupted: the run was stopped before it finished" in output and str(out) in output
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "interrupted"
    assert "PARTIAL" in (out / "INTERRUPTED.txt").read_text()
    # Nothing that looks complete: no findings.json, report or bundle from either run.
    assert not {"findings.json", "report.html", "bundle.json"} & {p.name for p in out.iterdir()}
    assert _siblings(out) == []


def test_sigterm_stops_a_real_run_with_130(tmp_path: Path) -> None:
    evidence = _phone(tmp_path / "a", 1)
    out = tmp_path / "out"
    slow = (
        "import time, preuve.run.engine as c\n"
        "real = c._run_artifact\n"
        "def slow(*a, **k):\n"
        "    time.sleep(0.3)\n"
        "    return real(*a, **k)\n"
        "c._run_artifact = slow\n"
        "from preuve.cli import main\n"
        "main()\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", slow, "check", str(evidence), "-o", str(out), "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    deadline = time.monotonic() + 60
    while not _siblings(out) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
    assert (out / "INTERRUPTED.txt").is_file()
    assert _siblings(out) == []


def test_os_errors_in_plain_words(tmp_path: Path) -> None:
    evidence = _phone(tmp_path / "a", 1)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, output = _run("check", str(evidence), "-o", str(blocker / "out"), "-q")
    assert code == 1
    assert "[Errno" not in output and "Traceback" not in output
    assert f"error: {blocker / 'out'}: {blocker} is a file, not a folder; choose another output folder with " \
           "-o/--output" in output
    code, output = _run("check", str(evidence), "-o", str(tmp_path / "o"), "-q", "--password-file",
                        str(tmp_path / "missing.txt"))
    assert code == 1 and "[Errno" not in output and "missing.txt" in output


def _option_names() -> set[str]:
    names: set[str] = set()

    def walk(command: click.Command) -> None:
        for param in command.params:
            names.update(o for o in param.opts + param.secondary_opts if o.startswith("--"))
        if isinstance(command, click.Group):
            for name in command.list_commands(click.Context(command)):
                sub = command.get_command(click.Context(command), name)
                if sub is not None:
                    walk(sub)

    walk(build_cli())
    return names


def test_messages_name_only_options_that_exist() -> None:
    """Every `--option` written in the sources' text is an option of some command."""
    known = _option_names() | {"--help", "--version"}
    named: dict[str, str] = {}
    for path in (ROOT / "src" / "preuve").rglob("*.py"):
        # (CSS custom properties, `--ink: …` and `var(--ink)`, are not options)
        for match in re.finditer(r"(?<![\w-])(?<!var\()--([a-z][a-z0-9-]*[a-z0-9])\b(?!:)", path.read_text(encoding="utf-8")):
            named.setdefault("--" + match.group(1), str(path.relative_to(ROOT)))
    unknown = {option: where for option, where in named.items() if option not in known}
    assert unknown == {}


def test_case_commands_refuse_what_is_not_a_case(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    before = text.read_bytes()
    for args in (("case", "list", str(text)), ("case", "show", str(text), "1"),
                 ("case", "report", str(text), "1", "-o", str(tmp_path / "r")),
                 ("rehunt", str(text), "--iocs", str(ROOT / "src/preuve/data"))):
        code, output = _run(*args)
        assert code == 1, args
        assert f"error: {text}: not a preuve case (not a SQLite database, or a damaged one)" in output, output
    assert text.read_bytes() == before
    missing = tmp_path / "nowhere.db"
    code, output = _run("rehunt", str(missing), "--iocs", str(ROOT / "src/preuve/data"))
    assert code == 1 and f"{missing}: no such case" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_os_error_while_reading_evidence_in_plain_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from preuve.evidence.fs import DeviceFS
    from preuve.messages import os_error_text

    assert os_error_text(OSError(errno.ENOSPC, "No space left on device", "out/x")) == "out/x: the disk is full"
    real = DeviceFS.sha256

    def failing(self: DeviceFS, device_path: str) -> str:
        if device_path.endswith("sms.db"):
            raise OSError(errno.EIO, "Input/output error", "/media/usb/backup/3d/3d0d")
        return real(self, device_path)

    monkeypatch.setattr(DeviceFS, "sha256", failing)
    out = tmp_path / "out"
    code, output = _run("check", str(_phone(tmp_path / "a", 1)), "-o", str(out), "-q")
    assert code == 3, output
    run = json.loads((out / "run.json").read_text())
    [sms] = [a for a in run["artifacts"] if a["name"] == "sms"]
    assert sms["errors"] == ["/private/var/mobile/Library/SMS/sms.db: /media/usb/backup/3d/3d0d: input/output error "
                             "(a failing disk or a disconnected drive?)"]


def test_staging_left_by_a_killed_run_is_removed(tmp_path: Path) -> None:
    import fcntl

    out = tmp_path / "out"
    killed = tmp_path / ".preuve-staging-out-killed1"  # left by a run killed outright: nobody holds it
    (killed / "artifacts").mkdir(parents=True)
    (killed / "timeline.csv").write_text("partial")
    live = tmp_path / ".preuve-staging-out-running"  # a run in progress holds its folder
    live.mkdir()
    handle = os.open(live, os.O_RDONLY)
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        assert _run("check", str(_phone(tmp_path / "a", 1)), "-o", str(out), "-q")[0] == 3  # no indicator: not a full check
        assert _siblings(out) == [".preuve-staging-out-running"]
    finally:
        os.close(handle)


def test_never_replaces_the_folder_it_runs_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    evidence = _phone(tmp_path / "a", 1)
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "notes.txt").write_text("mine")
    monkeypatch.chdir(work / "sub")
    for target in (".", str(work), "/", str(Path.home())):
        code, output = _run("check", str(evidence), "-o", target, "-q", "--force")
        assert code == 1
        assert "preuve replaces its output folder whole and will not replace this one" in output
    assert (work / "notes.txt").read_text() == "mine"
    # A relative output folder is made beside, as asked.
    assert _run("check", str(evidence), "-o", "out", "-q")[0] == 3  # no indicator: not a full check
    assert (work / "sub" / "out" / "bundle.json").is_file()


def test_feed_import_names_the_file_given(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    code, output = _run("iocs", "import", str(notes))
    assert code == 1
    assert f"failed {notes}: {notes.parent.name}/notes.txt: not valid JSON" in output
    assert "probe" not in output and "/tmp/preuve-iocs-" not in output


def test_a_flood_of_warnings_is_cut_on_the_terminal_and_kept_in_run_json(tmp_path: Path) -> None:
    """Three feeds of unusable indicators warn 33 times: the terminal shows 20 and one line saying where
    the rest are; run.json keeps every one."""
    evidence = _phone(tmp_path / "a", 1)
    feeds = []
    for number in range(3):
        objects = [{"type": "indicator", "id": f"indicator--{number}-{n}", "pattern": f"[x-custom:a = '{n}']",
                    "pattern_type": "stix"} for n in range(12)]
        objects.append({"type": "indicator", "id": f"indicator--{number}-ok",
                        "pattern": f"[domain-name:value = 'ok{number}.example']", "pattern_type": "stix"})
        feeds += ["--iocs", str(tmp_path / f"feed{number}.stix2")]
        (tmp_path / f"feed{number}.stix2").write_text(json.dumps({"type": "bundle", "objects": objects}))
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), COLUMNS="200")
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "preuve", "check", str(evidence), "-o", str(out), *feeds],
        capture_output=True, env=env, timeout=120, check=False)
    said = [line for line in done.stderr.decode().splitlines() if line.startswith("warning:")]
    assert len(said) == 21
    assert said[-1] == "warning: more than 20 warnings: the others are not shown here (run.json keeps them)"
    kept = json.loads((out / "run.json").read_text())["warnings"]
    assert len(kept) == 33 and kept[10] == f"{tmp_path / 'feed0.stix2'}: 2 more indicator(s) skipped (2 no matching " \
        "rule for x-custom:a)"


def test_run_json_counts_the_warnings_it_does_not_keep() -> None:
    from preuve.report.outdir import _kept

    many = [f"w{n}" for n in range(1500)]
    assert _kept(many[:1000], 1000) == many[:1000]
    assert _kept(many, 1000) == [*many[:999], "501 more warnings are not kept here"]
    # an artifact's list holds at most 1000: past it, the count is a lower bound
    assert _kept(many[:1000], 100, 1000) == [*many[:99], "at least 901 more warnings are not kept here"]
    assert _kept(many[:150], 100, 1000) == [*many[:99], "51 more warnings are not kept here"]
