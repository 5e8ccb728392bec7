"""A verdict people can trust: coverage, one verdict, grouped findings, evidence strength, context.

Each case runs on an acquisition built here (package builders; nothing from the code under test
builds them) and asserts the exact statuses, headlines, exit codes and findings.
"""

from __future__ import annotations

import json
import re
import zlib
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner, Result

from preuve.builders.demo import build_demo_backup
from preuve.builders.ios_backup import BackupBuilder
from preuve.builders.ios_dbs import Message, Process, fill_datausage, fill_sms
from preuve.cli import build_cli
from preuve.model import (
    HEADLINE_HEURISTICS_ONLY,
    HEADLINE_INCOMPLETE,
    HEADLINE_NOTHING,
    HEADLINE_NOTHING_CHECKED,
    HEADLINE_SELECTED,
    HEADLINE_SPYWARE,
    HEADLINE_SUSPICIOUS,
    NOTHING_CHECKED,
    Coverage,
    ExitCode,
    Finding,
    IndicatorRef,
    Kind,
    Locator,
    Observable,
    Severity,
    Strength,
    VerdictKey,
    verdict,
)
from preuve.store.case import CaseStore
from tests.builders import feed, snapshot
from tests.builders.android import write_zip
from tests.builders.ios_dump import backup_files, write_dump
from tests.builders.stix import write_bundle

SMS_DB = "/private/var/mobile/Library/SMS/sms.db"
DATAUSAGE_DB = "/private/var/wireless/Library/Databases/DataUsage.sqlite"
BAD_LINK = "https://parcel-bad.example/r/9"


def _cli(*args: str) -> Result:
    return CliRunner().invoke(build_cli(), list(args))


def _flat(text: str) -> str:
    return " ".join(text.split())


def _nothing_feed(tmp_path: Path) -> Path:
    """A feed whose one indicator matches nothing on the phones built here."""
    return feed(tmp_path / "nothing.stix2", ("[domain-name:value='never-seen.example']", "Nobody"))


def _clean_backup(root: Path) -> Path:
    builder = BackupBuilder(root)
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, [Message(text="see you at 7")]))
    builder.add_sqlite(
        "WirelessDomain", "Library/Databases/DataUsage.sqlite",
        lambda c: fill_datausage(c, [Process(1, "MobileSafari", "com.apple.mobilesafari")]),
    )
    return builder.finish()


def _documents(out: Path) -> tuple[dict, dict, str]:  # type: ignore[type-arg]
    return (
        json.loads((out / "findings.json").read_text()),
        json.loads((out / "run.json").read_text()),
        (out / "report.html").read_text(encoding="utf-8"),
    )


def _headline(page: str) -> str:
    found = re.search(r'<h1 id="verdict-text">([^<]*)</h1>', page)
    assert found is not None
    return found.group(1).replace("&#x27;", "'")


# -- the verdict, defined once ---------------------------------------------------------------------

def _finding(severity: Severity, *, indicator: Kind | None = None, rule: str | None = None) -> Finding:
    ref = None if indicator is None else IndicatorRef(indicator, "x", "Spy", "f", "0" * 64, "indicator--1")
    return Finding(
        severity, "a", "e", Locator("/p", "0" * 64), rule=rule, indicator=ref,
        observable=None if indicator is None else Observable(indicator, "x"),
    )


