"""What the records of the browser artifacts share: their links as observables, and the timeline
entry and summary of a visit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from preuve.artifacts.tables import Absent, Database, Join, Query, Table
from preuve.artifacts.timeconv import from_webkit
from preuve.artifacts.values import as_int, as_text
from preuve.model import Kind, Observable, Timestamp


def url_observables(*urls: str | None) -> Iterator[Observable]:
    """Each link that is there, as a URL observable."""
    for url in urls:
        if url:
            yield Observable(Kind.URL, url)


class VisitMethods:
    """The methods of a browser's visit record, put before `Record` among its bases: the page and the
    page the visit came from are matched, the visit time is on the timeline."""

    url: str | None
    from_url: str | None
    visit_time: datetime | None

    def browser_name(self) -> str:
        """The browser's name: a class constant of a record of one browser (``browser = "Chrome"``), or a
        field of a record of whichever browser the acquisition names (AndroidQF's browser history)."""
        return str(getattr(self, "browser", "Browser"))

    def observables(self) -> Iterator[Observable]:
        return url_observables(self.url, self.from_url)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.visit_time is not None:
            yield Timestamp(self.visit_time, f"{self.browser_name()} visit")

    def summary(self) -> str:
        via = f" (from {self.from_url})" if self.from_url else ""
        return f"{self.browser_name()} visit to {self.url or '?'}{via}"


# Chromium's History database (Chrome on iOS; Chrome, Brave, Edge… on Android): its two tables.
CHROMIUM_URLS = Table("urls", required=("id", "url"), optional=("title", "last_visit_time"), key=("id",))
CHROMIUM_VISITS = Table("visits", required=("id", "url"), optional=("visit_time", "from_visit", "transition"),
                        key=("id",))


@dataclass(frozen=True, slots=True)
class ChromiumRow:
    """One visit of a Chromium History database, or one URL no visit is left for (``table``: where it
    was read, ``key``: its row there), as each browser reader makes its record of it."""

    table: str
    key: object
    visit_id: int | None
    url_id: int | None
    url: str | None
    title: str | None
    visit_time: datetime | None
    from_visit: int | None
    from_url: str | None
    transition: int | None


def chromium_history(db: Database) -> Iterator[ChromiumRow]:
    """Every visit, with the URL of the visit it came from (a redirect through an exploit server shows
    as the previous hop), then the URLs no visit refers to (they remain when visits are expired or
    deleted; all of them when there is no visits table). Times are microseconds since 1601."""
    if db.report_missing(CHROMIUM_URLS):
        return
    orphans: tuple[Absent, ...] = ()
    if db.has(CHROMIUM_VISITS):
        query = Query(CHROMIUM_VISITS, "v", joins=(
            Join(CHROMIUM_URLS, "u", on="id", to="v.url"),
            Join(Table("visits", required=("id", "url")), "fv", on="id", to="v.from_visit"),
            Join(Table("urls", required=("id", "url")), "fu", on="id", to="fv.url"),
        ))
        for row in db.rows(query):
            yield ChromiumRow(
                "visits", row["_key"], visit_id=as_int(row["id"]), url_id=as_int(row["u.id"]),
                url=as_text(row["u.url"]), title=as_text(row["u.title"]), visit_time=from_webkit(row["visit_time"]),
                from_visit=as_int(row["from_visit"]) or None, from_url=as_text(row["fu.url"]),
                transition=as_int(row["transition"]),
            )
        orphans = (Absent("u.id", "visits", "url"),)
    for row in db.rows(Query(CHROMIUM_URLS, "u", where=orphans)):
        yield ChromiumRow(
            "urls", row["_key"], visit_id=None, url_id=as_int(row["id"]), url=as_text(row["url"]),
            title=as_text(row["title"]), visit_time=from_webkit(row["last_visit_time"]), from_visit=None,
            from_url=None, transition=None,
        )
