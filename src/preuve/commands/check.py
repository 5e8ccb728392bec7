"""`preuve check` and `preuve demo`, with the progress and summary people see."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import click

from preuve.evidence.backup_folders import EarlyListing, list_folders_early
from preuve.evidence.early_tar import EarlyHeaders, scan_headers_early
from preuve.evidence.errors import PreuveError
from preuve.evidence.limits import DEFAULT_LIMITS
from preuve.evidence.parallel import default_jobs
from preuve.messages import os_error_text
from preuve.report.choices import DEFAULT_TIMELINE, TIMELINE_CHOICES
from preuve.report.formats.catalog import LANGUAGES

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from preuve.artifacts.base import Artifact
    from preuve.evidence.acquisition import Opened, Secrets
    from preuve.model import Finding
    from preuve.run.results import ArtifactReport, CheckResult

# rich is imported where something is shown: a quiet run (-q, --json) shows nothing, and importing
# rich is about a tenth of the start-up of `preuve check`. The run itself (artifacts, engine, outputs)
# is imported once the command starts: a backup's folders are listed from then on, beside the imports
# (see `check`), and this module imports nothing heavy.


def escape(text: str) -> str:
    """Evidence text made inert for the terminal: no rich markup, and no control characters (an ANSI
    escape in a message or file name could otherwise rewrite the screen or forge output lines)."""
    from rich.markup import escape as markup_escape

    return markup_escape(terminal_safe(text))


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def terminal_safe(text: str) -> str:
    return "".join(ch if ch.isprintable() else _code(ch) for ch in text)


def _code(char: str) -> str:
    number = ord(char)
    return f"\\x{number:02x}" if number < 0x100 else f"\\u{number:04x}"


_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}


class RichObserver:
    """Progress on stderr while a check runs (none at all without a console, as when quiet: a disabled
    rich Progress draws nothing either, and rich is slow to import)."""

    def __init__(self, console: Console | None) -> None:
        self.console = console
        self.progress: Progress | None = None
        if console is not None:
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[records]} records"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
        self._task: TaskID | None = None
        self._records = 0
        self.warnings = 0

    def __enter__(self) -> RichObserver:
        if self.progress is not None:
            self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(None, None, None)

    def acquisition_opened(self, opened: Opened) -> None:
        if self.console is not None:
            self.console.print(f"[bold]{escape(str(opened.path))}[/]: {opened.kind.replace('_', ' ')} ({opened.platform})")

    def artifact_started(self, artifact: Artifact, files: int) -> None:
        self._records = 0
        if self.progress is not None:
            self._task = self.progress.add_task(artifact.title, total=None, records=0)

    def records_parsed(self, count: int) -> None:
        self._records += count
        if self.progress is not None and self._task is not None:
            self.progress.update(self._task, records=self._records)

    def artifact_finished(self, report: ArtifactReport) -> None:
        if self.progress is not None and self._task is not None:
            self.progress.remove_task(self._task)
            self._task = None

    # Warnings printed as they come; past these, one line says the rest are in the outputs (a damaged
    # database or a feed of unusable indicators can warn thousands of times, and the verdict must not
    # scroll away under them).
    SHOWN_WARNINGS = 20

    def warning(self, message: str) -> None:
        self.warnings += 1
        if self.console is None or self.warnings > self.SHOWN_WARNINGS + 1:
            return
        if self.warnings == self.SHOWN_WARNINGS + 1:
            self.console.print(f"[yellow]warning:[/] more than {self.SHOWN_WARNINGS} warnings: the others are not "
                               "shown here (run.json keeps them)", highlight=False)
            return
        self.console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)


NO_INDICATOR_WARNING = (
    "no indicator feed given (--iocs) and none installed: only heuristics will run. "
    "Known spyware traces will NOT be recognised."
)

_VERDICT_STYLE = {
    "spyware": "bold white on red", "suspicious": "bold black on yellow", "nothing": "bold",
    "partial": "bold black on yellow",
}


def top_findings(result: CheckResult, top: int) -> list[Finding]:
    """The findings to show first: worst severity, then strongest evidence; info-level review items only
    when nothing worse was found."""
    from preuve.model import Severity

    findings = result.findings
    if any(f.severity > Severity.INFO for f in findings):
        findings = [f for f in findings if f.severity > Severity.INFO]
    return sorted(findings, key=lambda f: (-int(f.severity), -int(f.evidence_strength), f.sort_key()))[:top]


def print_summary(
    console: Console, result: CheckResult, out: Path, top: int = 10, timeline: Sequence[str] = ()
) -> None:
    from rich.table import Table

    from preuve.model import Absence, ArtifactStatus

    verdict = result.verdict()
    console.print(f"\n[{_VERDICT_STYLE[verdict.key]}] {escape(verdict.headline)} [/]")
    console.print(escape(verdict.detail), highlight=False)
    counts = result.severity_counts()
    table = Table(title="Findings by severity", show_header=True)
    for label in counts:
        table.add_column(label, justify="right", style=_STYLE.get(label, ""))
    table.add_row(*[str(v) for v in counts.values()])
    console.print(table)

    for problem in result.acquisition_problems:
        console.print(f"[bold red]The acquisition is damaged:[/] {escape(problem)}", highlight=False)
    status = Table(title="Artifacts checked", show_header=True)
    status.add_column("artifact")
    status.add_column("status")
    status.add_column("records", justify="right")
    status.add_column("findings", justify="right")
    for report in result.artifacts:
        if not (report.status.checked or report.status == ArtifactStatus.FAILED):
            continue  # summed up below: most artifacts are absent from any one acquisition
        colour = {"failed": "red", "empty": "dim"}.get(str(report.status), "")
        status.add_row(
            escape(report.name),
            f"[{colour}]{report.status}[/]" if colour else str(report.status),
            str(report.records),
            str(report.findings),
        )
    console.print(status)
    for absence in Absence:
        names = [r.name for r in result.artifacts if r.absence == absence]
        if names:
            colour = "bold yellow" if absence.loses_evidence else "dim"
            console.print(
                f"[{colour}]Missing ({escape(absence.meaning)}): {escape(', '.join(names))}[/]", highlight=False
            )
    for status_value, words in ((ArtifactStatus.NOT_COLLECTED, "Not collected by this kind of acquisition"),
                                (ArtifactStatus.NOT_SELECTED, "Left out (--artifact)")):
        names = [r.name for r in result.all_artifacts() if r.status == status_value]
        if names:
            console.print(f"[dim]{words}: {escape(', '.join(names))}[/]", highlight=False)
    by_status: dict[str, int] = {}
    for report in result.all_artifacts():
        by_status[str(report.status)] = by_status.get(str(report.status), 0) + 1
    console.print("Artifacts: " + ", ".join(f"{v} {k}" for k, v in sorted(by_status.items())))
    integrity = sum(f.count for f in result.findings if f.artifact == "acquisition_integrity")
    if integrity:
        console.print(
            f"[bold yellow]Acquisition integrity: {integrity} problem(s)[/] (files missing, resized, added or "
            "misnamed against the acquisition's own manifest; see the findings).", highlight=False,
        )
    for report in result.artifacts:
        for error in report.errors[:20]:
            console.print(f"  [red]{report.name} {report.failure()}:[/] {escape(error)}", highlight=False)

    shown = top_findings(result, top)
    if shown:
        console.print(f"\n[bold]Top findings[/] ({len(result.findings)} in all):")
        for finding in shown:
            label = finding.severity.label
            what = finding.indicator.malware if finding.indicator else finding.rule
            where = finding.locator.device_path
            if finding.locator.table is not None:
                where += f" [{finding.locator.table} row {finding.locator.rowid}]"
            elif finding.locator.key_path is not None:
                where += f" [{finding.locator.key_path}]"
            elif finding.locator.line is not None:
                where += f" [line {finding.locator.line}]"
            console.print(
                f"  [{_STYLE[label]}]{label.upper():8}[/] {escape(str(what))}: {escape(finding.explanation)}",
                highlight=False,
            )
            console.print(f"           [dim]evidence: {escape(finding.evidence_strength.meaning)}[/]", highlight=False)
            if finding.context is not None:
                for name, value in finding.context.lines():
                    console.print(f"           [dim]{escape(name)}:[/] {escape(value)}", highlight=False)
            console.print(f"           [dim]{escape(where)}[/]", highlight=False)
    if result.indicator_count == 0:
        console.print("[bold yellow]No indicators were loaded: only heuristics ran.[/]")
    if result.incomplete:
        console.print("[bold yellow]The analysis is incomplete: part of the acquisition could not be checked (see above).[/]")
    console.print(f"\nReport: [bold]{escape(str(out / 'report.html'))}[/] (open it in a browser; it works offline)")
    files = ", ".join(["findings.json", *(f"timeline.{kind}" for kind in timeline), "artifacts/", "run.json", "bundle.json"])
    console.print(f"Results in [bold]{escape(str(out))}[/] ({files})")
    if not timeline:
        console.print(f"Timeline: [bold]preuve timeline {escape(str(out))}[/] writes timeline.csv (--format jsonl: Timesketch)")


def json_summary(result: CheckResult, out: Path, top: int = 20) -> dict[str, object]:
    """What `check --json` prints: the verdict, the deterministic summary, where the outputs are."""
    from preuve.report.formats.findings import (
        coverage_to_dict,
        finding_to_dict,
        summary_dict,
        verdict_to_dict,
    )

    verdict = result.verdict()
    return {
        "verdict": {"text": verdict.headline, **verdict_to_dict(verdict)},
        "summary": summary_dict(result),
        "coverage": coverage_to_dict(result),
        "feeds": [{"name": f.name, "sha256": f.sha256, "indicators": f.indicators, "source": f.source}
                  for f in result.feeds],
        "warnings": ([NO_INDICATOR_WARNING] if result.indicator_count == 0 else []) + result.warnings[:100],
        "top_findings": [finding_to_dict(f) for f in top_findings(result, top)],
        "output": str(out),
        "report": str(out / "report.html"),
    }


def _run(
    evidence: Path,
    iocs: Sequence[Path],
    out: Path,
    quiet: bool,
    heuristics: bool,
    only: Sequence[str],
    as_json: bool = False,
    case: Path | None = None,
    secrets: Secrets | None = None,
    lang: str = "en",
    force: bool = False,
    timeline: str = DEFAULT_TIMELINE,
    jobs: int | None = None,
    early: EarlyListing | EarlyHeaders | None = None,
    begun: bool = False,
) -> int:
    from preuve.evidence.acquisition import Secrets
    from preuve.indicators.index import IndicatorIndex
    from preuve.model import ExitCode
    from preuve.model.jsonio import dumps
    from preuve.report.outdir import check_into_folder
    from preuve.run.engine import check_artifact_names
    from preuve.run.results import CheckOptions

    console = None if quiet or as_json else stderr_console()

    def say(text: str) -> None:
        if console is not None:
            console.print(text)
    options = CheckOptions(
        iocs=tuple(iocs), heuristics=heuristics, only_artifacts=tuple(only), secrets=secrets or Secrets(), jobs=jobs
    )

    def fail(message: str) -> int:
        if as_json:
            click.echo(dumps({"error": message}).decode())
        stderr_console().print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
        return int(ExitCode.FATAL)

    index: IndicatorIndex | None = None
    store = None
    try:
        check_artifact_names(only)
        if not iocs:
            from preuve.commands.settings import data_dir
            from preuve.indicators.feeds import installed_index

            index = installed_index(lambda message: say(f"[yellow]warning:[/] {escape(message)}"), data_dir())
            if index is not None and len(index):
                say(
                    f"Using {len(index.feeds)} installed indicator feed(s) ({len(index)} indicators); "
                    "`preuve iocs list` shows them."
                )
            elif not as_json:  # --json says it in its verdict and warnings; -q still warns (it is not progress)
                click.echo(f"WARNING: {NO_INDICATOR_WARNING}", err=True)
        case_sink = None
        if case is not None:
            from preuve.store.case import CaseStore

            store = CaseStore(case, write=True)
            case_sink = store.sink(evidence)
        with RichObserver(console) as observer:
            try:
                result = check_into_folder(
                    evidence, options, out, force=force, extra_sinks=[case_sink] if case_sink else [],
                    observer=observer, index=index, lang=lang, timeline=timeline, early=early,
                    begun=begun,
                )
            except BaseException:
                if case_sink is not None:
                    case_sink.abort()
                raise
    except PreuveError as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(os_error_text(exc))
    finally:
        if store is not None:
            store.close()
    if as_json:
        click.echo(dumps(json_summary(result, out), indent=True).decode())
    elif not quiet:
        from rich.console import Console

        print_summary(Console(), result, out, timeline=TIMELINE_CHOICES[timeline])
    return int(result.exit_code)


@click.command()
@click.argument("evidence", type=click.Path(path_type=Path))
@click.option("--iocs", multiple=True, type=click.Path(path_type=Path), help="STIX 2.1 file or folder (repeatable).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output folder (default: ./preuve-<name>).")
@click.option("--force", is_flag=True,
              help="Replace the output folder even when it holds files that are not a preuve output.")
@click.option("--no-heuristics", is_flag=True, help="Match indicators only.")
@click.option("--artifact", "only", multiple=True, help="Run only this artifact (repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout, nothing else.")
@click.option("--case", type=click.Path(path_type=Path), help="Also store the run in this case (SQLite).")
@click.option("--password-file", type=click.Path(path_type=Path, dir_okay=False),
              help="Encrypted iOS backup or Android .ab: file whose first line is the password "
                   "(or $PREUVE_BACKUP_PASSWORD).")
@click.option("--key-file", type=click.Path(path_type=Path, dir_okay=False),
              help="Encrypted iOS backup: key written by `preuve backup-key` (instant, no password).")
@click.option("--age-key", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="AndroidQF .zip.age: the age identity file (AGE-SECRET-KEY-…).")
@click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True,
              help="Language of report.html.")
@click.option("--timeline", type=click.Choice(list(TIMELINE_CHOICES)), default=DEFAULT_TIMELINE, show_default=True,
              help="Timeline files to write: timeline.csv, timeline.jsonl (Timesketch), both or none. "
                   "`preuve timeline OUT` renders any of them later from artifacts/.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Processes listing and reading the acquisition (default: up to two, by the CPUs there are; 1: one). "
                   "The output is the same whatever the number.")
def check(evidence: Path, iocs: tuple[Path, ...], output: Path | None, force: bool, no_heuristics: bool,
          only: tuple[str, ...], quiet: bool, as_json: bool, case: Path | None, password_file: Path | None,
          key_file: Path | None, age_key: Path | None, lang: str, timeline: str, jobs: int | None) -> None:
    """Check an acquisition against indicators and heuristics.

    EVIDENCE is recognised by itself: an iOS backup (plain or encrypted), an iOS filesystem dump (folder, tar,
    tar.gz, zip), a sysdiagnose, an AndroidQF acquisition, an Android bugreport or an Android backup (.ab).

    Without --iocs, the feeds installed by `preuve iocs update` or `preuve iocs import` are used.

    Exit codes: 0 a full check found nothing high or critical; 2 high/critical findings; 3 nothing high or
    critical, but not a full check (part of the acquisition could not be read or was left out, no indicator
    was loaded, or heuristics were off); 1 fatal error.
    """
    out = output or Path.cwd() / f"preuve-{evidence.resolve().name or 'evidence'}"
    # A backup's folders are listed from now on, on the core the start-up leaves idle (the run's
    # imports, its feeds, the acquisition's kind), at the lowest priority; the run's open takes the
    # listing. (The run's own limits are the defaults; `jobs` as the run counts them.)
    # Likewise a tar's headers are read from now on, in a forked process; the tar's open takes the scan.
    with list_folders_early(evidence, DEFAULT_LIMITS, jobs or default_jobs(), only or None) as folders, \
            scan_headers_early(evidence, DEFAULT_LIMITS, jobs or default_jobs()) as headers:
        early = folders if folders is not None else headers
        from preuve.commands.backup import gather_secrets
        from preuve.model import ExitCode

        try:
            secrets = gather_secrets(evidence, password_file, key_file)
            if age_key is not None:
                identity = age_key.read_bytes()[:65536].decode("utf-8", "replace")
                secrets = dataclasses.replace(secrets, age_identity=identity)
        except PreuveError as exc:
            stderr_console().print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            sys.exit(int(ExitCode.FATAL))
        except OSError as exc:
            stderr_console().print(f"[bold red]error:[/] {escape(os_error_text(exc))}", highlight=False)
            sys.exit(int(ExitCode.FATAL))
        sys.exit(_run(evidence, iocs, out, quiet, not no_heuristics, only, as_json, case, secrets, lang, force,
                      timeline, jobs, early, True))


@click.command()
@click.option("--platform", type=click.Choice(["ios", "android"]), help="Only this platform's artifacts.")
def artifacts(platform: str | None) -> None:
    """List the artifacts `check --artifact` accepts, with what each reads."""
    from preuve.artifacts.base import discover_artifacts

    for artifact in sorted(discover_artifacts(platform), key=lambda a: (a.platform, a.name)):
        click.echo(f"{artifact.platform:8} {artifact.name:34} {artifact.title}")


@click.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Folder for the demo backup and results.")
@click.option("--seed", default=2021, show_default=True, help="Seed of the synthetic phone.")
def demo(output: Path | None, seed: int) -> None:
    """Build a synthetic infected iPhone backup and check it against the bundled Pegasus indicators.

    The indicators are Amnesty International's (Forensic Methodology Report, 2021; CC-BY 2.0).
    Exit 0 when the planted traces are found, 1 otherwise.
    """
    from preuve.builders.demo import DEMO_FEED, build_demo_backup
    from preuve.model import ExitCode

    base = output or Path(tempfile.mkdtemp(prefix="preuve-demo-"))
    base.mkdir(parents=True, exist_ok=True)
    backup = build_demo_backup(base / "backup", seed=seed)
    feed = resources.files("preuve") / "data" / DEMO_FEED
    console = stderr_console()
    console.print(
        f"Demo backup written to [bold]{escape(str(backup))}[/]; indicators: Pegasus, Amnesty International "
        "(Forensic Methodology Report, CC-BY 2.0)."
    )
    with resources.as_file(feed) as feed_path:
        code = _run(backup, [feed_path], base / "results", False, True, ())
    # The demo succeeds when it finds what it planted (check's exit 2, "high/critical findings").
    if code == int(ExitCode.DETECTED):
        console.print("[bold green]Demo complete:[/] the planted Pegasus traces were found.")
        sys.exit(0)
    console.print(f"[bold red]Demo failed:[/] the check ended with exit code {code}.")
    sys.exit(1)


@click.command("timeline")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--format", "formats", type=click.Choice(["csv", "jsonl", "both"]), default="csv", show_default=True,
              help="timeline.csv, timeline.jsonl (Timesketch) or both.")
def timeline_command(out: Path, formats: str) -> None:
    """Write the timeline of a finished check from its output folder OUT (artifacts/, findings.json,
    run.json): the same rows `check --timeline` writes, without the evidence."""
    from preuve.model import ExitCode
    from preuve.report.outdir import render_timeline

    try:
        written = render_timeline(out, TIMELINE_CHOICES[formats])
    except (PreuveError, OSError, KeyError, ValueError, TypeError) as exc:
        stderr_console().print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(int(ExitCode.FATAL))
    for path in written:
        click.echo(str(path))


COMMANDS = (check, demo, artifacts, timeline_command)