def test_verdict_follows_coverage_and_indicators() -> None:
    full = Coverage(checked=("sms",), indicators=10)
    assert full.full and verdict([], full).key == VerdictKey.NOTHING
    assert verdict([], full).headline == HEADLINE_NOTHING and verdict([], full).exit_code == ExitCode.CLEAN
    # "Nothing found" never after a check that was not full; never exit 0 either.
    for coverage, headline in (
        (Coverage(checked=("sms",), indicators=0), HEADLINE_HEURISTICS_ONLY),
        (Coverage(checked=("sms",), failed=("calls",), indicators=10), HEADLINE_INCOMPLETE),
        (Coverage(checked=("sms",), lost=("datausage",), indicators=10), HEADLINE_INCOMPLETE),
        (Coverage(acquisition_problems=("cut short",), checked=("sms",), indicators=10), HEADLINE_INCOMPLETE),
        (Coverage(checked=("sms",), not_selected=("calls",), indicators=10), HEADLINE_SELECTED),
    ):
        result = verdict([_finding(Severity.LOW, rule="r")], coverage)
        assert (result.key, result.headline, result.exit_code, result.full_check) == (
            VerdictKey.PARTIAL, headline, ExitCode.INCOMPLETE, False,
        )
    # A run that checked nothing (every artifact absent or never collected) is never a full check, whatever
    # else holds; its headline says so before anything else.
    for coverage in (
        Coverage(indicators=10), Coverage(indicators=0), Coverage(not_selected=("calls",), indicators=10),
        Coverage(acquisition_problems=("cut short",), indicators=10), Coverage(lost=("sms",), indicators=10),
    ):
        result = verdict([], coverage)
        assert coverage.nothing_checked and not coverage.full
        assert (result.key, result.headline, result.exit_code, result.full_check) == (
            VerdictKey.PARTIAL, HEADLINE_NOTHING_CHECKED, ExitCode.INCOMPLETE, False,
        )
        assert result.detail == " ".join(coverage.gaps()) and coverage.gaps()[0] == NOTHING_CHECKED
    assert not Coverage(failed=("sms",), indicators=10).nothing_checked  # (a file was found: it failed)
    assert not Coverage(checked=("sms",), indicators=10).nothing_checked
    # Signs without indicators say "heuristics only" in the headline itself.
    suspicious = verdict([_finding(Severity.MEDIUM, rule="r")], Coverage(checked=("sms",), indicators=0))
    assert suspicious.headline == HEADLINE_SUSPICIOUS + " (heuristics only: no indicator loaded)"
    assert suspicious.strength == Strength.HEURISTIC and suspicious.exit_code == ExitCode.INCOMPLETE
    # How sure: the strongest evidence among the matches.
    spyware = verdict(
        [_finding(Severity.HIGH, indicator=Kind.DOMAIN), _finding(Severity.CRITICAL, indicator=Kind.PROCESS)], full
    )
    assert (spyware.headline, spyware.strength, spyware.exit_code) == (
        HEADLINE_SPYWARE, Strength.IMPLANT, ExitCode.DETECTED,
    )
    assert "the strongest: a trace only the spyware leaves" in spyware.detail


# -- --artifact ------------------------------------------------------------------------------------

def test_unknown_artifact_is_an_error_listing_the_valid_ones(tmp_path: Path) -> None:
    backup = _clean_backup(tmp_path / "b")
    result = _cli("check", str(backup), "--artifact", "smss", "-o", str(tmp_path / "o"))
    assert result.exit_code == 1
    text = _flat(result.output)
    assert "--artifact smss: no such artifact; valid names: acquisition_integrity," in text
    assert " sms, sms_attachments," in text and not (tmp_path / "o" / "findings.json").exists()
    # An artifact of the other platform is refused too, saying so.
    android = _cli("check", str(backup), "--artifact", "android_packages", "-o", str(tmp_path / "o2"), "--json")
    assert android.exit_code == 1
    assert json.loads(android.stdout)["error"].startswith(
        "--artifact android_packages: not an artifact of ios acquisitions; the ios artifacts are: "
    )


def test_artifacts_command_lists_names_and_titles() -> None:
    result = _cli("artifacts", "--platform", "ios")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert any(re.fullmatch(r"ios +sms +Messages \(SMS, MMS, iMessage\)", line) for line in lines)
    assert all(line.startswith("ios ") for line in lines)


