"""The console's web application (Starlette, Jinja2 templates, a little script shipped with it).

Why this stack: Starlette is a small, well-kept ASGI toolkit (routing, forms, a test client)
without an ORM or a settings system we would not use; Jinja2 escapes every value by default; the
console needs no client framework, so its one script is ours and shipped in the package, which
lets the Content-Security-Policy forbid everything but this origin.

Security:
- it answers only requests that carry the session token (in the URL once, then an HttpOnly,
  SameSite=Strict cookie) and whose Host is the address it listens on (no DNS rebinding);
- every action is a POST that carries a CSRF token derived from the session token, and whose
  Origin, when the browser sends one, is this console;
- every value from the evidence is escaped, clipped and its bidirectional-text controls shown,
  so that markup, scripts, reordering tricks or a 10 MB string cannot act or hide.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from preuve.evidence.errors import PreuveError
from preuve.indicators.feeds import InstalledFeed, list_feeds
from preuve.report.formats.catalog import LANGUAGES
from preuve.serve import queries
from preuve.serve.jobs import JobRunner, Progress, output_folder_for
from preuve.store.case import CaseStore, StoredAcquisition

COOKIE = "preuve_console"
# Longest value shown as it is; longer ones are cut, saying how much was left out.
MAX_SHOWN = 400
_BIDI = {
    "\u061c", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
    "\u2066", "\u2067", "\u2068", "\u2069",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass(slots=True)
class ConsoleSettings:
    """What the console serves and how (resolved by the command line, passed in)."""

    case: Path
    feeds_root: Path  # the data folder whose installed feeds the console lists and hunts with
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
    reports: Path | None = None  # where devices checked from the console get their folders

    def csrf(self) -> str:
        return hmac.new(self.token.encode(), b"preuve-console-csrf", hashlib.sha256).hexdigest()


def shown(value: object, limit: int = MAX_SHOWN) -> Markup:
    """A value from the evidence made safe to show: escaped, bidi controls made visible, clipped."""
    text = "" if value is None else str(value)
    extra = len(text) - limit
    if extra > 0:
        text = text[:limit]
    out = []
    for char in text:
        if char in _BIDI or (ord(char) < 32 and char not in "\t\n"):
            out.append(f"\x00U+{ord(char):04X}\x01")
        else:
            out.append(char)
    safe = str(escape("".join(out)))
    safe = safe.replace("\x00", '<span class="ctl">').replace("\x01", "</span>")
    if extra > 0:
        safe += f'<span class="cut">… ({extra:,} more characters)</span>'
    return Markup(f"<bdi>{safe}</bdi>")


def _templates() -> Environment:
    folder = resources.files("preuve.serve") / "templates"
    env = Environment(loader=FileSystemLoader(str(folder)), autoescape=select_autoescape(default=True))
    env.filters["shown"] = shown
    env.filters["short_time"] = queries.short_time
    return env


class Guard:
    """ASGI middleware: the token, the Host, the CSRF token and the security headers."""

    def __init__(self, app: ASGIApp, settings: ConsoleSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        host = (request.headers.get("host") or "").rsplit(":", 1)[0].strip("[]")
        if host not in self.settings.allowed_hosts:
            await self._deny("this console answers only on the address it printed", 421)(scope, receive, send)
            return
        given = request.query_params.get("token")
        if given is not None:
            if not hmac.compare_digest(given, self.settings.token):
                await self._deny("wrong token", 403)(scope, receive, send)
                return
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
            response: Response = RedirectResponse(target, status_code=303)
            response.set_cookie(COOKIE, self.settings.token, httponly=True, samesite="strict", path="/")
            self._headers(response)
            await response(scope, receive, send)
            return
        cookie = request.cookies.get(COOKIE, "")
        if not hmac.compare_digest(cookie, self.settings.token):
            await self._deny("open the console with the address `preuve serve` printed (it holds a token)", 403)(
                scope, receive, send)
            return
        if request.method not in ("GET", "HEAD"):
            origin = request.headers.get("origin")
            if origin is not None and origin.split("://", 1)[-1].rsplit(":", 1)[0] not in self.settings.allowed_hosts:
                await self._deny("cross-site request refused", 403)(scope, receive, send)
                return

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {bytes(name).lower() for name, _ in headers}
                for name, value in _SECURITY_HEADERS:
                    if name.encode() not in present:  # a page with its own policy (a device's report) keeps it
                        headers.append((name.encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _deny(self, why: str, status: int) -> Response:
        response = PlainTextResponse(why, status_code=status)
        self._headers(response)
        return response

    @staticmethod
    def _headers(response: Response) -> None:
        for name, value in _SECURITY_HEADERS:
            response.headers[name] = value


_SECURITY_HEADERS = (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),  # "no-referrer" makes Chromium send "Origin: null" on forms
    ("x-frame-options", "DENY"),
    ("cache-control", "no-store"),
)


def create_app(settings: ConsoleSettings, runner: JobRunner | None = None) -> Starlette:
    """The console over `settings.case`."""
    env = _templates()
    jobs = runner or JobRunner()

    def installed() -> list[InstalledFeed]:
        return list_feeds(settings.feeds_root)

    def page_of(request: Request, template: str, status: int = 200, **values: object) -> HTMLResponse:
        return page(request, template, status, **values)

    def page(request: Request, template: str, status: int = 200, **values: object) -> HTMLResponse:
        body = env.get_template(template).render(
            csrf=settings.csrf(), case=settings.case.name, path=request.url.path, **values
        )
        return HTMLResponse(body, status_code=status)

    def store() -> CaseStore:
        return CaseStore(settings.case)

    async def devices(request: Request) -> Response:
        params = request.query_params
        sort = params.get("sort", "device")
        descending = params.get("desc") == "1"
        with store() as case:
            rows = queries.list_devices(case, installed(), params.get("q", ""), params.get("verdict", ""),
                                        sort, descending)
            choices = queries.verdicts(case)
        return page(request, "devices.html", rows=rows, verdicts=choices, q=params.get("q", ""),
                    verdict=params.get("verdict", ""), sort=sort, desc=descending, sorts=queries.SORTS,
                    severities=queries.SEVERITIES, stale=any(r.stale for r in rows))

    async def device(request: Request) -> Response:
        ident = str(request.path_params["ident"])
        with store() as case:
            try:
                acquisition = case.find(ident)
            except PreuveError as exc:
                return page(request, "error.html", status=404, message=str(exc))
            detail = queries.device_detail(case, acquisition, installed())
        return page(request, "device.html", d=detail)

    async def device_report(request: Request) -> Response:
        """The device's report.html, rendered from the store by the writer `check` uses (its own strict
        policy: only its inline style and script, pinned by hash, nothing loaded)."""
        from preuve.report.formats.html import content_security_policy

        ident = str(request.path_params["ident"])
        lang = request.query_params.get("lang", "en")
        if lang not in LANGUAGES:
            lang = "en"
        with store() as case:
            try:
                acquisition = case.find(ident)
                page = render_stored_report(case, acquisition, lang)
            except PreuveError as exc:
                return page_of(request, "error.html", status=404, message=str(exc))
        return HTMLResponse(page, headers={"content-security-policy": content_security_policy()})

    async def search(request: Request) -> Response:
        value = request.query_params.get("q", "")
        hits: list[queries.Sighting] = []
        cut = False
        found: list[tuple[str, int, queries.FindingView]] = []
        if value.strip():
            with store() as case:
                hits, cut = queries.sightings(case, value)
                found = queries.indicator_findings(case, value)
        devices_hit = sorted({(h.device, h.acquisition_id) for h in hits})
        return page(request, "search.html", q=value, hits=hits, cut=cut, found=found, devices_hit=devices_hit,
                    limit=queries.MAX_SIGHTINGS)

    async def feeds(request: Request) -> Response:
        with store() as case:
            rows = queries.feed_rows(case, installed())
        return page(request, "feeds.html", feeds=rows)

    async def rehunt(request: Request) -> Response:
        form = await request.form()
        if not _csrf_ok(form.get("csrf"), settings):
            return page(request, "error.html", status=403, message="This form has expired; reload the page.")

        def work(progress: Progress) -> str:
            return _rehunt(settings, progress)

        job = jobs.submit("Re-hunt with the installed feeds", work)
        return RedirectResponse(f"/job/{job.id}", status_code=303)

    async def add_device(request: Request) -> Response:
        form = await request.form()
        if not _csrf_ok(form.get("csrf"), settings):
            return page(request, "error.html", status=403, message="This form has expired; reload the page.")
        raw = str(form.get("path") or "").strip()
        if not raw:
            return page(request, "error.html", status=400, message="Give the path of an acquisition on this machine.")
        evidence = Path(raw).expanduser()
        if not evidence.exists():
            return page(request, "error.html", status=400, message=f"{evidence}: no such file or folder")

        def work(progress: Progress) -> str:
            return _check_device(settings, evidence, progress)

        job = jobs.submit(f"Check {evidence.name} into the case", work)
        return RedirectResponse(f"/job/{job.id}", status_code=303)

    async def job_page(request: Request) -> Response:
        job = jobs.get(int(request.path_params["job"]))
        if job is None:
            return page(request, "error.html", status=404, message="No such job (the console was restarted?).")
        return page(request, "job.html", job=job)

    async def job_json(request: Request) -> Response:
        job = jobs.get(int(request.path_params["job"]))
        if job is None:
            return JSONResponse({"error": "no such job"}, status_code=404)
        return JSONResponse(job.as_dict())

    static = resources.files("preuve.serve") / "static"
    app = Starlette(
        routes=[
            Route("/", devices),
            Route("/device/{ident}", device),
            Route("/device/{ident}/report", device_report),
            Route("/search", search),
            Route("/feeds", feeds),
            Route("/rehunt", rehunt, methods=["POST"]),
            Route("/devices", add_device, methods=["POST"]),
            Route("/job/{job:int}", job_page),
            Route("/job/{job:int}.json", job_json),
            Mount("/static", app=StaticFiles(directory=str(static)), name="static"),
        ],
    )
    app.state.jobs = jobs
    app.add_middleware(Guard, settings=settings)
    return app


def render_stored_report(case: CaseStore, acquisition: StoredAcquisition, lang: str) -> str:
    """report.html of a stored device, as `check` wrote it (retro-hunt findings included)."""
    import tempfile

    from preuve.report.formats.html import HtmlReport
    from preuve.store.report import replay

    with tempfile.TemporaryDirectory(prefix="preuve-console-") as folder:
        target = Path(folder) / "report.html"
        replay(case, acquisition, [HtmlReport(target, lang)])
        return target.read_text(encoding="utf-8")


def _csrf_ok(value: object, settings: ConsoleSettings) -> bool:
    return isinstance(value, str) and hmac.compare_digest(value, settings.csrf())


def _rehunt(settings: ConsoleSettings, progress: Progress) -> str:
    """The installed feeds against every stored device, feed by feed (the progress), as `preuve rehunt`."""
    from preuve.artifacts.base import discover_artifacts
    from preuve.indicators.feeds import installed_index
    from preuve.indicators.index import IndicatorIndex
    from preuve.model.jsonio import to_iso

    warnings: list[str] = []
    index = installed_index(warnings.append, settings.feeds_root)
    if index is None:
        raise PreuveError("no indicator feed is installed: `preuve iocs update` or `preuve iocs import` first")
    titles = {a.name: a.title for a in discover_artifacts()}
    by_feed: dict[str, list[object]] = {}
    for indicator in index.indicators():
        by_feed.setdefault(indicator.feed_sha256, []).append(indicator)
    total = len(index.feeds)
    found = 0
    with CaseStore(settings.case, write=True) as case:
        for number, feed in enumerate(index.feeds):
            progress.update(number, total, f"feed {feed.name}")
            one = IndicatorIndex.build([feed], by_feed.get(feed.sha256, []))  # type: ignore[arg-type]
            hits = case.rehunt(one, titles)
            found += len(hits)
            progress.found(len(hits))
        case.note_hunted([feed.sha256 for feed in index.feeds], to_iso(datetime.now(UTC)) or "")
        progress.update(total, total, "done")
    return f"{found} new finding(s) from {len(index)} indicators in {total} feed(s)."


def _check_device(settings: ConsoleSettings, evidence: Path, progress: Progress) -> str:
    """Check an acquisition into the case, through the same pipeline as `preuve check --case`."""
    from preuve.run.results import CheckOptions
    from preuve.serve.pipeline import check_into_case

    reports = settings.reports or settings.case.parent
    out = output_folder_for(reports / settings.case.name, evidence)
    checked = check_into_case(evidence, CheckOptions(), settings.case, out, progress, settings.feeds_root)
    return f"{evidence.name}: {checked.verdict}, {len(checked.result.findings)} finding(s); reports in {out}"
