"""What the records of the browser artifacts share: their links as observables, and the timeline
entry and summary of a visit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import ClassVar

from preuve.model import Kind, Observable, Timestamp


def url_observables(*urls: str | None) -> Iterator[Observable]:
    """Each link that is there, as a URL observable."""
    for url in urls:
        if url:
            yield Observable(Kind.URL, url)


class VisitMethods:
    """The methods of a browser's visit record, put before `Record` among its bases: the page and the
    page the visit came from are matched, the visit time is on the timeline."""

    browser: ClassVar[str]
    url: str | None
    from_url: str | None
    visit_time: datetime | None

    def observables(self) -> Iterator[Observable]:
        return url_observables(self.url, self.from_url)

    def timestamps(self) -> Iterator[Timestamp]:
        if self.visit_time is not None:
            yield Timestamp(self.visit_time, f"{self.browser} visit")

    def summary(self) -> str:
        via = f" (from {self.from_url})" if self.from_url else ""
        return f"{self.browser} visit to {self.url or '?'}{via}"