def test_selected_artifacts_are_a_partial_check(tmp_path: Path) -> None:
    backup = _clean_backup(tmp_path / "b")
    out = tmp_path / "o"
    result = _cli("check", str(backup), "--iocs", str(_nothing_feed(tmp_path)), "--artifact", "sms", "-o", str(out))
    assert result.exit_code == 3, result.output
    assert HEADLINE_SELECTED in _flat(result.output)
    findings, run, page = _documents(out)
    assert findings["summary"]["verdict"]["headline"] == run["verdict"]["headline"] == HEADLINE_SELECTED
    assert _headline(page) == HEADLINE_SELECTED
    statuses = {a["name"]: a["status"] for a in run["artifacts"]}
    assert statuses["sms"] == "ok" and statuses["datausage"] == "not_selected"
    assert run["coverage"]["artifacts"]["datausage"]["why"] == "left out (--artifact)"
    assert "Every artifact" not in page and "A full check" not in page
    assert re.search(r'<details class="cov cov-excluded"><summary>Left out on request \((\d+)\)</summary>', page)
    assert "Only some artifacts were checked (--artifact)" in page


# -- acquisitions that lost files -----------------------------------------------------------------

def _cut_inside_first_member(whole: bytes, first_size: int) -> bytes:
    """The .tar.gz cut (as an interrupted copy cuts it) where what can still be inflated ends inside the
    data of the first member: every member after it is lost."""
    for length in range(len(whole) - 1, 0, -64):
        inflated = zlib.decompressobj(wbits=31).decompress(whole[:length])
        if 512 < len(inflated) < 512 + first_size:
            return whole[:length]
    raise AssertionError("no cut inside the first member")


def test_truncated_tar_gz_dump_is_damaged_and_its_lost_database_says_so(tmp_path: Path) -> None:
    files = backup_files(_clean_backup(tmp_path / "b"))
    assert [name for name, _ in files] == [SMS_DB.lstrip("/"), DATAUSAGE_DB.lstrip("/")]
    whole = write_dump(files, tmp_path / "dump.tar.gz", "tar.gz").read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(_cut_inside_first_member(whole, len(files[0][1])))
    data = cut.read_bytes()
    out = tmp_path / "o"
    result = _cli("check", str(cut), "--iocs", str(_nothing_feed(tmp_path)), "-o", str(out))
    assert cut.read_bytes() == data
    assert result.exit_code == 3, result.output
    findings, run, page = _documents(out)
    problems = run["coverage"]["acquisition"]
    assert problems["status"] == "damaged" and len(problems["problems"]) == 1
    assert problems["problems"][0].startswith("the archive is cut short: it ends after ")
    assert findings["summary"]["acquisition_problems"] == problems["problems"]
    assert findings["summary"]["complete"] is False
    assert _headline(page) == HEADLINE_INCOMPLETE == run["verdict"]["headline"]
    # the report lists what was lost with the archive apart, open: a gap, not an app unused
    lost = re.search(r'<details class="cov cov-absent" open><summary>Expected here but absent \(\d+\)</summary>'
                     r"<ul>(.*?)</ul>", page)
    assert lost is not None and "Network data usage (DataUsage.sqlite)" in lost.group(1)
    assert "absent from a damaged archive: it may have been lost" in lost.group(1)
    assert problems["problems"][0].endswith(
        f"whose last member ({SMS_DB.lstrip('/')}) may be incomplete; members after that point are lost"
    )
    # sms.db is cut short: what SQLite can read of it is read, here every page its message needs (a
    # page past the cut that a read needs fails it: tests/evidence/test_sqlite_damage.py). DataUsage.sqlite,
    # after it, is lost with the rest: an artifact absent from the damaged archive is "lost", never "not
    # in this acquisition".
    assert run["coverage"]["artifacts"]["sms"] == {"status": "ok", "absence": None, "why": "checked: 1 record(s)"}
    assert run["coverage"]["artifacts"]["datausage"] == {
        "status": "missing", "absence": "lost", "why": "absent from a damaged archive: it may have been lost",
    }
    absent = {name: a for name, a in run["coverage"]["artifacts"].items() if a["status"] == "missing"}
    assert all(a["absence"] == "lost" for a in absent.values())
    assert run["coverage"]["artifacts"]["calls"]["why"] == "absent from a damaged archive: it may have been lost"
    # A backup's own files are never in a dump: not collected, not a gap.
    assert run["coverage"]["artifacts"]["manifest"]["status"] == "not_collected"
    assert "The acquisition is damaged: the archive is cut short" in page
    assert "Not in this acquisition" not in page


def test_intact_tar_gz_dump_is_read_whole(tmp_path: Path) -> None:
    files = backup_files(_clean_backup(tmp_path / "b"))
    dump = write_dump(files, tmp_path / "dump.tar.gz", "tar.gz")
    out = tmp_path / "o"
    result = _cli("check", str(dump), "--iocs", str(_nothing_feed(tmp_path)), "-o", str(out), "-q")
    assert result.exit_code == 0, result.output
    _, run, page = _documents(out)
    assert run["coverage"]["acquisition"]["status"] == "read" and _headline(page) == HEADLINE_NOTHING
    assert run["coverage"]["artifacts"]["calls"]["absence"] == "not_listed"


def test_backup_files_listed_but_absent_are_missing_and_one_grouped_finding(tmp_path: Path) -> None:
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db", lambda c: fill_sms(c, [Message(text="hi")]))
    builder.add_entry_only("WirelessDomain", "Library/Databases/DataUsage.sqlite", size=8192)
    for number in range(1000):
        builder.add_entry_only("HomeDomain", f"Media/DCIM/100APPLE/IMG_{number:04}.HEIC", size=1000)
    backup = builder.finish()
    before = snapshot(backup)
    out = tmp_path / "o"
    result = _cli("check", str(backup), "--iocs", str(_nothing_feed(tmp_path)), "-o", str(out))
    assert snapshot(backup) == before
    assert result.exit_code == 3, result.output
    assert "not a regular file" not in result.output
    findings, run, page = _documents(out)
    integrity = [f for f in findings["findings"] if f["artifact"] == "acquisition_integrity"]
    assert len(integrity) == 1  # one kind of problem, one finding: not 1,001
    only = integrity[0]
    assert (only["severity"], only["rule"], only["count"]) == ("medium", "backup_integrity", 1001)
    assert only["group"]["key"] == "missing" and only["group"]["count"] == 1001
    assert len(only["group"]["members"]) == 1001
    assert only["explanation"].startswith("1001 files of the backup are listed in Manifest.db but absent")
    rows = sorted(m["locator"]["rowid"] for m in only["group"]["members"])
    assert len(set(rows)) == 1001 and only["locator"] == only["group"]["members"][0]["locator"]
    assert findings["summary"]["acquisition_integrity_problems"] == 1001
    datausage = run["coverage"]["artifacts"]["datausage"]
    assert datausage == {
        "status": "missing", "absence": "listed_absent",
        "why": "listed in the acquisition's manifest, but the file is absent",
    }
    assert next(a for a in run["artifacts"] if a["name"] == "datausage")["absent_files"] == [DATAUSAGE_DB]
    assert run["coverage"]["artifacts"]["sms"]["status"] == "ok"
    assert _headline(page) == HEADLINE_SUSPICIOUS
    assert run["verdict"]["full_check"] is False and "datausage" in run["verdict"]["detail"]
    # The grouped finding is re-derived by verify like any other.
    verified = _cli("verify", str(out / "bundle.json"), str(backup))
    assert verified.exit_code == 0, verified.output
    assert "1 of 1 findings confirmed (their 1001 occurrences checked one by one)" in _flat(verified.output)
    # Every occurrence is re-derived, not only the first: a file that is now there is a difference.
    import hashlib

    fid = hashlib.sha1(b"HomeDomain-Media/DCIM/100APPLE/IMG_0500.HEIC").hexdigest()  # noqa: S324 - the backup's id
    (backup / fid[:2]).mkdir(exist_ok=True)
    (backup / fid[:2] / fid).write_bytes(b"x" * 1000)
    changed = _cli("verify", str(out / "bundle.json"), str(backup))
    assert changed.exit_code == 2, changed.output
    assert "0 of 1 findings confirmed (their 1001 occurrences checked one by one)" in _flat(changed.output)


# -- indicators ----------------------------------------------------------------------------------

def test_explicit_feed_that_yields_nothing_is_an_error(tmp_path: Path) -> None:
    backup = _clean_backup(tmp_path / "b")
    empty_folder = tmp_path / "feeds"
    empty_folder.mkdir()
    empty_bundle = write_bundle(tmp_path / "empty.stix2", [], name="empty")
    for given, what in ((empty_folder, "folder"), (empty_bundle, "file")):
        result = _cli("check", str(backup), "--iocs", str(given), "-o", str(tmp_path / "o"), "--json")
        assert result.exit_code == 1, result.output
        assert json.loads(result.stdout)["error"] == (
            f"{given}: this indicator {what} yields no indicator (empty, or nothing preuve could read); "
            "check the path, or run without it"
        )


def test_heuristics_only_says_so_in_every_output(tmp_path: Path) -> None:
    backup = _clean_backup(tmp_path / "b")
    out = tmp_path / "o"
    case = tmp_path / "case.db"
    quiet = _cli("check", str(backup), "-o", str(out), "-q", "--case", str(case))
    assert quiet.exit_code == 3
    assert quiet.stdout == "" and "only heuristics will run" in _flat(quiet.stderr)
    findings, run, page = _documents(out)
    assert _headline(page) == HEADLINE_HEURISTICS_ONLY
    assert findings["summary"]["verdict"]["headline"] == run["verdict"]["headline"] == HEADLINE_HEURISTICS_ONLY
    as_json = _cli("check", str(backup), "-o", str(tmp_path / "o2"), "--json")
    doc = json.loads(as_json.stdout)
    assert (doc["verdict"]["key"], doc["verdict"]["text"], doc["summary"]["exit_code"]) == (
        "partial", HEADLINE_HEURISTICS_ONLY, 3,
    )
    assert doc["warnings"][0].startswith("no indicator feed given (--iocs) and none installed")
    assert doc["summary"]["heuristics_only"] is True and as_json.stderr == ""
    terminal = _cli("check", str(backup), "-o", str(tmp_path / "o3"))
    assert HEADLINE_HEURISTICS_ONLY in _flat(terminal.output) and "Nothing found" not in terminal.output
    with CaseStore(case) as store:
        assert [r.verdict for r in store.acquisitions()] == [HEADLINE_HEURISTICS_ONLY]
    listed = _cli("case", "list", str(case))
    assert listed.exit_code == 0 and "Heuristi" in listed.output  # the column may be cut narrow
    shown = _cli("case", "show", str(case), "1")
    assert f"(ios_backup, ios): {HEADLINE_HEURISTICS_ONLY}" in _flat(shown.output)


# -- findings: strength, context, top findings ----------------------------------------------------

def test_sms_finding_carries_sender_direction_time_and_text(tmp_path: Path) -> None:
    when = datetime(2023, 4, 14, 21, 12, 5, tzinfo=UTC)
    text = "Your parcel is waiting, reschedule now: " + BAD_LINK + " " + "x" * 400
    builder = BackupBuilder(tmp_path / "b")
    builder.add_sqlite("HomeDomain", "Library/SMS/sms.db",
                       lambda c: fill_sms(c, [Message(text=text, handle="+447700900123", date=when)]))
    iocs = feed(tmp_path / "f.stix2", ("[domain-name:value='parcel-bad.example']", "Predator"))
    out = tmp_path / "o"
    result = _cli("check", str(builder.finish()), "--iocs", str(iocs), "-o", str(out))
    assert result.exit_code == 2
    findings, _, page = _documents(out)
    (only,) = findings["findings"]
    assert only["strength"] == "presence"
    context = only["context"]
    assert context["counterpart"] == "+447700900123" and context["direction"] == "received"
    assert context["times"] == [{"when": "2023-04-14T21:12:05Z", "description": "Message received"}]
    assert len(context["text"]) == 280 and context["text"].startswith("Your parcel is waiting, reschedule now:")
    assert context["text"].endswith("…")
    terminal = _flat(result.output)
    assert "from: +447700900123" in terminal and "Message received: 2023-04-14T21:12:05Z" in terminal
    assert "Your parcel is waiting" in terminal
    assert "<dt>from</dt><dd>+447700900123</dd>" in page
    assert "Your parcel is waiting" in page
    # The verification bundle carries no record values: no context there.
    assert "Your parcel" not in (out / "bundle.json").read_text()


def test_demo_strengths_and_top_findings_without_info(tmp_path: Path, pegasus_feed: Path) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    out = tmp_path / "o"
    result = _cli("check", str(backup), "--iocs", str(pegasus_feed), "-o", str(out))
    assert result.exit_code == 2
    findings, _, _ = _documents(out)
    by = {(f["artifact"], f["rule"] or f["indicator"]["kind"]): f["strength"] for f in findings["findings"]}
    assert by[("datausage", "process")] == "implant"
    assert by[("safari_history", "domain")] == "visit"  # a page the phone loaded
    assert by[("idstatuscache", "email")] == "presence"
    assert by[("sms", "domain")] == "presence"  # a link received, not necessarily opened
    assert by[("sms", "apple_threat_notification")] == "heuristic"
    assert by[("global_preferences", "lockdown_mode")] == "heuristic"  # recorded off: low, as MVT rates it
    unbundled = [f for f in findings["findings"] if f["rule"] == "datausage_unbundled_process"]
    assert len(unbundled) == 1 and unbundled[0]["count"] == 5 and unbundled[0]["severity"] == "info"
    assert unbundled[0]["explanation"].startswith("5 processes used the network and belong to no app (")
    top = result.output.split("Top findings", 1)[1]
    labels = re.findall(r"^  (CRITICAL|HIGH|MEDIUM|LOW|INFO) ", top, re.MULTILINE)
    assert labels == ["CRITICAL"] * 3 + ["HIGH"] * 7  # info items are never shown while worse ones exist
    assert "evidence: a trace only the spyware leaves" in _flat(top)


def test_context_of_a_visit_and_of_a_message_sent() -> None:
    from preuve.artifacts.ios.safari_history import SafariVisit
    from preuve.artifacts.ios.whatsapp_messages import WhatsAppMessage
    from preuve.model import Context, Direction, Timestamp

    when = datetime(2023, 4, 15, 21, 12, 6, tzinfo=UTC)
    loc = Locator("/History.db", "0" * 64, "history_visits", 7)
    visit = SafariVisit(
        locator=loc, visit_id=7, url="https://x.example/", title="  Your   parcel\ntracking ", visit_time=when,
        visit_time_raw=None, load_successful=True, redirect_source=None, redirect_destination=None, origin=None,
    )
    assert visit.finding_context() == Context(times=(Timestamp(when, "Safari visit"),), title="Your parcel tracking")
    sent = WhatsAppMessage(
        locator=loc, stanza_id="s", chat="c", from_jid=None, group_member=None, to_jid="41790000001@s.whatsapp.net",
        push_name=None, is_from_me=True, date=when, message_type=0, text="y" * 1000, media_urls=(), links=(),
    )
    context = sent.finding_context()
    assert (context.counterpart, context.direction) == ("41790000001@s.whatsapp.net", Direction.SENT)
    assert context.text == "y" * 279 + "…"
    assert ("to", "41790000001@s.whatsapp.net") in context.lines()


def test_top_findings_leave_out_info_while_worse_ones_exist(tmp_path: Path, pegasus_feed: Path) -> None:
    backup = build_demo_backup(tmp_path / "backup")
    result = _cli("check", str(backup), "--iocs", str(pegasus_feed), "--artifact", "datausage", "-o", str(tmp_path / "o"))
    assert result.exit_code == 2
    top = result.output.split("Top findings", 1)[1]
    # DataUsage gives a critical match, a high (a deleted process, as MVT rates it) and a low sign, and
    # the review list of unbundled processes (info): fewer than ten findings, and still no info among them.
    assert re.findall(r"^  (CRITICAL|HIGH|MEDIUM|LOW|INFO) ", top, re.MULTILINE) == ["CRITICAL", "HIGH", "LOW"]
    doc = json.loads((tmp_path / "o" / "findings.json").read_text())
    assert [f["severity"] for f in doc["findings"]] == ["critical", "high", "low", "info"]


def test_android_backup_cut_short_is_damaged_not_a_traceback(tmp_path: Path) -> None:
    from tests.builders.android import android_backup_bytes

    members = {
        "apps/com.example.notes/_manifest": b"1\ncom.example.notes\n",
        "apps/com.example.notes/f/log.txt": bytes(range(256)) * 64,
        "apps/com.example.notes/f/zlast.txt": b"the end",
    }
    whole = android_backup_bytes(members)
    cut = tmp_path / "cut.ab"
    cut.write_bytes(whole[: len(whole) // 2])
    out = tmp_path / "o"
    result = _cli("check", str(cut), "--iocs", str(_nothing_feed(tmp_path)), "-o", str(out))
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    _, run, page = _documents(out)
    assert run["coverage"]["acquisition"]["status"] == "damaged"
    assert run["coverage"]["acquisition"]["problems"] == [
        "cut.ab: the compressed stream ends early (an interrupted backup?); only the content present is read"
    ]
    assert _headline(page) == HEADLINE_INCOMPLETE
    # An adb backup holds apps' data, never a bugreport's tombstones or AndroidQF's files: not gaps.
    assert run["coverage"]["artifacts"]["android_tombstones"]["status"] == "not_collected"
    assert run["coverage"]["artifacts"]["android_packages"]["status"] == "not_collected"
    assert run["coverage"]["artifacts"]["android_backup_sms"]["absence"] == "lost"


# -- nothing checked -------------------------------------------------------------------------------

def _zip(path: Path, members: dict[str, str]) -> Path:
    return write_zip(path, {name: text.encode() for name, text in members.items()})


def test_an_acquisition_with_nothing_to_read_says_nothing_was_checked_in_every_output(tmp_path: Path) -> None:
    """An AndroidQF zip stopped after its first file, a bugreport zip without its dumpstate: every artifact
    absent. Before, "Nothing found in what could be checked" and exit 0, after checking nothing."""
    feed_path = _nothing_feed(tmp_path)
    cases = {
        "aqf": _zip(tmp_path / "aqf.zip", {"acquisition.json": json.dumps({"uuid": "x", "androidqf_version": "1.7.0"})}),
        "bugreport": _zip(tmp_path / "br.zip", {"version.txt": "2.0", "main_entry.txt": "bugreport-x.txt"}),
    }
    for name, evidence in cases.items():
        out = tmp_path / f"out-{name}"
        case = tmp_path / f"{name}.db"
        result = _cli("check", str(evidence), "--iocs", str(feed_path), "-o", str(out), "-q", "--case", str(case))
        assert result.exit_code == 3, result.output
        findings, run, page = _documents(out)
        assert _headline(page) == HEADLINE_NOTHING_CHECKED
        assert findings["summary"]["verdict"]["headline"] == run["verdict"]["headline"] == HEADLINE_NOTHING_CHECKED
        assert run["verdict"]["detail"] == NOTHING_CHECKED and run["verdict"]["full_check"] is False
        as_json = _cli("check", str(evidence), "--iocs", str(feed_path), "-o", str(tmp_path / f"j-{name}"), "--json")
        doc = json.loads(as_json.stdout)
        assert (doc["verdict"]["key"], doc["verdict"]["text"], doc["summary"]["exit_code"]) == (
            "partial", HEADLINE_NOTHING_CHECKED, 3,
        )
